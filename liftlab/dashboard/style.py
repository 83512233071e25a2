"""The dashboard's house style: the reports' palette (:mod:`liftlab.plots.style`) as a Plotly
template and CSS, and the reports' number formats (:mod:`liftlab.reports.format`), so a number
or a colour reads the same in a report, a chart and the dashboard."""

from __future__ import annotations

import plotly.graph_objects as go

from liftlab.plots.style import (
    CONTROL_COLOR,
    DECISION_COLORS,
    GRID_COLOR,
    MUTED_COLOR,
    TEXT_COLOR,
    UNKNOWN_COLOR,
    VARIANT_COLORS,
)
from liftlab.reports.format import (
    DASH,
    MODEL_METRIC_LABELS,
    fmt_abs_ci,
    fmt_abs_diff,
    fmt_ci,
    fmt_conf_label,
    fmt_estimate,
    fmt_int,
    fmt_num,
    fmt_pct,
    fmt_pval,
    fmt_score,
    model_metric_label,
)
from liftlab.reports.format import fmt_money as report_money

__all__ = [
    "CONTROL_COLOR",
    "CSS",
    "DASH",
    "DECISION_COLORS",
    "FONT",
    "METRIC_LABELS",
    "MUTED_COLOR",
    "TEXT_COLOR",
    "UNKNOWN_COLOR",
    "VARIANT_COLORS",
    "decision_color",
    "figure",
    "fmt_abs_ci",
    "fmt_abs_diff",
    "fmt_ci",
    "fmt_conf_label",
    "fmt_estimate",
    "fmt_int",
    "fmt_money",
    "fmt_num",
    "fmt_pct",
    "fmt_pval",
    "fmt_score",
    "message_figure",
    "money_ticks",
    "metric_label",
]

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
ACCENT = VARIANT_COLORS[0]


METRIC_LABELS = MODEL_METRIC_LABELS
metric_label = model_metric_label


def decision_color(decision: object) -> str:
    return DECISION_COLORS.get(str(decision).lower(), UNKNOWN_COLOR)


def fmt_money(value: object, currency: str = "$", *, signed: bool = False) -> str:
    """An amount as the campaign and marketing-mix reports print it (dollars by default)."""
    return report_money(value, signed=signed, currency=currency)


def money_ticks(currency: str = "$") -> dict[str, str]:
    """Plotly tick settings for an axis or colour bar of amounts, placed as
    :func:`fmt_money` places the currency: a one-character symbol leads ('$5k'), a code
    follows ('5k EUR'), none for plain numbers."""
    if not currency:
        return {}
    return {"tickprefix": currency} if len(currency) == 1 else {"ticksuffix": f" {currency}"}


def figure(title: str = "", *, height: int = 360) -> go.Figure:
    """An empty figure in the house style (white, light grid, the reports' text colours)."""
    fig = go.Figure()
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left", "font": {"size": 15}},
        height=height,
        margin={"l": 10, "r": 10, "t": 44 if title else 16, "b": 10},
        paper_bgcolor="white",
        plot_bgcolor="white",
        font={"family": FONT, "color": TEXT_COLOR, "size": 12},
        colorway=VARIANT_COLORS,
        legend={"orientation": "h", "y": -0.18, "x": 0},
        hoverlabel={"font": {"family": FONT}},
    )
    fig.update_xaxes(gridcolor=GRID_COLOR, zerolinecolor=GRID_COLOR, automargin=True)
    fig.update_yaxes(gridcolor=GRID_COLOR, zerolinecolor=GRID_COLOR, automargin=True)
    return fig


def message_figure(message: str, *, height: int = 200) -> go.Figure:
    """A figure that says why there is nothing to draw (never an empty axis)."""
    fig = figure(height=height)
    fig.add_annotation(
        text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
        font={"color": MUTED_COLOR, "size": 13},
    )  # fmt: skip
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


