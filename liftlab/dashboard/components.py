"""Small building blocks every page uses: KPI cards, tables, the "not run yet" notice."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from dash import dcc, html

from liftlab.dashboard.data import JOBS


def page_header(title: str, subtitle: str = "", source: str = "") -> list:
    """Title, what the page shows and, when given, which run it comes from."""
    parts = [html.H2(title), html.P(subtitle, className="ll-sub")]
    if source:
        parts.append(html.P(source, className="ll-sub ll-source", **{"data-testid": "source"}))
    return parts


def not_run(job: str, what: str = "") -> html.Div:
    """The notice a page shows for a job that has not published yet: which command does."""
    spec = JOBS[job]
    return html.Div(
        [
            html.B(f"{spec.title}: no results yet. "),
            html.Span(what + " " if what else ""),
            html.Span("Run "),
            html.Code(spec.command),
            html.Span(" (or "),
            html.Code("make demo"),
            html.Span(" for every job on simulated data)"),
            html.Span(", then reload this page."),
        ],
        className="ll-empty",
        **{"data-testid": f"not-run-{job}"},
    )


def kpi(label: str, value: str, testid: str | None = None) -> html.Div:
    extra = {"data-testid": testid} if testid else {}
    return html.Div([html.Span(label), html.B(value, **extra)], className="ll-kpi")


def card(
    title: str,
    href: str,
    rows: Sequence[html.Div],
    *,
    links: Sequence[tuple[str, str]] = (),
    testid: str = "",
    source: str = "",
) -> html.Div:
    """A job's overview card; ``source`` says which config's run it shows."""
    head = [html.H3(dcc.Link(title, href=href))]
    if source:
        head.append(html.P(source, className="ll-sub ll-source", **{"data-testid": "card-source"}))
    return html.Div(
        [
            *head,
            *rows,
            html.Div(
                [html.A(text, href=url, target="_blank") for text, url in links],
                className="ll-links",
            ),
        ],
        className="ll-card",
        **({"data-testid": testid} if testid else {}),
    )


def table(rows: Sequence[Mapping[str, object]], testid: str = "") -> html.Table | html.P:
    """A plain HTML table of already formatted values (the reports' formats)."""
    if not rows:
        return html.P("Nothing to show.", className="ll-sub")
    columns = list(rows[0])
    return html.Table(
        [
            html.Thead(html.Tr([html.Th(c) for c in columns])),
            html.Tbody([html.Tr([html.Td(str(r.get(c, ""))) for c in columns]) for r in rows]),
        ],
        className="ll-table",
        **({"data-testid": testid} if testid else {}),
    )


def graph(figure, graph_id: str | None = None) -> dcc.Graph:
    kwargs = {"id": graph_id} if graph_id else {}
    return dcc.Graph(figure=figure, config={"displaylogo": False, "responsive": True}, **kwargs)


def panel(*children) -> html.Div:
    return html.Div(list(children), className="ll-panel")


def dropdown(label: str, component_id: str, options: list, value) -> html.Div:
    return html.Div(
        [
            html.Label(label, htmlFor=component_id),
            dcc.Dropdown(id=component_id, options=options, value=value, clearable=False),
        ]
    )
