"""Great Expectations on the engines' own datasources: PostgreSQL queries and Spark frames.

Issue #13 keeps Great Expectations as the validation engine once the data lives in an engine,
so the rows are checked where they are instead of being pulled into pandas. GE 1.x supports
two of liftlab's engines: PostgreSQL (a SQLAlchemy datasource) and Spark (dataframe assets).
DuckDB through SQLAlchemy is broken in GE (great_expectations#10738), so DuckDB uses liftlab's
own SQL checks instead.

The rules, the two-pass plan (presence and numeric types first, value rules only on columns
that passed) and the conversion of GE results into :class:`ExpectationOutcome` are the pandas
path's own (``strategies.validation``), so a report means the same thing on every backend.
What differs per backend, and lives here:

* **Numeric types.** GE compares *type names*: SQLAlchemy's spelling on PostgreSQL (compared
  case-insensitively with the full compiled type, e.g. ``NUMERIC(10, 2)``) and pyspark type
  class names on Spark (``isinstance``). :data:`POSTGRES_NUMERIC_TYPES` and
  :data:`SPARK_NUMERIC_TYPES` are liftlab's numeric list (integers, floats, decimals and
  booleans, as for pandas) in each spelling.
* **Query batches on PostgreSQL.** GE cannot type the columns of a plain query asset (its
  column metadata for a text query has no types, and the type expectation then raises), so the
  datasource is opened with ``create_temp_table=True``: GE materialises the query once into a
  ``TEMP`` table on its own connection and reflects real types from it. Every pass runs on
  that one batch (one GE validator), and the connection is closed at the end, which drops the
  temp table. A temp table of *another* session is invisible to GE's connection, so the query
  must read real tables (e.g. the whole cleaning chain as one SELECT).
* **Bad-value counts of a type failure.** GE checks a SQL or Spark column's type as a whole,
  with no per-value count; the pandas path then counts every non-null value as bad. Here GE
  counts them too: ``expect_column_values_to_be_null`` on the failed column reports the
  non-null values as unexpected (count and examples).
* **Row labels.** SQL and Spark rows have no index, so examples carry values only.
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import TYPE_CHECKING, Any

import sqlglot
from sqlglot import exp

from strategies.errors import ConfigError, InputDataError
from strategies.validation import (
    EXPECT_TYPE,
    GE_LOCK,
    RESULT_FORMAT,
    BatchFacts,
    ExpectationOutcome,
    PlannedExpectation,
    ValidationReport,
    ValidationRules,
    ge_context,
    numeric_columns_needed,
    plain_value,
    plan_presence,
    plan_types,
    plan_values,
    referenced_columns,
    skipped_outcome,
    to_outcome,
)

if TYPE_CHECKING:
    from great_expectations.core.batch_definition import BatchDefinition

__all__ = [
    "POSTGRES_NUMERIC_TYPES",
    "SPARK_NUMERIC_TYPES",
    "validate_with_ge",
]

logger = logging.getLogger(__name__)

#: liftlab's numeric types as GE names them on PostgreSQL (SQLAlchemy's compiled type names:
#: int2, int4, int8, float4, float8, numeric, bool). ``DECIMAL`` is numeric's alias.
POSTGRES_NUMERIC_TYPES: tuple[str, ...] = (
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "REAL",
    "DOUBLE PRECISION",
    "NUMERIC",
    "DECIMAL",
    "BOOLEAN",
)

#: The same list as pyspark type class names (GE resolves each with ``getattr(pyspark.types,
#: name)`` and checks ``isinstance``, so ``DecimalType`` covers every precision and scale).
SPARK_NUMERIC_TYPES: tuple[str, ...] = (
    "ByteType",
    "ShortType",
    "IntegerType",
    "LongType",
    "FloatType",
    "DoubleType",
    "DecimalType",
    "BooleanType",
)

# A numeric PostgreSQL type with a type modifier, as GE spells it: "NUMERIC(10, 2)".
_PG_PARAMETRISED_NUMERIC = re.compile(
    r"^\s*(NUMERIC|DECIMAL)\s*\(\s*\d+\s*(,\s*-?\d+\s*)?\)\s*$", re.I
)

_COLUMNS_PROBE = "columns"
_ROWS_PROBE = "rows"
_KEY = "liftlab_key"
_SPARK_BATCH: BatchDefinition | None = None


def validate_with_ge(
    *,
    rules: ValidationRules,
    postgres_url: str | None = None,
    query: str | None = None,
    spark_frame: Any = None,
) -> ValidationReport:
    """Validate a PostgreSQL query's rows or a Spark DataFrame with Great Expectations.

    Give either ``postgres_url`` and ``query`` (one SELECT in PostgreSQL's dialect, reading
    real tables) or ``spark_frame`` (a ``pyspark.sql.DataFrame``). The report has the same
    semantics as :func:`strategies.validation.validate` on the same rows: a missing column
    fails ``expect_column_to_exist``, a non-numeric column fails the type rule and the value
    rules on it are skipped, and failures carry unexpected counts and a few examples.

    Never raises for bad data; raises ConfigError for bad arguments (naming them) and
    InputDataError when the rows cannot be read (the query fails, duplicate column names).
    """
    if not isinstance(rules, ValidationRules):
        raise ConfigError(f"rules must be ValidationRules, got {type(rules).__name__}")
    if spark_frame is not None:
        if postgres_url is not None or query is not None:
            raise ConfigError(
                "give either spark_frame or postgres_url and query, not both "
                f"(got spark_frame and {'postgres_url' if postgres_url else 'query'})"
            )
        return _validate_spark(rules, spark_frame)
    if postgres_url is None or query is None:
        missing = "postgres_url" if postgres_url is None else "query"
        raise ConfigError(
            f"validate_with_ge needs spark_frame, or postgres_url and query ({missing} is missing)"
        )
    return _validate_postgres(rules, postgres_url, query)


# --------------------------------------------------------------------------------------------
# Backends
# --------------------------------------------------------------------------------------------


def _validate_spark(rules: ValidationRules, frame: Any) -> ValidationReport:
    try:
        from pyspark.sql import DataFrame
    except ImportError as exc:  # pragma: no cover - pyspark is a dependency of the Spark engine
        raise ConfigError("spark_frame needs pyspark, which is not installed") from exc
    if not isinstance(frame, DataFrame):
        raise ConfigError(f"spark_frame must be a pyspark DataFrame, got {type(frame).__name__}")
    names = [str(c) for c in frame.columns]
    duplicated = sorted({c for c in names if names.count(c) > 1})
    if duplicated:
        raise InputDataError(f"data has duplicate column names: {', '.join(duplicated)}")
    return _validate_batch(
        rules,
        _spark_batch_definition(),
        {"dataframe": frame},
        SPARK_NUMERIC_TYPES,
        respell=None,
        what="the Spark DataFrame",
    )


def _spark_batch_definition() -> BatchDefinition:
    """The shared context's Spark datasource; the frame is a batch parameter of each run."""
    global _SPARK_BATCH
    with GE_LOCK:
        if _SPARK_BATCH is None:
            source = ge_context().data_sources.add_spark(name="liftlab_spark_validation")
            asset = source.add_dataframe_asset(name="table")
            _SPARK_BATCH = asset.add_batch_definition_whole_dataframe(name="whole_table")
        return _SPARK_BATCH


