"""Tests for the growth-analytics HTML report and its charts.

The inputs are hand-made frames with exactly the producers' columns (RESULT_COLUMNS,
FUNNEL_COLUMNS, HETEROGENEITY_COLUMNS, the persona fit's tables, the recommendation table, the
SQL step's audit dict), so the report is pinned to the contract and the file runs in a few
seconds without the simulator, the warehouse or the persona fit.
"""

from __future__ import annotations

import html as html_lib
import re
from itertools import product

import numpy as np
import pandas as pd
import pytest
from jinja2 import nodes
from matplotlib.figure import Figure

from liftlab.plots.growth_analytics import (
    funnel_chart,
    k_selection_chart,
    lift_forest_chart,
    persona_lift_heatmap,
)
from liftlab.reports.format import MINUS
from liftlab.reports.growth_analytics import (
    RECOMMENDATION_COLUMNS,
    SECTION_TITLES,
    render_growth_report,
    shown_decision,
    significant_cells,
)
from liftlab.reports.parts import load_template
from strategies.growth.personas import CLUSTER_COLUMNS, K_TABLE_COLUMNS
from strategies.stats.schema import FUNNEL_COLUMNS, HETEROGENEITY_COLUMNS, RESULT_COLUMNS
from tests.liftlab.reports.test_templates import (
    BASE,
    REPORTS,
    _base_css,
    _css_rules,
    _extra_css,
    _source,
)

TEMPLATE = "growth_report.html.j2"
HOSTILE = "<script>alert('x')</script>"
EXPERIMENTS = pd.DataFrame(
    {
        "experiment_id": [f"E0{i}" for i in range(1, 9)],
        "name": [
            "discount_label",
            "free_shipping_badge",
            "product_order_bestsellers",
            "urgency_banner",
            "reviews_first",
            "bigger_images",
            "bundle_offer",
            "one_click_checkout",
        ],
        "description": [f"change number {i}" for i in range(1, 9)],
        "surface": [
            "product_page",
            "cart",
            "product_list",
            "product_page",
            "product_page",
            "product_list",
            "cart",
            "checkout",
        ],
        "start_at": "2026-03-02T00:00:00+00:00",
        "end_at": "2026-03-30T00:00:00+00:00",
        "control": "A",
        "treatment": "B",
    }
)
METRICS = {
    "ctr": ("ratio", 0.63),
    "add_to_cart_rate": ("ratio", 0.21),
    "purchase_conversion": ("proportion", 0.44),
    "revenue_per_user": ("mean", 60.0),
    "orders_per_user": ("mean", 0.8),
}
PERSONAS = [
    "mobile-first, discount-heavy",
    "tablet-first, full-price",
    "no history, recent-signup",
    "desktop-first, high-spend",
]
# (relative lift, half width of its CI, decision as the producer wrote it) per experiment on
# purchase conversion; E04 is a producer's "win" whose interval crosses 0: never shown as one.
PURCHASE = {
    "E01": (0.10, 0.06, "inconclusive"),  # interval clears 0, not significant after correction
    "E02": (0.03, 0.06, "inconclusive"),
    "E03": (0.12, 0.05, "win"),
    "E04": (0.02, 0.05, "win"),
    "E05": (0.005, 0.01, "neutral"),
    "E06": (-0.03, 0.06, "inconclusive"),
    "E07": (-0.11, 0.05, "loss"),
    "E08": (0.01, 0.06, "inconclusive"),
}
RUN_INFO = {
    "pipeline": "growth_analytics",
    "run_name": "nightly-<1>",
    "generated_at": "2026-04-01T06:00:00+00:00",
    "data_source": "data/demo/ecommerce",
    "git_commit": "deadbeef",
    "mlflow_run_id": "0123456789abcdef",
}
AUDITS = {
    "rows": 44761,
    "feature_cutoff": "2026-03-02T00:00:00+00:00",
    "pre_period_days": 180,
    "assigned_users": {e: {"A": 2900 + i, "B": 2950 - i} for i, e in enumerate(PURCHASE)},
    "users_in_both_arms": {e: 20 + i for i, e in enumerate(PURCHASE)},
    "duplicate_exposure_rows": {e: 50 for e in PURCHASE},
    "exposures_outside_window": {e: 0 if i % 2 else 36 for i, e in enumerate(PURCHASE)},
    "exposures_without_session": dict.fromkeys(PURCHASE, 0),
    "sessions_before_exposure": {e: 9000 + 17 * i for i, e in enumerate(PURCHASE)},
    "null_flags": {"clicked": 809, "added_to_cart": 771, "purchased": 841},
    "orders_without_session": 234,
    "sessions_unknown_user": 0,
    "orders_unknown_user": 0,
}
PASS = {
    "success": True,
    "n_rows": 8000,
    "outcomes": [
        {"expectation": "expect_column_values_to_not_be_null", "column": "user_id", "success": True}
    ],
}
FAIL = {
    "success": False,
    "n_rows": 79642,
    "outcomes": [
        {
            "expectation": "expect_column_values_to_be_in_set",
            "column": "clicked",
            "success": False,
            "unexpected_count": 3,
            "unexpected_examples": [2, 7],
            "description": "flags are 0/1",
        }
    ],
}


