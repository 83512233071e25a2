"""The report templates share one base: the CSS and the page parts exist once.

Every report extends ``base.html.j2`` and may add CSS only in its ``extra_css`` block; these
tests fail when a report re-declares what the base already says, when two reports carry the
same rule (it belongs in the base), or when a report grows its own page skeleton again.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from collections import defaultdict

import jinja2
import pandas as pd
import pytest
from jinja2 import nodes

from liftlab.reports.ab_testing import render_ab_report
from liftlab.reports.campaign_uplift import render_campaign_report
from liftlab.reports.growth_analytics import render_growth_report
from liftlab.reports.marketing_mix import build_marketing_mix_report
from liftlab.reports.parts import TEMPLATE_LOCATION, load_template, template_dir
from liftlab.reports.training import render_training_report
from liftlab.reports.uplift import render_uplift_report
from tests.conftest import REPO_ROOT
from tests.liftlab.mmm_fixtures import make_mmm_result, mmm_config_values

BASE = "base.html.j2"
REPORTS = (
    "ab_report.html.j2",
    "training_report.html.j2",
    "campaign_report.html.j2",
    "uplift_report.html.j2",
    "marketing_mix_report.html.j2",
    "growth_report.html.j2",
)
PYPROJECT = REPO_ROOT / "pyproject.toml"


def _source(name: str) -> str:
    env = load_template(BASE).environment
    return env.loader.get_source(env, name)[0]


def _css_rules(css: str) -> list[tuple[str, str, str, str]]:
    """``(media, selector, property, value)`` for every declaration, one selector at a time
    (``a, b { x: 1 }`` gives two); comments dropped, whitespace normalised, ``@media`` blocks
    parsed with the media query as context."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    out: list[tuple[str, str, str, str]] = []

    def parse(text: str, media: str) -> None:
        pos = 0
        while (m := re.compile(r"\s*([^{}]+)\{").match(text, pos)) is not None:
            prelude = " ".join(m.group(1).split())
            depth, end = 1, m.end()
            while depth:
                if end >= len(text):
                    raise AssertionError(f"unbalanced braces after {prelude!r}")
                depth += {"{": 1, "}": -1}.get(text[end], 0)
                end += 1
            body = text[m.end() : end - 1]
            if prelude.startswith("@"):
                parse(body, prelude)
            else:
                assert "{" not in body, f"nested block in {prelude!r}"
                for declaration in filter(None, (d.strip() for d in body.split(";"))):
                    prop, colon, value = declaration.partition(":")
                    assert colon, f"not a declaration in {prelude!r}: {declaration!r}"
                    for selector in prelude.split(","):
                        out.append(
                            (
                                media,
                                " ".join(selector.split()),
                                prop.strip(),
                                " ".join(value.split()),
                            )
                        )
            pos = end
        assert not text[pos:].strip(), f"unparsed CSS: {text[pos:].strip()[:80]!r}"

    parse(css, "")
    return out


def _base_css() -> str:
    style = re.search(r"<style>(.*?)</style>", _source(BASE), re.S)
    assert style, "base.html.j2 has no <style> element"
    return re.sub(r"\{%.*?%\}", "", style.group(1))


def _extra_css(name: str) -> str:
    """The literal text of a report's ``extra_css`` block ('' without one)."""
    tree = load_template(BASE).environment.parse(_source(name))
    blocks = [b for b in tree.find_all(nodes.Block) if b.name == "extra_css"]
    assert len(blocks) <= 1
    if not blocks:
        return ""
    assert not any(blocks[0].find_all((nodes.Name, nodes.Getattr, nodes.Call))), (
        f"{name}: extra_css must be plain CSS"
    )
    return "".join(data.data for data in blocks[0].find_all(nodes.TemplateData))


def test_every_template_file_is_known() -> None:
    names = {p.name for p in template_dir().iterdir() if p.name.endswith(".j2")}
    partials = {n for n in names if n.startswith("_")}
    assert names == {BASE, *REPORTS, *partials}


@pytest.mark.parametrize("name", REPORTS)
def test_report_extends_base_and_has_no_page_skeleton(name: str) -> None:
    source = _source(name)
    tree = load_template(BASE).environment.parse(source)
    extends = list(tree.find_all(nodes.Extends))
    assert len(extends) == 1 and isinstance(extends[0].template, nodes.Const)
    assert extends[0].template.value == BASE
    # the page skeleton and the stylesheet live in the base only
    for tag in ("<!doctype", "<html", "<head", "<style", "<body", "<header", "<footer", "<main"):
        assert tag not in source.lower(), f"{name} has its own {tag}>"


def test_base_css_has_no_repeated_declarations() -> None:
    seen: dict[tuple[str, str, str], str] = {}
    for media, selector, prop, value in _css_rules(_base_css()):
        key = (media, selector, prop)
        assert key not in seen, f"base.html.j2 declares {selector} {{ {prop} }} twice"
        seen[key] = value


@pytest.mark.parametrize("name", REPORTS)
def test_report_css_does_not_repeat_the_base(name: str) -> None:
    """A report may override a base rule with a different value, never restate it."""
    base = {(m, s, p): v for m, s, p, v in _css_rules(_base_css())}
    repeated = [
        f"{selector} {{ {prop}: {value} }}"
        for media, selector, prop, value in _css_rules(_extra_css(name))
        if base.get((media, selector, prop)) == value
    ]
    assert not repeated, f"{name} repeats CSS of base.html.j2: {repeated}"