def _validate_postgres(rules: ValidationRules, url: str, query: str) -> ValidationReport:
    url = _psycopg_url(url)
    query = _single_select(query)
    shown_url = _hide_password(url)
    context = ge_context()
    name = f"liftlab_postgres_{uuid.uuid4().hex}"
    with GE_LOCK:
        try:
            source = context.data_sources.add_postgres(
                name=name, connection_string=url, create_temp_table=True
            )
        except Exception as exc:  # GE wraps driver errors in its own TestConnectionError
            raise ConfigError(
                f"cannot connect to PostgreSQL at {shown_url}: {_first_line(exc)}"
            ) from exc
    try:
        asset = source.add_query_asset(name="query", query=query)
        batch_definition = asset.add_batch_definition_whole_table(name="whole_query")
        return _validate_batch(
            rules,
            batch_definition,
            {},
            POSTGRES_NUMERIC_TYPES,
            respell=_pg_respell,
            what=f"the query {_first_line(query)!r} on {shown_url}",
        )
    finally:
        # Closing GE's connections drops the temp table it materialised the query into.
        try:
            source.get_execution_engine().engine.dispose()
        finally:
            with GE_LOCK:
                context.data_sources.delete(name)


def _pg_respell(observed: str) -> str | None:
    """GE compares PostgreSQL types by their full spelling, so ``NUMERIC(10, 2)`` does not
    match ``NUMERIC``; return that spelling when it is a parametrised numeric type (so the
    check is re-run with it in the list), else None."""
    return observed if _PG_PARAMETRISED_NUMERIC.match(observed) else None


