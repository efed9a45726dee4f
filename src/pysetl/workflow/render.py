"""Drawing a ``PipelineView``: Mermaid, Graphviz dot, SVG, HTML and text.

* ``to_mermaid``: a Mermaid ``flowchart LR``, one ``subgraph`` per stage;
* ``to_dot``: a Graphviz ``digraph``, one ``cluster`` per stage
  (``dot -Tsvg graph.dot > graph.svg``);
* ``to_svg``: an SVG laid out by stage columns (external inputs first),
  coloured by each factory's last-run state when the view has it;
* ``to_html``: a self-contained HTML page (no script, no external file):
  the SVG of each pipeline, then each factory with its deliveries, their
  types and schemas, its docstring, configs and last run;
* ``to_text``: a plain summary; ``mimebundle``: what Jupyter displays.

Every text from the view is escaped for the format it goes into (a factory
named ``<script>`` shows as those characters). ``pysetl graph`` prints
these; ``Pipeline`` and ``Inspector`` display them in notebooks.

Added in 0.5.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from pysetl.workflow.view import FactoryView, FieldView, PipelineView

__all__ = [
    "FORMATS",
    "STATUS_COLOURS",
    "mimebundle",
    "to_dot",
    "to_html",
    "to_mermaid",
    "to_svg",
    "to_text",
]

FORMATS = ("mermaid", "dot", "html", "text")
"""The formats ``pysetl graph`` writes."""

STATUS_COLOURS = {
    "succeeded": "#d1fadf",
    "failed": "#fee4e2",
    "crashed": "#fecdca",
    "running": "#d1e9ff",
    "not run": "#f2f4f7",
}
"""The fill of a factory by its last-run state (no state: white)."""

_BORDERS = {
    "succeeded": "#12b76a",
    "failed": "#d92d20",
    "crashed": "#912018",
    "running": "#2e90fa",
    "not run": "#98a2b3",
}
_NODE_W, _NODE_H, _COL_W, _ROW_H, _PAD, _HEAD = 200, 48, 260, 66, 16, 30
_MAX_LABEL = 26


def _status(factory: FactoryView) -> str | None:
    return factory.last_run.status if factory.last_run is not None else None


def _node_ids(view: PipelineView) -> dict[str, str]:
    """Short, safe node ids: ``f<n>`` for factories, ``i<n>`` for inputs."""
    ids = {f.name: f"f{n}" for n, f in enumerate(view.factories)}
    ids.update({i.id: f"i{n}" for n, i in enumerate(view.inputs)})
    return ids


# ------------------------------------------------------------------ mermaid
def _mermaid_text(text: str) -> str:
    """``text`` inside a quoted Mermaid label (entity codes for the specials)."""
    for char, code in (
        ("&", "#amp;"),
        ('"', "#quot;"),
        ("<", "#lt;"),
        (">", "#gt;"),
        ("|", "#124;"),
        ("\n", " "),
    ):
        text = text.replace(char, code)
    return text


def to_mermaid(view: PipelineView) -> str:
    """A Mermaid ``flowchart LR`` of the pipeline, a ``subgraph`` per stage."""
    ids = _node_ids(view)
    lines = ["flowchart LR"]
    for item in view.inputs:
        label = f"{_mermaid_text(item.name)}<br/>{_mermaid_text(item.type)}"
        lines.append(f'    {ids[item.id]}[/"{label}"/]')
    by_name = {f.name: f for f in view.factories}
    for stage in view.stages:
        lines.append(f'    subgraph s{stage.index}["Stage {stage.index}"]')
        for name in stage.factories:
            factory = by_name[name]
            label = (
                f"{_mermaid_text(factory.name)}<br/>"
                f"{_mermaid_text(factory.output.type)}"
            )
            lines.append(f'        {ids[name]}["{label}"]')
        lines.append("    end")
    lines.extend(
        f'    {ids[edge.source]} -->|"{_mermaid_text(edge.attribute)}"| '
        f"{ids[edge.target]}"
        for edge in view.edges
    )
    used = sorted({f.last_run.status for f in view.factories if f.last_run})
    for status in used:
        css = f"fill:{STATUS_COLOURS[status]},stroke:{_BORDERS[status]}"
        lines.append(f"    classDef {status.replace(' ', '_')} {css}")
    lines.extend(
        f"    class {ids[f.name]} {f.last_run.status.replace(' ', '_')}"
        for f in view.factories
        if f.last_run is not None
    )
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------- dot
def _dot(text: str) -> str:
    """``text`` as a double-quoted DOT string."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
    return f'"{escaped}"'


