"""Tests for the uplift-modelling HTML report and its charts.

The inputs are real: a synthetic Hillstrom-like e-mail experiment (3,000 customers, Mens and
Womens E-Mail vs No E-Mail) → A/B engine for the average effects → uplift learners compared on a
stratified holdout → Qini curves, policy comparison, profit curve and targeting policy. Built
once per module, so the file runs in a few seconds and needs neither ZenML nor MLflow.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from liftlab.plots.uplift import (
    effects_chart,
    policy_chart,
    profit_curve_chart,
    qini_chart,
    targeting_chart,
)
from liftlab.reports.uplift import SECTION_TITLES, render_uplift_report
from strategies.stats.analysis import AnalysisOptions
from strategies.stats.metrics import MetricSpec
from strategies.stats.run import ABDesign, run_ab_analysis
from strategies.uplift.evaluation import compare_uplift_learners, stratified_split
from strategies.uplift.metrics import qini_curve
from strategies.uplift.policy import policy_comparison, profit_curve, targeting_policy
from strategies.validation import ValidationRules, validate

CONTROL = "No E-Mail"
ARMS = ("Mens E-Mail", "Womens E-Mail")
HOSTILE = "t <script>alert('x')</script>"
CATEGORICAL = ["zip_code", "channel"]
NUMERIC = ["recency", "history", "mens", "womens", "newbie"]
OUTCOMES = [
    {"name": "visit", "column": "visit", "type": "binary", "value_per_unit": 1.0},
    {"name": "conversion", "column": "conversion", "type": "binary", "value_per_unit": 30.0},
    {"name": "spend", "column": "spend", "type": "continuous", "value_per_unit": 0.3},
]
COST = 0.1
CONFIG = {
    "treatment_column": "segment",
    "control": CONTROL,
    "arms": list(ARMS),
    "outcomes": OUTCOMES,
    "policy_outcome": "visit",
    "cost_per_contact": COST,
    "note": "<img src=x onerror=alert(1)>",
}
RUN_INFO = {
    "pipeline": "uplift_pipeline",
    "run_name": "nightly-<1>",
    "generated_at": "2024-05-01T10:00:00Z",
    "data_source": "hillstrom.csv",
    "data_sha256": "ab" * 32,
    "rows_raw": 3000,
    "git_commit": "deadbeef",
    "mlflow_run_id": "0123456789abcdef",
}


def _hillstrom(n: int = 3000, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    segment = rng.choice([CONTROL, *ARMS], n)
    mens = rng.integers(0, 2, n)
    womens = np.where(mens == 0, 1, rng.integers(0, 2, n))
    channel = rng.choice(["Phone", "Web", "Multichannel"], n, p=[0.44, 0.44, 0.12])
    web = channel == "Web"
    effect = np.where(
        segment == ARMS[0],
        0.06 * mens + 0.01,
        np.where(segment == ARMS[1], 0.05 * womens + 0.02 * web, 0.0),
    )
    visit = (rng.random(n) < 0.10 + 0.03 * web + effect).astype(int)
    conversion = visit * (rng.random(n) < 0.08 + 0.04 * (segment != CONTROL)).astype(int)
    return pd.DataFrame(
        {
            "recency": rng.integers(1, 13, n),
            "history": np.round(rng.gamma(1.2, 200.0, n), 2),
            "mens": mens,
            "womens": womens,
            "zip_code": rng.choice(["Urban", "Surburban", "Rural"], n),
            "newbie": rng.integers(0, 2, n),
            "channel": channel,
            "segment": segment,
            "visit": visit,
            "conversion": conversion,
            "spend": np.where(conversion == 1, np.round(rng.gamma(2.0, 60.0, n), 2), 0.0),
        }
    )


def _targeting_summary(
    data: pd.DataFrame, decision: pd.DataFrame, profit: np.ndarray
) -> pd.DataFrame:
    frame = data[["channel", "zip_code"]].assign(arm=decision["best_arm"].to_numpy(), p=profit)
    rows = []
    for feature in ("channel", "zip_code"):
        for value, group in frame.groupby(feature, sort=True):
            row = {
                "feature": feature,
                "value": value,
                "customers": len(group),
                "share_to_email": float(group["arm"].notna().mean()),
            }
            for arm in ARMS:
                row[f"share_{arm}"] = float((group["arm"] == arm).mean())
            row["mean_expected_profit"] = float(group["p"].mean())
            rows.append(row)
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def inputs() -> dict:
    data = _hillstrom()
    labels = data["segment"].to_numpy()
    ab = run_ab_analysis(
        data.assign(customer_id=np.arange(len(data))),
        ABDesign("customer_id", "segment", CONTROL, ARMS, experiment_name="hillstrom"),
        [
            MetricSpec("visit", "proportion", column="visit"),
            MetricSpec("conversion", "proportion", column="conversion"),
            MetricSpec("spend", "mean", column="spend"),
        ],
        AnalysisOptions(control=CONTROL),
    )
    X = data[CATEGORICAL + NUMERIC]
    pre = {"categorical": CATEGORICAL, "numeric": NUMERIC}
    specs = [
        {"name": "t_learner", "base": {"name": "hist_gradient_boosting"}, "preprocessor": pre},
        {"name": "s_learner", "label": HOSTILE, "base": {"name": "ridge"}, "preprocessor": pre},
    ]
    train_idx, test_idx = stratified_split(labels, test_size=0.3, seed=0)
    tables, curves, policies, profits = [], [], [], []
    decisions: dict[str, dict] = {}
    summary = pd.DataFrame()
    for spec in OUTCOMES:
        name, y = spec["name"], data[spec["column"]].to_numpy(dtype=float)
        result = compare_uplift_learners(
            specs, X, labels, y, control=CONTROL, train_idx=train_idx, test_idx=test_idx, seed=0
        )
        tables.append(result.table.assign(outcome=name))
        uplift = result.holdout_uplift[result.best]
        y_hold, t_hold = y[test_idx], labels[test_idx]
        for arm in uplift.columns:
            keep = (t_hold == arm) | (t_hold == CONTROL)
            curve = qini_curve(y_hold[keep], t_hold[keep] == arm, uplift[arm].to_numpy()[keep])
            curves.append(curve.assign(outcome=name, learner=result.best, arm=arm))
        money = {"control": CONTROL, "value_per_unit": spec["value_per_unit"]}
        policies.append(
            policy_comparison(
                uplift, t_hold, y_hold, cost_per_contact=COST, n_bootstrap=50, **money
            ).assign(outcome=name)
        )
        profits.append(
            profit_curve(uplift, t_hold, y_hold, cost_per_contact=COST, **money).assign(
                outcome=name
            )
        )
        qini = result.table.loc[result.table["is_best"], "qini_coefficient"].mean()
        decisions[name] = {
            "model_name": f"liftlab-uplift-{name}",
            "best_learner": result.best,
            "promote": name != "conversion",
            "summary": f"{result.best} for {name}: Qini {qini:.3g}",
            "champion": None if name == "visit" else {"version": "2", "qini": 0.001},
            "challenger_qini": qini,
        }
        if name == CONFIG["policy_outcome"]:
            full = result.fitted[result.best].predict_uplift(X)
            decision = targeting_policy(
                full, value_per_unit=spec["value_per_unit"], cost_per_contact=COST
            )
            summary = _targeting_summary(
                data, decision, decision["expected_incremental_profit"].to_numpy()
            )
    validation = validate(
        data.assign(segment=data["segment"].where(data.index != 5, "Spam")),
        ValidationRules(
            required_columns=("segment", "visit"),
            allowed_values={"segment": (CONTROL, *ARMS)},
            non_negative_columns=("spend",),
        ),
    ).to_dict()
    return {
        "effects": ab.results,
        "comparison": pd.concat(tables, ignore_index=True),
        "qini_curves": pd.concat(curves, ignore_index=True),
        "policy": pd.concat(policies, ignore_index=True),
        "profit_curves": pd.concat(profits, ignore_index=True),
        "targeting_summary": summary,
        "decisions": decisions,
        "validation": validation,
        "config": CONFIG,
        "run_info": RUN_INFO,
    }


def _render(inputs: dict, **overrides) -> str:
    return render_uplift_report(**{**inputs, **overrides})


def _assert_self_contained(html: str) -> None:
    assert "<script" not in html.lower()
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, re.IGNORECASE)
    assert not re.search(r"url\(\s*['\"]?(?:https?:)?//", html, re.IGNORECASE)
    # the only URLs allowed are SVG namespace names (identifiers, never fetched)
    assert not re.search(r"https?://", re.sub(r'xmlns(?::\w+)?="[^"]*"', "", html))


EMPTY = {
    "effects": pd.DataFrame(),
    "comparison": pd.DataFrame(),
    "qini_curves": pd.DataFrame(),
    "policy": pd.DataFrame(),
    "profit_curves": pd.DataFrame(),
    "targeting_summary": pd.DataFrame(),
    "decisions": {},
    "validation": {},
    "config": {},
    "run_info": {},
}


# --- the report -------------------------------------------------------------------------------


def test_report_renders_real_inputs(inputs: dict) -> None:
    html = _render(inputs)
    for title in SECTION_TITLES.values():
        assert title in html
    for arm in (*ARMS, CONTROL):
        assert arm in html
    for outcome in ("visit", "conversion", "spend"):
        assert f'data-outcome="{outcome}"' in html
        assert f'data-registry="{outcome}"' in html
        assert f'data-effect="{outcome}|{ARMS[0]}"' in html
    # best learner per outcome is highlighted
    comparison = inputs["comparison"]
    for _outcome, sub in comparison.groupby("outcome"):
        best = sub.loc[sub["is_best"], "learner"].iloc[0]
        if best != HOSTILE:
            assert f'class="best" data-learner="{best}"' in html
    # KPI cards and recommendation headline
    for key in ("share", "mix", "vs_nobody", "vs_all", "learner", "registry"):
        assert f'data-kpi="{key}"' in html
    headline = re.search(r"<p class=\"headline[^\"]*\" data-headline>(.*?)</p>", html, re.S)
    assert headline and "of customers" in headline.group(1)
    assert "sending nobody" in headline.group(1) and "95 % CI" in headline.group(1)
    assert "e-mailing everyone" in headline.group(1)
    assert "per customer (profit from visit" in headline.group(1)
    # policy rows, targeting sentences, definitions, registry decisions
    assert 'data-policy="model"' in html and f'data-policy="send_all|{ARMS[1]}"' in html
    assert 'data-group="channel=Web"' in html
    assert re.search(
        r"(?:E-mail|would e-mail) [\d.]+ % of Web customers|(?:Do not e-mail|skip) Web customers",
        html,
    )
    assert "total over the holdout customers" in html
    assert 'data-decision="promoted"' in html and 'data-decision="not-promoted"' in html
    assert "first model" in html and "version 2" in html
    # validation, config, footer
    assert "1 of " in html and "Spam" in html
    assert "policy_outcome: visit" in html
    assert "deadbeef" in html and "0123456789abcdef" in html
    assert ">nan<" not in html.lower()


def test_hostile_text_is_escaped(inputs: dict) -> None:
    html = _render(inputs)
    assert HOSTILE not in html
    assert "t &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "nightly-&lt;1&gt;" in html
    _assert_self_contained(html)


def test_hostile_arm_and_feature_values_are_escaped(inputs: dict) -> None:
    summary = inputs["targeting_summary"].copy()
    summary.loc[0, "value"] = "<b>Web</b>"
    policy = inputs["policy"].copy()
    policy["arm"] = policy["arm"].map(lambda a: f"{a}<i>" if isinstance(a, str) else a)
    html = _render(inputs, targeting_summary=summary, policy=policy)
    assert "<b>Web</b>" not in html and "&lt;b&gt;Web&lt;/b&gt;" in html
    assert "<i>" not in html and "Mens E-Mail&lt;i&gt;" in html
    _assert_self_contained(html)


def test_figures_are_inline_svg(inputs: dict) -> None:
    html = _render(inputs)
    for chart in ("effects", "qini", "policy", "profit-curve", "targeting"):
        assert re.search(rf'data-chart="{chart}">\s*<svg\b', html), chart
    assert "<?xml" not in html and "data:image" not in html
    _assert_self_contained(html)


def test_everything_missing_still_renders() -> None:
    html = render_uplift_report(**EMPTY)
    assert "No average treatment effects recorded." in html
    assert "No uplift learners were compared in this run." in html
    assert "No Qini curves recorded." in html
    assert "No targeting policy was evaluated in this run." in html
    assert "No profit curve recorded." in html
    assert "No targeting summary recorded." in html
    assert "No model registry decisions recorded in this run." in html
    assert "No validation results recorded." in html
    assert "No configuration recorded." in html
    assert "<svg" not in html
    _assert_self_contained(html)


def test_empty_frames_with_columns_render(inputs: dict) -> None:
    empty = {
        k: inputs[k].iloc[0:0]
        for k in (
            "effects",
            "comparison",
            "qini_curves",
            "policy",
            "profit_curves",
            "targeting_summary",
        )
    }
    html = _render(inputs, **empty)
    assert "No targeting summary recorded." in html
    assert "—" in html  # KPI cards without a policy
    _assert_self_contained(html)


def test_nan_values_degrade_to_dash(inputs: dict) -> None:
    def blank(df: pd.DataFrame, keep: tuple[str, ...]) -> pd.DataFrame:
        out = df.copy()
        for col in out.columns:
            if col not in keep and pd.api.types.is_numeric_dtype(out[col]):
                out[col] = np.nan
        return out

    decisions = {
        k: {**v, "challenger_qini": math.nan, "champion": None}
        for k, v in inputs["decisions"].items()
    }
    html = _render(
        inputs,
        effects=blank(inputs["effects"], ()),
        comparison=blank(inputs["comparison"], ("rank",)),
        qini_curves=blank(inputs["qini_curves"], ()),
        policy=blank(inputs["policy"], ()),
        profit_curves=blank(inputs["profit_curves"], ()),
        targeting_summary=blank(inputs["targeting_summary"], ()),
        decisions=decisions,
    )
    assert "—" in html
    assert ">nan<" not in html.lower() and " nan " not in html.lower() and "nan %" not in html
    assert 'data-chart="qini"' not in html and 'data-chart="policy"' not in html
    assert "first model" in html
    _assert_self_contained(html)


def test_missing_columns_and_odd_values_do_not_crash(inputs: dict) -> None:
    html = _render(
        inputs,
        effects=inputs["effects"][["metric", "variant"]],
        comparison=inputs["comparison"][["outcome", "learner"]],
        qini_curves=inputs["qini_curves"][["outcome", "fraction"]],
        policy=inputs["policy"][["outcome", "policy"]],
        profit_curves=inputs["profit_curves"][["fraction"]],
        targeting_summary=pd.DataFrame({"feature": ["channel"], "value": [None]}),
        decisions={"visit": None, "spend": {"promote": "yes", "champion": {"qini": "n/a"}}},
        validation={"success": None, "outcomes": ["not a mapping"]},
        config={"parameters": {"policy_outcome": None, "outcomes": "oops"}},
        run_info={"rows_raw": None},
    )
    assert "<html" in html
    _assert_self_contained(html)


def test_policy_outcome_defaults_to_last_modelled(inputs: dict) -> None:
    config = {k: v for k, v in CONFIG.items() if k != "policy_outcome"}
    config["outcomes"] = [*OUTCOMES[:2], {**OUTCOMES[2], "model": False}]
    html = _render(inputs, config=config)
    headline = re.search(r"<p class=\"headline[^\"]*\" data-headline>(.*?)</p>", html, re.S)
    assert headline and "profit from conversion" in headline.group(1)


# --- the charts -------------------------------------------------------------------------------


def test_plot_functions_return_figures(inputs: dict) -> None:
    figures = [
        effects_chart(inputs["effects"]),
        qini_chart(inputs["qini_curves"], arm_order=ARMS),
        policy_chart(inputs["policy"]),
        profit_curve_chart(inputs["profit_curves"], chosen={"spend": 0.4}),
        targeting_chart(inputs["targeting_summary"], arms=ARMS),
        targeting_chart(inputs["targeting_summary"]),
    ]
    for fig in figures:
        assert isinstance(fig, Figure)
        assert any(ax.get_visible() for ax in fig.axes)


@pytest.mark.parametrize(
    "make",
    [
        lambda: effects_chart(pd.DataFrame()),
        lambda: effects_chart(None),  # type: ignore[arg-type]
        lambda: qini_chart(pd.DataFrame()),
        lambda: qini_chart(pd.DataFrame({"fraction": [0.0, 1.0], "qini": [np.nan, np.nan]})),
        lambda: policy_chart(pd.DataFrame()),
        lambda: policy_chart(pd.DataFrame({"policy": ["model"], "profit_per_customer": [None]})),
        lambda: profit_curve_chart(pd.DataFrame()),
        lambda: profit_curve_chart(
            pd.DataFrame({"fraction": [0.0], "incremental_profit_per_customer": [np.nan]})
        ),
        lambda: targeting_chart(pd.DataFrame()),
        lambda: targeting_chart(pd.DataFrame({"feature": ["channel"], "value": ["Web"]})),
    ],
)
def test_plot_functions_handle_empty_input(make) -> None:
    fig = make()
    assert isinstance(fig, Figure)
    assert not fig.axes  # the "no data" figure is a single line of text
    assert fig.texts


def _section(html: str, key: str) -> str:
    """One card of the page (charts elsewhere carry random SVG ids, so whole pages differ)."""
    start = html.index(f'<section class="card" id="{key}">')
    return html[start : html.index("</section>", start)]


def test_shared_promotion_record_renders_like_the_older_record(inputs: dict) -> None:
    """Decisions now come as strategies.promotion records (scores under ``metric``); the
    registry card shows the same learner, scores, version and summary."""
    from strategies.promotion import decide_uplift_promotion

    shared = {}
    for outcome, old in inputs["decisions"].items():
        champion = old["champion"]
        record = decide_uplift_promotion(
            model_name=old["model_name"],
            learner=old["best_learner"],
            model="t_learner",
            score=old["challenger_qini"],
            metric="qini_coefficient",
            champion=(
                None
                if champion is None
                else {"version": champion["version"], "scores": {"qini_coefficient": 0.001}}
            ),
        ).to_dict()
        shared[outcome] = {**record, "promote": old["promote"], "summary": old["summary"]}
    new, old = _render(inputs, decisions=shared), _render(inputs)
    assert _section(new, "registry") == _section(old, "registry")
    assert "first model" in _section(new, "registry")


def test_typed_config_shows_the_parameters_with_defaults(inputs: dict) -> None:
    from liftlab.config.uplift import load_uplift_config

    cfg = load_uplift_config({"data_path": "hillstrom.csv", "outcomes": OUTCOMES})
    typed = _section(_render(inputs, config=cfg), "config")
    assert typed == _section(_render(inputs, config=cfg.report_parameters()), "config")
    assert "policy_outcome: spend" in typed  # the default, filled in
    assert "n_bootstrap: 200" in typed


# --- headline worded from the intervals (DESIGN §2.7), units, calibration --------------------


def _policy_frame(
    *, inc: float, lo: float, hi: float, vs: float, vs_lo: float, vs_hi: float, predicted: float
) -> pd.DataFrame:
    """A policy table for the policy outcome (visit) as policy_comparison writes it."""
    nobody = 0.239
    rows = [
        ("model", None, 0.92, nobody + inc, inc, lo, hi, vs, vs_lo, vs_hi, predicted),
        ("send_all", ARMS[0], 1.0, nobody + inc - vs, inc - vs, -0.1, 0.2, 0.0, 0.0, 0.0, 0.16),
        ("send_all", ARMS[1], 1.0, 0.233, -0.006, -0.17, 0.15, -0.05, -0.1, 0.0, 0.04),
        ("send_nobody", None, 0.0, nobody, 0.0, 0.0, 0.0, -(inc - vs), -0.2, 0.1, 0.0),
    ]
    columns = [
        "policy",
        "arm",
        "share_contacted",
        "profit_per_customer",
        "incremental_profit_per_customer",
        "incremental_ci_low",
        "incremental_ci_high",
        "vs_send_all_profit_per_customer",
        "vs_send_all_ci_low",
        "vs_send_all_ci_high",
        "predicted_incremental_profit_per_customer",
    ]
    frame = pd.DataFrame(rows, columns=columns).assign(
        outcome="visit", n_matched=6400, vs_send_all_arm=ARMS[0], profit_ci_low=0.1
    )
    return frame.assign(profit_ci_high=0.4)


def _headline(html: str) -> str:
    found = re.search(r"<p class=\"headline[^\"]*\" data-headline>(.*?)</p>", html, re.S)
    assert found
    return re.sub(r"<[^>]+>", "", found.group(1))


def test_headline_does_not_recommend_when_the_ci_includes_zero(inputs: dict) -> None:
    """The Hillstrom case of issue #10: +0.061 per customer vs sending nobody with a CI across
    0, no CI on the gain over e-mailing everyone, the model expecting 3x the holdout."""
    policy = _policy_frame(
        inc=0.0606, lo=-0.0826, hi=0.200, vs=0.0159, vs_lo=-0.03, vs_hi=0.06, predicted=0.194
    )
    html = _render(inputs, policy=policy)
    text = _headline(html)
    assert not text.lstrip().startswith("Recommendation")
    assert "not shown to beat sending nobody" in text
    assert "includes 0" in text
    assert "not shown to beat e-mailing everyone" in text
    assert "−0.03 … +0.06" in text or "−0.0300 … +0.0600" in text  # the new CI is printed
    assert "E-mail 92 % of customers" not in text
    # the model's own forecast is 3.2x the holdout estimate: said, next to the headline
    warning = re.search(r'data-calibration="overstated"[^>]*>(.*?)</', html, re.S)
    assert warning and "3.2×" in warning.group(1)
    # units: per customer and the total over the customers scored
    assert "per customer" in text and "in total over" in text
    # the group sentences say what the model would do, not what to do
    targeting = _section(html, "targeting")
    assert "The model would e-mail" in targeting and '<p class="sentence">E-mail' not in targeting
    kpis = re.search(r'data-kpi="vs_all".*?</div>\s*</div>', html, re.S)
    assert kpis and "−0.03" in kpis.group(0)


def test_headline_recommends_only_when_the_ci_excludes_zero(inputs: dict) -> None:
    policy = _policy_frame(
        inc=0.12, lo=0.05, hi=0.19, vs=0.04, vs_lo=0.01, vs_hi=0.07, predicted=0.13
    )
    html = _render(inputs, policy=policy)
    text = _headline(html)
    assert text.lstrip().startswith("Recommendation")
    assert re.search(r"E-mail the top \d+ % of customers", text)
    assert "beats sending nobody" in text and "not shown" not in text
    assert "beats e-mailing everyone with Mens E-Mail" in text
    assert 'data-calibration="overstated"' not in html
    assert '<p class="sentence">E-mail' in _section(html, "targeting")
    losing = _policy_frame(
        inc=-0.08, lo=-0.12, hi=-0.03, vs=-0.1, vs_lo=-0.2, vs_hi=-0.01, predicted=0.05
    )
    text = _headline(_render(inputs, policy=losing))
    assert "loses money against sending nobody" in text
    assert "Recommendation" not in text


def test_money_units_are_stated(inputs: dict) -> None:
    html = _render(inputs)
    units = re.search(r"data-units>(.*?)</", html, re.S)
    assert units
    assert "cost_per_contact" in units.group(1) and "per customer" in units.group(1)
    assert "0.10 per e-mail" in units.group(1)


def test_qini_is_labelled_as_a_total_and_normalised_scores_are_shown(inputs: dict) -> None:
    html = _render(inputs)
    section = _section(html, "comparison")
    definitions = re.search(r'<dl class="defs">(.*?)</dl>', section, re.S).group(1)
    qini = re.search(r"<dt>Qini coefficient</dt><dd>(.*?)</dd>", definitions, re.S).group(1)
    assert "total over the holdout customers" in qini
    assert not re.search(r"(?<!not )per customer", qini)
    assert "Normalised AUUC" in section
    row = re.search(r'<tr class="best" data-learner="t_learner">(.*?)</tr>', section, re.S)
    assert row
    cells = re.findall(r'<td class="num">(.*?)</td>', row.group(1))
    # rank, Qini, normalised Qini, AUUC, normalised AUUC, ...: the normalised values are numbers
    assert float(cells[2].replace("−", "-")) == pytest.approx(
        inputs["comparison"]
        .query("outcome == 'visit' and learner == 't_learner'")["qini_normalized"]
        .iloc[0],
        abs=1e-3,
    )
    assert float(cells[4].replace("−", "-")) == pytest.approx(
        inputs["comparison"]
        .query("outcome == 'visit' and learner == 't_learner'")["auuc_normalized"]
        .iloc[0],
        abs=1e-3,
    )


def test_targeting_groups_read_in_words(inputs: dict) -> None:
    summary = pd.DataFrame(
        {
            "feature": ["history", "history", "mens", "mens"],
            "value": ["30–65", "65–158", "no", "yes"],
            "customers": [10, 10, 8, 12],
            "share_to_email": [0.5, 1.0, 0.25, 1.0],
            f"share_{ARMS[0]}": [0.5, 1.0, 0.25, 1.0],
            f"share_{ARMS[1]}": [0.0, 0.0, 0.0, 0.0],
            "mean_expected_profit": [0.1, 0.2, 0.0, 0.3],
        }
    )
    html = _section(_render(inputs, targeting_summary=summary), "targeting")
    assert "customers with history 30–65" in html
    assert "customers with mens: yes" in html
    assert "= 1" not in html and "mens = " not in html
