"""MetricSpec validation and declared columns."""

from __future__ import annotations

import pytest

from strategies.errors import ConfigError
from strategies.stats.metrics import MetricSpec, check_metric_specs


def test_columns_per_type():
    assert MetricSpec("cr", "proportion", column="converted").columns() == ("converted",)
    assert MetricSpec("rev", "mean", column="revenue").columns() == ("revenue",)
    ctr = MetricSpec("ctr", "ratio", numerator="clicks", denominator="sessions")
    assert ctr.columns() == ("clicks", "sessions")


def test_unknown_type_lists_valid_types():
    with pytest.raises(ConfigError, match=r"unknown type 'median'.*proportion, mean, ratio"):
        MetricSpec("m", "median", column="y")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"type": "mean"}, "needs a column"),
        ({"type": "proportion", "column": ""}, "needs a column"),
        ({"type": "ratio", "numerator": "clicks"}, "needs denominator"),
        ({"type": "ratio", "denominator": "sessions"}, "needs numerator"),
        ({"type": "ratio"}, "needs numerator and denominator"),
        ({"type": "mean", "column": "y", "denominator": "x"}, "takes a column"),
        ({"type": "ratio", "column": "y", "numerator": "a", "denominator": "b"}, "not column"),
        ({"type": "mean", "column": "y", "direction": "up"}, "unknown direction 'up'"),
        ({"type": "mean", "column": "y", "min_effect": -0.1}, "min_effect"),
        ({"type": "mean", "column": "y", "min_effect": float("nan")}, "min_effect"),
    ],
)
def test_invalid_specs_raise_config_error(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        MetricSpec("m", **kwargs)


def test_metric_list_checks():
    a = MetricSpec("a", "mean", column="y")
    with pytest.raises(ConfigError, match="duplicate metric names: a"):
        check_metric_specs([a, MetricSpec("a", "proportion", column="z")])
    with pytest.raises(ConfigError, match="no metrics"):
        check_metric_specs([])


def test_covariate_adds_its_column_and_products():
    rev = MetricSpec("rev", "mean", column="revenue", covariate="pre")
    assert rev.columns() == ("revenue", "pre")
    assert rev.products()[2:] == (("pre",), ("pre", "pre"), ("revenue", "pre"))
    ctr = MetricSpec("ctr", "ratio", numerator="clicks", denominator="sessions", covariate="pre")
    assert ctr.columns() == ("clicks", "sessions", "pre")
    assert ctr.products()[-1] == ("sessions", "pre")  # Σxz: ratios need the x·z product too
    with pytest.raises(ConfigError, match="covariate 'sessions' is one of the metric's own"):
        MetricSpec("ctr", "ratio", numerator="clicks", denominator="sessions", covariate="sessions")


def test_role_defaults():
    spec = MetricSpec("m", "mean", column="y")
    assert (spec.role, spec.non_inferiority_margin, spec.covariate) == ("primary", 0.0, None)
