"""``pysetl run``: run a project's pipeline with the whole observability stack.

The command parses its options, calls ``pysetl.runtime.project.run_project``
and prints: a live table of the factories on a terminal (plain lines
otherwise), then a summary (status, duration, slowest factories, rows, and
where to look next). A failed run exits with the code of its error
(``commands.exit_code_for``) and the error's context and hint, without a
traceback unless ``--debug``.

Debugging options (added in 0.6): ``--checkpoint`` keeps each stage's
deliverables; ``--only FACTORY``, ``--from-stage N`` and ``--resume RUN_ID``
run part of the pipeline on a checkpoint; ``--sample N`` records a few
redacted rows of each output; ``--pdb`` opens pdb in a failing factory.

Added in 0.4.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from pysetl.cli._state import CliState
from pysetl.runtime import RUN_LOGGER

if TYPE_CHECKING:
    from pysetl.runtime.project import RunReport

__all__ = ["parse_params", "print_report", "run"]

DASHBOARD_URL = "http://127.0.0.1:8765"


def parse_params(values: list[str]) -> dict[str, str]:
    """``["day=2026-12-01", "full=1"]`` as a dict.

    Raises:
        typer.BadParameter: A value without ``=`` (the message shows it).
    """
    params: dict[str, str] = {}
    for value in values:
        key, sep, text = value.partition("=")
        if not sep or not key.strip():
            msg = f"{value!r} is not key=value"
            raise typer.BadParameter(msg, param_hint="--param")
        params[key.strip()] = text
    return params


class _Board:
    """The factories of the run as they start and end, for the live view."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rows: dict[str, dict[str, Any]] = {}

    def update(self, kind: str, data: dict[str, Any]) -> None:
        with self.lock:
            row = self.rows.setdefault(
                data["factory"], {"stage": data["stage"], "start": time.monotonic()}
            )
            row["status"] = "running" if kind == "started" else kind
            row["attempt"] = data.get("attempt", 1)
            if "seconds" in data:
                row["seconds"] = data["seconds"]

    def table(self) -> Table:
        table = Table(box=None, pad_edge=False)
        for column in ("stage", "factory", "status", "time"):
            table.add_column(column)
        now = time.monotonic()
        with self.lock:
            for name, row in self.rows.items():
                seconds = row.get("seconds", now - row["start"])
                style = {"failed": "red", "succeeded": "green"}.get(row["status"], "")
                attempt = row.get("attempt", 1)
                table.add_row(
                    str(row["stage"]),
                    name if attempt == 1 else f"{name} (attempt {attempt})",
                    f"[{style}]{row['status']}[/]" if style else row["status"],
                    f"{seconds:.1f} s",
                )
        return table


