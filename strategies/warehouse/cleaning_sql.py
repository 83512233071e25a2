"""The A/B cleaning strategies as SQL run in an engine, with the same audits as pandas.

:mod:`strategies.cleaning` cleans a pandas frame; on a warehouse the raw rows must stay where
they are (DESIGN.md §5). Here each :class:`~strategies.cleaning.CleaningStrategy` becomes one
SQL step over the previous step's relation, and its :class:`~strategies.cleaning.CleaningAudit`
is computed from SQL counts, so the report and MLflow show the same numbers whichever path ran.

How a step is built, and why:

1. **Facts first, by small queries.** Each step first asks the engine for the few numbers it
   needs (distinct labels with row counts, duplicate and contaminated-unit counts, missing and
   non-whole counts, quantile caps). These become the audit.
2. **Then the step's SQL, with the facts written in as literals** (the label mapping as a
   ``CASE``, the cap as a number), so the statement that changed the data shows exactly what
   it did and can be re-run or reviewed on its own. A step that changes nothing is a plain
   pass-through (no window pass over a large table for nothing).
3. **Rows leave by joins with small key tables.** Duplicate rows and units in two variants are
   found by a GROUP BY over the unit keys only (hash-partitioned on large DuckDB inputs), kept
   as a small table, and joined back; no statement hashes or windows every column of every
   row, so memory stays bounded (100M rows under DuckDB's default 1 GB limit).

:func:`clean_in_engine` makes each step a temp table or view (``cleaned_1``, ``cleaned_2``,
…, then ``target``); :func:`cleaning_query` returns the whole chain as ONE ``WITH … SELECT``
over ``source``, for consumers that can only take a single read-only query (Great Expectations'
query assets, PostgreSQL read-only sessions). Both share one planner, so they cannot drift.

Semantics follow the pandas strategies exactly, with these deliberate, documented differences
(SQL has no row order and one type per column):

* examples and label lists whose pandas order is "first appearance" are listed in ascending
  value order here (the smallest values), the only order a warehouse can reproduce;
* a numeric variant column whose labels are matched to declared text labels becomes text as
  a whole; a label that matched nothing is then its engine's text (``2``), where pandas keeps
  the number ``2`` in a mixed column;
* NaN stored in a floating column is a value here (SQL NULL is the missing value), as DuckDB
  turns pandas NaN into NULL on the way in;
* label stripping is Python's ``str.strip`` (labels are mapped in Python from the distinct
  values), matching pandas to the character.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from strategies.cleaning import (
    MAX_EXAMPLES,
    CleaningAudit,
    CleaningStrategy,
    ColumnRoles,
    DropDuplicateRows,
    DropMultiVariantUnits,
    ImputeMissingCounts,
    NormalizeLabels,
    WinsorizeOutliers,
    audit_value,
    cap_description,
    declared_lookup,
    drop_duplicates_description,
    impute_description,
    multi_variant_description,
    names_text,
    normalize_labels_description,
)
from strategies.engines.base import Column, SqlEngine, is_integer_column
from strategies.engines.dialects import literal, quote_ident
from strategies.errors import ConfigError, InputDataError

__all__ = ["clean_in_engine", "cleaning_query"]

#: Largest magnitude (exclusive) a float may have to become int64, as in the pandas strategy.
_INT64_BOUND = literal(2.0**63)
_NESTED_TYPE = re.compile(r"(\[\]|^(struct|map|list|array|union)\b)", re.IGNORECASE)
#: Rows per hash partition of a key GROUP BY on DuckDB (see ``_Chain.helper``): measured to
#: fit the default 1 GB memory limit with room to spare.
_ROWS_PER_PARTITION = 8_000_000
_RELATION_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
#: Strategies that remove rows (their output is what a ``views`` chain stores once).
_ROW_DROPPING = (DropDuplicateRows, DropMultiVariantUnits)


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def clean_in_engine(
    engine: SqlEngine,
    strategies: Sequence[CleaningStrategy],
    roles: ColumnRoles,
    *,
    source: str = "source",
    target: str = "cleaned",
    steps: Literal["tables", "views"] = "tables",
) -> list[CleaningAudit]:
    """Run ``strategies`` in order inside ``engine``; the result is the relation ``target``.

    Step ``i`` (1-based) of ``n`` is ``<target>_<i>`` and the last one ``target``. With
    ``steps="tables"`` each is a temp table, so each step's facts are counted over a stored
    table rather than by re-running the chain. With ``steps="views"`` each is a temp view and
    the small key tables of the row-dropping steps are stored, and one table: the output of the
    last row-dropping step (later steps only rewrite values, so every later query — facts,
    validation, statistics — scans that one stored copy through cheap expressions instead of
    re-running the joins; DuckDB spills it to its temp folder beyond its memory limit). One
    copy instead of one per step (the embedded DuckDB path, whose memory limit those copies
    would fill); with no row-dropping step nothing is stored but key tables.
    With no strategies ``target`` is a copy (or view) of ``source``. Returns one audit per
    strategy, equal to what :func:`strategies.cleaning.run_cleaning` gives on the same rows.

    Raises:
        InputDataError: a strategy needs a column the data lacks, or a numeric column is not
            numeric (same text as the pandas strategies).
        ConfigError: an unknown strategy type, conflicting declared variants, or a relation
            name that is not a plain lower-case SQL name.
    """
    _check_relation_name(source, "the source relation name")
    _check_relation_name(target, "the target relation name")
    if steps not in ("tables", "views"):
        raise ConfigError(f"steps must be 'tables' or 'views', got {steps!r}")
    chain = _Chain.start(engine, source, mode=steps)
    audits: list[CleaningAudit] = []
    drops = [i for i, s in enumerate(strategies, start=1) if isinstance(s, _ROW_DROPPING)]
    stored = max(drops, default=0) if steps == "views" else 0
    for i, strategy in enumerate(strategies, start=1):
        step = _plan_step(strategy, chain, roles)
        name = target if i == len(strategies) else f"{target}_{i}"
        chain.add(name, step, store=i == stored)
        audits.append(step.audit)
    if not strategies:
        chain.add(target, _Step(f"SELECT * FROM {quote_ident(source)}", None, chain.columns))
    return audits


def cleaning_query(
    engine: SqlEngine,
    strategies: Sequence[CleaningStrategy],
    roles: ColumnRoles,
    *,
    source: str = "source",
) -> tuple[str, list[CleaningAudit]]:
    """The whole cleaning chain as ONE read-only ``SELECT`` over ``source``, and its audits.

    Each step is a CTE (``cleaning_step_1``, …) with its facts already written in as literals;
    the facts are counted by running the chain so far as a ``WITH`` query, so nothing is
    created in the engine. The query is in DuckDB's dialect: transpile it for the engine that
    will run it (``strategies.engines.dialects``). With no strategies it is
    ``SELECT * FROM source``.
    """
    _check_relation_name(source, "the source relation name")
    chain = _Chain.start(engine, source, mode="ctes")
    audits: list[CleaningAudit] = []
    for i, strategy in enumerate(strategies, start=1):
        name = f"cleaning_step_{i}"
        if name == source:
            raise ConfigError(f"the source relation cannot be called {source!r} (a step's name)")
        step = _plan_step(strategy, chain, roles)
        chain.add(name, step)
        audits.append(step.audit)
    return chain.query(f"SELECT * FROM {quote_ident(chain.name)}"), audits


# --------------------------------------------------------------------------------------------
# The chain of steps
# --------------------------------------------------------------------------------------------


@dataclass
class _Step:
    """One planned step: its SELECT over the previous relation, its audit, its columns."""

    sql: str
    audit: CleaningAudit | None
    columns: list[Column]
    keeps_distinct_rows: bool = False
    """True when the step only removes exact duplicate rows: the set of distinct rows, hence
    every unit's set of variant labels, is the one before it (see ``_Chain.census``)."""


