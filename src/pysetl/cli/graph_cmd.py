"""``pysetl graph``: draw a project's pipeline as Mermaid, Graphviz dot, HTML or text.

The command describes the pipeline from its code
(``pysetl.runtime.describe.describe_project``: nothing runs) and prints the
drawing (``pysetl.workflow.render``), or writes it to ``--output``. Each
factory is coloured by its state in the pipeline's last recorded run, read
from the run history (opened read-only; ``--no-state`` skips it).

With no ``PIPELINE`` it draws the one ``pysetl run`` would run (the
project's default, or its only pipeline); ``--format html`` then draws
every pipeline of the project on one page.

Added in 0.5.
"""

from __future__ import annotations

import logging
from pathlib import Path  # noqa: TC003 - typer reads the annotations at run time
from typing import Annotated

import typer

from pysetl.cli._state import CliState
from pysetl.errors import PipelineError, RunHistoryError

__all__ = ["graph"]

_FORMATS = ("mermaid", "dot", "html", "text")
_LOGGER = logging.getLogger(__name__)


def _format(value: str) -> str:
    chosen = value.lower()
    if chosen not in _FORMATS:
        msg = f"{value!r} is not one of {', '.join(_FORMATS)}"
        raise typer.BadParameter(msg, param_hint="--format")
    return chosen


def graph(
    ctx: typer.Context,
    pipeline: Annotated[
        str | None,
        typer.Argument(
            help="The pipeline (default: the one pysetl run runs; all with html)."
        ),
    ] = None,
    *,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            callback=_format,
            help="mermaid, dot (Graphviz), html (a self-contained page) or text.",
        ),
    ] = "mermaid",
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write to this file (default: stdout)."),
    ] = None,
    project: Annotated[
        Path | None,
        typer.Option("--project", help="The project's folder (default: here)."),
    ] = None,
    env: Annotated[
        str | None,
        typer.Option("--env", "-e", help="The config environment (or PYSETL_ENV)."),
    ] = None,
    state: Annotated[
        bool,
        typer.Option(
            "--state/--no-state",
            help="Colour the factories by the last recorded run (reads the history).",
        ),
    ] = True,
) -> None:
    """Draw a pipeline of the project from its code (nothing runs)."""
    from pysetl.monitoring.history import open_history  # noqa: PLC0415 - lazy
    from pysetl.runtime.describe import describe_project  # noqa: PLC0415
    from pysetl.runtime.project import find_project  # noqa: PLC0415
    from pysetl.workflow import render  # noqa: PLC0415

    found = find_project(project)
    names = [pipeline] if pipeline else None
    if names is None and fmt != "html":
        names = [found.pick(None)]
    history = None
    if state:
        cli = ctx.find_object(CliState)
        try:
            history = open_history(
                cli.history_url if cli else None, project_dir=found.root, create=False
            )
        except RunHistoryError as exc:
            _LOGGER.warning("pysetl graph: no last-run state: %s", exc.message)
    try:
        view = describe_project(found.root, names=names, env=env, history=history)
    finally:
        if history is not None:
            history.close()
    if fmt == "html":
        title = view.pipelines[0].name if pipeline else f"{found.root.name} pipelines"
        text = render.to_html(view.pipelines, title=title)
    else:
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
        text = draw(drawn)
    if output is None:
        typer.echo(text, nl=not text.endswith("\n"))
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output}", err=True)