def _row(
    experiment: str,
    segment: str,
    metric: str,
    lift: float,
    half: float,
    decision: str,
    *,
    p_adj: float,
    n: int = 3000,
) -> dict:
    kind, base = METRICS[metric]
    low, high = lift - half, lift + half
    return {
        "experiment": experiment,
        "segment": segment,
        "metric": metric,
        "metric_type": kind,
        "control": "A",
        "variant": "B",
        "n_control": n,
        "n_variant": n + 11,
        "estimate_control": base,
        "estimate_variant": base * (1 + lift),
        "abs_diff": base * lift,
        "abs_se": base * half / 1.96,
        "abs_ci_low": base * low,
        "abs_ci_high": base * high,
        "rel_lift": lift,
        "rel_ci_low": low,
        "rel_ci_high": high,
        "statistic": lift / (half / 1.96),
        "df": np.nan,
        "p_value": p_adj / 4,
        "p_value_adjusted": p_adj,
        "test": "z" if kind == "proportion" else "welch_t",
        "alpha": 0.05,
        "decision": decision,
        "status": "ok",
        "message": "",
        "srm_p_value": 0.4,
        "role": "primary",
        "guardrail_status": "",
        "variance_reduction": np.nan,
        "cuped_theta": np.nan,
        "rel_ci_method": "fieller",
    }


def make_results() -> pd.DataFrame:
    rows = []
    for (e, (lift, half, decision)), metric in product(PURCHASE.items(), METRICS):
        if metric == "purchase_conversion":
            p = 0.01 if decision in ("win", "loss") else 0.4
            rows.append(_row(e, "all", metric, lift, half, decision, p_adj=p))
        elif e == "E03" and metric == "ctr":
            rows.append(_row(e, "all", metric, 0.114, 0.019, "win", p_adj=1e-30))
        else:
            rows.append(_row(e, "all", metric, 0.004, 0.02, "inconclusive", p_adj=1.0))
    return pd.DataFrame(rows, columns=list(RESULT_COLUMNS))


def make_persona_lift() -> pd.DataFrame:
    """Every experiment × persona × metric; E01 helps the first persona and hurts the last,
    E02's producer row says "win" with an interval across 0 (never shown as significant)."""
    rows = []
    for e, (j, persona), metric in product(PURCHASE, enumerate(PERSONAS), METRICS):
        lift, half, decision, p = 0.01 * (j - 1), 0.12, "inconclusive", 0.8
        if e == "E01" and j == 0:
            lift, half, decision, p = 0.25, 0.1, "win", 0.001
        elif e == "E01" and j == 3:
            lift, half, decision, p = -0.2, 0.08, "loss", 0.003
        elif e == "E02" and j == 1 and metric == "purchase_conversion":
            lift, half, decision, p = 0.05, 0.09, "win", 0.01
        rows.append(_row(e, f"persona={persona}", metric, lift, half, decision, p_adj=p, n=700))
    return pd.DataFrame(rows, columns=list(RESULT_COLUMNS))


