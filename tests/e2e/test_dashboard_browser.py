"""The dashboard in a real browser (slow): Playwright for Python driving Debian's Chromium
through ``executable_path`` (never ``playwright install``).

One module fixture runs the demo's pipelines (smaller A/B data) in the throw-away project, then
starts ``liftlab dashboard`` on a free 127.0.0.1 port and stops it at the end. The tests click
through every page, change filters, run a budget scenario and check what the page shows against
the published gold tables. Screenshots go to ``test-artifacts/dashboard/``; with
``LIFTLAB_SCREENSHOTS=docs`` they are also written to ``docs/dashboard/`` for the README
(``docs/make_screenshots.py``).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from liftlab.dashboard import style
from liftlab.reports.format import MINUS
from tests.services import CHROMIUM, chromium_or_skip

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "dashboard"
DOCS = REPO / "docs" / "dashboard"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def demo_project(zenml_stack, project_dir: Path) -> Path:
    """The demo's gold tables in the throw-away project (all eight jobs, A/B on 4,000 users
    per experiment so it stays quick)."""
    from liftlab import cli

    shutil.copytree(REPO / "configs", project_dir / "configs", dirs_exist_ok=True)
    cwd = Path.cwd()
    os.chdir(project_dir)
    try:
        cli.demo(users_per_experiment=4000, fresh=False, ab_only=False)
    finally:
        os.chdir(cwd)
    return project_dir


@pytest.fixture(scope="module")
def server(demo_project: Path):
    port = _free_port()
    exe = Path(sys.executable).parent / "liftlab"
    process = subprocess.Popen(
        [str(exe), "dashboard", "--port", str(port), "--root", str(demo_project)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            output = process.stdout.read().decode(errors="replace") if process.stdout else ""
            pytest.fail(f"the dashboard did not answer on {url}:\n{output[-3000:]}")
        time.sleep(0.3)
    yield url
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="module")
def browser():
    # checked before the slow demo fixture runs: a missing browser skips (fails under CI) at once
    sync_api = chromium_or_skip()
    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    tab = context.new_page()
    yield tab
    context.close()


def _shot(page, name: str, focus: str | None = None) -> None:
    """Save a full-page screenshot as a test artifact (and, when asked, the viewport for the
    README, scrolled to ``focus`` when given)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.mouse.move(0, 0)  # no hover label or chart toolbar in the picture
    page.wait_for_timeout(600)  # let Plotly finish drawing
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    if os.environ.get("LIFTLAB_SCREENSHOTS") == "docs":
        DOCS.mkdir(parents=True, exist_ok=True)
        if focus:
            page.locator(focus).scroll_into_view_if_needed()
        page.screenshot(path=str(DOCS / f"{name}.png"), full_page=False)


def _open(page, url: str, heading: str) -> None:
    page.goto(url)
    page.get_by_role("heading", name=heading, exact=True).wait_for(timeout=20_000)


def _pick(page, dropdown_id: str, option: str) -> None:
    page.click(f"#{dropdown_id}")
    page.get_by_role("option", name=option, exact=True).click()


def test_overview_shows_every_job_from_its_run_summary(page, server, demo_project) -> None:
    _open(page, server + "/", "Overview")
    outputs = demo_project / "outputs"
    campaigns = json.loads((outputs / "campaign_uplift" / "run_summary.json").read_text())
    mmm = json.loads((outputs / "marketing_mix" / "run_summary.json").read_text())
    expected_revenue = style.fmt_money(campaigns["incremental_revenue"])
    assert page.get_by_test_id("kpi-incremental-revenue").inner_text() == expected_revenue
    assert page.get_by_test_id("kpi-mmm-gain").inner_text() == style.fmt_money(
        mmm["expected_gain"], signed=True
    )
    ab = pd.read_csv(outputs / "ab_test" / "ab_results.csv")
    growth = pd.read_csv(outputs / "growth_analytics" / "growth_experiment_results.csv")
    n_experiments = ab["experiment"].nunique() + growth["experiment"].nunique()
    assert page.get_by_test_id("kpi-experiments").inner_text() == str(n_experiments)
    assert page.get_by_test_id("kpi-champion").inner_text().startswith("version ")
    uplift = json.loads((outputs / "uplift" / "run_summary.json").read_text())
    assert page.get_by_test_id("kpi-uplift-share").inner_text() == style.fmt_pct(
        uplift["share_to_email"], signed=False
    )
    _shot(page, "overview")
    page.set_viewport_size({"width": 1920, "height": 1080})  # a wide screen: cards reflow
    _shot(page, "overview_wide")
    page.set_viewport_size({"width": 1366, "height": 768})
    page.get_by_role("link", name="Experiments", exact=True).first.click()
    page.get_by_role("heading", name="Experiments", exact=True).wait_for()


