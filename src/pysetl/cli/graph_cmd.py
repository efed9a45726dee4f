"""``pysetl graph``: draw a project's pipeline as Mermaid, Graphviz dot, HTML or text.

The command asks ``pysetl.runtime.graph.draw_project`` for the drawing (the
pipeline described from its code: nothing runs) and prints it, or writes it
to ``--output``. Each factory is coloured by its state in the pipeline's
last recorded run, read from the run history (opened read-only;
``--no-state`` skips it).

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

__all__ = ["graph"]

# pysetl.runtime.graph.FORMATS, without importing the runtime for --help.
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
            metavar="PIPELINE",
            help="The pipeline (default: the one pysetl run runs; all with html).",
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
        typer.Option(
            "--project",
            help="The project's folder (default: found from here, upward).",
        ),
    ] = None,
    env: Annotated[
        str | None,
        typer.Option(
            "--env", "-e", help="The config environment (default: PYSETL_ENV)."
        ),
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
    from pysetl.runtime.graph import draw_project  # noqa: PLC0415 - lazy

    cli = ctx.find_object(CliState)
    text = draw_project(
        pipeline,
        fmt=fmt,
        project_dir=project,
        env=env,
        history_url=cli.history_url if cli else None,
        state=state,
        on_no_state=_no_state,
    )
    if output is None:
        typer.echo(text, nl=not text.endswith("\n"))
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output}", err=True)


def _no_state(reason: str) -> None:
    _LOGGER.warning("pysetl graph: no last-run state: %s", reason)