def make_funnel() -> pd.DataFrame:
    rows = []
    stages = {"users": 1.0, "sessions": 7.7, "clicks": 4.9, "add_to_carts": 1.6, "purchases": 0.7}
    for e, variant in product(PURCHASE, ("A", "B")):
        n = 2900 if variant == "A" else 2950
        for order, (stage, per) in enumerate(stages.items(), start=1):
            lift = 1.04 if variant == "B" and stage == "purchases" else 1.0
            rows.append((e, variant, n, stage, order, round(n * per * lift)))
    return pd.DataFrame(rows, columns=list(FUNNEL_COLUMNS))


def make_heterogeneity() -> pd.DataFrame:
    rows = []
    for e, metric in product(PURCHASE, METRICS):
        differs = e == "E01"
        p = 1e-4 if differs else 0.6
        rows.append(
            (
                e,
                "B",
                metric,
                "persona",
                4,
                20.3 if differs else 1.9,
                3.0,
                p,
                p * 10,
                0.85 if differs else 0.0,
                differs,
            )
        )
    return pd.DataFrame(rows, columns=list(HETEROGENEITY_COLUMNS))


RECOMMENDATIONS = pd.DataFrame(
    [
        (
            "E01",
            "discount_label",
            "purchase_conversion",
            "target persona",
            PERSONAS[0],
            0.25,
            0.15,
            0.35,
            "Show the discount label to mobile-first, discount-heavy only: +25.0 % purchases, "
            "95 % CI +15.0 % … +35.0 %",
        ),
        (
            "E01",
            "discount_label",
            "purchase_conversion",
            "exclude persona",
            PERSONAS[3],
            -0.2,
            -0.28,
            -0.12,
            "Do not show the discount label to desktop-first, high-spend: −20.0 % purchases",
        ),
        (
            "E05",
            "reviews_first",
            "purchase_conversion",
            "keep testing",
            "",
            0.005,
            -0.005,
            0.015,
            "Reviews first: no practically relevant effect; keep as is",
        ),
    ],
    columns=list(RECOMMENDATION_COLUMNS),
)
K_TABLE = pd.DataFrame(
    [
        (2, 0.47, 1.0, 1.0, 0.23, 40614.7, True, False),
        (3, 0.44, 1.0, 1.0, 0.23, 27669.2, True, False),
        (4, 0.56, 1.0, 1.0, 0.21, 16545.2, True, True),
        (5, 0.57, 0.95, 0.99, 0.046, 14364.7, False, False),
        (6, 0.52, 0.68, 0.84, 0.046, 12735.2, False, False),
    ],
    columns=list(K_TABLE_COLUMNS),
)
CLUSTERS = pd.DataFrame(
    [
        (i + 1, p, s, s / 8000, 1.0)
        for i, (p, s) in enumerate(zip(PERSONAS, (2432, 2098, 1828, 1642), strict=True))
    ],
    columns=list(CLUSTER_COLUMNS),
)
FEATURES = [
    "recency_days",
    "frequency",
    "monetary",
    "discount_share",
    "tenure_days",
    "has_history",
    "device_desktop",
    "device_mobile",
    "device_tablet",
]
PROFILES = CLUSTERS[["persona_id", "persona", "size", "share"]].assign(
    recency_days=[47.2, 66.0, 181.0, 28.6],
    frequency=[3.4, 3.3, 0.0, 5.2],
    monetary=[43.4, 74.0, 0.0, 121.8],
    discount_share=[0.73, 0.18, 0.0, 0.18],
    tenure_days=[402.7, 323.5, 85.2, 865.9],
    has_history=[1.0, 1.0, 0.0, 1.0],
    device_desktop=[0.0, 0.0, 0.08, 1.0],
    device_mobile=[1.0, 0.0, 0.8, 0.0],
    device_tablet=[0.0, 1.0, 0.12, 0.0],
    z_recency_days=[-0.03, 0.44, np.nan, -0.52],
    z_frequency=[-0.18, -0.19, np.nan, 0.51],
    z_monetary=[-0.76, 0.18, np.nan, 0.90],
    z_discount_share=[0.80, -0.52, np.nan, -0.53],
    z_tenure_days=[0.31, 0.22, -1.45, 0.87],
    z_has_history=[0.54, 0.54, -1.84, 0.54],
    z_device_desktop=[-0.54, -0.54, -0.34, 1.86],
    z_device_mobile=[1.03, -0.97, 0.62, -0.97],
    z_device_tablet=[-0.64, 1.57, -0.38, -0.64],
)
STRUCTURE_WARNING = "no k is admissible: the personas partition a continuum"


