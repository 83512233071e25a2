"""One aggregation pass: raw unit rows → sufficient statistics (DESIGN.md §2.2).

Every metric declares the column products it needs (:meth:`MetricSpec.products`, including the
CUPED covariate sums Σz, Σz², Σyz, Σxz). Each distinct product is summed once, for every
grouping level at once — overall, then one level per segment column. Raw rows never travel
further: the estimate, inference and post-processing layers only see the long frame returned
here, so the same downstream code works whether the sums come from pandas, DuckDB or a
warehouse.

Two engines, one result
-----------------------
* ``pandas`` — one numeric matrix holding each product once, one compiled grouped sum per level
  (pandas' grouped sum uses compensated (Kahan) summation). Best for small frames: no SQL
  set-up cost, and the most accurate sums.
* ``duckdb`` — one SQL statement on an embedded, in-memory DuckDB that scans the pandas frame
  in place (no copy): a first ``GROUP BY`` over the finest cells (experiment × variant × every
  segment column) reduces millions of rows to a few hundred cells, then ``GROUP BY GROUPING SETS``
  rolls those cells up to the overall level and to each segment column. Multi-threaded and
  roughly 10× faster than pandas on 10M rows. DuckDB's ``SUM(DOUBLE)`` is not compensated, so
  sums agree with the pandas engine to ~1e-13 relative (tested to 1e-9), not bit for bit.
* ``auto`` (default) — DuckDB above :data:`DUCKDB_MIN_ROWS` rows, pandas below.

Both engines return the identical frame (labels, order, dtypes); sums differ only by rounding.
The DuckDB engine falls back to pandas for layouts SQL cannot express unambiguously (a segment
column that is also the experiment or variant column, repeated segment columns, non-string
column names).

Conventions
-----------
* A unit is a row of ``df`` (the user is the randomisation unit); ``n`` counts rows.
* Labels (experiment, variant, segment) are returned as strings, so a control given as ``"0"``
  matches a variant column holding the integer 0, and the CSV reads the same in any BI tool.
  Labels are ordered by the original values (so 2 < 10), not by their strings.
* ``segment`` is ``"all"`` for the overall rows and ``"<column>=<value>"`` per segment value;
  a missing segment value becomes ``"<column>=<NA>"`` (units are never dropped silently).
* Sums are float64. ``Σy² − (Σy)²/n`` stays accurate unless |mean|/sd exceeds ~1e6 (pandas) or
  ~1e5 (DuckDB); for such data centre the columns first or use ``engine="pandas"``.
* The covariate sums (``sum_z, sum_z2, sum_yz, sum_xz``) are 0 for metrics without a covariate.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import pandas as pd

from strategies.errors import ConfigError, InputDataError
from strategies.stats.metrics import MetricSpec, check_metric_specs, metric_columns
from strategies.stats.schema import FUNNEL_COLUMNS, OVERALL_SEGMENT

DEFAULT_EXPERIMENT = "experiment"

Engine = Literal["auto", "pandas", "duckdb"]
ENGINES: tuple[str, ...] = get_args(Engine)
#: ``engine="auto"`` uses DuckDB above this many rows. Below it DuckDB's fixed cost (connection,
#: query planning, ~10-20 ms) is not worth it; above it its multi-threaded scan wins clearly.
DUCKDB_MIN_ROWS = 200_000

Product = tuple[str, ...]


@dataclass(frozen=True)
class _Level:
    """Grouped sums of one grouping level, rows sorted by (experiment, segment, variant).

    ``matrix`` column 0 is the unit count; column j ≥ 1 is the sum of the j-th product.
    """

    exp_code: np.ndarray
    segment: np.ndarray
    var_code: np.ndarray
    matrix: np.ndarray


def aggregate(
    df: pd.DataFrame,
    metrics: Sequence[MetricSpec],
    *,
    variant_column: str,
    experiment_column: str | None = None,
    segment_columns: Sequence[str] = (),
    engine: Engine = "auto",
) -> pd.DataFrame:
    """Sufficient statistics for every experiment × segment × variant × metric.

    Returns a long frame with columns ``experiment, segment, variant, metric, n, sum_y,
    sum_y2, sum_x, sum_x2, sum_xy, sum_z, sum_z2, sum_yz, sum_xz`` (:data:`STATS_COLUMNS
    <strategies.stats.schema.STATS_COLUMNS>`; x is the ratio
    denominator; x ≡ 1 for mean/proportion, so there ``sum_x = sum_x2 = n``, ``sum_xy = sum_y``
    and ``sum_xz = sum_z``; z is the metric's CUPED covariate, all four z-sums are 0 without
    one). Rows are ordered by experiment, then the overall segment, then each segment column in
    the given order, then variant, then metric in declaration order. Segment × variant cells
    with no units are absent (the analysis fills them in as empty arms).

    ``engine`` picks the aggregation engine (see the module docstring); the result is the same.

    Raises InputDataError (naming the column or experiment) when a column is missing, a metric
    or covariate column is non-numeric or has NaN/inf values, a proportion column is not 0/1, or
    an experiment has a single variant — before anything is summed; ConfigError for an unknown
    engine.
    """
    specs = check_metric_specs(metrics)
    segment_columns = as_column_list(segment_columns)
    if engine not in ENGINES:
        raise ConfigError(
            f"unknown aggregation engine {engine!r}; valid engines are {', '.join(ENGINES)}"
        )
    _validate_input(df, specs, variant_column, experiment_column, segment_columns)

    products, product_index = summed_products(specs)
    use_duckdb = engine == "duckdb" or (engine == "auto" and len(df) > DUCKDB_MIN_ROWS)
    if use_duckdb and not _duckdb_can_express(
        df, variant_column, experiment_column, segment_columns
    ):
        use_duckdb = False
    grouped = _levels_duckdb if use_duckdb else _levels_pandas
    exp_labels, var_labels, levels = grouped(
        df, products, variant_column, experiment_column, segment_columns
    )
    overall = levels[0]
    check_variants_per_experiment(overall.exp_code, overall.var_code, exp_labels, var_labels)

    exp_code, segment, var_code, group_sums = (
        np.concatenate(a)
        for a in zip(*((v.exp_code, v.segment, v.var_code, v.matrix) for v in levels), strict=True)
    )
    # Levels were appended in order and each is sorted by (experiment, segment, variant), so a
    # stable sort on the experiment code yields experiment → level → segment → variant.
    order = np.argsort(exp_code, kind="stable")
    return expand_metrics(
        exp_labels[exp_code[order]],
        segment[order],
        var_labels[var_code[order]],
        group_sums[order],
        specs,
        product_index,
    )


def funnel_totals(
    df: pd.DataFrame,
    stages: Sequence[str],
    *,
    variant_column: str,
    experiment_column: str | None = None,
) -> pd.DataFrame:
    """Stage totals per experiment × variant for the report's funnel chart.

    Returns a long frame ``experiment, variant, n_units, stage, stage_order, total``
    (:data:`FUNNEL_COLUMNS <strategies.stats.schema.FUNNEL_COLUMNS>`) with only
    the stages present in ``df``, in the given order; ``stage_order`` is 1 for the first
    present stage. When none of the stages is present the frame is empty (the report then has
    no funnel to draw — not an error, since funnels are optional).
    """
    stages = as_column_list(stages)
    roles = {"variant_column": variant_column}
    if experiment_column is not None:
        roles["experiment_column"] = experiment_column
    check_frame(df)
    check_columns_present(df, list(roles.values()), roles_hint=roles)
    present = [s for s in stages if s in df.columns]
    if not present:
        return pd.DataFrame({c: pd.Series(dtype=_funnel_dtype(c)) for c in FUNNEL_COLUMNS})
    check_label_column(df, variant_column)
    if experiment_column is not None:
        check_label_column(df, experiment_column)
    check_numeric_columns(df, present, purpose="funnel stage")

    exp_codes, exp_labels = encode_labels(df, experiment_column)
    var_codes, var_labels = encode_labels(df, variant_column)
    n_var = len(var_labels)
    matrix = np.column_stack(
        [np.ones(len(df))] + [df[s].to_numpy(dtype=np.float64) for s in present]
    )
    sums = _grouped_sums(matrix, exp_codes * n_var + var_codes)
    g = sums.index.to_numpy()
    values = sums.to_numpy()
    n_groups, n_stages = len(g), len(present)
    return pd.DataFrame(
        {
            "experiment": np.repeat(exp_labels[g // n_var], n_stages),
            "variant": np.repeat(var_labels[g % n_var], n_stages),
            "n_units": np.repeat(values[:, 0].astype(np.int64), n_stages),
            "stage": np.tile(np.array(present, dtype=object), n_groups),
            "stage_order": np.tile(np.arange(1, n_stages + 1), n_groups),
            "total": values[:, 1:].reshape(-1),
        }
    )


# --------------------------------------------------------------------------------------------
# validation


def as_column_list(columns: Sequence[str]) -> list[str]:
    # A bare string is a sequence of characters; treating "country" as c, o, u, ... would fail
    # later with a confusing message.
    if isinstance(columns, str):
        return [columns]
    return list(columns)


def check_frame(df: pd.DataFrame) -> None:
    if not isinstance(df, pd.DataFrame):
        raise InputDataError(f"expected a pandas DataFrame, got {type(df).__name__}")
    if len(df) == 0:
        raise InputDataError("the input table has no rows")


def check_columns_present(df: pd.DataFrame, columns: list[str], roles_hint: dict) -> None:
    missing = [c for c in dict.fromkeys(columns) if c not in df.columns]
    if missing:
        where = {c: [r for r, cols in roles_hint.items() if c in _listify(cols)] for c in missing}
        detail = ", ".join(f"{c!r} (needed by {', '.join(where[c])})" for c in missing)
        raise InputDataError(
            f"missing column(s): {detail}; available columns: {', '.join(map(str, df.columns))}"
        )


def _listify(value: str | Sequence[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def check_label_column(df: pd.DataFrame, column: str) -> None:
    values = df[column]
    if isinstance(values.dtype, pd.CategoricalDtype) and values.cat.codes.min() >= 0:
        return  # NA is code -1: one pass over small integer codes, no boolean mask
    n_missing = int(values.isna().sum())
    if n_missing:
        raise InputDataError(
            f"column {column!r} has {n_missing} missing value(s); every unit needs a label"
        )


def check_numeric_columns(df: pd.DataFrame, columns: Sequence[str], *, purpose: str) -> None:
    non_numeric = [
        f"{c!r} ({df[c].dtype})" for c in columns if not pd.api.types.is_numeric_dtype(df[c])
    ]
    if non_numeric:
        raise InputDataError(f"{purpose} column(s) must be numeric: {', '.join(non_numeric)}")
    problems = []
    for c in columns:
        if _cannot_hold_nan(df[c].dtype):
            continue  # numpy ints and bools: nothing to check (and no 80 MB copy on 10M rows)
        values = df[c].to_numpy(dtype=np.float64, na_value=np.nan)
        # A finite sum proves every value finite (NaN and ±inf propagate) in one allocation-free
        # pass; only a non-finite sum (bad values, or an overflow) needs the element-wise check.
        if np.isfinite(values.sum()) or np.isfinite(values).all():
            continue
        n_nan = int(np.isnan(values).sum())
        n_inf = int(np.isinf(values).sum())
        kinds = [f"{n_nan} missing"] * bool(n_nan) + [f"{n_inf} infinite"] * bool(n_inf)
        problems.append(f"{c!r} ({', '.join(kinds)})")
    if problems:
        raise InputDataError(
            f"{purpose} column(s) with missing or infinite values: {', '.join(problems)}; "
            "clean or impute them before the analysis"
        )


def _cannot_hold_nan(dtype) -> bool:
    return isinstance(dtype, np.dtype) and dtype.kind in "iub"


def _validate_input(
    df: pd.DataFrame,
    specs: Sequence[MetricSpec],
    variant_column: str,
    experiment_column: str | None,
    segment_columns: list[str],
) -> None:
    check_frame(df)
    roles: dict[str, str | list[str]] = {"variant_column": variant_column}
    if experiment_column is not None:
        roles["experiment_column"] = experiment_column
    if segment_columns:
        roles["segment_columns"] = segment_columns
    for m in specs:
        roles[f"metric {m.name!r}"] = list(m.columns())
    needed = [c for cols in roles.values() for c in _listify(cols)]
    check_columns_present(df, needed, roles_hint=roles)

    check_label_column(df, variant_column)
    if experiment_column is not None:
        check_label_column(df, experiment_column)
    check_numeric_columns(df, metric_columns(specs), purpose="metric")

    for col in dict.fromkeys(m.y_column for m in specs if m.type == "proportion"):
        values = df[col].to_numpy()
        if values.dtype == np.bool_:
            continue
        if values.dtype.kind in "iu" and values.view(values.dtype.str.replace("i", "u")).max() <= 1:
            continue  # viewed as unsigned, negatives are huge: one allocation-free pass
        bad = (values != 0) & (values != 1)
        if bad.any():
            examples = ", ".join(map(repr, pd.unique(values[bad])[:3].tolist()))
            raise InputDataError(
                f"proportion column {col!r} must hold only 0/1 values; "
                f"{int(bad.sum())} row(s) do not (e.g. {examples})"
            )


def check_variants_per_experiment(
    exp_codes: np.ndarray, var_codes: np.ndarray, exp_labels: np.ndarray, var_labels: np.ndarray
) -> None:
    """Raise InputDataError when an experiment has a single variant (codes of observed groups;
    public so SQL-computed statistics are checked with the same message)."""
    pairs = np.unique(exp_codes * len(var_labels) + var_codes)
    n_variants = np.bincount(pairs // len(var_labels), minlength=len(exp_labels))
    single = np.flatnonzero(n_variants < 2)
    if single.size:
        detail = "; ".join(
            f"{exp_labels[e]!r} has only variant "
            f"{var_labels[pairs[pairs // len(var_labels) == e][0] % len(var_labels)]!r}"
            for e in single[:5]
        )
        raise InputDataError(
            f"{single.size} experiment(s) with a single variant, nothing to compare: {detail}"
        )


# --------------------------------------------------------------------------------------------
# the aggregation pass


def _products(specs: Sequence[MetricSpec]) -> list[Product]:
    """Every distinct column product the metrics need, each once, in declaration order."""
    return list(dict.fromkeys(p for m in specs for p in m.products()))


def summed_products(specs: Sequence[MetricSpec]) -> tuple[list[Product], dict[Product, int]]:
    """The products to sum (each once) and the column of each product the metrics ask for.

    Column 0 of a sums matrix is the unit count, column j ≥ 1 the j-th product. Public so that
    engines computing the sums elsewhere (``strategies.warehouse.stats_sql``) sum exactly the
    same products and expand them with :func:`expand_metrics` like this module does.
    """
    # A proportion column holds only 0/1 (validated first), so its square is itself: Σy² = Σy
    # exactly, and summing it again would only cost a pass over the rows.
    binary = {m.y_column for m in specs if m.type == "proportion"}
    squares = {(c, c): (c,) for c in binary}
    products = list(dict.fromkeys(squares.get(p, p) for p in _products(specs)))
    product_index = {p: j for j, p in enumerate(products, start=1)}
    for square, column in squares.items():
        product_index[square] = product_index[column]
    return products, product_index


def encode_labels(df: pd.DataFrame, column: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes and string labels, sorted by the original values (so 2 < 10)."""
    if column is None:
        return np.zeros(len(df), dtype=np.int64), np.array([DEFAULT_EXPERIMENT], dtype=object)
    values = df[column]
    if isinstance(values.dtype, pd.CategoricalDtype):
        # The categories' own codes, minus unobserved ones: one bincount and one take instead of
        # re-factorizing the column (same codes and labels as :func:`encode_values`).
        codes, labels = _label_codes(values)
        used = np.bincount(codes, minlength=len(labels)) > 0
        return (np.cumsum(used) - 1)[codes], labels[used]
    return encode_values(values)


