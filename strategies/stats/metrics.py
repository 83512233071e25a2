"""Metric declarations: what to measure and which sufficient statistics that needs.

A metric is declared once (name, type, raw columns, which direction is good) and everything
downstream works from the *sufficient statistics* it declares, never from raw rows
(DESIGN.md §2.1). Every metric is a ratio ``sum y / sum x`` over units:

* ``ratio``      — y = numerator column, x = denominator column (e.g. clicks / sessions per user);
* ``mean``       — y = column, x ≡ 1 (a mean is a ratio with denominator 1);
* ``proportion`` — a mean of a 0/1 column.

So every metric needs the same six numbers per group — ``n, Σy, Σy², Σx, Σx², Σxy`` — and the
aggregation only computes the products a metric actually declares (x ≡ 1 needs no extra sums).

A metric with a ``covariate`` z (a pre-period column, for CUPED variance reduction) also needs
``Σz, Σz², Σyz, Σxz`` (with x ≡ 1, Σxz = Σz). These four columns are always present in the
aggregated frame and are 0 for metrics without a covariate, so the frame has one schema.

Roles
-----
``role`` is ``primary`` (the metric the experiment is meant to move), ``secondary`` (watched,
reported, same decision rules) or ``guardrail`` (must not get worse: a guardrail gets a
``guardrail_status`` from a non-inferiority check against ``non_inferiority_margin``, and a
primary/secondary "win" only stands when every guardrail of the same comparison passes — see
:mod:`strategies.stats.decisions`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from strategies.errors import ConfigError

MetricType = Literal["proportion", "mean", "ratio"]
Direction = Literal["increase", "decrease"]
Role = Literal["primary", "secondary", "guardrail"]

METRIC_TYPES: tuple[str, ...] = get_args(MetricType)
DIRECTIONS: tuple[str, ...] = get_args(Direction)
ROLES: tuple[str, ...] = get_args(Role)

#: The statistics every metric needs (x ≡ 1 for mean and proportion metrics).
BASE_STATISTICS: tuple[str, ...] = ("n", "sum_y", "sum_y2", "sum_x", "sum_x2", "sum_xy")
#: The extra statistics of a CUPED covariate z (0 for metrics without one).
COVARIATE_STATISTICS: tuple[str, ...] = ("sum_z", "sum_z2", "sum_yz", "sum_xz")
#: Columns of the long sufficient-statistics frame, in order, after the label columns.
SUFFICIENT_STATISTICS: tuple[str, ...] = BASE_STATISTICS + COVARIATE_STATISTICS


@dataclass(frozen=True)
class MetricSpec:
    """One metric of an experiment.

    ``min_effect`` is the smallest *relative* effect that would matter to the business; a result
    whose relative-lift CI lies entirely inside ``(-min_effect, +min_effect)`` is called
    "neutral" (the data rule out every effect worth caring about), not merely "inconclusive".

    ``covariate`` names a pre-period column (measured before assignment, so the treatment cannot
    move it) used for CUPED variance reduction; it must not be one of the metric's own columns.
    ``role`` and ``non_inferiority_margin`` (relative: 0.02 = "may not get worse by more than
    2 %") drive the guardrail check; the margin only matters for ``role="guardrail"``.
    """

    name: str
    type: MetricType
    column: str | None = None
    numerator: str | None = None
    denominator: str | None = None
    direction: Direction = "increase"
    min_effect: float = 0.02
    covariate: str | None = None
    role: Role = "primary"
    non_inferiority_margin: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ConfigError(f"metric name must be a non-empty string, got {self.name!r}")
        if self.type not in METRIC_TYPES:
            raise ConfigError(
                f"metric {self.name!r}: unknown type {self.type!r}; "
                f"valid types are {', '.join(METRIC_TYPES)}"
            )
        if self.direction not in DIRECTIONS:
            raise ConfigError(
                f"metric {self.name!r}: unknown direction {self.direction!r}; "
                f"valid directions are {', '.join(DIRECTIONS)}"
            )
        if self.type == "ratio":
            missing = [f for f in ("numerator", "denominator") if not getattr(self, f)]
            if missing:
                raise ConfigError(
                    f"metric {self.name!r} of type 'ratio' needs {' and '.join(missing)}"
                )
            if self.column is not None:
                raise ConfigError(
                    f"metric {self.name!r} of type 'ratio' takes numerator/denominator, "
                    f"not column={self.column!r}"
                )
        else:
            if not self.column:
                raise ConfigError(f"metric {self.name!r} of type {self.type!r} needs a column")
            extra = [f for f in ("numerator", "denominator") if getattr(self, f) is not None]
            if extra:
                raise ConfigError(
                    f"metric {self.name!r} of type {self.type!r} takes a column, "
                    f"not {' / '.join(extra)}"
                )
        try:
            min_effect = float(self.min_effect)
        except (TypeError, ValueError):
            min_effect = float("nan")
        if not min_effect >= 0 or min_effect == float("inf"):
            raise ConfigError(
                f"metric {self.name!r}: min_effect must be a finite number >= 0 "
                f"(a relative effect, e.g. 0.02 for 2 %), got {self.min_effect!r}"
            )
        if self.role not in ROLES:
            raise ConfigError(
                f"metric {self.name!r}: unknown role {self.role!r}; "
                f"valid roles are {', '.join(ROLES)}"
            )
        try:
            margin = float(self.non_inferiority_margin)
        except (TypeError, ValueError):
            margin = float("nan")
        if isinstance(self.non_inferiority_margin, bool) or not 0 <= margin < float("inf"):
            raise ConfigError(
                f"metric {self.name!r}: non_inferiority_margin must be a finite number >= 0 "
                f"(relative, e.g. 0.02 = may not get worse by more than 2 %), "
                f"got {self.non_inferiority_margin!r}"
            )
        if self.covariate is not None:
            if not isinstance(self.covariate, str) or not self.covariate.strip():
                raise ConfigError(
                    f"metric {self.name!r}: covariate must be a column name or None, "
                    f"got {self.covariate!r}"
                )
            if self.covariate in (self.y_column, self.x_column):
                raise ConfigError(
                    f"metric {self.name!r}: covariate {self.covariate!r} is one of the metric's "
                    "own columns; CUPED needs a pre-period column the treatment cannot move"
                )

    @property
    def y_column(self) -> str:
        """The column summed in the numerator (the metric's column for mean/proportion)."""
        return self.numerator if self.type == "ratio" else self.column  # type: ignore[return-value]

    @property
    def x_column(self) -> str | None:
        """The denominator column, or None when x ≡ 1 (mean, proportion)."""
        return self.denominator if self.type == "ratio" else None

    def columns(self) -> tuple[str, ...]:
        """Raw columns this metric reads (y, then x, then the covariate, when declared)."""
        cols = (self.y_column,) if self.x_column is None else (self.y_column, self.x_column)
        return cols if self.covariate is None else (*cols, self.covariate)

    def products(self) -> tuple[tuple[str, ...], ...]:
        """The column products whose sums this metric's sufficient statistics need.

        ``("a",)`` means Σa, ``("a", "b")`` means Σab. With x ≡ 1, Σx = Σx² = n and Σxy = Σy
        (and Σxz = Σz), so mean and proportion metrics need only Σy and Σy² (plus Σz, Σz², Σyz
        with a covariate).
        """
        y, x, z = self.y_column, self.x_column, self.covariate
        base = ((y,), (y, y)) if x is None else ((y,), (y, y), (x,), (x, x), (y, x))
        if z is None:
            return base
        cov = ((z,), (z, z), (y, z)) if x is None else ((z,), (z, z), (y, z), (x, z))
        return base + cov


def check_metric_specs(metrics: Iterable[MetricSpec]) -> tuple[MetricSpec, ...]:
    """Validate a metric list: non-empty, all MetricSpec, unique names (results are keyed by
    name, so two metrics with one name would silently overwrite each other)."""
    if isinstance(metrics, MetricSpec):
        metrics = [metrics]
    specs = tuple(metrics)
    if not specs:
        raise ConfigError("no metrics given; declare at least one metric")
    bad = [m for m in specs if not isinstance(m, MetricSpec)]
    if bad:
        raise ConfigError(f"metrics must be MetricSpec objects, got {type(bad[0]).__name__}")
    names = [m.name for m in specs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"duplicate metric names: {', '.join(dupes)}")
    return specs


def metric_columns(metrics: Sequence[MetricSpec]) -> tuple[str, ...]:
    """All raw columns the metrics read, deduplicated, in declaration order."""
    return tuple(dict.fromkeys(c for m in metrics for c in m.columns()))