def _dot_label(*lines: str) -> str:
    parts = [t.replace("\\", "\\\\").replace('"', '\\"') for t in lines]
    return '"' + "\\n".join(p.replace("\n", " ") for p in parts) + '"'


def to_dot(view: PipelineView) -> str:
    """A Graphviz ``digraph`` of the pipeline, a ``cluster`` per stage."""
    ids = _node_ids(view)
    lines = [
        f"digraph {_dot(view.name)} {{",
        "    rankdir=LR;",
        '    graph [fontname="Helvetica", fontsize=11];',
        (
            '    node [shape=box, style="rounded,filled", fillcolor="#ffffff", '
            'fontname="Helvetica", fontsize=10];'
        ),
        '    edge [fontname="Helvetica", fontsize=9, color="#667085"];',
    ]
    lines.extend(
        f'    {ids[item.id]} [shape=parallelogram, fillcolor="#f9fafb", '
        f"label={_dot_label(item.name, item.type)}];"
        for item in view.inputs
    )
    by_name = {f.name: f for f in view.factories}
    for stage in view.stages:
        lines.append(f"    subgraph cluster_s{stage.index} {{")
        lines.append(f"        label={_dot(f'Stage {stage.index}')};")
        lines.append('        style="rounded"; color="#d0d5dd";')
        for name in stage.factories:
            factory = by_name[name]
            status = _status(factory)
            colour = ""
            if status is not None:
                colour = (
                    f', fillcolor="{STATUS_COLOURS[status]}", '
                    f'color="{_BORDERS[status]}"'
                )
            label = _dot_label(factory.name, factory.output.type)
            lines.append(f"        {ids[name]} [label={label}{colour}];")
        lines.append("    }")
    lines.extend(
        f"    {ids[edge.source]} -> {ids[edge.target]} [label={_dot(edge.attribute)}];"
        for edge in view.edges
    )
    lines.append("}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------- svg
def _cut(text: str, size: int = _MAX_LABEL) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _layout(view: PipelineView) -> tuple[dict[str, tuple[int, int]], int, int]:
    """Where each node's box starts, and the drawing's width and height."""
    places: dict[str, tuple[int, int]] = {}
    first = 1 if view.inputs else 0
    for row, item in enumerate(view.inputs):
        places[item.id] = (_PAD, _PAD + _HEAD + row * _ROW_H)
    rows = len(view.inputs)
    for stage in view.stages:
        x = _PAD + (first + stage.index) * _COL_W
        for row, name in enumerate(stage.factories):
            places[name] = (x, _PAD + _HEAD + row * _ROW_H)
        rows = max(rows, len(stage.factories))
    columns = first + len(view.stages)
    width = _PAD * 2 + max(columns - 1, 0) * _COL_W + _NODE_W
    height = _PAD * 2 + _HEAD + max(rows, 1) * _ROW_H
    return places, width, height


def to_svg(view: PipelineView) -> str:
    """An SVG of the pipeline, laid out by stage columns (inputs first)."""
    places, width, height = _layout(view)
    out = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" class="pysetl-graph" '
            f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
            f'role="img" aria-label="{_e("Pipeline " + view.name)}" '
            'font-family="Helvetica, Arial, sans-serif">'
        ),
        (
            '<defs><marker id="pysetl-arrow" viewBox="0 0 10 10" refX="10" '
            'refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
            '<path d="M 0 0 L 10 5 L 0 10 z" fill="#667085"/></marker></defs>'
        ),
    ]
    first = 1 if view.inputs else 0
    if view.inputs:
        out.append(
            f'<text x="{_PAD}" y="{_PAD + 12}" font-size="12" '
            'fill="#667085">Inputs</text>'
        )
    for stage in view.stages:
        x = _PAD + (first + stage.index) * _COL_W
        out.append(
            f'<text x="{x}" y="{_PAD + 12}" font-size="12" fill="#667085">'
            f"Stage {stage.index}</text>"
        )
    for edge in view.edges:
        left, top = places[edge.source]
        x2, bottom = places[edge.target]
        x1, y1, y2 = left + _NODE_W, top + _NODE_H / 2, bottom + _NODE_H / 2
        out.append(
            f'<path class="edge" d="{_edge_path(x1, y1, x2, y2)}" fill="none" '
            'stroke="#98a2b3" stroke-width="1.5" '
            f'marker-end="url(#pysetl-arrow)"><title>'
            f"{_e(f'{edge.source} → {edge.target}.{edge.attribute}: {edge.type}')}"
            "</title></path>"
        )
    for item in view.inputs:
        x, y = places[item.id]
        out.append(_box(x, y, item.name, item.type, None, "input", item.id))
    for factory in view.factories:
        x, y = places[factory.name]
        out.append(
            _box(
                x,
                y,
                factory.name,
                factory.output.type,
                _status(factory),
                "factory",
                factory.name,
            )
        )
    out.append("</svg>")
    return "\n".join(out)


