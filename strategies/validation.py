"""Data-quality validation of experiment tables with Great Expectations 1.x.

Great Expectations is used directly (no ZenML integration) so the rules live next to the domain
code and can be tested on small frames. One ephemeral GE context is created lazily per process
and shared: building one costs far more than validating a small frame, and GE is imported only
when the first validation runs, so importing this module (for :func:`build_ab_rules`) is cheap.

Validation runs in two passes. The first checks that every referenced column exists and that
the columns used in numeric rules are numeric. The second runs the value rules only on columns
that passed, because GE comparing numbers with strings would raise or, worse, give a
meaningless count. Rules that could not run are reported as skipped rather than crashing.
"""

from __future__ import annotations

import logging
import math
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from strategies.errors import DataValidationError, InputDataError

# Set before GE is first imported: it logs at INFO/DEBUG while registering expectations.
logging.getLogger("great_expectations").setLevel(logging.WARNING)

if TYPE_CHECKING:
    from great_expectations.core.batch_definition import BatchDefinition
    from great_expectations.data_context import AbstractDataContext

__all__ = [
    "DEFAULT_FUNNEL",
    "EXPECT_BETWEEN",
    "EXPECT_EXIST",
    "EXPECT_IN_SET",
    "EXPECT_NOT_NULL",
    "EXPECT_PAIR",
    "EXPECT_ROW_COUNT",
    "EXPECT_TYPE",
    "EXPECT_UNIQUE",
    "GE_LOCK",
    "MAX_EXAMPLES",
    "RESULT_FORMAT",
    "TABLE",
    "BatchFacts",
    "ExpectationOutcome",
    "PlannedExpectation",
    "ValidationReport",
    "ValidationRules",
    "build_ab_rules",
    "build_ads_rules",
    "ge_context",
    "numeric_columns_needed",
    "plain_value",
    "plan_presence",
    "plan_types",
    "plan_values",
    "referenced_columns",
    "skipped_outcome",
    "to_outcome",
    "validate",
]

#: Campaign funnel stages, widest first: each stage can never exceed the one before it.
DEFAULT_FUNNEL: tuple[str, ...] = ("impressions", "opens", "clicks", "conversions")

MAX_EXAMPLES = 5

# Type names GE accepts as numeric. GE resolves each name with ``np.dtype(name)``, falling back
# to ``getattr(pd, name)``, so pandas' nullable dtypes must be spelled as their class names
# ("Int64Dtype", not "Int64", which GE silently cannot resolve). For object columns GE checks
# each value against the Python types ("int", "float"). Booleans count: a 0/1 conversion flag
# stored as bool is a valid binary metric.
_NUMERIC_TYPE_LIST: list[str] = [
    *(f"int{b}" for b in (8, 16, 32, 64)),
    *(f"uint{b}" for b in (8, 16, 32, 64)),
    "float16",
    "float32",
    "float64",
    *(f"Int{b}Dtype" for b in (8, 16, 32, 64)),
    *(f"UInt{b}Dtype" for b in (8, 16, 32, 64)),
    "Float32Dtype",
    "Float64Dtype",
    "int",
    "float",
    "bool",
    "BooleanDtype",
]

EXPECT_EXIST = "expect_column_to_exist"
EXPECT_TYPE = "expect_column_values_to_be_in_type_list"
EXPECT_BETWEEN = "expect_column_values_to_be_between"
EXPECT_PAIR = "expect_column_pair_values_a_to_be_greater_than_b"
EXPECT_IN_SET = "expect_column_values_to_be_in_set"
EXPECT_NOT_NULL = "expect_column_values_to_not_be_null"
EXPECT_UNIQUE = "expect_column_values_to_be_unique"
EXPECT_ROW_COUNT = "expect_table_row_count_to_be_between"
#: The column label of table-level outcomes (row count).
TABLE = "(table)"