def inputs(**overrides) -> dict:
    kwargs = {
        "results": make_results(),
        "experiments": EXPERIMENTS,
        "funnel": make_funnel(),
        "persona_lift": make_persona_lift(),
        "heterogeneity": make_heterogeneity(),
        "recommendations": RECOMMENDATIONS,
        "k_table": K_TABLE,
        "clusters": CLUSTERS,
        "profiles": PROFILES,
        "structure_found": True,
        "warnings": [],
        "ari": 0.64,
        "audits": AUDITS,
        "validation": {"users": PASS, "sessions": FAIL},
        "run_info": RUN_INFO,
        "alpha": 0.05,
    }
    kwargs.update(overrides)
    return kwargs


def small(**overrides) -> dict:
    """:func:`inputs` with one persona metric and no funnel: most of a render is SVG export,
    and tests about one part of the page need not pay for every chart."""
    lift = make_persona_lift()
    return inputs(
        persona_lift=lift[lift["metric"] == "purchase_conversion"],
        funnel=pd.DataFrame(columns=list(FUNNEL_COLUMNS)),
        **overrides,
    )


@pytest.fixture(scope="module")
def page() -> str:
    return render_growth_report(**inputs())


def _assert_self_contained(html: str) -> None:
    assert "<script" not in html.lower()
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, re.IGNORECASE)
    assert not re.search(r"url\(\s*['\"]?(?:https?:)?//", html, re.IGNORECASE)
    assert "@import" not in html and "<link" not in html.lower() and "<iframe" not in html
    assert "data:image" not in html and "<?xml" not in html


def _text(html: str) -> str:
    """The page without its SVGs and tags, entities decoded: what a reader sees."""
    body = re.sub(r"<svg\b.*?</svg>", "", html, flags=re.DOTALL)
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", body))


def _assert_no_nan(html: str) -> None:
    assert not re.search(r"\b(?:nan|NaN|None|NaT|inf)\b", _text(html))


def _bounds(ci: str) -> tuple[float, float]:
    """'−1.2 % … +3.4 %' → (−0.012, 0.034)."""
    low, high = (float(x.replace(MINUS, "-").replace("%", "").strip()) / 100 for x in ci.split("…"))
    return low, high


# --- the report -------------------------------------------------------------------------------


def test_report_renders_every_section(page: str) -> None:
    for section, title in SECTION_TITLES.items():
        assert f'id="{section}"' in page, section
        assert title in page, title
    for name in EXPERIMENTS["name"]:
        assert name in page, name
    for text in RECOMMENDATIONS["text"]:
        assert html_lib.escape(text) in page
    for persona in PERSONAS:
        assert f'data-persona="{persona}"' in page
    for chart in ("forest", "funnel", "k-selection", "heatmap-purchase_conversion", "heatmap-ctr"):
        assert re.search(rf'data-chart="{chart}">\s*<svg\b', page), chart
    for key in ("experiments", "wins", "losses", "unclear", "personas", "recommendations"):
        assert f'data-kpi="{key}"' in page
    assert 'data-k="4"' in page and "data-chosen" in page
    assert "adjusted Rand index <strong>0.64</strong>" in page
    assert "data-structure-warning" not in page
    assert "deadbeef" in page and "0123456789abcdef" in page and "nightly-&lt;1&gt;" in page
    _assert_no_nan(page)
    _assert_self_contained(page)


def test_recommendations_come_first_and_are_coloured_by_their_interval(page: str) -> None:
    content = page.split("<main")[1]
    first = re.search(r'<section class="card" id="(\w+)"', content)
    assert first and first.group(1) == "recommendations"
    tones = re.findall(r'<tr data-recommendation="(\w+)">.*?data-tone="(\w+)"', page, re.DOTALL)
    # +15 … +35 above 0, −28 … −12 below, −0.5 … +1.5 across: the wording cannot repaint it
    assert [t for _, t in tones] == ["win", "loss", "inconclusive"]


