"""What every pipeline config shares: a strict pydantic base, the data-source part and one load
function that turns pydantic's errors into a :class:`ConfigError` naming each bad key.

A config is the contract a user writes under ``parameters:`` in YAML. Strict (``extra="forbid"``)
because a misspelt key silently falling back to a default is the worst kind of wrong result.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from strategies.engines.base import EngineSettings, SourceSpec
from strategies.errors import ConfigError

__all__ = [
    "DataSource",
    "DataSourceConfig",
    "EngineConfig",
    "OutputDir",
    "StrictModel",
    "check_output_dir",
    "did_you_mean",
    "expand_path",
    "format_validation_error",
    "load_config",
]

Model = TypeVar("Model", bound=BaseModel)


class StrictModel(BaseModel):
    """Base of every config model: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


def expand_path(raw: str) -> Path:
    """A user-written path with ``~`` and ``$VARS`` expanded (every config resolves its paths
    here, so ``~/data`` means the same in each pipeline)."""
    return Path(os.path.expanduser(os.path.expandvars(raw)))


def check_output_dir(raw: str) -> str:
    """The rule for every pipeline's ``output_dir`` (README, Trust model): a relative path stays
    inside the project folder (the working directory a pipeline runs in), so ``../x`` or
    ``outputs/../../x`` is refused (checked on the text, after normalising ``a/../b``); an
    absolute path is taken as the user's explicit choice; an existing *file* is refused, as the
    outputs are files written into a folder."""
    path = Path(raw)
    if not path.is_absolute() and Path(os.path.normpath(raw)).parts[:1] == ("..",):
        raise ValueError(
            f"output_dir {raw!r} leaves the project folder through '..'; keep outputs inside "
            f"the project, or give an absolute path (e.g. {path.resolve()}) if you mean to "
            "write there"
        )
    if path.exists() and not path.is_dir():
        where = "" if path.is_absolute() else f" ({path.resolve()})"
        raise ValueError(
            f"output_dir {raw!r}{where} is an existing file, not a folder; choose a folder for "
            "the outputs"
        )
    return raw


OutputDir = Annotated[str, AfterValidator(check_output_dir), Field(validate_default=True)]
"""Type of every config's ``output_dir`` field: a folder checked by :func:`check_output_dir`."""


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MEMORY = re.compile(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)
#: The keys of ``engine:`` that mean something for one engine only.
_ENGINE_ONLY_KEYS = {
    "memory_limit": "duckdb",
    "threads": "duckdb",
    "spill_dir": "duckdb",
    "url_env": "postgres",
    "master": "spark",
    "conf": "spark",
}


class EngineConfig(StrictModel):
    """Where the heavy SQL runs (README, "Engines"): ``duckdb`` (embedded, the default),
    ``postgres`` or ``spark``. Moving from one machine to a cluster changes this block only."""

    name: Literal["duckdb", "postgres", "spark"] = "duckdb"
    memory_limit: str = "1GB"
    """DuckDB: memory it may use before spilling to ``spill_dir`` (DuckDB syntax: 512MB, 4GB)."""
    threads: int | None = Field(default=None, ge=1)
    """DuckDB: worker threads (default: one per core)."""
    spill_dir: str = ".liftlab/duckdb-spill"
    """DuckDB: folder for data beyond ``memory_limit`` (relative to the project folder)."""
    url_env: str = "LIFTLAB_POSTGRES_URL"
    """PostgreSQL: the *name* of the environment variable holding the connection URL."""
    master: str = "local[*]"
    """Spark: ``local[*]`` (this machine, every core), ``spark://host:7077``, ``yarn``, …"""
    conf: dict[str, str] = {}
    """Spark: extra session settings, e.g. ``{spark.executor.memory: 4g}``."""

    @model_validator(mode="after")
    def _check(self) -> EngineConfig:
        # A value other than the default (not "a key present": ZenML passes the whole dumped
        # model back through validation, defaults included).
        defaults = type(self).model_fields
        wrong = [
            f"{key} (engine {owner} only)"
            for key, owner in _ENGINE_ONLY_KEYS.items()
            if owner != self.name and getattr(self, key) != defaults[key].get_default()
        ]
        if wrong:
            raise ValueError(f"engine {self.name!r} does not take: {', '.join(wrong)}")
        if "://" in self.url_env or "@" in self.url_env:
            raise ValueError(
                "url_env names an environment variable that holds the connection URL; it looks "
                "like a URL itself. Put the URL in the environment (export "
                "LIFTLAB_POSTGRES_URL=postgresql://user:password@host/db) — a password never "
                "goes in YAML"
            )
        if not _ENV_NAME.fullmatch(self.url_env):
            raise ValueError(f"url_env {self.url_env!r} is not an environment variable name")
        if not _MEMORY.fullmatch(self.memory_limit.strip()):
            raise ValueError(
                f"memory_limit {self.memory_limit!r} is not a size such as 512MB or 4GB"
            )
        return self

    def settings(self) -> EngineSettings:
        return EngineSettings(
            name=self.name,
            memory_limit=self.memory_limit.strip() if self.name == "duckdb" else None,
            spill_dir=str(expand_path(self.spill_dir)) if self.name == "duckdb" else None,
            threads=self.threads,
            url_env=self.url_env,
            spark_master=self.master,
            spark_conf=tuple(sorted(self.conf.items())),
        )