def _edge_path(x1: float, y1: float, x2: float, y2: float) -> str:
    """A curve from one box to the next; over the boxes when it skips a column."""
    if x2 - x1 <= _COL_W:
        dx = max(30.0, (x2 - x1) / 2)
        return f"M {x1} {y1} C {x1 + dx} {y1}, {x2 - dx} {y2}, {x2} {y2}"
    over = _PAD + _HEAD - 8
    return (
        f"M {x1} {y1} C {x1 + 30} {y1}, {x1 + 30} {over}, {x1 + 60} {over} "
        f"L {x2 - 60} {over} C {x2 - 30} {over}, {x2 - 30} {y2}, {x2} {y2}"
    )


def _box(  # noqa: PLR0917 - one box, field by field
    x: float,
    y: float,
    title: str,
    subtitle: str,
    status: str | None,
    kind: str,
    ident: str,
) -> str:
    fill = STATUS_COLOURS.get(status or "", "#ffffff")
    stroke = _BORDERS.get(status or "", "#98a2b3")
    tip = f"{title}: {subtitle}" + (f" ({status})" if status else "")
    radius = 2 if kind == "input" else 8
    return (
        f'<g class="{kind}" data-name="{_e(ident)}"'
        f"{f' data-status={_q(status)}' if status else ''}>"
        f"<title>{_e(tip)}</title>"
        f'<rect x="{x}" y="{y}" width="{_NODE_W}" height="{_NODE_H}" rx="{radius}" '
        f'fill="{fill}" stroke="{stroke}" stroke-width="1.5"/>'
        f'<text x="{x + 10}" y="{y + 20}" font-size="13" font-weight="600" '
        f'fill="#101828">{_e(_cut(title))}</text>'
        f'<text x="{x + 10}" y="{y + 37}" font-size="11" fill="#475467">'
        f"{_e(_cut(subtitle, _MAX_LABEL + 4))}</text></g>"
    )


def _q(text: str) -> str:
    return f'"{_e(text)}"'


# --------------------------------------------------------------------- html
_CSS = """
body{font-family:Helvetica,Arial,sans-serif;color:#101828;margin:24px;max-width:1200px}
h1{font-size:22px}h2{font-size:18px;margin-top:32px}
.doc{white-space:pre-wrap;color:#475467}
.problems{color:#b42318}.error{color:#b42318;font-weight:600}
.graph{overflow-x:auto;border:1px solid #eaecf0;border-radius:8px;padding:8px}
details{border:1px solid #eaecf0;border-radius:8px;margin:8px 0;padding:6px 12px}
summary{cursor:pointer;font-weight:600}
table{border-collapse:collapse;margin:6px 0;font-size:13px}
td,th{border-bottom:1px solid #eaecf0;padding:4px 10px;text-align:left;
vertical-align:top}
code,.mono{font-family:ui-monospace,Menlo,monospace;font-size:12px}
.status{padding:1px 8px;border-radius:10px;font-size:12px;font-weight:400}
"""


def _fields(fields: Sequence[FieldView]) -> str:
    return ", ".join(f"{_e(f.name)}: {_e(f.type)}" for f in fields)