def test_headline_is_worded_from_the_intervals(page: str) -> None:
    text = _text(page.split("data-headline>")[1].split('<nav class="toc"')[0])
    # E03 wins (interval above 0), E07 loses; E04's "win" crosses 0 and is not counted as one
    assert "1 of 8 experiments raise purchase conversion" in text
    assert "E03 · product_order_bestsellers" in text.split("lower")[0]
    assert "1 of 8 experiments lower purchase conversion" in text
    assert "E04 · urgency_banner" not in text.split("not shown")[0]
    assert "6 of 8 experiments are not shown to change purchase conversion" in text
    assert "5 inconclusive, 1 with no practically relevant effect" in text
    # other metrics: only significant results, each with its interval
    assert "E03 · product_order_bestsellers raises click-through rate +11.4 %" in text
    assert re.search(r'data-kpi="wins">1 of 8<', page)
    assert re.search(r'data-kpi="losses">1 of 8<', page)
    assert re.search(r'data-kpi="unclear">6 of 8<', page)


def test_no_decision_contradicts_its_interval(page: str) -> None:
    cells = re.findall(
        r'<td class="num first g-metric" data-metric="(\w+)" data-shown="(\w*)" data-ci="([^"]*)"',
        page,
    )
    assert len(cells) == 8 * len(METRICS)
    for metric, shown, ci in cells:
        low, high = _bounds(html_lib.unescape(ci))
        if shown == "win":
            assert low > 0, (metric, ci)
        if shown == "loss":
            assert high < 0, (metric, ci)
    row = re.search(r'<tr data-experiment="E04">(.*?)</tr>', page, re.DOTALL).group(1)
    cell = re.search(r'data-metric="purchase_conversion" data-shown="(\w+)"', row)
    assert cell.group(1) == "inconclusive" and "data-changed" in row
    # E01's interval clears 0 but the corrected test does not: flagged, not called a win
    row = re.search(r'<tr data-experiment="E01">(.*?)</tr>', page, re.DOTALL).group(1)
    assert 'data-shown="inconclusive"' in row and "†" in row
    # persona tables: a chip never says win/loss beside an interval that includes 0
    for table in re.findall(r'data-table="persona-lift-\w+">(.*?)</table>', page, re.DOTALL):
        for ci, decision in re.findall(
            r'<span class="ci">([^<]*)</span></td>.*?data-decision="(\w+)"', table, re.DOTALL
        ):
            low, high = _bounds(html_lib.unescape(ci))
            assert decision not in ("win", "loss") or low > 0 or high < 0, (ci, decision)


def test_persona_cells_are_marked_only_when_significant_and_clear_of_zero(page: str) -> None:
    lift = make_persona_lift()
    marked = significant_cells(lift, 0.05)
    # E01 × first persona and × last persona on every metric; E02's "win" crosses 0
    assert int(marked.sum()) == 2 * len(METRICS)
    e02 = lift[(lift["experiment"] == "E02") & (lift["decision"] == "win")]
    assert not marked[e02.index].any()
    assert "2 of 32 cells significant" in page


def test_structure_warning_when_no_structure_was_found() -> None:
    html = render_growth_report(
        **small(structure_found=False, warnings=[STRUCTURE_WARNING], ari=None)
    )
    assert "data-structure-warning" in html and "No clear persona structure" in html
    assert "data-structure-pill" in html
    assert STRUCTURE_WARNING in html
    assert re.search(r'data-kpi="personas">4<', html) and "no clear structure" in html
    assert "adjusted Rand index" not in html
    _assert_self_contained(html)


def test_personas_show_how_k_was_chosen_and_distinguishing_traits(page: str) -> None:
    k = re.search(r'data-table="k">(.*?)</table>', page, re.DOTALL).group(1)
    assert re.search(r'<tr class="g-chosen" data-k="4">', k)
    assert "a persona&#39;s Jaccard 0.68 &lt; 0.75" in k and "smallest persona 4.6 % &lt; 5 %" in k
    persona = re.search(r'data-persona="mobile-first, discount-heavy">(.*?)</tr>', page, re.DOTALL)
    traits = _text(persona.group(1))
    assert "Mobile 100 %" in traits and "Discount share 73 %" in traits
    assert "30.4 %" in traits and "2,432 users" in traits
    # "not tablet" and "has ordered" are not traits (the persona namer's rule)
    assert "Tablet" not in traits and "Has ordered" not in traits


