"""Data-quality checks of :class:`~strategies.validation.ValidationRules` as SQL in an engine.

:func:`strategies.validation.validate` runs Great Expectations on a pandas frame; on a warehouse
the rows stay in the engine (DESIGN.md §5) and GE cannot reach DuckDB (great_expectations issue
#10738). Here every expectation that ``validate`` plans becomes a count of violating rows in
SQL, plus up to five examples, and comes back as the same
:class:`~strategies.validation.ExpectationOutcome` GE-on-pandas gives for the same data: same
expectation names, columns, success, unexpected counts, descriptions, and the same rules
reported as skipped when a column is missing or not numeric. The report, the pipeline gate and
:meth:`ValidationReport.failure_message` therefore work unchanged.

The plan mirrors ``validate``'s two passes: (1) columns exist and the numeric ones are numeric
— read from the engine's column types, as a SQL column has one type; (2) value rules on usable
columns only — all their counts in ONE aggregate scan, then a small query per failing rule for
its examples (and one GROUP BY per uniqueness rule).

Where the outcome cannot equal GE's, by the nature of SQL:

* examples are the five *smallest* offending values (``ORDER BY``), not the first five rows,
  as a warehouse relation has no row order;
* ``not null`` failures and ``row_values_in_set`` failures have no row positions to show, so
  the former give no examples and the latter give ``{column: value}`` without ``row``;
* the "found type" of a non-numeric column is ``str`` for text (as pandas says) and the
  engine's type name otherwise (pandas would say e.g. ``datetime64[us]``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from strategies.engines.base import Column, SqlEngine
from strategies.engines.dialects import literal, quote_ident
from strategies.errors import InputDataError
from strategies.validation import (
    EXPECT_BETWEEN,
    EXPECT_EXIST,
    EXPECT_IN_SET,
    EXPECT_NOT_NULL,
    EXPECT_PAIR,
    EXPECT_ROW_COUNT,
    EXPECT_TYPE,
    EXPECT_UNIQUE,
    MAX_EXAMPLES,
    TABLE,
    ExpectationOutcome,
    ValidationReport,
    ValidationRules,
    numeric_columns_needed,
    plain_value,
    referenced_columns,
    skipped_outcome,
)

__all__ = ["ValidationPlan", "plan_validation", "validate_in_engine"]

#: Column kinds GE's numeric type list accepts (booleans count, as a 0/1 flag is a metric).
_NUMERIC_KINDS = ("numeric", "boolean")


@dataclass
class _Rule:
    """One value rule: the SQL condition of a violating row and how to show its examples."""

    kind: str
    column: str
    description: str
    violating: str  # SQL boolean: this row breaks the rule (NULL counts as "no")
    example_columns: tuple[str, ...] = ()  # columns to fetch as examples
    example_keys: tuple[str, ...] = ()  # names for dict examples; empty: plain values
    show_description: bool = False
    unique: bool = False  # counted by GROUP BY, not by the aggregate


def validate_in_engine(
    engine: SqlEngine, relation: str, rules: ValidationRules
) -> ValidationReport:
    """Check ``relation`` in ``engine`` against ``rules``; return every outcome as GE would.

    Never raises for bad data (gate on it with :meth:`ValidationReport.raise_for_failures`);
    raises InputDataError only when the relation has duplicate column names, which makes
    "the column" ambiguous — as :func:`strategies.validation.validate` does.
    """
    return plan_validation(engine, relation, rules).finish(engine)


@dataclass
class ValidationPlan:
    """The suite planned on a relation's schema (pass 1 done): what is left is counting the
    value rules' violations — in a scan of its own (:meth:`finish` without counts) or in a
    scan another query makes anyway (:meth:`conditions` and :meth:`present` ride along on the
    statistics scan; :meth:`finish` then gets their counts)."""

    rel: str
    rules: ValidationRules
    outcomes: list[ExpectationOutcome]
    planned: list[_Rule]
    skipped: list[ExpectationOutcome]
    trivial: bool = False
    """No rule at all: the report is a success whatever the rows."""

    def conditions(self) -> dict[str, tuple[str, tuple[str, ...]]]:
        """Key → (SQL condition of a violating row, the columns it reads), for every value
        rule counted row by row."""
        return {
            f"{_RULE_KEY}{i}": (r.violating, r.example_columns or (r.column,))
            for i, r in enumerate(self.planned)
            if not r.unique and r.kind != EXPECT_NOT_NULL
        }

    def present(self) -> list[str]:
        """Columns of the not-null rules: their non-NULL values counted (cheaper than a CASE)."""
        return [r.column for r in self.planned if r.kind == EXPECT_NOT_NULL]

    def finish(
        self,
        engine: SqlEngine,
        *,
        n_rows: int | None = None,
        conditions: dict[str, int] | None = None,
        present: dict[str, int] | None = None,
    ) -> ValidationReport:
        """The report. Without counts the value rules are counted here (one aggregate scan);
        with the counts of :meth:`conditions` and :meth:`present` (and ``n_rows``) taken by
        another scan of the same relation, only failing rules' examples and uniqueness rules
        query the engine."""
        if n_rows is None:
            n_rows = _int(engine.fetch(f"SELECT COUNT(*) AS n FROM {self.rel}").iloc[0, 0])
        if self.trivial:
            return ValidationReport(success=True, n_rows=n_rows, outcomes=[])
        counted: dict[int, int | str] | None = None
        if conditions is not None and present is not None:
            counted = {}
            for i, r in enumerate(self.planned):
                if r.kind == EXPECT_NOT_NULL:
                    counted[i] = n_rows - present[r.column]
                elif not r.unique:
                    counted[i] = conditions[f"{_RULE_KEY}{i}"]
        outcomes = self.outcomes + _evaluate(engine, self.rel, self.planned, counted)
        rules = self.rules
        if rules.min_rows > 0:
            reason = f" ({rules.min_rows_reason})" if rules.min_rows_reason else ""
            description = f"the table must have at least {rules.min_rows} rows{reason}"
            success = n_rows >= int(rules.min_rows)
            if not success:
                description = (
                    f"the table has {n_rows} rows; at least {int(rules.min_rows)} are needed"
                    f"{reason}"
                )
            outcomes.append(
                ExpectationOutcome(EXPECT_ROW_COUNT, TABLE, success, 0, [], description)
            )
        outcomes += self.skipped
        return ValidationReport(
            success=all(o.success for o in outcomes), n_rows=n_rows, outcomes=outcomes
        )


#: Key prefix of a value rule's condition in a shared scan.
_RULE_KEY = "ll_rule:"


def plan_validation(engine: SqlEngine, relation: str, rules: ValidationRules) -> ValidationPlan:
    """Pass 1 of :func:`validate_in_engine` (columns exist, numeric ones are numeric: the
    engine's column types decide) and the value rules to count on usable columns."""
    rel = quote_ident(relation)
    columns = list(engine.columns(relation))
    names = [c.name for c in columns]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise InputDataError(f"data has duplicate column names: {', '.join(duplicated)}")

    referenced = referenced_columns(rules)
    if not referenced and rules.min_rows <= 0:
        return ValidationPlan(rel, rules, [], [], [], trivial=True)
    needs_numeric = numeric_columns_needed(rules)
    by_name = {c.name: c for c in columns}
    present = set(names)

    # Pass 1: columns exist, numeric columns are numeric (the engine's column type decides).
    outcomes: list[ExpectationOutcome] = []
    for c in referenced:
        if c in present:
            outcomes.append(
                ExpectationOutcome(EXPECT_EXIST, c, True, 0, [], f"column '{c}' must be present")
            )
        else:
            shown = ", ".join(names[:20])
            description = f"column '{c}' must be present (columns present: {shown})"
            outcomes.append(ExpectationOutcome(EXPECT_EXIST, c, False, 0, [], description))
    skipped: list[ExpectationOutcome] = []
    numeric_ok: set[str] = set()
    for c in needs_numeric:
        description = f"column '{c}' must be numeric"
        if c not in present:
            skipped.append(skipped_outcome(EXPECT_TYPE, c, description, [c], present))
        elif by_name[c].kind in _NUMERIC_KINDS:
            numeric_ok.add(c)
            outcomes.append(ExpectationOutcome(EXPECT_TYPE, c, True, 0, [], description))
        else:
            outcomes.append(_type_failure(engine, rel, by_name[c], description))

    def usable(cols: Sequence[str], numeric: bool) -> bool:
        return all(c in present and (not numeric or c in numeric_ok) for c in cols)

    # Pass 2: value rules on usable columns.
    planned: list[_Rule] = []
    for c in rules.non_negative_columns:
        description = f"{c} must not be negative"
        if usable([c], numeric=True):
            planned.append(_Rule(EXPECT_BETWEEN, c, description, f"{_num(by_name[c])} < 0", (c,)))
        else:
            skipped.append(skipped_outcome(EXPECT_BETWEEN, c, description, [c], present))
    for smaller, larger in rules.ordered_pairs:
        label = f"{smaller} <= {larger}"
        description = f"{smaller} must not exceed {larger}"
        if usable([smaller, larger], numeric=True):
            # NULL on either side makes the comparison NULL: the row is ignored, as GE's
            # ignore_row_if="either_value_is_missing" (a missing count is imputation's business).
            violating = f"{_num(by_name[larger])} < {_num(by_name[smaller])}"
            planned.append(
                _Rule(
                    EXPECT_PAIR, label, description, violating, (smaller, larger), (smaller, larger)
                )
            )
        else:
            skipped.append(
                skipped_outcome(EXPECT_PAIR, label, description, [smaller, larger], present)
            )
    for c, allowed in rules.allowed_values.items():
        description = f"{c} must be one of {', '.join(repr(v) for v in allowed)}"
        if usable([c], numeric=False):
            planned.append(
                _Rule(EXPECT_IN_SET, c, description, _not_in_set(by_name[c], allowed), (c,))
            )
        else:
            skipped.append(skipped_outcome(EXPECT_IN_SET, c, description, [c], present))
    for c in rules.not_null_columns:
        description = f"{c} must not be null"
        if usable([c], numeric=False):
            planned.append(_Rule(EXPECT_NOT_NULL, c, description, f"{quote_ident(c)} IS NULL"))
        else:
            skipped.append(skipped_outcome(EXPECT_NOT_NULL, c, description, [c], present))
    for c in rules.unique_columns:
        description = f"{c} must be unique (one row per {c})"
        if usable([c], numeric=False):
            planned.append(_Rule(EXPECT_UNIQUE, c, description, "", (c,), unique=True))
        else:
            skipped.append(skipped_outcome(EXPECT_UNIQUE, c, description, [c], present))
    for c, allowed in rules.row_values_in_set.items():
        note = rules.row_values_notes.get(c) or (
            f"{c} must be one of {', '.join(repr(v) for v in allowed)}"
        )
        if usable([c], numeric=False):
            violating = _not_in_set(by_name[c], allowed)
            planned.append(
                _Rule(EXPECT_IN_SET, c, note, violating, (c,), (c,), show_description=True)
            )
        else:
            skipped.append(skipped_outcome(EXPECT_IN_SET, c, note, [c], present))

    return ValidationPlan(rel, rules, outcomes, planned, skipped)


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------


def _evaluate(
    engine: SqlEngine, rel: str, planned: list[_Rule], counted: dict[int, int | str] | None = None
) -> list[ExpectationOutcome]:
    """Count every rule's violations (one aggregate scan, plus one GROUP BY per uniqueness
    rule) and fetch examples for the failing ones. A rule the engine cannot evaluate fails
    with the engine's message, as GE reports an expectation that raised. ``counted`` holds
    the non-uniqueness rules' counts when a shared scan took them."""
    counts: dict[int, int | str] = dict(counted or {})
    simple = [(i, r) for i, r in enumerate(planned) if not r.unique and i not in counts]
    if simple:
        parts = [f"SUM(CASE WHEN {r.violating} THEN 1 ELSE 0 END) AS c{i}" for i, r in simple]
        try:
            row = engine.fetch(f"SELECT {', '.join(parts)} FROM {rel}").iloc[0]
            counts.update({i: _int(row[f"c{i}"]) for i, _ in simple})
        except Exception:  # noqa: BLE001 - find which rule the engine refused, one by one
            for i, r in simple:
                counts[i] = _guarded(
                    lambda r=r: _int(
                        engine.fetch(
                            f"SELECT SUM(CASE WHEN {r.violating} THEN 1 ELSE 0 END) AS n FROM {rel}"
                        ).iloc[0, 0]
                    )
                )
    for i, r in enumerate(planned):
        if r.unique:
            q = quote_ident(r.column)
            counts[i] = _guarded(
                lambda q=q: _int(
                    engine.fetch(
                        f"SELECT SUM(n) AS n FROM (SELECT COUNT(*) AS n FROM {rel} "
                        f"WHERE {q} IS NOT NULL GROUP BY {q} HAVING COUNT(*) > 1) AS d"
                    ).iloc[0, 0]
                )
            )

    outcomes = []
    for i, r in enumerate(planned):
        count = counts[i]
        if isinstance(count, str):
            outcomes.append(
                ExpectationOutcome(
                    r.kind,
                    r.column,
                    False,
                    0,
                    [],
                    f"{r.description} (could not be evaluated: {count})",
                )
            )
            continue
        examples = _examples(engine, rel, r) if count and r.example_columns else []
        outcomes.append(
            ExpectationOutcome(
                r.kind,
                r.column,
                count == 0,
                count,
                examples,
                r.description,
                show_description=r.show_description,
            )
        )
    return outcomes


def _examples(engine: SqlEngine, rel: str, r: _Rule) -> list:
    """Up to five offending values, smallest first (deterministic; a relation has no order)."""
    cols = ", ".join(f"{quote_ident(c)} AS v{j}" for j, c in enumerate(r.example_columns))
    order = ", ".join(f"v{j} ASC NULLS LAST" for j in range(len(r.example_columns)))
    if r.unique:
        q = quote_ident(r.column)
        source = (
            f"(SELECT {q}, COUNT(*) OVER (PARTITION BY {q}) AS n FROM {rel} "
            f"WHERE {q} IS NOT NULL) AS d WHERE n > 1"
        )
    else:
        source = f"{rel} WHERE {r.violating}"
    try:
        rows = engine.fetch(f"SELECT {cols} FROM {source} ORDER BY {order} LIMIT {MAX_EXAMPLES}")
    except Exception:  # noqa: BLE001 - examples are a courtesy; the count already decided
        return []
    values = [[plain_value(v) for v in rows[f"v{j}"]] for j in range(len(r.example_columns))]
    if not r.example_keys:
        return values[0]
    return [dict(zip(r.example_keys, row, strict=True)) for row in zip(*values, strict=True)]


def _type_failure(
    engine: SqlEngine, rel: str, column: Column, description: str
) -> ExpectationOutcome:
    """A non-numeric column: every non-NULL value is unexpected, as GE counts them."""
    q = quote_ident(column.name)
    count = _guarded(lambda: _int(engine.fetch(f"SELECT COUNT({q}) AS n FROM {rel}").iloc[0, 0]))
    if isinstance(count, str):
        return ExpectationOutcome(
            EXPECT_TYPE,
            column.name,
            False,
            0,
            [],
            f"{description} (could not be evaluated: {count})",
        )
    examples: list = []
    if count:
        try:
            rows = engine.fetch(
                f"SELECT {q} AS v FROM {rel} WHERE {q} IS NOT NULL "
                f"ORDER BY {q} ASC LIMIT {MAX_EXAMPLES}"
            )
            examples = [plain_value(v) for v in rows["v"]]
        except Exception:  # noqa: BLE001 - e.g. an unorderable nested type; examples only
            examples = []
    found = "str" if column.kind == "text" else column.engine_type
    return ExpectationOutcome(
        EXPECT_TYPE, column.name, False, count, examples, f"{description}, found type {found}"
    )


def _guarded(compute: Callable[[], int]) -> int | str:
    """The count, or the first line of the engine's error message."""
    try:
        return compute()
    except Exception as exc:  # noqa: BLE001 - reported in the outcome, as GE does
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


# --------------------------------------------------------------------------------------------
# SQL pieces
# --------------------------------------------------------------------------------------------


def _num(column: Column) -> str:
    """The column as a number: booleans as 0/1 (PostgreSQL cannot compare booleans with 0)."""
    q = quote_ident(column.name)
    return f"CAST({q} AS INTEGER)" if column.kind == "boolean" else q


def _not_in_set(column: Column, allowed: Sequence[Any]) -> str:
    """Violating-row condition for an allowed set, with pandas' ``isin`` equality: a value
    equals only a set member of a compatible Python type (``1`` is not ``"1"``), so members of
    another type are dropped rather than letting SQL cast them; with none left, every
    non-NULL value violates."""
    q = quote_ident(column.name)
    members: list[Any] = []
    for value in allowed:
        if isinstance(value, np.generic):
            value = value.item()
        if _comparable(column.kind, value):
            members.append(value)
    if not members:
        return f"{q} IS NOT NULL"
    compared = q if column.kind in ("text", "numeric", "boolean") else f"CAST({q} AS VARCHAR)"
    listed = ", ".join(literal(v) for v in dict.fromkeys(members))
    return f"{q} IS NOT NULL AND {compared} NOT IN ({listed})"


def _comparable(kind: str, value: Any) -> bool:
    """Whether pandas could find ``value`` equal to a value of a column of this kind."""
    if kind == "numeric":
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        return is_number and not (isinstance(value, float) and math.isnan(value))
    if kind == "boolean":
        return isinstance(value, bool)
    return isinstance(value, str)  # text, and dates & co compared by their text


def _int(value: Any) -> int:
    """A count from SQL; SUM over no rows is NULL, which as a count is 0."""
    return 0 if value is None or pd.isna(value) else int(value)