CSS = f"""
* {{ box-sizing: border-box; }}
body {{ margin: 0; font-family: {FONT}; color: {TEXT_COLOR}; background: #f5f7f9; }}
.ll-shell {{ display: flex; min-height: 100vh; }}
.ll-nav {{ width: 190px; flex: none; background: #1f2933; padding: 16px 0; }}
.ll-nav h1 {{ color: white; font-size: 18px; margin: 0 16px 16px; }}
.ll-nav a {{ display: block; color: #cbd2d9; padding: 8px 16px; text-decoration: none;
  font-size: 14px; }}
.ll-nav a:hover, .ll-nav a.active {{ background: #323f4b; color: white; }}
.ll-main {{ flex: 1; min-width: 0; padding: 18px 22px; max-width: 1600px; }}
.ll-main h2 {{ margin: 0 0 4px; font-size: 22px; }}
.ll-sub {{ color: {MUTED_COLOR}; margin: 0 0 14px; font-size: 13px; }}
.ll-cards {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(250px, 1fr));
  gap: 12px; margin-bottom: 16px; }}
.ll-card {{ background: white; border: 1px solid {GRID_COLOR}; border-radius: 6px;
  padding: 12px 14px; }}
.ll-card h3 {{ margin: 0 0 6px; font-size: 15px; }}
.ll-card h3 a {{ color: {TEXT_COLOR}; }}
.ll-kpi {{ display: flex; justify-content: space-between; gap: 10px; font-size: 13px;
  padding: 2px 0; }}
.ll-kpi b {{ font-variant-numeric: tabular-nums; white-space: nowrap; text-align: right; }}
.ll-card .ll-empty {{ font-size: 13px; padding: 10px; }}
.ll-card .ll-links {{ margin-top: 8px; font-size: 12px; }}
.ll-card .ll-links a {{ margin-right: 10px; }}
.ll-panel {{ background: white; border: 1px solid {GRID_COLOR}; border-radius: 6px;
  padding: 10px 12px; margin-bottom: 14px; min-width: 0; overflow-x: auto; }}
.ll-grid2 {{ display: grid; grid-template-columns: 1fr 1fr; gap: 14px; }}
@media (max-width: 1100px) {{ .ll-grid2 {{ grid-template-columns: 1fr; }} }}
.ll-filters {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr));
  gap: 10px; margin-bottom: 14px; font-size: 13px; }}
.ll-filters label {{ display: block; color: {MUTED_COLOR}; margin-bottom: 2px; }}
.ll-empty {{ background: #fffbea; border: 1px solid #f0d98c; border-radius: 6px;
  padding: 14px; line-height: 1.8; }}
.ll-empty code {{ background: #fff3c4; padding: 1px 4px; overflow-wrap: normal;
  word-break: keep-all; -webkit-box-decoration-break: clone; box-decoration-break: clone; }}
.ll-warn {{ color: #8a5a00; font-size: 13px; }}
.ll-kpis {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr));
  gap: 2px 28px; margin: 6px 0; }}
.ll-panel h4 {{ margin: 2px 0 8px; font-size: 15px; }}
table.ll-table {{ border-collapse: collapse; width: 100%; font-size: 13px; }}
table.ll-table th {{ text-align: left; color: {MUTED_COLOR}; font-weight: 600;
  border-bottom: 1px solid {GRID_COLOR}; padding: 4px 6px; }}
table.ll-table td {{ border-bottom: 1px solid #f0f2f4; padding: 4px 6px;
  font-variant-numeric: tabular-nums; }}
.ll-badge {{ display: inline-block; padding: 1px 7px; border-radius: 9px; color: white;
  font-size: 12px; }}
.ll-scenario {{ display: grid; grid-template-columns: 280px 1fr; gap: 14px; }}
@media (max-width: 1100px) {{ .ll-scenario {{ grid-template-columns: 1fr; }} }}
.ll-scenario input {{ width: 100%; }}
.ll-result {{ font-size: 15px; margin: 6px 0; }}
button.ll-button {{ background: {ACCENT}; color: white; border: 0; border-radius: 4px;
  padding: 7px 14px; font-size: 14px; cursor: pointer; }}
"""
