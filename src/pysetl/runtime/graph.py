"""``draw_project``: a pipeline drawn from its code, as ``pysetl graph`` prints it.

It finds the project, picks the pipeline (the one ``pysetl run`` would run
when none is named; every pipeline of the project on one page with
``html``), describes it without running anything
(``pysetl.runtime.describe.describe_project``), colours each factory by its
state in the pipeline's last recorded run when ``state`` (the history is
opened read-only; a history that cannot be read only loses the colours) and
renders it (``pysetl.workflow.render``).

Added in 0.7 (the logic of ``pysetl.cli.graph_cmd``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from pysetl.errors import PipelineError, RunHistoryError

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

__all__ = ["FORMATS", "draw_project"]

FORMATS = ("mermaid", "dot", "html", "text")
"""What ``draw_project`` draws: Mermaid, Graphviz dot, a self-contained HTML
page, or plain text."""

_LOGGER = logging.getLogger(__name__)


def _warn(reason: str) -> None:
    _LOGGER.warning("pysetl graph: no last-run state: %s", reason)


def draw_project(
    pipeline: str | None = None,
    *,
    fmt: str = "mermaid",
    project_dir: str | Path | None = None,
    env: str | None = None,
    history_url: str | None = None,
    state: bool = True,
    on_no_state: Callable[[str], object] = _warn,
) -> str:
    """Draw a pipeline of the project (or, in ``html``, all of them).

    Args:
        pipeline: The pipeline (default: the one ``pysetl run`` runs; every
            pipeline with ``html``).
        fmt: One of ``FORMATS``.
        project_dir: Where to look for the project (default: here, upward).
        env: The config environment (default: ``PYSETL_ENV``).
        history_url: The run history (default: what a run uses).
        state: Colour the factories by the pipeline's last recorded run.
        on_no_state: Called with the reason when the history cannot be read
            (default: a warning logged); the drawing then has no state.

    Returns:
        The drawing, as text.

    Raises:
        ConfigError: No such pipeline, or several and none chosen.
        PipelineError: The pipeline drawn (not in ``html``) cannot be built.
    """
    from pysetl.monitoring.history import open_history  # noqa: PLC0415 - lazy
    from pysetl.runtime.describe import describe_project  # noqa: PLC0415
    from pysetl.runtime.project import find_project  # noqa: PLC0415
    from pysetl.workflow import render  # noqa: PLC0415

    found = find_project(project_dir)
    names = [pipeline] if pipeline else None
    if names is None and fmt != "html":
        names = [found.pick(None)]
    history = None
    if state:
        try:
            history = open_history(history_url, project_dir=found.root, create=False)
        except RunHistoryError as exc:
            on_no_state(exc.message)
    try:
        view = describe_project(found.root, names=names, env=env, history=history)
    finally:
        if history is not None:
            history.close()
    if fmt == "html":
        title = view.pipelines[0].name if pipeline else f"{found.root.name} pipelines"
        return render.to_html(view.pipelines, title=title)
    drawn = view.pipelines[0]
    if drawn.error is not None:
        msg = f"Pipeline {drawn.project_name!r} cannot be built: {drawn.error}"
        raise PipelineError(
            msg, hint="fix the function that builds it (pysetl run shows more)"
        )
    draw = {
        "mermaid": render.to_mermaid,
        "dot": render.to_dot,
        "text": render.to_text,
    }[fmt]
    return draw(drawn)
