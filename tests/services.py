"""Real services for tests: a throw-away PostgreSQL server and local Spark settings.

DESIGN.md §8: tests use the real thing where a user would. The PostgreSQL fixture starts its own
cluster from Debian's server binaries (never the system service, which CI does not start), on a
free 127.0.0.1 port with its unix socket inside the temp folder, so it needs no root-owned
paths and cannot clash with another server. When the binaries, Java, pyspark or Chromium are
missing the tests that need them skip and say what to install — except under CI
(``LIFTLAB_REQUIRE_SERVICES=1``, set by ``.ci/run`` after it installs them), where a missing
service fails the test: a suite whose engine and browser tests silently skip proves nothing.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from strategies.engines.base import EngineSettings

__all__ = [
    "CHROMIUM",
    "chromium_or_skip",
    "load_postgres_table",
    "missing_service",
    "postgres_url",
    "spark_settings",
]

_PG_MISSING = "PostgreSQL server binaries not found: apt-get install postgresql"
_JAVA_MISSING = "Java not found: apt-get install openjdk-17-jre-headless"
_PYSPARK_MISSING = "pyspark missing: pip install 'liftlab[spark]'"
_CHROMIUM_MISSING = (
    "no browser: apt-get install chromium (Debian's package; never playwright install)"
)
_PLAYWRIGHT_MISSING = "playwright missing: pip install -e '.[dev]'"
CHROMIUM = Path("/usr/bin/chromium")
"""Debian's Chromium, which Playwright drives through ``executable_path``."""


def missing_service(reason: str) -> None:
    """Skip the test saying what to install, or fail it under CI (module docstring)."""
    if os.environ.get("LIFTLAB_REQUIRE_SERVICES") == "1":
        pytest.fail(f"required service missing under CI: {reason}", pytrace=False)
    pytest.skip(reason)


def chromium_or_skip() -> Any:
    """Playwright's sync API when Debian's Chromium and playwright are both present."""
    if not CHROMIUM.is_file():
        missing_service(_CHROMIUM_MISSING)
    try:
        from playwright import sync_api
    except ImportError:
        missing_service(_PLAYWRIGHT_MISSING)
    return sync_api


def _postgres_bin() -> Path | None:
    """The newest Debian PostgreSQL server bin folder holding initdb and postgres."""
    found = []
    for folder in glob.glob("/usr/lib/postgresql/*/bin"):
        path = Path(folder)
        if (path / "initdb").is_file() and (path / "postgres").is_file():
            try:
                found.append((int(path.parent.name), path))
            except ValueError:
                continue
    return max(found)[1] if found else None


def _utf8_ctype() -> str:
    """A UTF-8 character-class locale when the system has one (``C.UTF-8`` on Debian), so
    PostgreSQL's LOWER/UPPER change non-ASCII letters like DuckDB and Spark do; collation stays
    ``C`` (byte order, as on DuckDB and Spark)."""
    try:
        listed = subprocess.run(["locale", "-a"], capture_output=True, text=True, check=False)
    except OSError:
        return "C"
    for name in listed.stdout.split():
        if name.lower().replace("-", "") == "c.utf8":
            return name
    return "C"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_server_user(cmd: list[str]) -> list[str]:
    """initdb/postgres refuse to run as root: run them as the ``postgres`` user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of a fresh PostgreSQL database ``liftlab`` on 127.0.0.1, removed after the session."""
    bindir = _postgres_bin()
    if bindir is None:
        missing_service(_PG_MISSING)
    try:
        import psycopg
    except ImportError:
        missing_service("psycopg missing: pip install 'liftlab[postgres]'")
    root = Path(tempfile.mkdtemp(prefix="liftlab-pg-"))
    data, sockets = root / "data", root / "sock"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
    log = root / "server.log"
    proc: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run(
            _as_server_user(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    f"--lc-ctype={_utf8_ctype()}",
                    "--no-sync",
                ]
            ),
            check=True,
            capture_output=True,
        )
        port = free_port()
        with log.open("wb") as log_file:
            proc = subprocess.Popen(
                _as_server_user(
                    [
                        str(bindir / "postgres"),
                        "-D",
                        str(data),
                        "-p",
                        str(port),
                        "-h",
                        "127.0.0.1",
                        "-k",
                        str(sockets),
                        "-c",
                        "fsync=off",
                        "-c",
                        "full_page_writes=off",
                        "-c",
                        "synchronous_commit=off",
                    ]
                ),
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        admin = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(admin, autocommit=True) as con:
                    con.execute("CREATE DATABASE liftlab")
                break
            except psycopg.OperationalError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "test PostgreSQL server did not start:\n" + log.read_text(errors="replace")
                    ) from None
                time.sleep(0.1)
        yield f"postgresql://postgres@127.0.0.1:{port}/liftlab"
    finally:
        if proc is not None:
            proc.terminate()  # SIGTERM = "smart" shutdown of the server we started
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(root, ignore_errors=True)


def _pg_type(series: pd.Series) -> str:
    """The PostgreSQL column type matching a pandas column (what liftlab's engines read back)."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "bigint"
    if pd.api.types.is_float_dtype(dtype):
        return "double precision"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "timestamptz" if getattr(dtype, "tz", None) is not None else "timestamp"
    values = series.dropna()
    if len(values) and all(isinstance(v, bool | np.bool_) for v in values):
        return "boolean"
    return "text"


def _pg_value(value: object) -> object:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def load_postgres_table(url: str, name: str, frame: pd.DataFrame) -> None:
    """(Re)create table ``name`` with column types matching ``frame`` and COPY its rows in.

    NaN/None/NaT become NULL. ``name`` may be ``schema.table``; every part is quoted, so column
    names with capitals or spaces keep their spelling.
    """
    import psycopg
    from psycopg import sql

    parts = name.split(".")
    table = sql.SQL(".").join(sql.Identifier(p) for p in parts)
    columns = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(str(c)), sql.SQL(_pg_type(frame[c])))
        for c in frame.columns
    )
    names = sql.SQL(", ").join(sql.Identifier(str(c)) for c in frame.columns)
    with psycopg.connect(url) as con:
        if len(parts) > 1:
            con.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(parts[0])))
        con.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table))
        con.execute(sql.SQL("CREATE TABLE {} ({})").format(table, columns))
        with (
            con.cursor() as cur,
            cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(table, names)) as copy,
        ):
            for row in frame.itertuples(index=False, name=None):
                copy.write_row([_pg_value(v) for v in row])


@pytest.fixture(scope="session")
def spark_settings() -> EngineSettings:
    """Settings for a local two-core Spark session (the session itself is shared per process)."""
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        missing_service(_JAVA_MISSING)
    try:
        import pyspark  # noqa: F401
    except ImportError:
        missing_service(_PYSPARK_MISSING)
    return EngineSettings(name="spark", spark_master="local[2]")
