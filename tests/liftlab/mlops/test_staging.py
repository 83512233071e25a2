"""Staging folders: only liftlab's own run-scoped folders are ever removed."""

from __future__ import annotations

from pathlib import Path

from liftlab.mlops.staging import STAGING_PREFIX, new_staging_dir, remove_staging_dir


def test_a_new_staging_dir_is_hidden_run_scoped_and_inside_output_dir(tmp_path: Path) -> None:
    first, second = new_staging_dir(tmp_path), new_staging_dir(tmp_path)
    assert first != second
    assert Path(first).parent == tmp_path.resolve()
    assert Path(first).name.startswith(STAGING_PREFIX)
    assert not Path(first).exists()  # made by the step that writes into it


def test_remove_staging_dir_removes_its_folder_with_files(tmp_path: Path) -> None:
    folder = Path(new_staging_dir(tmp_path))
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "rows.parquet").write_bytes(b"x")
    assert remove_staging_dir(folder)
    assert not folder.exists()


def test_remove_staging_dir_refuses_any_other_folder(tmp_path: Path) -> None:
    other = tmp_path / "results"
    other.mkdir()
    (other / "keep.csv").write_text("a\n1\n")
    assert not remove_staging_dir(other)
    assert (other / "keep.csv").exists()
    assert not remove_staging_dir(tmp_path / f"{STAGING_PREFIX}missing")