def _factory_html(factory: FactoryView) -> str:
    status = _status(factory)
    badge = ""
    if status is not None and factory.last_run is not None:
        badge = (
            f' <span class="status" data-status={_q(status)} '
            f'style="background:{STATUS_COLOURS[status]}">{_e(status)}</span>'
        )
    parts = [
        (
            f"<details data-factory={_q(factory.name)}><summary>{_e(factory.name)} "
            f'<span class="mono">→ {_e(factory.output.type)}</span>{badge}</summary>'
        ),
        f'<div class="mono">{_e(factory.class_name)} · stage {factory.stage}</div>',
    ]
    if factory.doc:
        parts.append(f'<p class="doc">{_e(factory.doc)}</p>')
    rows = "".join(
        f"<tr><td><code>{_e(d.attribute)}</code></td><td><code>{_e(d.type)}</code>"
        f"</td><td>{_e(d.delivery_id)}</td><td>{_e(d.source or 'unresolved')}</td>"
        f'<td class="mono">{_fields(d.fields)}</td></tr>'
        for d in factory.deliveries
    )
    if rows:
        parts.append(
            "<table><tr><th>Delivery</th><th>Type</th><th>Id</th><th>From</th>"
            f"<th>Fields</th></tr>{rows}</table>"
        )
    output = factory.output
    parts.append(
        f"<div>Output <code>{_e(output.type)}</code>"
        + (f" (id {_e(output.delivery_id)})" if output.delivery_id else "")
        + (
            f' <span class="mono">{_fields(output.fields)}</span>'
            if output.fields
            else ""
        )
        + "</div>"
    )
    for config in factory.configs:
        values = "".join(
            f'<tr><td><code>{_e(k)}</code></td><td class="mono">{_e(v)}</td></tr>'
            for k, v in config.params.items()
        )
        parts.append(
            f"<div>Config {_e(config.config_name or '')} <code>{_e(config.kind)}</code>"
            f"<table>{values}</table></div>"
        )
    if factory.last_run is not None:
        last = factory.last_run
        parts.append(
            f'<div>Last run <span class="mono">{_e(last.run_id)}</span>: '
            f"{_e(last.status)}"
            + (f" in {last.duration:.2f} s" if last.duration is not None else "")
            + (f' <span class="error">{_e(last.error)}</span>' if last.error else "")
            + "</div>"
        )
    parts.append("</details>")
    return "\n".join(parts)


def _pipeline_html(view: PipelineView) -> str:
    parts = [f"<section data-pipeline={_q(view.name)}><h2>{_e(view.name)}</h2>"]
    if view.doc:
        parts.append(f'<p class="doc">{_e(view.doc)}</p>')
    if view.error:
        parts.append(f'<p class="error">{_e(view.error)}</p></section>')
        return "\n".join(parts)
    if view.problems:
        items = "".join(f"<li>{_e(p)}</li>" for p in view.problems)
        parts.append(f'<ul class="problems">{items}</ul>')
    parts.append(f'<div class="graph">{to_svg(view)}</div>')
    parts.extend(_factory_html(f) for f in view.factories)
    parts.append("</section>")
    return "\n".join(parts)


def to_html(views: PipelineView | Iterable[PipelineView], title: str = "") -> str:
    """A self-contained HTML page of one pipeline or several (no script)."""
    from pysetl.workflow.view import PipelineView  # noqa: PLC0415 - cycle

    chosen = [views] if isinstance(views, PipelineView) else list(views)
    heading = title or (chosen[0].name if len(chosen) == 1 else "pysetl project")
    body = "\n".join(_pipeline_html(v) for v in chosen)
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(heading)}</title><style>{_CSS}</style></head>\n"
        f"<body><h1>{_e(heading)}</h1>\n{body}\n</body></html>\n"
    )


# --------------------------------------------------------------------- text
def to_text(view: PipelineView) -> str:
    """A plain summary: stages, factories with their inputs, problems."""
    lines = [f"Pipeline {view.name}"]
    if view.error:
        lines.append(f"  cannot be described: {view.error}")
    lines.extend(f"  input {item.name}: {item.type}" for item in view.inputs)
    inputs = {item.id: f"input {item.name}" for item in view.inputs}
    by_name = {f.name: f for f in view.factories}
    for stage in view.stages:
        lines.append(f"  stage {stage.index}")
        for name in stage.factories:
            factory = by_name[name]
            state = f" [{factory.last_run.status}]" if factory.last_run else ""
            lines.append(f"    {factory.name} -> {factory.output.type}{state}")
            lines.extend(
                f"      {d.attribute}: {d.type} from "
                f"{inputs.get(d.source or '', d.source or 'unresolved')}"
                for d in factory.deliveries
            )
    lines.extend(f"  problem: {p}" for p in view.problems)
    return "\n".join(lines)


def mimebundle(view: PipelineView) -> dict[str, str]:
    """What Jupyter shows: HTML (the SVG and the factories), Mermaid and text."""
    return {
        "text/html": _pipeline_html(view).replace(
            "<section", '<section style="font-family:Helvetica,Arial,sans-serif"', 1
        ),
        "text/vnd.mermaid": to_mermaid(view),
        "text/plain": to_text(view),
    }
