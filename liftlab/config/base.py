"""What every pipeline config shares: a strict pydantic base, the data-source part and one load
function that turns pydantic's errors into a :class:`ConfigError` naming each bad key.

A config is the contract a user writes under ``parameters:`` in YAML. Strict (``extra="forbid"``)
because a misspelt key silently falling back to a default is the worst kind of wrong result.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from strategies.errors import ConfigError

__all__ = [
    "DataSource",
    "DataSourceConfig",
    "OutputDir",
    "StrictModel",
    "check_output_dir",
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


class DataSource(StrictModel):
    """Where a pipeline's input table comes from: a CSV/Parquet file, a read-only DuckDB query,
    or both (the file is then available to the query as ``source``)."""

    data_path: str | None = None
    """CSV or Parquet file. With ``sql`` too, the file is available to the query as ``source``."""
    sql: str | None = None
    """One read-only DuckDB query producing the table. It may read only ``data_path`` (also as
    ``source``) and ``allowed_paths``; see :func:`strategies.ingest.check_query`."""
    allowed_paths: list[str] = []
    """Further files, or folders (everything under them), the ``sql`` query may read itself."""

    @model_validator(mode="after")
    def _one_source(self) -> DataSource:
        if not self.data_path and not self.sql:
            raise ValueError("set 'data_path' (CSV/Parquet file) or 'sql' (a DuckDB query)")
        if self.allowed_paths and not self.sql:
            raise ValueError(
                "'allowed_paths' only says which files an 'sql' query may read; there is no 'sql'"
            )
        return self

    @property
    def resolved_data_path(self) -> Path | None:
        return expand_path(self.data_path) if self.data_path else None

    @property
    def resolved_allowed_paths(self) -> list[Path]:
        return [expand_path(p) for p in self.allowed_paths]


class DataSourceConfig(DataSource):
    """A pipeline config that reads one table: it *is* a data source plus its own fields."""

    @property
    def source(self) -> DataSource:
        """Only the source part, so the ingest step's cache key ignores every other field."""
        return DataSource(
            data_path=self.data_path, sql=self.sql, allowed_paths=list(self.allowed_paths)
        )


def format_validation_error(exc: ValidationError, what: str) -> str:
    """Turn pydantic's error list into one line per problem that names the offending key."""
    lines = [f"invalid {what}:"]
    for err in exc.errors():
        location = ".".join(str(p) for p in err["loc"]) or "(top level)"
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown key (check the spelling; see the README for valid keys)"
        elif message.startswith("Value error, "):
            message = message.removeprefix("Value error, ")
        lines.append(f"  - {location}: {message}")
    return "\n".join(lines)


def load_config(model: type[Model], values: Mapping[str, Any], what: str) -> Model:
    """Validate raw parameters into ``model``, or raise a ConfigError naming every bad key."""
    try:
        return model.model_validate(dict(values))
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, what)) from None
