"""Spark: liftlab's SQL runs where the cluster (or local[*]) holds the data.

There is one SparkSession per Python process (``getOrCreate``): starting a JVM costs seconds and
Spark cannot run two sessions' contexts in one process, so every :class:`SparkEngine` shares it.
That is also why :meth:`SparkEngine.close` unpersists and drops only the temp views *this*
engine made and leaves the session running — stopping it would break any other engine (or test)
in the process; the JVM ends with the process. Local defaults keep a laptop run quick: few
shuffle partitions, Arrow for ``toPandas``, no web UI, UTC session time zone, WARN logging;
``settings.spark_conf`` overrides any of them.

Each engine's temp views are registered under the names liftlab asks for (``source``,
``cleaned``…), so two engines open at the same time in one process would see each other's
views; liftlab opens one engine per step.
"""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from strategies.engines.base import (
    SOURCE,
    Column,
    EngineSettings,
    SourceSpec,
    SqlEngine,
    column_kind,
    finish_frame,
    query_error,
)
from strategies.engines.dialects import check_read_only, check_spark_paths, to_dialect
from strategies.errors import ConfigError, InputDataError
from strategies.ingest import SUPPORTED_SUFFIXES

__all__ = ["LOCAL_DEFAULTS", "SparkEngine", "spark_session"]

#: Session settings used unless ``settings.spark_conf`` gives another value.
LOCAL_DEFAULTS: dict[str, str] = {
    "spark.sql.shuffle.partitions": "8",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.execution.arrow.pyspark.fallback.enabled": "true",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
}

#: pyspark 4 warns on session start and every toPandas that it is not tested with pandas 3.
_PANDAS_WARNING = "PySpark does not yet fully support"


def _java_available() -> bool:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return True
    return shutil.which("java") is not None