def _psycopg_url(url: str) -> str:
    """Point a plain ``postgresql://`` URL at psycopg 3 (the installed driver; SQLAlchemy's
    default for that scheme is psycopg2)."""
    if not isinstance(url, str) or not url.strip():
        raise ConfigError("postgres_url must be a non-empty connection URL")
    scheme, sep, rest = url.strip().partition("://")
    if not sep:
        raise ConfigError(f"postgres_url is not a URL: {_hide_password(url)}")
    if scheme in ("postgresql", "postgres"):
        return f"postgresql+psycopg://{rest}"
    if scheme != "postgresql+psycopg":
        raise ConfigError(
            f"postgres_url must start with postgresql:// or postgresql+psycopg://, got {scheme}://"
        )
    return url.strip()


def _hide_password(url: str) -> str:
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def _single_select(query: str) -> str:
    """The query GE materialises as ``CREATE TEMP TABLE .. AS <query>``: it must be exactly
    one SELECT (so nothing else rides along in that statement)."""
    if not isinstance(query, str) or not query.strip():
        raise ConfigError("query must be one SELECT statement in PostgreSQL's dialect")
    text = query.strip().rstrip(";").strip()
    try:
        statements = [s for s in sqlglot.parse(text, read="postgres") if s is not None]
    except sqlglot.errors.ParseError as exc:
        raise ConfigError(f"query {_first_line(text)!r} is not valid SQL: {exc}") from exc
    if len(statements) != 1 or not isinstance(statements[0], exp.Query):
        raise ConfigError(f"query {_first_line(text)!r} must be exactly one SELECT statement")
    return text


def _first_line(value: object, limit: int = 120) -> str:
    line = str(value).strip().splitlines()[0] if str(value).strip() else ""
    return line if len(line) <= limit else line[: limit - 3] + "..."


# --------------------------------------------------------------------------------------------
# The two passes on one GE batch
# --------------------------------------------------------------------------------------------


def _validate_batch(
    rules: ValidationRules,
    batch_definition: BatchDefinition,
    batch_parameters: dict,
    type_list: tuple[str, ...],
    *,
    respell: Any,
    what: str,
) -> ValidationReport:
    """Run the shared plan on one batch and convert GE's results as the pandas path does.

    One GE validator loads the batch once (one temp table on PostgreSQL) and runs every pass.
    Pass 1 also asks GE for the column list and row count (probes), because nothing about a
    query's result is known before it runs.
    """
    from great_expectations.validator.v1_validator import Validator

    validator = Validator(
        batch_definition=batch_definition,
        batch_parameters=batch_parameters,
        result_format=RESULT_FORMAT,
    )
    referenced = referenced_columns(rules)
    needs_numeric = numeric_columns_needed(rules)

    # Pass 1: presence, numeric types (planned for every such column: which exist is not known
    # yet), and the column list and row count.
    presence = plan_presence(referenced)
    types, _ = plan_types(needs_numeric, set(needs_numeric), type_list)
    probes = _probes()
    results = _run(validator, [*presence, *types, *probes.values()], what)
    columns = list(_observed(results, probes[_COLUMNS_PROBE], what) or [])
    n_rows = int(_observed(results, probes[_ROWS_PROBE], what) or 0)
    present = set(columns)

    type_skips: list[ExpectationOutcome] = []
    kept_types: list[PlannedExpectation] = []
    for p in types:
        if p.column in present:
            kept_types.append(p)
        else:
            type_skips.append(
                skipped_outcome(EXPECT_TYPE, p.column, p.description, [p.column], present)
            )
    kept_types, results = _respelled(validator, kept_types, results, respell, type_list, what)
    numeric_ok = {p.column for p in kept_types if _succeeded(results.get(_key(p)))}

    # Pass 2: value rules on usable columns, plus a count of the values each failed type
    # check covers (every non-null value of that column is "not numeric").
    second, not_run = plan_values(rules, present, numeric_ok)
    failed_types = [p.column for p in kept_types if p.column not in numeric_ok]
    value_probes = {c: _non_null_probe(c) for c in failed_types}
    if second or value_probes:
        results.update(_run(validator, [*second, *value_probes.values()], what))

    observed_types = {
        p.column: str((_result(results.get(_key(p))) or {}).get("observed_value", "?"))
        for p in kept_types
    }

    def type_failure(column: str, result: dict, examples: list) -> tuple[int, list, str]:
        probe = value_probes.get(column)
        counted = _result(results.get(_key(probe))) if probe else None
        if not counted:
            return 0, examples, observed_types.get(column, "?")
        values = [plain_value(v) for v in counted.get("partial_unexpected_list") or []]
        return int(counted.get("unexpected_count") or 0), values, observed_types[column]

    facts = BatchFacts(columns=columns, n_rows=n_rows, type_failure=type_failure)
    outcomes = [
        to_outcome(p, results.get(_key(p)), facts) for p in [*presence, *kept_types, *second]
    ]
    outcomes += [*type_skips, *not_run]
    return ValidationReport(
        success=all(o.success for o in outcomes), n_rows=n_rows, outcomes=outcomes
    )