def test_no_css_declaration_is_shared_by_two_reports() -> None:
    """The same selector styled the same way in two reports belongs in the base."""
    owners: dict[tuple[str, str, str, str], list[str]] = defaultdict(list)
    for name in REPORTS:
        for declaration in set(_css_rules(_extra_css(name))):
            owners[declaration].append(name)
    shared = {d: n for d, n in owners.items() if len(n) > 1}
    assert not shared, f"move to base.html.j2: {shared}"


def test_templates_are_package_data() -> None:
    # the tests live in the checkout, beside pyproject.toml: no skip, a missing file fails
    package, folder = TEMPLATE_LOCATION
    with PYPROJECT.open("rb") as fh:
        patterns = tomllib.load(fh)["tool"]["setuptools"]["package-data"].get(package, [])
    assert patterns, f"no package-data for {package} in pyproject.toml"
    checked = {p.name for p in template_dir().iterdir() if p.name.endswith(".j2")}
    assert {BASE, *REPORTS} <= checked
    for name in checked:
        relative = f"{folder}/{name}"
        assert any(fnmatch.fnmatch(relative, p) for p in patterns), relative


def test_loader_finds_only_templates_in_the_folder() -> None:
    assert load_template(REPORTS[0]) is load_template(REPORTS[0])
    for name in ("missing.html.j2", "../report_parts.py", "/etc/passwd"):
        with pytest.raises(jinja2.TemplateNotFound):
            load_template(name)


# --- every report renders through the base -------------------------------------------------------

RUN_INFO = {"pipeline": "pipe<x>", "run_name": "run-<1>", "git_commit": "abc123"}
VALIDATION = {
    "success": False,
    "n_rows": 12,
    "outcomes": [
        {"expectation": "expect_column_to_exist", "column": "a", "success": False},
        {"expectation": "expect_column_values_to_be_between", "column": "b", "skipped": True},
    ],
}
EMPTY = pd.DataFrame()
RENDERS = {
    "ab_report.html.j2": (
        "A/B test report",
        lambda: render_ab_report(
            results=EMPTY, srm=None, funnel=None, audits=None, validation=VALIDATION,
            config={"alpha": 0.05}, run_info=RUN_INFO,
        ),
    ),
    "training_report.html.j2": (
        "Model training report",
        lambda: render_training_report(
            comparison=EMPTY, holdout_predictions=EMPTY, feature_importance=EMPTY, decision={},
            audits=[], validation=VALIDATION, config={"alpha": 0.05}, run_info=RUN_INFO,
        ),
    ),
    "campaign_report.html.j2": (
        "Campaign uplift report",
        lambda: render_campaign_report(
            summary=EMPTY, funnel=EMPTY, bronze_audit=[], silver_audit={},
            validation={"events": VALIDATION}, config={"alpha": 0.05}, run_info=RUN_INFO,
        ),
    ),
    "uplift_report.html.j2": (
        "Uplift modelling report",
        lambda: render_uplift_report(
            effects=EMPTY, comparison=EMPTY, qini_curves=EMPTY, policy=EMPTY,
            profit_curves=EMPTY, targeting_summary=EMPTY, decisions={}, validation=VALIDATION,
            config={"alpha": 0.05}, run_info=RUN_INFO,
        ),
    ),
    "marketing_mix_report.html.j2": (
        "Marketing mix report",
        lambda: build_marketing_mix_report(
            make_mmm_result(), config={**mmm_config_values(), "alpha": 0.05},
            validation=VALIDATION, run_info=RUN_INFO,
        ),
    ),
    "growth_report.html.j2": (
        "Growth analytics report",
        lambda: render_growth_report(
            results=EMPTY, experiments=EMPTY, funnel=EMPTY, persona_lift=EMPTY,
            heterogeneity=EMPTY, recommendations=EMPTY, k_table=EMPTY, clusters=EMPTY,
            profiles=EMPTY, structure_found=False, audits={}, validation={"events": VALIDATION},
            run_info=RUN_INFO, config={"alpha": 0.05},
        ),
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", REPORTS)
def test_report_renders_the_base_once_with_its_own_css(name: str) -> None:
    title, render = RENDERS[name]
    assert load_template(name).environment is load_template(BASE).environment
    html = render()
    for part in ("<!DOCTYPE html>", "<style>", '<header class="top">', "<footer>", "<main"):
        assert html.count(part) == 1, part
    assert f"<title>{title} · run-&lt;1&gt;</title>" in html
    assert 'pipe&lt;x&gt; <span class="run-name">/ run-&lt;1&gt;</span>' in html
    assert html.count("data-run-info") == 1 and "<dd>pipe&lt;x&gt;</dd>" in html
    assert "✗ validation failed" in html and "alpha: 0.05" in html
    assert "Generated by liftlab" in html.split("<footer>")[1]
    # the report's own CSS comes after the base's, so it can override it
    style = html.split("<style>")[1].split("</style>")[0]
    extra = _extra_css(name).strip()
    assert extra and style.index(":root") < style.index(extra)
    # the shared expectation table: the skipped check is not shown as a failure
    found = re.findall(r'class="badge (\w+)">[^<]*</span></td>\s*<td class="mono">(\w+)', html)
    assert {check: badge for badge, check in found} == {
        "expect_column_to_exist": "fail",
        "expect_column_values_to_be_between": "skip",
    }