def encode_values(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes and labels of ``values``; NA sorts last and is labelled ``<NA>``.

    Both engines label through this function — the pandas engine on the full column, the DuckDB
    engine on the (few) distinct values its query returns — so the labels and their order are
    identical: sorting the distinct values gives the same order as sorting the column.
    """
    try:
        codes, uniques = pd.factorize(values, sort=True, use_na_sentinel=False)
    except TypeError:  # mixed types cannot be sorted: sort their string forms instead
        codes, uniques = pd.factorize(values.astype(str), sort=True, use_na_sentinel=False)
    labels = np.array(["<NA>" if pd.isna(u) else str(u) for u in uniques], dtype=object)
    return codes.astype(np.int64), labels


def _product_matrix(df: pd.DataFrame, products: Sequence[Product]) -> np.ndarray:
    """Column 0 counts units; column j ≥ 1 holds the j-th product of raw columns."""
    base = {
        c: df[c].to_numpy(dtype=np.float64) for c in dict.fromkeys(c for p in products for c in p)
    }
    matrix = np.empty((len(df), len(products) + 1), dtype=np.float64)
    matrix[:, 0] = 1.0
    for j, product in enumerate(products, start=1):
        col = base[product[0]]
        matrix[:, j] = col if len(product) == 1 else col * base[product[1]]
    return matrix


def _grouped_sums(matrix: np.ndarray, group_id: np.ndarray) -> pd.DataFrame:
    # pandas' grouped sum is a single compiled pass with Kahan summation; the index is the
    # (sorted) observed group ids.
    return pd.DataFrame(matrix).groupby(group_id, sort=True).sum()


def _levels_pandas(
    df: pd.DataFrame,
    products: Sequence[Product],
    variant_column: str,
    experiment_column: str | None,
    segment_columns: Sequence[str],
) -> tuple[np.ndarray, np.ndarray, list[_Level]]:
    """One compiled grouped sum per level over one matrix of all products."""
    exp_codes, exp_labels = encode_labels(df, experiment_column)
    var_codes, var_labels = encode_labels(df, variant_column)
    matrix = _product_matrix(df, products)
    n_var = len(var_labels)

    # Overall level: groups are (experiment, variant).
    sums = _grouped_sums(matrix, exp_codes * n_var + var_codes)
    g = sums.index.to_numpy()
    levels = [
        _Level(
            g // n_var, np.full(len(g), OVERALL_SEGMENT, dtype=object), g % n_var, sums.to_numpy()
        )
    ]
    # One grouped sum per segment column: groups are (experiment, segment value, variant).
    for column in segment_columns:
        seg_codes, seg_values = encode_labels(df, column)
        seg_labels = np.array([f"{column}={v}" for v in seg_values], dtype=object)
        n_seg = len(seg_labels)
        sums = _grouped_sums(matrix, (exp_codes * n_seg + seg_codes) * n_var + var_codes)
        g = sums.index.to_numpy()
        levels.append(
            _Level(
                g // (n_seg * n_var), seg_labels[(g // n_var) % n_seg], g % n_var, sums.to_numpy()
            )
        )
    return exp_labels, var_labels, levels


# -- DuckDB ---------------------------------------------------------------------------------


def _duckdb_can_express(
    df: pd.DataFrame,
    variant_column: str,
    experiment_column: str | None,
    segment_columns: Sequence[str],
) -> bool:
    """GROUPING SETS tell levels apart by which key columns are grouped; that is ambiguous when
    a segment column repeats a key, and DuckDB needs string column names."""
    keys = [c for c in (experiment_column, variant_column) if c is not None]
    return (
        len(set(segment_columns)) == len(segment_columns)
        and not set(segment_columns) & set(keys)
        and all(isinstance(c, str) for c in df.columns)
    )


def _sql_name(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _raw_for_duckdb(dtype) -> bool:
    """Label dtypes DuckDB scans and returns exactly (numbers, booleans, strings). Anything else
    (object columns that may mix types, categoricals, datetimes) is grouped by integer codes."""
    return pd.api.types.is_numeric_dtype(dtype) or isinstance(dtype, pd.StringDtype)


def _label_codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes (in label order) and the labels of every possible code, for grouping.

    Categoricals use their own codes directly — no pass over the rows beyond reading them, and
    small integers are what DuckDB groups fastest; NA (code -1) is sent as its own code after
    every category. Codes may be unobserved: :func:`_compact` drops those after grouping. This
    orders labels exactly as :func:`encode_values` does (category order, then NA).
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy()
        n_categories = len(values.cat.categories)
        if n_categories >= np.iinfo(codes.dtype).max:
            codes = codes.astype(np.int64)
        if (codes < 0).any():
            codes = np.where(codes < 0, n_categories, codes)
        labels = np.array([str(u) for u in values.cat.categories] + ["<NA>"], dtype=object)
        return codes, labels
    return encode_values(values)


def _compact(codes: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Renumber the observed ``codes`` 0..k-1 (keeping their order) and keep their labels."""
    observed, inverse = np.unique(codes, return_inverse=True)
    return inverse.astype(np.int64), labels[observed]


_DUCKDB_LOCK = threading.Lock()
_DUCKDB_CONNECTION = None


def _duckdb_cursor():
    """A cursor on one module-level in-memory DuckDB connection (connecting costs 10-30 ms).

    Each call gets its own cursor — a separate connection to the same database, with its own
    registered views — so concurrent :func:`aggregate` calls do not interfere.
    """
    global _DUCKDB_CONNECTION
    import duckdb  # imported here: the pandas engine and the rest of the engine do not need it

    with _DUCKDB_LOCK:
        if _DUCKDB_CONNECTION is None:
            _DUCKDB_CONNECTION = duckdb.connect()
            atexit.register(_close_duckdb)
        return _DUCKDB_CONNECTION.cursor()


def _close_duckdb() -> None:
    """Close the shared connection before the interpreter tears DuckDB's bindings down (an
    open connection at exit makes the bindings report spurious leaks)."""
    global _DUCKDB_CONNECTION
    with _DUCKDB_LOCK:
        if _DUCKDB_CONNECTION is not None:
            _DUCKDB_CONNECTION.close()
            _DUCKDB_CONNECTION = None


def _levels_duckdb(
    df: pd.DataFrame,
    products: Sequence[Product],
    variant_column: str,
    experiment_column: str | None,
    segment_columns: Sequence[str],
) -> tuple[np.ndarray, np.ndarray, list[_Level]]:
    """One SQL statement: finest cells first, then GROUPING SETS (overall + each segment)."""
    keys = [c for c in (experiment_column, variant_column) if c is not None]
    label_columns = [*keys, *segment_columns]
    value_columns = list(dict.fromkeys(c for p in products for c in p))
    frame = df[list(dict.fromkeys([*label_columns, *value_columns]))]
    # Categorical labels are grouped by their own (small integer) codes, labels DuckDB cannot
    # round-trip exactly by their pandas codes; both are in the labels' final order, and the
    # labels of every code are kept here to map the (tiny) grouped result back.
    coded: dict[str, np.ndarray] = {}
    replaced: dict[str, np.ndarray] = {}
    for column in label_columns:
        dtype = frame[column].dtype
        if isinstance(dtype, pd.CategoricalDtype) or not _raw_for_duckdb(dtype):
            codes, coded[column] = _label_codes(frame[column])
            replaced[column] = codes
    if replaced:
        frame = frame.assign(**replaced)

    q = _sql_name
    cells = ", ".join(q(c) for c in label_columns)
    fine_sums = ",\n      ".join(
        ["COUNT(*) AS p0"]
        + [
            f"SUM({' * '.join(f'CAST({q(c)} AS DOUBLE)' for c in product)}) AS p{j}"
            for j, product in enumerate(products, start=1)
        ]
    )
    rollup_sums = ", ".join(
        ["CAST(SUM(p0) AS DOUBLE) AS p0"]
        + [f"SUM(p{j}) AS p{j}" for j in range(1, len(products) + 1)]
    )
    key_list = ", ".join(q(c) for c in keys)
    sets = [f"({key_list})"] + [f"({key_list}, {q(c)})" for c in segment_columns]
    flags = "".join(f", GROUPING({q(c)}) AS g{i}" for i, c in enumerate(segment_columns))
    sql = f"""
    WITH cells AS (
      SELECT {cells},
      {fine_sums}
      FROM units
      GROUP BY {cells}
    )
    SELECT {cells}{flags}, {rollup_sums}
    FROM cells
    GROUP BY GROUPING SETS ({", ".join(sets)})
    """
    con = _duckdb_cursor()
    try:
        # Row order is irrelevant (levels are sorted below); keeping it makes DuckDB funnel the
        # CTE through an order-preserving path that is ~2x slower on 10M rows.
        con.execute("SET preserve_insertion_order = false")
        con.register("units", frame)
        result = con.sql(sql).to_arrow_table()
        con.unregister("units")
    finally:
        con.close()

    matrix = np.column_stack(
        [result.column(f"p{j}").to_numpy() for j in range(len(products) + 1)]
    ).astype(np.float64)

    def codes_of(
        column: str | None, rows: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        if column is None:
            n = len(matrix) if rows is None else int(rows.sum())
            return np.zeros(n, dtype=np.int64), np.array([DEFAULT_EXPERIMENT], dtype=object)
        values = result.column(column)
        if rows is not None:
            values = values.filter(rows)
        if column in coded:
            return _compact(values.to_numpy().astype(np.int64), coded[column])
        # back to the column's own dtype, so labels are formatted exactly as pandas would
        return encode_values(values.to_pandas().astype(df[column].dtype))

    exp_codes, exp_labels = codes_of(experiment_column)
    var_codes, var_labels = codes_of(variant_column)
    flag = {c: result.column(f"g{i}").to_numpy() for i, c in enumerate(segment_columns)}
    is_overall = np.ones(len(matrix), dtype=bool)
    for c in segment_columns:
        is_overall &= flag[c] == 1

    def level(rows: np.ndarray, seg_codes: np.ndarray, seg_labels: np.ndarray) -> _Level:
        e, v = exp_codes[rows], var_codes[rows]
        order = np.lexsort((v, seg_codes, e))
        return _Level(e[order], seg_labels[seg_codes][order], v[order], matrix[rows][order])

    zeros = np.zeros(int(is_overall.sum()), dtype=np.int64)
    levels = [level(is_overall, zeros, np.array([OVERALL_SEGMENT], dtype=object))]
    for column in segment_columns:
        rows = flag[column] == 0
        seg_codes, seg_values = codes_of(column, rows)
        seg_labels = np.array([f"{column}={v}" for v in seg_values], dtype=object)
        levels.append(level(rows, seg_codes, seg_labels))
    return exp_labels, var_labels, levels


def expand_metrics(
    experiment: np.ndarray,
    segment: np.ndarray,
    variant: np.ndarray,
    sums: np.ndarray,
    specs: Sequence[MetricSpec],
    product_index: dict[Product, int],
) -> pd.DataFrame:
    """Groups × metrics → the long frame, by fancy indexing (no per-row Python).

    ``sums`` has one row per group (column 0 the unit count) and ``product_index`` comes from
    :func:`summed_products`; public so SQL-computed sums become the identical frame.
    """
    n_groups, n_metrics = len(experiment), len(specs)
    is_ratio = np.array([m.type == "ratio" for m in specs])

    def column_index(product_of: Callable[[MetricSpec], tuple]) -> np.ndarray:
        # A product the metric does not have (x ≡ 1) maps to column 0, the unit count n.
        return np.array([product_index.get(product_of(m), 0) for m in specs])

    idx_y = column_index(lambda m: (m.y_column,))
    idx_y2 = column_index(lambda m: (m.y_column, m.y_column))
    idx_x = column_index(lambda m: (m.x_column,))
    idx_x2 = column_index(lambda m: (m.x_column, m.x_column))
    idx_xy = np.where(is_ratio, column_index(lambda m: (m.y_column, m.x_column)), idx_y)
    # Covariate sums: 0 for metrics without a covariate (their index 0 is masked out).
    has_z = np.array([m.covariate is not None for m in specs], dtype=np.float64)
    idx_z = column_index(lambda m: (m.covariate,))
    idx_z2 = column_index(lambda m: (m.covariate, m.covariate))
    idx_yz = column_index(lambda m: (m.y_column, m.covariate))
    idx_xz = np.where(is_ratio, column_index(lambda m: (m.x_column, m.covariate)), idx_z)

    def z_sums(idx: np.ndarray) -> np.ndarray:
        return (sums[:, idx] * has_z).reshape(-1)

    return pd.DataFrame(
        {
            "experiment": np.repeat(experiment, n_metrics),
            "segment": np.repeat(segment, n_metrics),
            "variant": np.repeat(variant, n_metrics),
            "metric": np.tile(np.array([m.name for m in specs], dtype=object), n_groups),
            "n": np.repeat(np.rint(sums[:, 0]).astype(np.int64), n_metrics),
            "sum_y": sums[:, idx_y].reshape(-1),
            "sum_y2": sums[:, idx_y2].reshape(-1),
            "sum_x": sums[:, idx_x].reshape(-1),
            "sum_x2": sums[:, idx_x2].reshape(-1),
            "sum_xy": sums[:, idx_xy].reshape(-1),
            "sum_z": z_sums(idx_z),
            "sum_z2": z_sums(idx_z2),
            "sum_yz": z_sums(idx_yz),
            "sum_xz": z_sums(idx_xz),
        }
    )


def _funnel_dtype(column: str) -> str:
    return {"n_units": "int64", "stage_order": "int64", "total": "float64"}.get(column, "object")
