"""Metric declarations: what to measure and which sufficient statistics that needs.

A metric is declared once (name, type, raw columns, which direction is good) and everything
downstream works from the *sufficient statistics* it declares, never from raw rows
(DESIGN.md §2.1). Every metric is a ratio ``sum y / sum x`` over units:

* ``ratio``      — y = numerator column, x = denominator column (e.g. clicks / sessions per user);
* ``mean``       — y = column, x ≡ 1 (a mean is a ratio with denominator 1);
* ``proportion`` — a mean of a 0/1 column.

So every metric needs the same six numbers per group — ``n, Σy, Σy², Σx, Σx², Σxy`` — and the
aggregation only computes the products a metric actually declares (x ≡ 1 needs no extra sums).
Later layers (CUPED covariates) add products here, not new aggregation code.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from strategies.errors import ConfigError

MetricType = Literal["proportion", "mean", "ratio"]
Direction = Literal["increase", "decrease"]

METRIC_TYPES: tuple[str, ...] = get_args(MetricType)
DIRECTIONS: tuple[str, ...] = get_args(Direction)

#: Columns of the long sufficient-statistics frame, in order, after the label columns.
SUFFICIENT_STATISTICS: tuple[str, ...] = ("n", "sum_y", "sum_y2", "sum_x", "sum_x2", "sum_xy")


@dataclass(frozen=True)
class MetricSpec:
    """One metric of an experiment.

    ``min_effect`` is the smallest *relative* effect that would matter to the business; a result
    whose relative-lift CI lies entirely inside ``(-min_effect, +min_effect)`` is called
    "neutral" (the data rule out every effect worth caring about), not merely "inconclusive".
    """

    name: str
    type: MetricType
    column: str | None = None
    numerator: str | None = None
    denominator: str | None = None
    direction: Direction = "increase"
    min_effect: float = 0.02

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

    @property
    def y_column(self) -> str:
        """The column summed in the numerator (the metric's column for mean/proportion)."""
        return self.numerator if self.type == "ratio" else self.column  # type: ignore[return-value]

    @property
    def x_column(self) -> str | None:
        """The denominator column, or None when x ≡ 1 (mean, proportion)."""
        return self.denominator if self.type == "ratio" else None

    def columns(self) -> tuple[str, ...]:
        """Raw columns this metric reads."""
        x = self.x_column
        return (self.y_column,) if x is None else (self.y_column, x)

    def products(self) -> tuple[tuple[str, ...], ...]:
        """The column products whose sums this metric's sufficient statistics need.

        ``("a",)`` means Σa, ``("a", "b")`` means Σab. With x ≡ 1, Σx = Σx² = n and Σxy = Σy,
        so mean and proportion metrics need only Σy and Σy².
        """
        y, x = self.y_column, self.x_column
        if x is None:
            return ((y,), (y, y))
        return ((y,), (y, y), (x,), (x, x), (y, x))


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
