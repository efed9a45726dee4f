"""``format_span_tree``: a finished trace drawn as an indented tree.

Added in 0.5.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from opentelemetry.sdk.trace import ReadableSpan

__all__ = ["format_span_tree"]


def format_span_tree(
    spans: Iterable[ReadableSpan], attributes: Sequence[str] = ()
) -> str:
    """Draw ``spans`` as a tree: one line per span, children indented, in start order.

    Args:
        spans: Finished spans (an ``InMemorySpanExporter``'s ``get_finished_spans()``).
        attributes: Attribute names to show after each span's name, when set.

    Returns:
        The tree; a span whose parent is not among ``spans`` is a root.

    Example:
        ```text
        run shop
        └── stage 0
            └── factory Load
                ├── read
                └── process
        ```
    """
    spans = sorted(spans, key=lambda span: span.start_time or 0)
    ids = {span.context.span_id for span in spans if span.context is not None}
    children: dict[int | None, list[ReadableSpan]] = {}
    for span in spans:
        parent = span.parent.span_id if span.parent is not None else None
        children.setdefault(parent if parent in ids else None, []).append(span)
    lines: list[str] = []

    def label(span: ReadableSpan) -> str:
        shown = [
            f"{name}={span.attributes[name]!r}"
            for name in attributes
            if span.attributes is not None and name in span.attributes
        ]
        status = " [ERROR]" if not span.status.is_ok else ""
        return " ".join([span.name + status, *shown])

    def draw(span: ReadableSpan, prefix: str, last: bool, *, root: bool) -> None:
        branch = "" if root else ("└── " if last else "├── ")
        lines.append(f"{prefix}{branch}{label(span)}")
        below = children.get(span.context.span_id if span.context else None, [])
        inner = prefix if root else prefix + ("    " if last else "│   ")
        for i, child in enumerate(below):
            draw(child, inner, i == len(below) - 1, root=False)

    for root in children.get(None, []):
        draw(root, "", last=True, root=True)
    return "\n".join(lines)