class DataSource(StrictModel):
    """Where a pipeline's input table comes from and which engine reads it: a CSV/Parquet file,
    a read-only query (on DuckDB over the file, which is then the view ``source``), or a table
    already in the engine (PostgreSQL, Spark)."""

    data_path: str | None = None
    """CSV or Parquet file. With ``sql`` too, the file is available to the query as ``source``."""
    sql: str | None = None
    """One read-only query producing the table, in the engine's own SQL. On DuckDB it may read
    only ``data_path`` (also as ``source``) and ``allowed_paths``; see
    :func:`strategies.ingest.check_query`."""
    table: str | None = None
    """A table already in the engine (PostgreSQL ``schema.table``, a Spark catalog table)."""
    allowed_paths: list[str] = []
    """Further files, or folders (everything under them), a DuckDB ``sql`` query may read."""
    engine: EngineConfig = EngineConfig()

    @model_validator(mode="after")
    def _one_source(self) -> DataSource:
        name = self.engine.name
        if not (self.data_path or self.sql or self.table):
            raise ValueError(
                "set 'data_path' (CSV/Parquet file), 'sql' (a query) or 'table' (an engine table)"
            )
        if self.table and (self.data_path or self.sql):
            raise ValueError("'table' reads one engine table; drop 'data_path'/'sql' or 'table'")
        if self.table and name == "duckdb":
            raise ValueError(
                "engine duckdb reads files (data_path) or a query over them (sql); 'table' needs "
                "engine postgres or spark"
            )
        if self.data_path and name == "postgres":
            raise ValueError(
                "engine postgres reads a 'table' or an 'sql' query; load the file into "
                "PostgreSQL first (liftlab load-table), or use engine duckdb or spark for files"
            )
        if self.data_path and self.sql and name != "duckdb":
            raise ValueError(
                f"engine {name} reads one of data_path, table or sql; a query over a file "
                "named source is DuckDB's (put the file's path in the Spark query instead)"
            )
        if self.allowed_paths and not self.sql:
            raise ValueError(
                "'allowed_paths' only says which files an 'sql' query may read; there is no 'sql'"
            )
        if self.allowed_paths and name == "postgres":
            raise ValueError("'allowed_paths' limits the files a DuckDB or Spark query reads")
        return self

    @property
    def resolved_data_path(self) -> Path | None:
        return expand_path(self.data_path) if self.data_path else None

    @property
    def resolved_allowed_paths(self) -> list[Path]:
        return [expand_path(p) for p in self.allowed_paths]

    def source_spec(self) -> SourceSpec:
        """The engine-side description of this source (paths resolved)."""
        path = self.resolved_data_path
        return SourceSpec(
            path=str(path) if path else None,
            table=self.table,
            sql=self.sql or None,
            allowed_paths=tuple(str(p) for p in self.resolved_allowed_paths),
        )


class DataSourceConfig(DataSource):
    """A pipeline config that reads one table: it *is* a data source plus its own fields."""

    @property
    def source(self) -> DataSource:
        """Only the source part, so the ingest step's cache key ignores every other field."""
        return DataSource(
            data_path=self.data_path,
            sql=self.sql,
            table=self.table,
            allowed_paths=list(self.allowed_paths),
            engine=self.engine,
        )


def owning_prefix(stem: str, prefixes: Iterable[str]) -> str | None:
    """The config-file prefix a file stem belongs to: ``<prefix>`` or ``<prefix>_*``, the longest
    matching prefix winning (``campaign_uplift_x`` is ``campaign_uplift``, not ``uplift``);
    ``None`` when none matches. The one naming rule of ``configs/``."""
    for prefix in sorted(prefixes, key=len, reverse=True):
        if stem == prefix or stem.startswith(prefix + "_"):
            return prefix
    return None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices`` to a misspelt ``word``, or ``""``
    when none is close (difflib's ratio ≥ 0.6, the usual cut-off of CLI suggestions)."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation can hold (through Optional, list, Union, Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models_in(arg)]


def keys_at(model: type[BaseModel], location: Sequence[Any]) -> set[str]:
    """The valid keys where ``location`` (pydantic's ``loc`` of an unknown key) points: the
    fields of the model(s) holding its last part. List indexes and union tags on the way are
    stepped over."""
    models = [model]
    for part in location[:-1]:
        if not isinstance(part, str):
            continue
        inner = [
            m
            for current in models
            if part in current.model_fields
            for m in _models_in(current.model_fields[part].annotation)
        ]
        if inner:
            models = inner
    return {name for m in models for name in m.model_fields}


def format_validation_error(
    exc: ValidationError, what: str, model: type[BaseModel] | None = None
) -> str:
    """Turn pydantic's error list into one line per problem that names the offending key (and,
    for an unknown key, the valid key it is closest to, when ``model`` is given)."""
    lines = [f"invalid {what}:"]
    for err in exc.errors():
        location = ".".join(str(p) for p in err["loc"]) or "(top level)"
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            hint = did_you_mean(str(err["loc"][-1]), keys_at(model, err["loc"])) if model else ""
            message = (
                f"unknown key{hint}"
                if hint
                else "unknown key (check the spelling; see the README for valid keys)"
            )
        elif message.startswith("Value error, "):
            message = message.removeprefix("Value error, ")
        lines.append(f"  - {location}: {message}")
    return "\n".join(lines)


def load_config(model: type[Model], values: Mapping[str, Any], what: str) -> Model:
    """Validate raw parameters into ``model``, or raise a ConfigError naming every bad key."""
    try:
        return model.model_validate(dict(values))
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, what, model)) from None