class _NotTheRunsOwn(logging.Filter):
    """Leaves out the run's own lines: the progress and the summary say it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.name != RUN_LOGGER


def _quiet(handlers: tuple[logging.Handler, ...]) -> None:
    """Console handlers show warnings and errors only, not the run's lines.

    Every line still goes to the run history (``pysetl logs RUN``);
    ``--log-level`` or ``--debug`` keep the console as configured.
    """
    for handler in handlers:
        handler.setLevel(max(handler.level, logging.WARNING))
        handler.addFilter(_NotTheRunsOwn())


def _plain(console: Console) -> Any:
    def on_event(kind: str, data: dict[str, Any]) -> None:
        attempt = data.get("attempt", 1)
        again = f", attempt {attempt}" if attempt > 1 else ""
        if kind == "started":
            console.print(f"{data['factory']}: started (stage {data['stage']}{again})")
        else:
            console.print(f"{data['factory']}: {kind} in {data['seconds']:.2f} s")

    return on_event


def print_report(report: RunReport, console: Console) -> None:
    """The summary of a finished run: status, slowest factories, rows, where next."""
    say = console.print
    env = f", env {report.env}" if report.env else ""
    status = report.status
    colour = "green" if status == "succeeded" else "red"
    say(
        f"run {report.run_id} of pipeline {report.pipeline!r}: "
        f"[{colour}]{status}[/] in {report.seconds:.2f} s{env}"
    )
    slowest = report.slowest()
    if slowest:
        say("slowest factories:")
        width = max(len(line.name) for line in slowest)
        for line in slowest:
            rows = []
            if line.rows_in is not None:
                rows.append(f"{line.rows_in:,} rows read")
            if line.rows_out is not None:
                rows.append(f"{line.rows_out:,} rows written")
            extra = f"  ({', '.join(rows)})" if rows else ""
            say(f"  {line.name:<{width}}  {line.seconds:8.2f} s  {line.status}{extra}")
    read, written = report.rows_read, report.rows_written
    if read or written:
        say(f"rows: {read:,} read, {written:,} written")
    if report.history_url is None:
        say("not recorded (observability is off)")
        return
    say(f"recorded in {report.history_url}; see it with:")
    say(f"  pysetl runs show {report.run_id}")
    say(f"  pysetl logs {report.run_id}")
    say(f"  pysetl ui   (then {DASHBOARD_URL}/#/runs/{report.run_id})")


def run(
    ctx: typer.Context,
    *,
    pipeline: Annotated[
        str | None,
        typer.Argument(
            metavar="PIPELINE",
            help="The pipeline to run (default: the project's default or only one).",
        ),
    ] = None,
    env: Annotated[
        str | None,
        typer.Option(
            "--env", "-e", help="The config environment (default: PYSETL_ENV)."
        ),
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param", "-p", help="key=value for the pipeline function (repeatable)."
        ),
    ] = None,
    project: Annotated[
        str | None,
        typer.Option(
            "--project", help="The project folder (default: found from here, upward)."
        ),
    ] = None,
    observe: Annotated[
        bool | None,
        typer.Option(
            "--observe/--no-observe",
            help="Record the run (default: PYSETL_OBSERVE, then the config).",
            show_default=False,
        ),
    ] = None,
    checkpoint: Annotated[
        bool | None,
        typer.Option(
            "--checkpoint/--no-checkpoint",
            help="Keep each stage's deliverables in .pysetl/checkpoints "
            "(default: checkpoints.enabled in the config).",
            show_default=False,
        ),
    ] = None,
    only: Annotated[
        str | None,
        typer.Option(
            "--only",
            metavar="FACTORY",
            help="Run this factory alone; the stages before it are read back "
            "from the last checkpoint.",
        ),
    ] = None,
    from_stage: Annotated[
        int | None,
        typer.Option(
            "--from-stage",
            metavar="N",
            min=0,
            help="Run from stage N on; stages 0 to N-1 are read back from the "
            "last checkpoint.",
        ),
    ] = None,
    resume: Annotated[
        str | None,
        typer.Option(
            "--resume",
            metavar="RUN_ID",
            help="Resume a failed run: the stages it completed are read back "
            "from its checkpoint.",
        ),
    ] = None,
    sample: Annotated[
        int | None,
        typer.Option(
            "--sample",
            metavar="N",
            min=1,
            max=1000,
            help="Record N redacted rows of each factory's output (one small "
            "Spark job per DataFrame; default: debug.sample_rows under --debug).",
        ),
    ] = None,
    pdb: Annotated[
        bool,
        typer.Option(
            "--pdb", help="On a factory failure, open pdb in the factory's frame."
        ),
    ] = False,
) -> None:
    """Run a project's pipeline with history, logs, metrics and progress recorded."""
    from pysetl.runtime.project import run_project  # noqa: PLC0415 - lazy

    params = parse_params(param or [])
    state = ctx.find_object(CliState)
    if state is not None and not (state.debug or state.log_level_set):
        _quiet(state.log_handlers)
    console = Console(highlight=False, soft_wrap=True)  # long paths stay whole
    board = _Board()
    live = console.is_terminal and not pdb  # pdb needs the terminal to itself
    on_event = board.update if live else _plain(console)
    options: dict[str, Any] = {
        "env": env,
        "params": params,
        "project_dir": project,
        "history": state.history_url if state else None,
        "observe": observe,
        "on_event": on_event,
        "spark_log_level": state.spark_log_level if state else None,
        "checkpoint": checkpoint,
        "only": only,
        "from_stage": from_stage,
        "resume": resume,
        "sample": sample,
        "pdb": pdb,
    }
    if live:
        # The table is rebuilt at each refresh, so running times tick.
        with Live(console=console, refresh_per_second=4, get_renderable=board.table):
            report = run_project(pipeline, **options)
    else:
        report = run_project(pipeline, **options)
    print_report(report, console)
    if report.error is not None:  # the top-level handler says where and why
        raise report.error