# --------------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ValidationRules:
    """What a table must satisfy. Column names only; no GE objects, so rules are easy to build,
    compare and log."""

    required_columns: tuple[str, ...] = ()
    numeric_columns: tuple[str, ...] = ()
    non_negative_columns: tuple[str, ...] = ()
    ordered_pairs: tuple[tuple[str, str], ...] = ()  # (smaller, larger): smaller <= larger
    allowed_values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    not_null_columns: tuple[str, ...] = ()
    unique_columns: tuple[str, ...] = ()
    # Like ``allowed_values``, but a failure lists the offending rows (index labels) with their
    # values: for derived per-row columns such as the gap between consecutive dates.
    row_values_in_set: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    # Explanations shown with a ``row_values_in_set`` failure, by column (what the rule means).
    row_values_notes: Mapping[str, str] = field(default_factory=dict)
    # The table must have at least ``min_rows`` rows (0 = no check); the reason is shown.
    min_rows: int = 0
    min_rows_reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (stored with a trained model so inference applies the same suite)."""
        return {
            "required_columns": list(self.required_columns),
            "numeric_columns": list(self.numeric_columns),
            "non_negative_columns": list(self.non_negative_columns),
            "ordered_pairs": [list(p) for p in self.ordered_pairs],
            "allowed_values": {k: list(v) for k, v in self.allowed_values.items()},
            "not_null_columns": list(self.not_null_columns),
            "unique_columns": list(self.unique_columns),
            "row_values_in_set": {k: list(v) for k, v in self.row_values_in_set.items()},
            "row_values_notes": dict(self.row_values_notes),
            "min_rows": int(self.min_rows),
            "min_rows_reason": self.min_rows_reason,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ValidationRules:
        return cls(
            required_columns=tuple(data.get("required_columns", ())),
            numeric_columns=tuple(data.get("numeric_columns", ())),
            non_negative_columns=tuple(data.get("non_negative_columns", ())),
            ordered_pairs=tuple(tuple(p) for p in data.get("ordered_pairs", ())),
            allowed_values={k: tuple(v) for k, v in dict(data.get("allowed_values", {})).items()},
            not_null_columns=tuple(data.get("not_null_columns", ())),
            unique_columns=tuple(data.get("unique_columns", ())),
            row_values_in_set={
                k: tuple(v) for k, v in dict(data.get("row_values_in_set", {})).items()
            },
            row_values_notes=dict(data.get("row_values_notes", {})),
            min_rows=int(data.get("min_rows", 0)),
            min_rows_reason=str(data.get("min_rows_reason", "")),
        )

    def without_columns(self, columns: Sequence[str]) -> ValidationRules:
        """The same rules minus every rule that mentions one of ``columns`` (e.g. the target,
        which new data to score does not have)."""
        drop = set(columns)

        def keep(items: Sequence[str]) -> tuple[str, ...]:
            return tuple(c for c in items if c not in drop)

        return ValidationRules(
            required_columns=keep(self.required_columns),
            numeric_columns=keep(self.numeric_columns),
            non_negative_columns=keep(self.non_negative_columns),
            ordered_pairs=tuple(p for p in self.ordered_pairs if not drop.intersection(p)),
            allowed_values={k: v for k, v in self.allowed_values.items() if k not in drop},
            not_null_columns=keep(self.not_null_columns),
            unique_columns=keep(self.unique_columns),
            row_values_in_set={k: v for k, v in self.row_values_in_set.items() if k not in drop},
            row_values_notes={k: v for k, v in self.row_values_notes.items() if k not in drop},
            min_rows=self.min_rows,
            min_rows_reason=self.min_rows_reason,
        )


def build_ads_rules(
    *,
    id_column: str,
    input_columns: Sequence[str],
    count_columns: Sequence[str] = (),
    not_greater_than: Mapping[str, str] | None = None,
    group_column: str | None = None,
    target: str | None = None,
) -> ValidationRules:
    """Rules for an ad-level table (KAG-shaped) used to train or score a conversion model.

    The id is present, not null and unique; the model's input columns and the target are
    present; count columns (impressions, clicks, spend, conversions) are non-negative numbers;
    ``not_greater_than`` pairs hold row by row (``{"Clicks": "Impressions"}``). Conversions are
    deliberately *not* bounded by clicks: view-through attribution makes conversions > clicks
    legitimate (218 real KAG ads). Rules about columns the table cannot have (the target at
    scoring time) are the caller's to drop with :meth:`ValidationRules.without_columns`.
    """
    ids = [id_column, *([group_column] if group_column else [])]
    required = _dedupe([*ids, *input_columns, *([target] if target else [])])
    counts = list(count_columns)
    if target and target not in counts:
        counts.append(target)
    pairs = tuple((a, b) for a, b in (not_greater_than or {}).items())
    return ValidationRules(
        required_columns=required,
        numeric_columns=_dedupe(counts),
        non_negative_columns=_dedupe(counts),
        ordered_pairs=pairs,
        not_null_columns=_dedupe([*ids, *input_columns, *([target] if target else [])]),
        unique_columns=(id_column,),
    )


def build_ab_rules(
    columns_present: Sequence[str],
    *,
    unit_column: str,
    variant_column: str,
    variants: Sequence[str],
    experiment_column: str | None = None,
    segment_columns: Sequence[str] = (),
    metric_columns: Sequence[str] = (),
    count_columns: Sequence[str] = (),
    funnel: Sequence[str] = DEFAULT_FUNNEL,
) -> ValidationRules:
    """Standard rules for an A/B or campaign table.

    Funnel stages are checked only if present in ``columns_present`` (a campaign without opens
    still has clicks <= impressions and conversions <= clicks); adjacent *present* stages are
    paired, skipping absent ones. Every present funnel column must be non-negative, as must the
    declared count columns.
    """
    ids = [unit_column, variant_column, *([experiment_column] if experiment_column else [])]
    present = set(columns_present)
    funnel_present = [c for c in funnel if c in present]
    return ValidationRules(
        required_columns=_dedupe([*ids, *segment_columns, *metric_columns]),
        numeric_columns=_dedupe([*metric_columns, *count_columns]),
        non_negative_columns=_dedupe([*count_columns, *funnel_present]),
        ordered_pairs=tuple(
            (smaller, larger)
            for larger, smaller in zip(funnel_present, funnel_present[1:], strict=False)
        ),
        allowed_values={variant_column: tuple(variants)} if variants else {},
        not_null_columns=_dedupe(ids),
    )


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


@dataclass
class ExpectationOutcome:
    """Result of one expectation, in plain terms.

    ``skipped`` marks a rule that was not run because its column is missing or not numeric; the
    missing/type failure that caused it is reported separately, so skipped rules are not counted
    as failures themselves.
    """

    expectation: str
    column: str
    success: bool
    unexpected_count: int
    unexpected_examples: list
    description: str
    skipped: bool = False
    # Show the description with the failing rows (it explains a derived column's rule).
    show_description: bool = False

    def to_dict(self) -> dict:
        return {
            "expectation": self.expectation,
            "column": self.column,
            "success": bool(self.success),
            "skipped": bool(self.skipped),
            "unexpected_count": int(self.unexpected_count),
            "unexpected_examples": [_jsonable(v) for v in self.unexpected_examples],
            "description": self.description,
        }


@dataclass
class ValidationReport:
    """All expectation outcomes for one table, for the report, MLflow and the pipeline gate."""

    success: bool
    n_rows: int
    outcomes: list[ExpectationOutcome]

    def failures(self) -> list[ExpectationOutcome]:
        """Expectations that ran and failed (skipped ones are listed by :meth:`skipped`)."""
        return [o for o in self.outcomes if not o.success and not o.skipped]

    def skipped(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if o.skipped]

    def to_dict(self) -> dict:
        return {
            "success": bool(self.success),
            "n_rows": int(self.n_rows),
            "n_expectations": len(self.outcomes),
            "n_failed": len(self.failures()),
            "n_skipped": len(self.skipped()),
            "outcomes": [o.to_dict() for o in self.outcomes],
        }

    def failure_message(self) -> str:
        """One line per failed expectation: name, column, bad rows out of n, examples."""
        failures = self.failures()
        run = len(self.outcomes) - len(self.skipped())
        lines = [
            f"data validation failed: {len(failures)} of {run} expectations failed "
            f"on {self.n_rows} rows"
        ]
        lines += [f"- {_failure_line(o, self.n_rows)}" for o in failures]
        skipped = self.skipped()
        if skipped:
            lines.append(
                "- not run because a column is missing or not numeric: "
                + "; ".join(f"{o.expectation} on '{o.column}'" for o in skipped)
            )
        return "\n".join(lines)

    def raise_for_failures(self) -> None:
        """Raise DataValidationError listing every failed expectation, if any failed."""
        if not self.success:
            raise DataValidationError(self.failure_message())


def _failure_line(o: ExpectationOutcome, n_rows: int) -> str:
    head = f"{o.expectation} failed on '{o.column}'"
    if o.expectation == EXPECT_EXIST:
        return f"{head}: {o.description.replace('must be present', 'is missing')}"
    explain = o.expectation in (EXPECT_TYPE, EXPECT_ROW_COUNT) or o.show_description
    detail = o.description if explain or not o.unexpected_count else ""
    if o.unexpected_count or o.unexpected_examples:
        count = f"{o.unexpected_count} of {n_rows} rows"
        if o.unexpected_examples:
            count += f" (examples: {'; '.join(_fmt_example(v) for v in o.unexpected_examples)})"
        detail = f"{detail}: {count}" if detail else count
    return f"{head}: {detail}"


def _fmt_example(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_fmt_value(v)}" for k, v in value.items())
    return _fmt_value(value)


def _fmt_value(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


@dataclass
class PlannedExpectation:
    """One GE expectation to run plus how to turn its result into an outcome."""

    expectation: Any  # a gx.expectations.Expectation
    kind: str
    column: str
    description: str
    columns: tuple[str, ...] = ()  # for pairs: (smaller, larger)
    with_rows: bool = False  # report offending rows (row_values_in_set)
    reason: str = ""  # why a table-level rule exists (min_rows)


def validate(df: pd.DataFrame, rules: ValidationRules) -> ValidationReport:
    """Check ``df`` against ``rules`` with Great Expectations and return every outcome.

    Never raises for bad data (call :meth:`ValidationReport.raise_for_failures` to gate on it);
    raises InputDataError only when the frame itself cannot be validated (duplicate column
    names make "the column" ambiguous).
    """
    if not isinstance(df, pd.DataFrame):
        raise InputDataError(f"validate expects a pandas DataFrame, got {type(df).__name__}")
    duplicated = sorted({str(c) for c in df.columns[df.columns.duplicated()]})
    if duplicated:
        raise InputDataError(f"data has duplicate column names: {', '.join(duplicated)}")

    referenced = referenced_columns(rules)
    if not referenced and rules.min_rows <= 0:
        return ValidationReport(success=True, n_rows=len(df), outcomes=[])
    present = set(df.columns)
    facts = _pandas_facts(df)

    # Pass 1: columns exist, numeric columns are numeric.
    first = plan_presence(referenced)
    types, skipped = plan_types(numeric_columns_needed(rules), present, _NUMERIC_TYPE_LIST)
    outcomes = _run(df, [*first, *types], facts)
    numeric_ok = {o.column for o in outcomes if o.expectation == EXPECT_TYPE and o.success}

    # Pass 2: value rules, only on columns that exist (and are numeric where it matters).
    second, not_run = plan_values(rules, present, numeric_ok)
    if second:
        outcomes += _run(df, second, facts)
    outcomes += [*skipped, *not_run]

    success = all(o.success for o in outcomes)
    return ValidationReport(success=success, n_rows=len(df), outcomes=outcomes)


# --------------------------------------------------------------------------------------------
# Planning, shared by every batch kind (pandas here; PostgreSQL and Spark in
# strategies/warehouse/ge_engine.py): which expectations run, which are skipped and why.
# --------------------------------------------------------------------------------------------


def referenced_columns(rules: ValidationRules) -> tuple[str, ...]:
    """Every column a rule mentions, in rule order (each must exist)."""
    pair_columns = [c for pair in rules.ordered_pairs for c in pair]
    return _dedupe(
        [
            *rules.required_columns,
            *rules.numeric_columns,
            *rules.non_negative_columns,
            *pair_columns,
            *rules.allowed_values,
            *rules.not_null_columns,
            *rules.unique_columns,
            *rules.row_values_in_set,
        ]
    )


def numeric_columns_needed(rules: ValidationRules) -> tuple[str, ...]:
    """Columns whose rules compare numbers, so they must be numeric before those rules run."""
    pair_columns = [c for pair in rules.ordered_pairs for c in pair]
    return _dedupe([*rules.numeric_columns, *rules.non_negative_columns, *pair_columns])


def plan_presence(referenced: Sequence[str]) -> list[PlannedExpectation]:
    """One ``expect_column_to_exist`` per referenced column."""
    import great_expectations as gx

    return [
        PlannedExpectation(
            gx.expectations.ExpectColumnToExist(column=c),
            EXPECT_EXIST,
            c,
            f"column '{c}' must be present",
        )
        for c in referenced
    ]


def plan_types(
    needs_numeric: Sequence[str], present: set, type_list: Sequence[str]
) -> tuple[list[PlannedExpectation], list[ExpectationOutcome]]:
    """The numeric-type rule for each present column; a missing column's rule is skipped.

    ``type_list`` is the backend's spelling of "numeric" (numpy/pandas names for pandas,
    SQLAlchemy type names for SQL, pyspark type names for Spark): GE compares names, not
    meanings, so each backend brings its own list.
    """
    import great_expectations as gx

    planned: list[PlannedExpectation] = []
    skipped: list[ExpectationOutcome] = []
    for c in needs_numeric:
        description = f"column '{c}' must be numeric"
        if c in present:
            planned.append(
                PlannedExpectation(
                    gx.expectations.ExpectColumnValuesToBeInTypeList(
                        column=c, type_list=list(type_list)
                    ),
                    EXPECT_TYPE,
                    c,
                    description,
                )
            )
        else:
            skipped.append(skipped_outcome(EXPECT_TYPE, c, description, [c], present))
    return planned, skipped


def plan_values(
    rules: ValidationRules, present: set, numeric_ok: set
) -> tuple[list[PlannedExpectation], list[ExpectationOutcome]]:
    """The value rules that can run (columns present, numeric where compared) and the skipped
    rest: comparing numbers with strings would raise or, worse, give a meaningless count."""
    import great_expectations as gx

    E = gx.expectations
    second: list[PlannedExpectation] = []
    skipped: list[ExpectationOutcome] = []

    def usable(columns: Sequence[str], numeric: bool) -> bool:
        return all(c in present and (not numeric or c in numeric_ok) for c in columns)

    for c in rules.non_negative_columns:
        description = f"{c} must not be negative"
        if usable([c], numeric=True):
            second.append(
                PlannedExpectation(
                    E.ExpectColumnValuesToBeBetween(column=c, min_value=0),
                    EXPECT_BETWEEN,
                    c,
                    description,
                )
            )
        else:
            skipped.append(skipped_outcome(EXPECT_BETWEEN, c, description, [c], present))
    for smaller, larger in rules.ordered_pairs:
        label = f"{smaller} <= {larger}"
        description = f"{smaller} must not exceed {larger}"
        if usable([smaller, larger], numeric=True):
            second.append(
                PlannedExpectation(
                    E.ExpectColumnPairValuesAToBeGreaterThanB(
                        column_A=larger,
                        column_B=smaller,
                        or_equal=True,
                        # A missing count is imputation's business, not an ordering violation.
                        ignore_row_if="either_value_is_missing",
                    ),
                    EXPECT_PAIR,
                    label,
                    description,
                    (smaller, larger),
                )
            )
        else:
            skipped.append(
                skipped_outcome(EXPECT_PAIR, label, description, [smaller, larger], present)
            )
    for c, allowed in rules.allowed_values.items():
        description = f"{c} must be one of {', '.join(repr(v) for v in allowed)}"
        if usable([c], numeric=False):
            second.append(
                PlannedExpectation(
                    E.ExpectColumnValuesToBeInSet(column=c, value_set=list(allowed)),
                    EXPECT_IN_SET,
                    c,
                    description,
                )
            )
        else:
            skipped.append(skipped_outcome(EXPECT_IN_SET, c, description, [c], present))
    for c in rules.not_null_columns:
        description = f"{c} must not be null"
        if usable([c], numeric=False):
            second.append(
                PlannedExpectation(
                    E.ExpectColumnValuesToNotBeNull(column=c), EXPECT_NOT_NULL, c, description
                )
            )
        else:
            skipped.append(skipped_outcome(EXPECT_NOT_NULL, c, description, [c], present))
    for c in rules.unique_columns:
        description = f"{c} must be unique (one row per {c})"
        if usable([c], numeric=False):
            second.append(
                PlannedExpectation(
                    E.ExpectColumnValuesToBeUnique(column=c), EXPECT_UNIQUE, c, description
                )
            )
        else:
            skipped.append(skipped_outcome(EXPECT_UNIQUE, c, description, [c], present))
    for c, allowed in rules.row_values_in_set.items():
        note = rules.row_values_notes.get(c) or (
            f"{c} must be one of {', '.join(repr(v) for v in allowed)}"
        )
        if usable([c], numeric=False):
            second.append(
                PlannedExpectation(
                    E.ExpectColumnValuesToBeInSet(column=c, value_set=list(allowed)),
                    EXPECT_IN_SET,
                    c,
                    note,
                    with_rows=True,
                )
            )
        else:
            skipped.append(skipped_outcome(EXPECT_IN_SET, c, note, [c], present))
    if rules.min_rows > 0:
        reason = f" ({rules.min_rows_reason})" if rules.min_rows_reason else ""
        second.append(
            PlannedExpectation(
                E.ExpectTableRowCountToBeBetween(min_value=int(rules.min_rows)),
                EXPECT_ROW_COUNT,
                TABLE,
                f"the table must have at least {rules.min_rows} rows{reason}",
                reason=rules.min_rows_reason,
            )
        )
    return second, skipped


def skipped_outcome(
    kind: str, column: str, description: str, columns: Sequence[str], present: set
) -> ExpectationOutcome:
    missing = [c for c in columns if c not in present]
    reason = f"column '{missing[0]}' is missing" if missing else "a column is not numeric"
    return ExpectationOutcome(
        expectation=kind,
        column=column,
        success=False,
        unexpected_count=0,
        unexpected_examples=[],
        description=f"{description} (not run: {reason})",
        skipped=True,
    )


@dataclass
class BatchFacts:
    """What outcome conversion needs to know about the validated batch beyond GE's results.

    ``columns`` (in order) names what is present when a column is missing; ``n_rows`` words a
    row-count failure; ``type_failure(column, result, examples)`` returns the bad-value count,
    examples and the found type's name for a failed numeric-type rule: GE checks SQL, Spark
    and typed pandas columns as a whole (no per-value count), so each batch kind says how many
    values that failure covers.
    """

    columns: list[str]
    n_rows: int
    type_failure: Callable[[str, dict, list], tuple[int, list, str]]


def _pandas_facts(df: pd.DataFrame) -> BatchFacts:
    def type_failure(column: str, result: dict, examples: list) -> tuple[int, list, str]:
        count = int(result.get("unexpected_count") or 0)
        if "unexpected_count" not in result:
            # Whole-column dtype check (e.g. pandas' str dtype): every non-null value is bad.
            values = df[column].dropna()
            count = len(values)
            examples = [plain_value(v) for v in values.head(MAX_EXAMPLES)]
        return count, examples, _found_type(df[column], examples)

    return BatchFacts(
        columns=[str(c) for c in df.columns], n_rows=len(df), type_failure=type_failure
    )


def _run(
    df: pd.DataFrame, planned: list[PlannedExpectation], facts: BatchFacts
) -> list[ExpectationOutcome]:
    """Run planned expectations as one GE suite through the shared context."""
    import great_expectations as gx

    context, batch_definition = _ge()
    token = uuid.uuid4().hex
    suite_name = f"liftlab-suite-{token}"
    definition_name = f"liftlab-validation-{token}"
    with GE_LOCK:
        suite = context.suites.add(gx.ExpectationSuite(name=suite_name))
        try:
            for p in planned:
                suite.add_expectation(p.expectation)
            definition = context.validation_definitions.add(
                gx.ValidationDefinition(name=definition_name, data=batch_definition, suite=suite)
            )
            try:
                result = definition.run(
                    batch_parameters={"dataframe": df}, result_format=RESULT_FORMAT
                )
            finally:
                context.validation_definitions.delete(definition_name)
        finally:
            context.suites.delete(suite_name)
        _forget_results(context)

    by_id = {r.expectation_config.id: r for r in result.results}
    return [to_outcome(p, by_id.get(p.expectation.id), facts) for p in planned]


#: SUMMARY results with a few examples: enough to explain a failure, never the bad rows.
RESULT_FORMAT: dict[str, Any] = {
    "result_format": "SUMMARY",
    "partial_unexpected_count": MAX_EXAMPLES,
}


def to_outcome(p: PlannedExpectation, res: Any, facts: BatchFacts) -> ExpectationOutcome:
    """Turn one GE result into an outcome in plain terms (the same for every batch kind)."""
    if res is None:  # pragma: no cover - GE returned fewer results than expectations
        return ExpectationOutcome(p.kind, p.column, False, 0, [], f"{p.description} (no result)")
    info = res.exception_info or {}
    if info.get("raised_exception"):
        message = str(info.get("exception_message") or "unknown error").splitlines()[0]
        return ExpectationOutcome(
            p.kind, p.column, False, 0, [], f"{p.description} (could not be evaluated: {message})"
        )
    result = dict(res.result or {})
    success = bool(res.success)
    count = int(result.get("unexpected_count") or 0)
    raw = list(result.get("partial_unexpected_list") or [])[:MAX_EXAMPLES]
    description = p.description

    if p.kind == EXPECT_EXIST:
        if not success:
            shown = ", ".join(map(str, facts.columns[:20]))
            description = f"column '{p.column}' must be present (columns present: {shown})"
        return ExpectationOutcome(p.kind, p.column, success, 0, [], description)
    if p.kind == EXPECT_TYPE:
        examples: list = [plain_value(v) for v in raw]
        if not success:
            count, examples, found = facts.type_failure(p.column, result, examples)
            description = f"{p.description}, found type {found}"
        return ExpectationOutcome(p.kind, p.column, success, count, examples, description)
    if p.kind == EXPECT_PAIR:
        smaller, larger = p.columns
        examples = [{smaller: plain_value(b), larger: plain_value(a)} for a, b in raw]
        return ExpectationOutcome(p.kind, p.column, success, count, examples, description)
    if p.kind == EXPECT_ROW_COUNT:
        if not success:
            needed = p.expectation.min_value
            reason = f" ({p.reason})" if p.reason else ""
            description = f"the table has {facts.n_rows} rows; at least {needed} are needed{reason}"
        return ExpectationOutcome(p.kind, p.column, success, 0, [], description)
    # SQL and Spark batches have no row labels (GE reports none), so their examples carry only
    # the offending values.
    rows = list(result.get("partial_unexpected_index_list") or [])[:MAX_EXAMPLES]
    if p.with_rows:
        if rows:
            examples = [
                {"row": plain_value(r), p.column: plain_value(v)}
                for r, v in zip(rows, raw, strict=False)
            ]
        else:
            examples = [{p.column: plain_value(v)} for v in raw]
        return ExpectationOutcome(
            p.kind, p.column, success, count, examples, description, show_description=True
        )
    if p.kind == EXPECT_NOT_NULL:
        examples = [{"row": plain_value(r)} for r in rows]
        return ExpectationOutcome(p.kind, p.column, success, count, examples, description)
    return ExpectationOutcome(
        p.kind, p.column, success, count, [plain_value(v) for v in raw], description
    )


def _found_type(series: pd.Series, examples: list) -> str:
    """Name the offending type: a value's Python type for object columns ("str" for pandas'
    string dtype), else the dtype itself (e.g. "datetime64[us]", "int64[pyarrow]")."""
    if series.dtype == object:
        for value in [*examples, *series.dropna().head(1)]:
            if value is not None:
                return type(value).__name__
    if pd.api.types.is_string_dtype(series.dtype):
        return "str"
    return str(series.dtype)


# --------------------------------------------------------------------------------------------
# Shared GE context
# --------------------------------------------------------------------------------------------

GE_LOCK = threading.RLock()
_CONTEXT: AbstractDataContext | None = None
_PANDAS_BATCH: BatchDefinition | None = None


def ge_context() -> AbstractDataContext:
    """Return the process-wide ephemeral GE context (also used by the SQL/Spark batches in
    ``strategies.warehouse.ge_engine``, so a process builds only one)."""
    global _CONTEXT
    with GE_LOCK:
        if _CONTEXT is None:
            import great_expectations as gx
            from great_expectations.data_context.types.base import (
                DataContextConfig,
                InMemoryStoreBackendDefaults,
                ProgressBarsConfig,
            )

            _quiet_ge_logging()
            config = DataContextConfig(
                # No temp docs site: nothing is rendered, and it would leave files in /tmp.
                store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
                analytics_enabled=False,
                # GE 1.x reads this from the context; otherwise tqdm bars go to stderr per run.
                progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
            )
            _CONTEXT = gx.get_context(mode="ephemeral", project_config=config)
        return _CONTEXT


def _ge() -> tuple[AbstractDataContext, BatchDefinition]:
    """Return the shared context and its whole-dataframe pandas batch definition."""
    global _PANDAS_BATCH
    with GE_LOCK:
        context = ge_context()
        if _PANDAS_BATCH is None:
            source = context.data_sources.add_pandas(name="liftlab_validation")
            asset = source.add_dataframe_asset(name="table")
            _PANDAS_BATCH = asset.add_batch_definition_whole_dataframe(name="whole_table")
        return context, _PANDAS_BATCH


def _quiet_ge_logging() -> None:
    """Keep GE to warnings and errors.

    Setting the package logger is not enough: ``great_expectations.data_context.types.base``
    sets its own logger to INFO on import, so already-created GE loggers with an explicit level
    below WARNING are raised too.
    """
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if (
            name.startswith("great_expectations.")
            and isinstance(logger, logging.Logger)
            and logging.NOTSET < logger.level < logging.WARNING
        ):
            logger.setLevel(logging.WARNING)


def _forget_results(context: AbstractDataContext) -> None:
    """Drop stored validation results: the report keeps what matters, and the in-memory store
    would otherwise grow with every call in a long-lived process."""
    try:
        store = context.validation_results_store
        for key in store.list_keys():
            store.remove_key(key)
    except Exception:  # pragma: no cover - housekeeping only, never fail a validation for it
        logging.getLogger(__name__).debug("could not clear GE validation results", exc_info=True)


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _dedupe(items: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def plain_value(value: Any) -> Any:
    """A plain JSON-friendly Python value (numpy scalars unwrapped, NaN -> None)."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    value = plain_value(value)
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)