def test_data_quality_shows_audit_and_validation(page: str) -> None:
    data = _text(page.split('id="data"')[1].split('id="method"')[0])
    assert "44,761 experiment × user" in data
    assert "clicked 809 · added_to_cart 771 · purchased 841" in data
    assert "Orders without a session" in data and "234" in data
    assert "A 2,900 / B 2,950" in data
    assert "Sessions before exposure" in data and "72,476" in data  # the total row
    assert "1 table failed validation" in data
    assert "expect_column_values_to_be_in_set" in data and "flags are 0/1" in data
    assert "✗ validation failed" in page


def test_heterogeneity_lists_what_differs_first(page: str) -> None:
    table = re.search(r'data-table="heterogeneity">(.*?)</table>', page, re.DOTALL).group(1)
    assert table.count('data-het="yes"') == len(METRICS)
    assert "E01 · discount_label" in table and "E02" not in table
    assert "5</strong> of 40 effects differ by persona" in page


def test_hostile_text_is_escaped() -> None:
    experiments = EXPERIMENTS.assign(description=HOSTILE)
    recs = RECOMMENDATIONS.assign(text=HOSTILE, personas="<b>p</b>")
    html = render_growth_report(
        **small(
            experiments=experiments,
            recommendations=recs,
            warnings=[HOSTILE],
            structure_found=False,
            audits={**AUDITS, "<i>x</i>": 3},
        )
    )
    assert HOSTILE not in html and "<b>p</b>" not in html and "<i>x</i>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    _assert_self_contained(html)


def test_everything_missing_still_renders() -> None:
    empty = pd.DataFrame()
    html = render_growth_report(
        results=empty,
        experiments=empty,
        funnel=empty,
        persona_lift=empty,
        heterogeneity=empty,
        recommendations=empty,
        k_table=empty,
        clusters=empty,
        profiles=empty,
        structure_found=False,
        audits={},
        validation={},
        run_info={},
    )
    for text in (
        "No recommendations in this run",
        "No experiment results in this run.",
        "No funnel data in this run.",
        "No personas in this run.",
        "No k table recorded.",
        "No lift by persona in this run.",
        "No heterogeneity tests in this run.",
        "No audit recorded.",
        "No validation results recorded.",
        "No configuration recorded.",
    ):
        assert text in html, text
    _assert_no_nan(html)
    _assert_self_contained(html)


def test_nan_and_missing_columns_degrade_to_dash() -> None:
    results = make_results()
    results[["rel_lift", "rel_ci_low", "rel_ci_high", "estimate_control"]] = np.nan
    results["decision"] = None
    lift = make_persona_lift().drop(columns=["p_value_adjusted", "status"])
    lift = lift[lift["metric"] == "ctr"]
    html = render_growth_report(
        **inputs(
            results=results,
            persona_lift=lift,
            profiles=PROFILES.drop(columns=["z_monetary"]),
            funnel=make_funnel().drop(columns=["n_units"]),
            experiments=EXPERIMENTS[["experiment_id", "name"]],
        )
    )
    assert "no decision" in html and "No relative lifts to plot." in html
    assert "without an estimate on purchase conversion" in html
    _assert_no_nan(html)
    _assert_self_contained(html)


# --- decisions and flags ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("decision", "status", "low", "high", "expected"),
    [
        ("win", "ok", 0.01, 0.2, ("win", False)),
        ("win", "ok", -0.01, 0.2, ("inconclusive", True)),
        ("loss", "ok", -0.2, -0.01, ("loss", False)),
        ("loss", "ok", -0.2, 0.0, ("inconclusive", True)),
        ("win", "ok", -0.3, -0.1, ("win", False)),  # a metric that should go down
        ("win", "srm", 0.1, 0.2, ("inconclusive", True)),
        ("neutral", "ok", -0.01, 0.01, ("neutral", False)),
        ("inconclusive", "ok", 0.01, 0.2, ("inconclusive", False)),
        ("win", "ok", np.nan, np.nan, ("inconclusive", True)),
        (None, None, np.nan, np.nan, ("", False)),
    ],
)
def test_shown_decision(decision, status, low, high, expected) -> None:
    assert shown_decision(decision, status, low, high) == expected