def test_experiment_filters_narrow_the_published_results(page, server, demo_project) -> None:
    _open(page, server + "/experiments", "Experiments")
    ab = pd.read_csv(demo_project / "outputs" / "ab_test" / "ab_results.csv")
    overall = ab[ab["segment"] == "all"]
    experiment = sorted(overall["experiment"].unique())[0]
    _pick(page, "exp-experiment", experiment)
    expected = len(overall[overall["experiment"] == experiment])
    page.wait_for_function(
        f"/^{expected} comparisons?(:|$)/.test(document.querySelector('#exp-summary').innerText)"
    )
    table = page.get_by_test_id("exp-results-table").inner_text()
    assert experiment in table and sorted(overall["experiment"].unique())[1] not in table
    row = overall[(overall["experiment"] == experiment)].iloc[0]
    assert style.fmt_pct(row["rel_lift"]) in table
    metric = row["metric"]
    _pick(page, "exp-metric", metric)
    page.wait_for_function(
        "document.querySelector('#exp-heatmap').innerText.includes('lift per segment')"
    )
    _pick(page, "exp-decision", "win")
    wins = overall[(overall["experiment"] == experiment) & (overall["metric"] == metric)]
    wins = wins[wins["decision"] == "win"]
    page.wait_for_function(
        f"/^{len(wins)} comparisons?(:|$)/.test(document.querySelector('#exp-summary').innerText)"
    )
    _pick(page, "exp-decision", "every decision")
    page.wait_for_timeout(500)
    _shot(page, "experiments")
    srm = pd.read_csv(demo_project / "outputs" / "ab_test" / "srm.csv")
    health = page.get_by_test_id("exp-health-table").inner_text()
    assert ("SRM ALERT" in health) == bool(
        srm.loc[srm["experiment"] == experiment, "srm_detected"].any()
    )


def test_campaigns_page_shows_the_gold_summary_per_category(page, server, demo_project) -> None:
    _open(page, server + "/campaigns", "Campaigns")
    summary = pd.read_csv(demo_project / "outputs" / "campaign_uplift" / "campaign_summary.csv")
    first = summary[summary["category"] == "all"].iloc[0]
    table = page.get_by_test_id("camp-table").inner_text()
    assert style.fmt_money(first["incremental_revenue"], signed=True) in table
    category = sorted(c for c in summary["category"].unique() if c != "all")[0]
    _pick(page, "camp-category", category)
    row = summary[summary["category"] == category].iloc[0]
    expected = style.fmt_money(row["incremental_revenue"], signed=True)
    page.wait_for_function(
        f"document.querySelector('[data-testid=camp-table]').innerText.includes('{expected}')"
    )
    _shot(page, "campaigns")


def test_models_personas_and_uplift_pages(page, server, demo_project) -> None:
    _open(page, server + "/models", "Models")
    registry = page.get_by_test_id("models-registry").inner_text()
    assert "champion" in registry
    decision = json.loads(
        (demo_project / "outputs" / "training" / "promotion_decision.json").read_text()
    )
    assert page.get_by_test_id("models-decision").inner_text() == decision["summary"]
    assert "400" in page.get_by_test_id("models-predictions").inner_text()  # rows scored
    _shot(page, "models")
    _open(page, server + "/personas", "Personas")
    personas = pd.read_csv(demo_project / "outputs" / "growth_analytics" / "personas.csv")
    table = page.get_by_test_id("persona-table").inner_text()
    assert all(name in table for name in personas["persona"])
    _pick(page, "persona-experiment", "E02")
    page.wait_for_function("document.querySelector('#persona-lift').innerText.includes('E02')")
    _shot(page, "personas")
    _open(page, server + "/uplift", "Uplift")
    out = demo_project / "outputs" / "uplift"
    summary = json.loads((out / "run_summary.json").read_text())
    headline = page.get_by_test_id("uplift-headline").inner_text()
    assert f"top {summary['share_to_email'] * 100:.0f} %" in headline  # the report's words
    low, high = summary["policy_incremental_ci"]
    # the headline is worded from the interval: a recommendation only when it lies above 0
    assert headline.startswith("Recommendation") == (low > 0), headline
    effects = pd.read_csv(out / "average_effects.csv")
    table = page.get_by_test_id("uplift-effects").inner_text()
    for row in effects.itertuples():
        assert style.fmt_pct(row.rel_lift) in table
    learners = page.get_by_test_id("uplift-learners").inner_text()
    assert all(name in learners for name in pd.read_csv(out / "learner_comparison.csv")["learner"])
    _shot(page, "uplift")


def test_budget_scenario_runs_the_optimiser_on_the_saved_model(page, server, demo_project):
    _open(page, server + "/marketing-mix", "Marketing mix")
    summary = json.loads(
        (demo_project / "outputs" / "marketing_mix" / "run_summary.json").read_text()
    )
    # the defaults are the run's own total and bounds: the scenario reproduces its plan's gain
    page.get_by_role("button", name="Run scenario").click()
    gain = page.get_by_test_id("mmm-scenario-gain")
    gain.wait_for(timeout=30_000)
    shown = float(gain.inner_text().replace("$", "").replace(",", "").replace(MINUS, "-"))
    # the same plan up to the total the input shows (rounded to cents)
    assert shown == pytest.approx(summary["expected_gain"], rel=1e-3)
    _shot(page, "marketing_mix", focus="#mmm-scenario-result")
    # a smaller budget: a different plan, still with its interval
    total = page.locator("#mmm-total")
    smaller = round(float(total.input_value()) * 0.9)
    total.fill(str(smaller))
    total.press("Enter")
    page.get_by_role("button", name="Run scenario").click()
    page.wait_for_function(
        "document.querySelector('#mmm-scenario-result').innerText.includes("
        f"'{style.fmt_money(smaller)} per period')"
    )
    assert "interval" in page.inner_text("#mmm-scenario-result")
    # bounds that cannot meet the total: the optimiser's own reason, no crash
    total.fill("1")
    total.press("Enter")
    page.get_by_role("button", name="Run scenario").click()
    page.get_by_test_id("mmm-scenario-error").wait_for()
    assert "cannot meet a total" in page.get_by_test_id("mmm-scenario-error").inner_text()
