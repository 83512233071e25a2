"""The marketing-mix model directory check: liftlab serves only a pyfunc whose code is its own
file, byte for byte, and whose only artifact is a liftlab ``model.json``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from liftlab.mlops.model_files import (
    MMM_CODE_FILE,
    MMM_CODE_LOADER,
    UntrustedModelError,
    check_mmm_model_dir,
    is_mmm_model_dir,
)


def _model_dir(root: Path, **changes) -> Path:
    """A directory laid out as ``mlflow.pyfunc.log_model(python_model=<file>)`` writes it."""
    root.mkdir()
    (root / "artifacts").mkdir()
    (root / "artifacts" / "model.json").write_text(
        json.dumps(changes.pop("payload", {"format": "liftlab.mmm/1", "spec": {}}))
    )
    (root / "mmm_pyfunc.py").write_bytes(changes.pop("code", MMM_CODE_FILE.read_bytes()))
    pyfunc = {
        "loader_module": MMM_CODE_LOADER,
        "model_code_path": "/somewhere/mmm_pyfunc.py",
        "code": None,
        "artifacts": {"model": {"path": "artifacts/model.json", "uri": "/tmp/x/model.json"}},
        **changes.pop("pyfunc", {}),
    }
    flavors = {"python_function": pyfunc, **changes.pop("flavors", {})}
    (root / "MLmodel").write_text(yaml.safe_dump({"flavors": flavors}))
    return root


def test_accepts_what_liftlab_writes(tmp_path) -> None:
    model = _model_dir(tmp_path / "m")
    assert is_mmm_model_dir(model)
    assert check_mmm_model_dir(model, "models:/x/1") == (model / "artifacts/model.json").resolve()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"code": b"import os; os.system('echo owned')\n"}, "differs from liftlab's own"),
        ({"flavors": {"sklearn": {}}}, "flavors"),
        ({"pyfunc": {"loader_module": "evil.loader"}}, "not a liftlab marketing-mix model"),
        ({"pyfunc": {"code": "code"}}, "code folder"),
        ({"pyfunc": {"model_code_path": "/x/other.py"}}, "code file is not mmm_pyfunc.py"),
        (
            {"pyfunc": {"artifacts": {"model": {"path": "artifacts/model.json"}, "x": {}}}},
            "artifacts",
        ),
        (
            {"pyfunc": {"artifacts": {"model": {"path": "../outside/model.json"}}}},
            "not inside the model directory",
        ),
        ({"payload": {"format": "pickle"}}, "not a liftlab marketing-mix model"),
    ],
)
def test_refuses_anything_else(tmp_path, changes, message) -> None:
    model = _model_dir(tmp_path / "m", **changes)
    with pytest.raises(UntrustedModelError, match=message):
        check_mmm_model_dir(model, "models:/x/1")


def test_an_sklearn_model_is_not_taken_for_a_marketing_mix_model(tmp_path) -> None:
    (tmp_path / "MLmodel").write_text(
        yaml.safe_dump(
            {"flavors": {"sklearn": {}, "python_function": {"loader_module": "mlflow.sklearn"}}}
        )
    )
    assert not is_mmm_model_dir(tmp_path)
    assert not is_mmm_model_dir(tmp_path / "missing")