def test_significant_cells_needs_corrected_p_and_a_clear_interval() -> None:
    frame = pd.DataFrame(
        {
            "p_value_adjusted": [0.01, 0.01, 0.2, np.nan, 0.01],
            "decision": ["win", "win", "inconclusive", "loss", "win"],
            "status": ["ok", "ok", "ok", "ok", "zero_variance"],
            "rel_ci_low": [0.1, -0.1, 0.1, -0.3, 0.1],
            "rel_ci_high": [0.3, 0.3, 0.3, -0.1, 0.3],
        }
    )
    assert significant_cells(frame, 0.05).tolist() == [True, False, False, True, False]
    # without an interval nothing can be marked, whatever the p-value
    bare = frame.drop(columns=["rel_ci_low", "rel_ci_high", "status"])
    assert not significant_cells(bare, 0.05).any()


# --- charts -----------------------------------------------------------------------------------


def test_charts_degrade_to_a_note_on_empty_input() -> None:
    for fig in (
        lift_forest_chart(pd.DataFrame()),
        funnel_chart(pd.DataFrame()),
        k_selection_chart(pd.DataFrame()),
        persona_lift_heatmap(pd.DataFrame()),
    ):
        assert isinstance(fig, Figure) and fig.texts


def test_heatmap_draws_the_flags_it_is_given() -> None:
    cells = pd.DataFrame(
        {
            "experiment": ["E01", "E01", "E02", "E02"],
            "persona": ["a", "b", "a", "b"],
            "rel_lift": [0.25, -0.2, 0.05, np.nan],
            "rel_ci_low": [0.15, -0.28, -0.04, np.nan],
            "rel_ci_high": [0.35, -0.12, 0.14, np.nan],
            "status": ["ok", "ok", "ok", "empty_arm"],
            "significant": [True, True, False, False],
        }
    )
    fig = persona_lift_heatmap(cells, title="t", experiment_labels={"E01": "E01 · x"})
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "+25.0% *" in texts and "\u221220.0% *" in texts and "+5.0%" in texts
    assert "+15% … +35%" in texts and "empty_arm" in texts


# --- the template follows the family's rules --------------------------------------------------


def test_template_extends_base_and_adds_only_its_own_css() -> None:
    source = _source(TEMPLATE)
    tree = load_template(BASE).environment.parse(source)
    extends = list(tree.find_all(nodes.Extends))
    assert len(extends) == 1 and extends[0].template.value == BASE
    for tag in ("<!doctype", "<html", "<head", "<style", "<body", "<header", "<footer", "<main"):
        assert tag not in source.lower(), tag
    base = {(m, s, p): v for m, s, p, v in _css_rules(_base_css())}
    mine = set(_css_rules(_extra_css(TEMPLATE)))
    assert mine and not [d for d in mine if base.get(d[:3]) == d[3]]
    others = {d for name in REPORTS if name != TEMPLATE for d in _css_rules(_extra_css(name))}
    assert not mine & others, "declarations shared with another report belong in the base"


def test_page_parts_come_from_the_base(page: str) -> None:
    for part in ("<!DOCTYPE html>", "<style>", '<header class="top">', "<footer>", "<main"):
        assert page.count(part) == 1, part
    assert "<title>Growth analytics report · nightly-&lt;1&gt;</title>" in page
    assert page.count("data-run-info") == 1


def test_persona_intervals_are_labelled_with_their_own_level() -> None:
    """Persona rows carry the BH-matched level (ci_level): the heatmap and recommendations say
    that level, the experiment overview keeps the run's 95 %."""
    html = render_growth_report(**inputs(persona_lift=make_persona_lift().assign(ci_level=0.995)))
    text = _text(html)
    assert "99.5 % CI" in text
    assert "95 % CI" in text