def _probes() -> dict[str, PlannedExpectation]:
    """Expectations used only for what GE observes: the column list (in order) and row count."""
    import great_expectations as gx

    E = gx.expectations
    return {
        _COLUMNS_PROBE: PlannedExpectation(
            E.ExpectTableColumnsToMatchOrderedList(column_list=[]), _COLUMNS_PROBE, "", ""
        ),
        _ROWS_PROBE: PlannedExpectation(
            E.ExpectTableRowCountToBeBetween(min_value=0), _ROWS_PROBE, "", ""
        ),
    }


def _non_null_probe(column: str) -> PlannedExpectation:
    import great_expectations as gx

    return PlannedExpectation(
        gx.expectations.ExpectColumnValuesToBeNull(column=column), "non-null values", column, ""
    )


def _respelled(
    validator: Any,
    types: list[PlannedExpectation],
    results: dict[str, Any],
    respell: Any,
    type_list: tuple[str, ...],
    what: str,
) -> tuple[list[PlannedExpectation], dict[str, Any]]:
    """Re-run a failed type check whose observed type is numeric in another spelling (see
    :func:`_pg_respell`) with that spelling added, so GE still gives the verdict."""
    if respell is None:
        return types, results
    import great_expectations as gx

    rerun: dict[str, PlannedExpectation] = {}
    for p in types:
        res = results.get(_key(p))
        observed = (_result(res) or {}).get("observed_value")
        if res is not None and not res.success and isinstance(observed, str):
            spelling = respell(str(observed))
            if spelling:
                rerun[p.column] = PlannedExpectation(
                    gx.expectations.ExpectColumnValuesToBeInTypeList(
                        column=p.column, type_list=[*type_list, spelling]
                    ),
                    p.kind,
                    p.column,
                    p.description,
                )
    if not rerun:
        return types, results
    results = {**results, **_run(validator, list(rerun.values()), what)}
    return [rerun.get(p.column, p) for p in types], results


def _run(validator: Any, planned: list[PlannedExpectation], what: str) -> dict[str, Any]:
    """Run ``planned`` as one suite on the validator's batch; GE results by plan key."""
    import great_expectations as gx

    suite = gx.ExpectationSuite(name=f"liftlab-suite-{uuid.uuid4().hex}")
    for p in planned:
        # Unsaved suites leave ids empty (and setting one marks an expectation as saved), so
        # results are matched back to the plan by a key in ``meta``.
        p.expectation.meta = {**(p.expectation.meta or {}), _KEY: uuid.uuid4().hex}
        suite.add_expectation(p.expectation)
    try:
        result = validator.validate_expectation_suite(suite)
    except Exception as exc:
        # Loading the batch failed: the query does not run, or its columns clash.
        raise InputDataError(f"cannot validate {what}: {_first_line(_root(exc))}") from exc
    return {(r.expectation_config.meta or {}).get(_KEY): r for r in result.results}


def _key(p: PlannedExpectation) -> str:
    return str((p.expectation.meta or {}).get(_KEY))


def _root(exc: BaseException) -> BaseException:
    """The innermost cause: GE wraps the database's own message several times."""
    seen = exc
    while seen.__cause__ is not None and seen.__cause__ is not seen:
        seen = seen.__cause__
    return getattr(seen, "orig", None) or seen


def _result(res: Any) -> dict | None:
    if res is None or (res.exception_info or {}).get("raised_exception"):
        return None
    return dict(res.result or {})


def _succeeded(res: Any) -> bool:
    return _result(res) is not None and bool(res.success)


def _observed(results: dict[str, Any], probe: PlannedExpectation, what: str) -> Any:
    res = results.get(_key(probe))
    result = _result(res)
    if result is None:
        message = ((res.exception_info or {}).get("exception_message") if res else None) or "?"
        raise InputDataError(f"cannot read the {probe.kind} of {what}: {_first_line(message)}")
    return result.get("observed_value")