def spark_session(settings: EngineSettings) -> Any:
    """The process-wide SparkSession, created on first use with ``settings``' master and conf.

    Raises ConfigError naming what to install when pyspark or Java is missing.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise ConfigError("engine spark needs pyspark: pip install 'liftlab[spark]'") from exc
    if not _java_available():
        raise ConfigError(
            "engine spark needs Java 17: apt-get install openjdk-17-jre-headless (or set JAVA_HOME)"
        )
    if settings.spark_master.startswith("local"):
        # A local session binds its driver to loopback (DESIGN.md §7: servers bind 127.0.0.1
        # unless the user says otherwise), which also spares the "hostname resolves to a
        # loopback address" warning on machines without a routable hostname.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    conf = {**LOCAL_DEFAULTS, **dict(settings.spark_conf)}
    builder = SparkSession.builder.master(settings.spark_master).appName("liftlab")
    for key, value in conf.items():
        builder = builder.config(key, value)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_PANDAS_WARNING, category=FutureWarning)
        session = builder.getOrCreate()
    session.sparkContext.setLogLevel("WARN")
    return session


class SparkEngine(SqlEngine):
    """A liftlab session on the process-wide SparkSession (see the module docstring)."""

    name: ClassVar[str] = "spark"
    dialect: ClassVar[str] = "spark"

    def __init__(self, settings: EngineSettings | None = None) -> None:
        self.settings = settings or EngineSettings(name="spark")
        self.spark = spark_session(self.settings)
        self._views: list[str] = []
        self._persisted: dict[str, Any] = {}
        self._zone_before: str | None = None

    # -- SqlEngine ----------------------------------------------------------------------------

    def register_source(self, source: SourceSpec, name: str = SOURCE) -> None:
        """``path`` (Parquet, CSV or CSV.GZ with a header, types inferred unless
        ``all_text``), ``table`` or ``sql`` (one read-only query in Spark's dialect) → the temp
        view ``name``."""
        from pyspark.errors import PySparkException

        given = [k for k in ("path", "table", "sql") if getattr(source, k) is not None]
        if len(given) != 1:
            raise ConfigError(
                f"a source needs exactly one of path, table or sql; got {given or 'none'}"
            )
        try:
            if source.path is not None:
                frame = self._read_path(Path(source.path), infer=not source.all_text)
                what = f"data file {source.path}"
            elif source.table is not None:
                what = f"table {source.table!r}"
                frame = self.spark.table(
                    ".".join(_backtick(part) for part in source.table.split("."))
                )
            else:
                assert source.sql is not None
                check_read_only(source.sql, self.dialect)
                check_spark_paths(source.sql, source.allowed_paths)
                what = "source SQL"
                frame = self.spark.sql(source.sql.strip().rstrip(";"))
            _check_unique(frame.columns, what)
            frame.createOrReplaceTempView(_backtick(name))
        except PySparkException as exc:
            raise InputDataError(f"engine spark could not read {what}: {_first_line(exc)}") from exc
        self._remember(name)

    def set_time_zone(self, zone: str) -> None:
        """Sets the shared session's ``spark.sql.session.timeZone`` (restored by ``close``).
        Spark resolves the zone when a query is analysed, so temp tables made under one zone
        keep it."""
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"unknown time zone {zone!r}") from None
        if self._zone_before is None:
            self._zone_before = self.spark.conf.get("spark.sql.session.timeZone")
        self.spark.conf.set("spark.sql.session.timeZone", zone)

    def fetch(self, sql: str) -> pd.DataFrame:
        from pyspark.errors import PySparkException

        query = to_dialect(sql, self.dialect)
        try:
            frame = self.spark.sql(query)
            schema = frame.schema
            with warnings.catch_warnings():
                # liftlab's tests check these frames against DuckDB and pandas instead.
                warnings.filterwarnings("ignore", message=_PANDAS_WARNING, category=FutureWarning)
                df = frame.toPandas()
        except PySparkException as exc:
            raise query_error(self.name, query, exc) from exc
        types = [field.dataType.simpleString() for field in schema.fields]
        columns = [_decimal_column(df.iloc[:, i], types[i]) for i in range(df.shape[1])]
        if columns:
            df = pd.concat(columns, axis=1)
            df.columns = [field.name for field in schema.fields]
        return finish_frame(df, types)

    def create_temp_table(self, name: str, sql: str) -> None:
        from pyspark.errors import PySparkException
        from pyspark.storagelevel import StorageLevel

        query = to_dialect(sql, self.dialect)
        try:
            frame = self.spark.sql(query).persist(StorageLevel.MEMORY_AND_DISK)
            old = self._persisted.pop(name, None)
            # Quoted, so names with spaces or capitals work as on the other engines.
            frame.createOrReplaceTempView(_backtick(name))
        except PySparkException as exc:
            raise query_error(self.name, f"CREATE TEMP VIEW {name} AS {query}", exc) from exc
        if old is not None:
            old.unpersist()
        self._persisted[name] = frame
        self._remember(name)

    def create_temp_view(self, name: str, sql: str) -> None:
        from pyspark.errors import PySparkException

        query = to_dialect(sql, self.dialect)
        try:
            self.spark.sql(query).createOrReplaceTempView(_backtick(name))
        except PySparkException as exc:
            raise query_error(self.name, f"CREATE TEMP VIEW {name} AS {query}", exc) from exc
        old = self._persisted.pop(name, None)
        if old is not None:
            old.unpersist()
        self._remember(name)

    def columns(self, relation: str) -> list[Column]:
        from pyspark.errors import PySparkException

        try:
            schema = self.spark.table(_backtick(relation)).schema
        except PySparkException as exc:
            raise InputDataError(
                f"engine spark has no relation {relation!r}: {_first_line(exc)}"
            ) from exc
        return [
            Column(f.name, column_kind(f.dataType.simpleString()), f.dataType.simpleString())
            for f in schema.fields
        ]

    def close(self) -> None:
        for frame in self._persisted.values():
            frame.unpersist()
        self._persisted.clear()
        for view in self._views:
            self.spark.catalog.dropTempView(view)  # the raw name, not a quoted identifier
        self._views.clear()
        if self._zone_before is not None:
            self.spark.conf.set("spark.sql.session.timeZone", self._zone_before)
            self._zone_before = None

    # -- helpers ------------------------------------------------------------------------------

    def _remember(self, view: str) -> None:
        if view not in self._views:
            self._views.append(view)

    def _read_path(self, path: Path, infer: bool = True) -> Any:
        name = path.name.lower()
        suffix = next(
            (s for s in sorted(SUPPORTED_SUFFIXES, key=len, reverse=True) if name.endswith(s)),
            None,
        )
        if suffix is None:
            raise ConfigError(
                f"unsupported data file type for {path}: expected one of "
                + ", ".join(SUPPORTED_SUFFIXES)
            )
        if not path.exists():
            raise InputDataError(f"data file not found: {path}")
        reader = self.spark.read
        if SUPPORTED_SUFFIXES[suffix] == "parquet":
            return reader.parquet(str(path))
        # Spark reads .csv.gz transparently (the codec follows the file name).
        infer_schema = "true" if infer else "false"
        return reader.option("header", "true").option("inferSchema", infer_schema).csv(str(path))


def _backtick(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _check_unique(names: list[str], where: str) -> None:
    seen: dict[str, str] = {}
    for name in names:
        if name.lower() in seen:
            raise InputDataError(
                f"{where} has duplicate column name(s): {seen[name.lower()]!r} / {name!r}; "
                "rename them so each column has one name"
            )
        seen[name.lower()] = name


def _decimal_column(col: pd.Series, spark_type: str) -> pd.Series:
    """Spark decimals arrive as ``decimal.Decimal`` objects: whole-number decimals (scale 0)
    become Int64, the rest float64, as on the other engines."""
    if not spark_type.startswith("decimal"):
        return col.reset_index(drop=True)
    scale = int(spark_type.rstrip(")").split(",")[-1]) if "," in spark_type else 0
    values = [None if v is None or (isinstance(v, float) and np.isnan(v)) else v for v in col]
    if scale == 0 and all(-(2**63) <= v < 2**63 for v in values if v is not None):
        return pd.Series(
            pd.array([None if v is None else int(v) for v in values], dtype="Int64"),
            name=col.name,
        )
    return pd.Series(
        np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64),
        name=col.name,
    )