@dataclass
class _Chain:
    """Where the next step reads from: a temp table or view, or the last CTE of a WITH chain."""

    engine: SqlEngine
    name: str
    columns: list[Column]
    rows: int
    mode: Literal["tables", "views", "ctes"]
    ctes: list[tuple[str, str]] = field(default_factory=list)
    census: str = ""
    """The relation a per-unit GROUP BY may read instead of this one: the same distinct rows
    (the relation before a run of steps that only drop exact duplicates). Cheaper to scan
    than a view that de-duplicates on the fly, with the same units and variant labels."""
    not_null: set[str] = field(default_factory=set)
    """Columns known to hold no NULL here. No step turns a value into NULL (labels map to
    labels, caps keep NULLs, imputation removes them, row drops only remove), so a column found
    NULL-free stays so down the chain and is not scanned again."""

    @classmethod
    def start(
        cls, engine: SqlEngine, source: str, *, mode: Literal["tables", "views", "ctes"]
    ) -> _Chain:
        columns = list(engine.columns(source))
        rows = _scalar_int(engine.fetch(f"SELECT COUNT(*) AS n FROM {quote_ident(source)}"))
        return cls(engine, source, columns, rows, mode, census=source)

    @property
    def rel(self) -> str:
        return quote_ident(self.name)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def query(self, select: str) -> str:
        """``select`` preceded by the chain's CTEs (none when steps are temp tables)."""
        if not self.ctes:
            return select
        defs = ", ".join(f"{quote_ident(name)} AS ({sql})" for name, sql in self.ctes)
        return f"WITH {defs} {select}"

    def fetch(self, select: str) -> pd.DataFrame:
        return self.engine.fetch(self.query(select))

    def helper(
        self, keys: Sequence[str], nullable: set[str], *, census: bool = False, **spec: Any
    ) -> str:
        """The small key table a row-dropping step needs (:func:`_key_table` of ``keys`` with
        ``spec``): a temp table when steps are tables or views, else one more CTE. Returns
        its quoted name. With ``census`` it groups :attr:`census` (same units and labels,
        but its counts ``n`` include exact duplicates the chain has dropped since).

        On DuckDB with many rows the GROUP BY runs per hash partition of the keys (each small
        enough for the memory limit, whose out-of-core aggregation gives up on wide group rows
        near the limit), the parts then stacked: more scans of a columnar file, bounded memory.
        """
        name = f"{self.name}_keys"
        spec["relation"] = quote_ident(self.census) if census else self.rel
        if self.mode == "ctes":
            self.ctes.append((name, _key_table(self, keys, nullable, **spec)))
            return quote_ident(name)
        parts = self.partitions()
        if parts == 1:
            self.engine.create_temp_table(name, _key_table(self, keys, nullable, **spec))
            return quote_ident(name)
        names = []
        for i in range(parts):
            names.append(f"{name}_{i}")
            partition = (_duckdb_hash(keys), parts, i)
            sql = _key_table(self, keys, nullable, partition=partition, **spec)
            self.engine.create_temp_table(names[-1], sql)
        union = " UNION ALL ".join(f"SELECT * FROM {quote_ident(n)}" for n in names)
        self.engine.create_temp_table(name, union)
        return quote_ident(name)

    def nullable(self, keys: Sequence[str]) -> set[str]:
        """The key columns holding a NULL here (one narrow scan): only they need the NULL-safe
        key form, which widens the GROUP BY."""
        unknown = [k for k in keys if k not in self.not_null]
        if not unknown:
            return set()
        counts = ", ".join(
            f"SUM(CASE WHEN {quote_ident(k)} IS NULL THEN 1 ELSE 0 END) AS n{i}"
            for i, k in enumerate(unknown)
        )
        facts = self.fetch(f"SELECT {counts} FROM {self.rel}")
        found = {k for i, k in enumerate(unknown) if _int_or_zero(facts[f"n{i}"].iloc[0])}
        self.not_null |= set(unknown) - found
        return found

    def partitions(self) -> int:
        """Hash partitions for a key GROUP BY on this engine (1 but on DuckDB with many rows)."""
        if self.engine.name != "duckdb" or self.rows <= _ROWS_PER_PARTITION:
            return 1
        return -(-self.rows // _ROWS_PER_PARTITION)

    def add(self, name: str, step: _Step, *, store: bool = False) -> None:
        """Make ``step`` the relation ``name``: a temp table when steps are tables or
        ``store`` is set, else a view or CTE."""
        if self.mode == "tables" or (store and self.mode == "views"):
            self.engine.create_temp_table(name, step.sql)
        elif self.mode == "views":
            self.engine.create_temp_view(name, step.sql)
        else:
            self.ctes.append((name, step.sql))
        self.name = name
        self.columns = step.columns
        if not step.keeps_distinct_rows:
            self.census = name
        if step.audit is not None:
            self.rows = step.audit.rows_out


def _plan_step(strategy: CleaningStrategy, chain: _Chain, roles: ColumnRoles) -> _Step:
    if isinstance(strategy, NormalizeLabels):
        return _normalize_labels(strategy, chain, roles)
    if isinstance(strategy, DropDuplicateRows):
        return _drop_duplicate_rows(strategy, chain, roles)
    if isinstance(strategy, DropMultiVariantUnits):
        return _drop_multi_variant_units(strategy, chain, roles)
    if isinstance(strategy, ImputeMissingCounts):
        return _impute_missing_counts(strategy, chain)
    if isinstance(strategy, WinsorizeOutliers):
        return _cap_outliers(strategy, chain)
    raise ConfigError(
        f"cleaning strategy {getattr(strategy, 'name', type(strategy).__name__)!r} has no SQL "
        "version; run it on pandas or remove it from the engine's cleaning list"
    )


def _pass_through(chain: _Chain) -> str:
    return f"SELECT {_select_list(chain.names)} FROM {chain.rel}"


# --------------------------------------------------------------------------------------------
# Strategies
# --------------------------------------------------------------------------------------------


def _normalize_labels(strategy: NormalizeLabels, chain: _Chain, roles: ColumnRoles) -> _Step:
    """Strip and match labels: the mapping is computed in Python from the distinct labels (few)
    with exactly the pandas rules, then written as a CASE over the changed labels only."""
    columns = [roles.variant_column]
    if roles.experiment_column is not None:
        columns.append(roles.experiment_column)
    _require_columns(chain, columns, strategy.name)
    lookup = declared_lookup(roles.variants)

    by_name = {c.name: c for c in chain.columns}
    exprs: dict[str, str] = {}
    new_columns = list(chain.columns)
    changes: list[dict[str, Any]] = []
    changed_per_column: dict[str, int] = {}
    unmatched: list[Any] = []
    for column in columns:
        is_variant = column == roles.variant_column
        q = quote_ident(column)
        counts = chain.fetch(
            f"SELECT {q} AS label, COUNT(*) AS n FROM {chain.rel} "
            f"WHERE {q} IS NOT NULL GROUP BY {q}"
        )
        labels = sorted(
            ((audit_value(v), int(n)) for v, n in zip(counts["label"], counts["n"], strict=True)),
            key=lambda pair: pair[0],
        )
        column_changes: list[dict[str, Any]] = []
        column_unmatched: list[Any] = []
        for label, n in labels:
            new, matched = _map_label(label, lookup if is_variant else None)
            if not matched:
                column_unmatched.append(label)
            if new != label or type(new) is not type(label):
                column_changes.append({"from": label, "to": new, "rows": n})
        n_changed = sum(c["rows"] for c in column_changes)
        changed_per_column[column] = n_changed
        if n_changed:
            if _label_map_fits(chain, by_name[column], len(labels)):
                exprs[column] = _label_map(by_name[column], labels, column_changes)
            else:
                exprs[column] = _label_case(by_name[column], column_changes)
            changes.extend({"column": column, **c} for c in column_changes)
            if by_name[column].kind != "text":
                index = chain.names.index(column)
                new_columns[index] = Column(column, "text", "VARCHAR")
        if is_variant:
            unmatched = column_unmatched

    total = sum(changed_per_column.values())
    audit = CleaningAudit(
        strategy=strategy.name,
        description=normalize_labels_description(
            columns, bool(roles.variants), total, len(unmatched)
        ),
        rows_in=chain.rows,
        rows_out=chain.rows,
        values_changed=total,
        details={
            "columns": columns,
            "declared_variants": list(roles.variants),
            "values_changed_per_column": changed_per_column,
            "changes": changes,
            "unmatched_labels": unmatched,
        },
    )
    if not exprs:
        return _Step(_pass_through(chain), audit, new_columns)
    items = [
        f"{exprs[n]} AS {quote_ident(n)}" if n in exprs else quote_ident(n) for n in chain.names
    ]
    return _Step(f"SELECT {', '.join(items)} FROM {chain.rel}", audit, new_columns)


def _map_label(label: Any, lookup: dict[str, str] | None) -> tuple[Any, bool]:
    """The pandas rule for one distinct label: (new value, matched a declared variant or no
    lookup). Non-string labels are compared by their text and kept unless they match."""
    text = label.strip() if isinstance(label, str) else str(label).strip()
    new: Any = text if isinstance(label, str) else label
    if not lookup:
        return new, True
    match = lookup.get(text.casefold())
    if match is None:
        return new, False
    return match, True


#: Most distinct labels a column may have for its relabelling to be written as a MAP literal.
_MAX_MAPPED_LABELS = 10_000


def _label_map_fits(chain: _Chain, column: Column, n_labels: int) -> bool:
    """Whether to relabel ``column`` by a DuckDB ``MAP`` lookup rather than a ``CASE``.

    DuckDB runs a scalar function on a dictionary-encoded vector (a Parquet text column) once
    per distinct value, but a ``CASE`` once per row: at 8M rows and 12 changed labels the CASE
    doubles the cost of every later scan (0.21 s against 0.11 s for the statistics alone).
    DuckDB only (the MAP literal is its syntax; PostgreSQL and Spark get the CASE), text
    columns only (others change type), a steps chain only (a CTE chain is transpiled)."""
    return (
        chain.engine.name == "duckdb"
        and chain.mode != "ctes"
        and column.kind == "text"
        and 0 < n_labels <= _MAX_MAPPED_LABELS
    )


def _label_map(
    column: Column, labels: list[tuple[Any, int]], column_changes: list[dict[str, Any]]
) -> str:
    """``MAP {label: new label}[column]`` over EVERY distinct label of the relation (unchanged
    ones map to themselves, NULL looks up NULL), so no ``COALESCE`` around it — that would
    run per row again. The labels were counted on this step's input, which the step reads."""
    new = {c["from"]: c["to"] for c in column_changes}
    pairs = ", ".join(f"{literal(label)}: {literal(new.get(label, label))}" for label, _ in labels)
    return f"MAP {{{pairs}}}[{quote_ident(column.name)}]"


def _label_case(column: Column, column_changes: list[dict[str, Any]]) -> str:
    """CASE rewriting the changed labels of one column; others are kept (as text when the
    column becomes text because a non-text label matched a declared text label)."""
    q = quote_ident(column.name)
    if column.kind in ("text", "numeric", "boolean"):
        compared = q
        whens = [f"WHEN {q} = {literal(c['from'])} THEN {literal(c['to'])}" for c in column_changes]
    else:  # dates and the like: compare by the same text pandas compared
        compared = f"CAST({q} AS VARCHAR)"
        whens = [
            f"WHEN {compared} = {literal(str(c['from']))} THEN {literal(c['to'])}"
            for c in column_changes
        ]
    other = q if column.kind == "text" else f"CAST({q} AS VARCHAR)"
    return f"CASE {' '.join(whens)} ELSE {other} END"


def _drop_duplicate_rows(strategy: DropDuplicateRows, chain: _Chain, roles: ColumnRoles) -> _Step:
    """Exact duplicate rows, as pandas' ``duplicated`` (NULLs equal). Copies of a row share
    its unit (and experiment), so only the rows of keys seen more than once — a narrow GROUP
    BY, few rows — go through ``DISTINCT``; the rest pass through a join with that small key
    table. A full-row ``SELECT DISTINCT *`` would hash every column of every row, the most
    memory-hungry statement of the chain. Without the unit column it is that DISTINCT."""
    nested = [c.name for c in chain.columns if _NESTED_TYPE.search(c.engine_type.strip())]
    keys = _unit_keys(roles)
    if not all(k in chain.names for k in keys):
        distinct = f"SELECT DISTINCT * FROM {chain.rel}"
        rows_out = _scalar_int(chain.fetch(f"SELECT COUNT(*) AS n FROM ({distinct}) AS d"))
        n_dropped = chain.rows - rows_out
        sql = f"SELECT DISTINCT {_select_list(chain.names)} FROM {chain.rel}" if n_dropped else None
        return _Step(
            sql or _pass_through(chain),
            _dedupe_audit(strategy, chain, n_dropped, nested),
            list(chain.columns),
            keeps_distinct_rows=True,
        )

    nullable = chain.nullable(keys)
    repeated = chain.helper(keys, nullable, having="COUNT(*) > 1")
    rows = _select_list(chain.names, "r")
    on = _key_join(chain, keys, nullable, "r", "k")
    facts = chain.fetch(
        f"SELECT (SELECT SUM(n) FROM {repeated}) AS n_rows, (SELECT COUNT(*) FROM "
        f"(SELECT DISTINCT {rows} FROM {chain.rel} AS r JOIN {repeated} AS k ON {on}) AS d) "
        "AS n_distinct"
    )
    n_dropped = _int_or_zero(facts["n_rows"].iloc[0]) - _int_or_zero(facts["n_distinct"].iloc[0])
    audit = _dedupe_audit(strategy, chain, n_dropped, nested)
    if not n_dropped:
        return _Step(_pass_through(chain), audit, list(chain.columns), keeps_distinct_rows=True)
    sql = (
        f"SELECT {rows} FROM {chain.rel} AS r LEFT JOIN {repeated} AS k ON {on} "
        f"WHERE k.n IS NULL UNION ALL "
        f"SELECT DISTINCT {rows} FROM {chain.rel} AS r JOIN {repeated} AS k ON {on}"
    )
    return _Step(sql, audit, list(chain.columns), keeps_distinct_rows=True)


def _dedupe_audit(
    strategy: DropDuplicateRows, chain: _Chain, n_dropped: int, nested: list[str]
) -> CleaningAudit:
    return CleaningAudit(
        strategy=strategy.name,
        description=drop_duplicates_description(n_dropped, nested),
        rows_in=chain.rows,
        rows_out=chain.rows - n_dropped,
        values_changed=0,
        details={"duplicate_rows_dropped": n_dropped, "nested_columns": nested},
    )


def _unit_keys(roles: ColumnRoles) -> list[str]:
    """The columns that identify a unit: (experiment,) unit."""
    return [c for c in (roles.experiment_column, roles.unit_column) if c is not None]


def _key_value(column: Column, alias: str | None = None) -> str:
    """A key column made NULL-free (NULL → a default of its type, text for other types), so
    that ``(value, NULL flag)`` pairs compare NULLs as equal with a plain, hashable ``=``:
    ``IS NOT DISTINCT FROM`` is not hashable on PostgreSQL, and an ``OR`` in the join
    condition is a hash key on no engine."""
    q = quote_ident(column.name) if alias is None else f"{alias}.{quote_ident(column.name)}"
    default = {"text": "''", "numeric": "0", "boolean": "FALSE"}.get(column.kind)
    if default is None:
        return f"COALESCE(CAST({q} AS VARCHAR), '')"
    return f"COALESCE({q}, {default})"


def _null_flag(column: Column, alias: str | None = None) -> str:
    q = quote_ident(column.name) if alias is None else f"{alias}.{quote_ident(column.name)}"
    return f"CASE WHEN {q} IS NULL THEN 1 ELSE 0 END"


def _key_table(
    chain: _Chain,
    keys: Sequence[str],
    nullable: set[str],
    *,
    carry: Sequence[str] = (),
    where: str = "",
    having: str,
    relation: str,
    partition: tuple[str, int, int] | None = None,
) -> str:
    """SQL of a key table over ``chain``: per key the column itself, or — for a ``nullable``
    one — its NULL-free value and NULL flag (``k0v``, ``k0n`` for :func:`_key_join`), and the
    row count ``n`` per key, for the groups passing ``having`` (``carry`` columns are there
    for it), read from ``relation`` (the chain's current one or its census, same columns).
    ``partition`` = (hash expression, parts, part) keeps one hash partition."""
    by_name = {c.name: c for c in chain.columns}
    inner, group = [], []
    for i, k in enumerate(keys):
        if k in nullable:
            inner += [
                quote_ident(k),
                f"{_key_value(by_name[k])} AS k{i}v",
                f"{_null_flag(by_name[k])} AS k{i}n",
            ]
            group += [f"k{i}v", f"k{i}n"]
            continue
        inner.append(quote_ident(k))
        group.append(quote_ident(k))
    inner += [quote_ident(c) for c in carry if c not in keys]
    conditions = [where] if where else []
    if partition is not None:
        expr, parts, part = partition
        conditions.append(f"{expr} % {parts} = {part}")
    filtered = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    # a nullable key's own column is functionally dependent on (value, flag): MIN keeps it
    kept = [f"MIN({quote_ident(k)}) AS {quote_ident(k)}" for k in keys if k in nullable]
    return (
        f"SELECT {', '.join(group + kept)}, COUNT(*) AS n FROM (SELECT {', '.join(inner)} "
        f"FROM {relation}{filtered}) AS x GROUP BY {', '.join(group)} HAVING {having}"
    )


def _key_join(
    chain: _Chain, keys: Sequence[str], nullable: set[str], rows: str, key_table: str
) -> str:
    """Equality of the keys of ``rows`` (an alias of ``chain``'s relation) and a
    :func:`_key_table` — NULL-safe for ``nullable`` keys — as plain equalities every engine
    can hash."""
    by_name = {c.name: c for c in chain.columns}
    parts = []
    for i, k in enumerate(keys):
        if k in nullable:
            parts.append(
                f"{_key_value(by_name[k], rows)} = {key_table}.k{i}v AND "
                f"{_null_flag(by_name[k], rows)} = {key_table}.k{i}n"
            )
        else:
            parts.append(f"{rows}.{quote_ident(k)} = {key_table}.{quote_ident(k)}")
    return " AND ".join(parts)


def _duckdb_hash(keys: Sequence[str]) -> str:
    """DuckDB's own hash of the keys, to split a key GROUP BY into partitions (used only on
    DuckDB; any deterministic split gives the same key table)."""
    return f"hash({', '.join(quote_ident(k) for k in keys)})"


def _drop_multi_variant_units(
    strategy: DropMultiVariantUnits, chain: _Chain, roles: ColumnRoles
) -> _Step:
    """A unit (per experiment) is contaminated when its non-NULL variant labels differ, i.e.
    ``MIN(variant) <> MAX(variant)`` — COUNT(DISTINCT …) OVER is not portable (PostgreSQL and
    Spark refuse it), MIN/MAX ignore NULL labels as pandas' nunique does, and NULL keys form one
    group in GROUP BY as with ``dropna=False``. NULL units are never dropped. The contaminated
    units are a small key table (a narrow GROUP BY); rows leave by a join with it, not by a
    window over every row and column."""
    keys = _unit_keys(roles)
    _require_columns(chain, [*keys, roles.variant_column], strategy.name)
    unit, variant = quote_ident(roles.unit_column), quote_ident(roles.variant_column)

    nullable = chain.nullable(keys) - {roles.unit_column}  # NULL units are not judged
    # a unit's labels are the same before exact duplicates left: group the census (cheaper)
    bad = chain.helper(
        keys,
        nullable,
        census=True,
        carry=[roles.variant_column],
        where=f"{unit} IS NOT NULL",
        having=f"MIN({variant}) <> MAX({variant})",
    )
    facts = chain.fetch(f"SELECT COUNT(*) AS units, SUM(n) AS n_rows FROM {bad}")
    n_units = int(facts["units"].iloc[0])
    n_rows = _int_or_zero(facts["n_rows"].iloc[0])
    if n_units and chain.census != chain.name:  # the census counted dropped duplicates too
        on = _key_join(chain, keys, nullable, "r", "k")
        n_rows = _scalar_int(
            chain.fetch(f"SELECT COUNT(*) AS n FROM {chain.rel} AS r JOIN {bad} AS k ON {on}")
        )
    examples: list[Any] = []
    if n_units:
        order = ", ".join(f"{quote_ident(k)} ASC NULLS LAST" for k in reversed(keys))
        shown = chain.fetch(
            f"SELECT {unit} AS unit FROM {bad} ORDER BY {order} LIMIT {MAX_EXAMPLES}"
        )
        examples = [audit_value(v) for v in shown["unit"]]

    audit = CleaningAudit(
        strategy=strategy.name,
        description=multi_variant_description(n_rows, n_units, roles.experiment_column is not None),
        rows_in=chain.rows,
        rows_out=chain.rows - n_rows,
        values_changed=0,
        details={
            "unit_column": roles.unit_column,
            "units_dropped": n_units,
            "rows_dropped": n_rows,
            "example_units": examples,
        },
    )
    if not n_units:
        return _Step(_pass_through(chain), audit, list(chain.columns))
    sql = (
        f"SELECT {_select_list(chain.names, 'r')} FROM {chain.rel} AS r "
        f"LEFT JOIN {bad} AS k ON {_key_join(chain, keys, nullable, 'r', 'k')} WHERE k.n IS NULL"
    )
    return _Step(sql, audit, list(chain.columns))


def _impute_missing_counts(strategy: ImputeMissingCounts, chain: _Chain) -> _Step:
    """NULL → 0. A floating column whose values are then all whole (and below 2**63 in size)
    becomes BIGINT, as pandas makes it int64. An integer-typed column keeps its type; it is
    listed as cast to int64 when it had NULLs, because the same column read into pandas would
    have been float64 with NaN (``strategies.ingest`` plain dtypes) and cast back."""
    _require_columns(chain, strategy.columns, strategy.name)
    by_name = {c.name: c for c in chain.columns}
    for column in strategy.columns:
        _require_numeric(by_name[column], strategy.name)

    parts = []
    for i, column in enumerate(strategy.columns):
        q = quote_ident(column)
        parts.append(f"SUM(CASE WHEN {q} IS NULL THEN 1 ELSE 0 END) AS m{i}")
        if not is_integer_column(by_name[column]):
            parts.append(
                f"SUM(CASE WHEN {q} IS NOT NULL AND NOT ({q} = FLOOR({q}) AND "
                f"ABS({q}) < {_INT64_BOUND}) THEN 1 ELSE 0 END) AS f{i}"
            )
    facts = chain.fetch(f"SELECT {', '.join(parts)} FROM {chain.rel}")

    filled: dict[str, int] = {}
    cast: list[str] = []
    exprs: dict[str, str] = {}
    new_columns = list(chain.columns)
    for i, column in enumerate(strategy.columns):
        q = quote_ident(column)
        n_missing = _int_or_zero(facts[f"m{i}"].iloc[0])
        filled[column] = n_missing
        if is_integer_column(by_name[column]):
            if n_missing:
                cast.append(column)
                exprs[column] = f"COALESCE({q}, 0)"
            continue
        if _int_or_zero(facts[f"f{i}"].iloc[0]) == 0:
            cast.append(column)
            exprs[column] = f"CAST(COALESCE({q}, 0) AS BIGINT)"
            new_columns[chain.names.index(column)] = Column(column, "numeric", "BIGINT")
        elif n_missing:
            exprs[column] = f"COALESCE({q}, 0)"

    total = sum(filled.values())
    audit = CleaningAudit(
        strategy=strategy.name,
        description=impute_description(strategy.columns, total, cast),
        rows_in=chain.rows,
        rows_out=chain.rows,
        values_changed=total,
        details={"columns": list(strategy.columns), "filled": filled, "cast_to_int64": cast},
    )
    if not exprs:
        return _Step(_pass_through(chain), audit, new_columns)
    items = [
        f"{exprs[n]} AS {quote_ident(n)}" if n in exprs else quote_ident(n) for n in chain.names
    ]
    return _Step(f"SELECT {', '.join(items)} FROM {chain.rel}", audit, new_columns)


def _cap_outliers(strategy: WinsorizeOutliers, chain: _Chain) -> _Step:
    """Caps are ``quantile_cont`` over all non-NULL rows pooled (numpy's default linear
    quantile), fetched, then written into the capping CASE as literals. The column stays
    integer only when it is integer without NULLs (pandas would hold NULLs as float64) and
    every cap actually applied is whole; otherwise it becomes DOUBLE, as in pandas."""
    _require_columns(chain, [strategy.column], strategy.name)
    column = next(c for c in chain.columns if c.name == strategy.column)
    _require_numeric(column, strategy.name)
    q = quote_ident(strategy.column)
    as_double = f"CAST({q} AS DOUBLE)"

    n_present = _scalar_int(chain.fetch(f"SELECT COUNT({q}) AS n FROM {chain.rel}"))
    upper_cap = _quantile(chain, as_double, n_present, float(strategy.upper_quantile))
    lower_cap = (
        _quantile(chain, as_double, n_present, float(strategy.lower_quantile))
        if strategy.lower_quantile is not None
        else None
    )

    n_above = n_below = 0
    if upper_cap is not None or lower_cap is not None:
        counts = []
        if upper_cap is not None:
            counts.append(f"SUM(CASE WHEN {q} > {literal(upper_cap)} THEN 1 ELSE 0 END) AS above")
        if lower_cap is not None:
            counts.append(f"SUM(CASE WHEN {q} < {literal(lower_cap)} THEN 1 ELSE 0 END) AS below")
        facts = chain.fetch(f"SELECT {', '.join(counts)} FROM {chain.rel}")
        if upper_cap is not None:
            n_above = _int_or_zero(facts["above"].iloc[0])
        if lower_cap is not None:
            n_below = _int_or_zero(facts["below"].iloc[0])

    audit = CleaningAudit(
        strategy=strategy.name,
        description=cap_description(strategy, upper_cap, lower_cap, n_above + n_below),
        rows_in=chain.rows,
        rows_out=chain.rows,
        values_changed=n_above + n_below,
        details={
            "column": strategy.column,
            "upper_quantile": float(strategy.upper_quantile),
            "cap": upper_cap,
            "capped_above": n_above,
            "lower_quantile": (
                float(strategy.lower_quantile) if strategy.lower_quantile is not None else None
            ),
            "lower_cap": lower_cap,
            "capped_below": n_below,
        },
    )
    if not (n_above or n_below):
        return _Step(_pass_through(chain), audit, list(chain.columns))

    applied = [cap for cap, n in ((upper_cap, n_above), (lower_cap, n_below)) if n]
    keep_integer = (
        is_integer_column(column)
        and n_present == chain.rows
        and all(float(c).is_integer() and abs(c) < 2.0**63 for c in applied)
    )

    def value(cap: float) -> str:
        return literal(int(cap)) if keep_integer else literal(cap)

    whens = []
    if n_above:
        whens.append(f"WHEN {q} > {literal(upper_cap)} THEN {value(upper_cap)}")
    if n_below:
        whens.append(f"WHEN {q} < {literal(lower_cap)} THEN {value(lower_cap)}")
    other = q if keep_integer else as_double
    expr = f"CASE {' '.join(whens)} ELSE {other} END"
    new_columns = list(chain.columns)
    if not keep_integer:
        new_columns[chain.names.index(strategy.column)] = Column(
            strategy.column, "numeric", "DOUBLE"
        )
    items = [f"{expr} AS {q}" if n == strategy.column else quote_ident(n) for n in chain.names]
    return _Step(f"SELECT {', '.join(items)} FROM {chain.rel}", audit, new_columns)


def _quantile(chain: _Chain, value: str, n: int, q: float) -> float | None:
    """``numpy.quantile(values, q)`` (linear) of the ``n`` non-NULL values of ``value``, from
    the two order statistics around its virtual index, fetched by ``ORDER BY … LIMIT 2
    OFFSET k`` from the nearer end: a top-N heap of at most ``n·min(q, 1−q)`` values, where an
    exact quantile aggregate holds all ``n`` in memory (100M doubles: beyond DuckDB's default
    limit). The interpolation is numpy's, so the cap equals the pandas path's."""
    if n == 0:
        return None
    virtual = float((n - 1) * np.float64(q))  # numpy's virtual index for method="linear"
    virtual = min(max(virtual, 0.0), float(n - 1))
    lo = math.floor(virtual)
    hi = min(lo + 1, n - 1)
    gamma = virtual - lo
    rows = f"SELECT {value} AS v FROM {chain.rel} WHERE {value} IS NOT NULL"
    if q >= 0.5:
        got = chain.fetch(
            f"SELECT v FROM ({rows}) AS s ORDER BY v DESC LIMIT 2 OFFSET {n - 1 - hi}"
        )
        values = got["v"].to_numpy(dtype=np.float64)[::-1]  # ascending: x_lo, x_hi
        x_lo, x_hi = (values[0], values[-1]) if hi > lo else (values[-1], values[-1])
    else:
        got = chain.fetch(f"SELECT v FROM ({rows}) AS s ORDER BY v ASC LIMIT 2 OFFSET {lo}")
        values = got["v"].to_numpy(dtype=np.float64)
        x_lo, x_hi = values[0], values[min(1, len(values) - 1)]
    diff = x_hi - x_lo
    if gamma >= 0.5:  # numpy's _lerp, which switches form at 0.5 for monotonicity
        return float(x_hi - diff * (1.0 - gamma))
    return float(x_lo + diff * gamma)


# --------------------------------------------------------------------------------------------
# Helpers (the pandas module's error texts, so errors read the same)
# --------------------------------------------------------------------------------------------


def _select_list(columns: Sequence[str], alias: str | None = None) -> str:
    """Quoted, comma-separated column names (an explicit list, as ``* REPLACE`` is DuckDB-only),
    qualified by ``alias`` when given."""
    prefix = "" if alias is None else f"{alias}."
    return ", ".join(f"{prefix}{quote_ident(c)}" for c in columns)


def _check_relation_name(name: str, what: str) -> str:
    """Return ``name`` if it is a plain lower-case identifier, else raise ConfigError.

    Relations liftlab creates (temp tables, CTEs) get such names so that quoted and unquoted
    spellings agree on every engine (PostgreSQL folds unquoted names to lower case).
    """
    if not isinstance(name, str) or not _RELATION_NAME.fullmatch(name):
        raise ConfigError(
            f"{what} must be a lower-case SQL name (letters, digits, underscore), got {name!r}"
        )
    return name


def _require_columns(chain: _Chain, columns: Sequence[str], strategy: str) -> None:
    missing = [c for c in columns if c not in chain.names]
    if missing:
        raise InputDataError(
            f"cleaning strategy {strategy!r} needs column(s) {names_text(missing)} which the data "
            f"does not have (columns present: {', '.join(chain.names)})"
        )


def _require_numeric(column: Column, strategy: str) -> None:
    """Numeric and not boolean, as pandas' check; the type named as pandas would name it for
    text (``str``) and booleans (``bool``), else the engine's own type name."""
    if column.kind != "numeric":
        found = {"text": "str", "boolean": "bool"}.get(column.kind, column.engine_type)
        raise InputDataError(
            f"cleaning strategy {strategy!r}: column '{column.name}' must be numeric, "
            f"found type {found}"
        )


def _fresh_name(base: str, taken: Sequence[str]) -> str:
    name, i = base, 0
    while name in taken:
        i += 1
        name = f"{base}_{i}"
    return name


def _scalar_int(frame: pd.DataFrame) -> int:
    return _int_or_zero(frame.iloc[0, 0])


def _int_or_zero(value: Any) -> int:
    """SUM over no rows is NULL in SQL (arriving as NaN/None); as a count it is 0."""
    return 0 if value is None or pd.isna(value) else int(value)


def _float_or_none(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)
