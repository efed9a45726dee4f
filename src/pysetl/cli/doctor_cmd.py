"""``pysetl doctor``: check what pipelines need, print what to fix.

Checks Java (found, runnable, new enough for the installed Spark), pyspark
(imports, a supported version, agreeing with ``SPARK_HOME``), each extra of
pysetl (installed; a missing one the project uses fails), the project's
config for ``--env`` (loads and validates), its pipelines (import), the run
history (opens, latest schema, writable) and file permissions (secret and
key files readable by others). It prints a table of ``OK``/``WARN``/``FAIL``
with the fix of each problem, or JSON with ``--json``; the exit code is 1
when a check failed. No JVM is started and nothing is written. The checks
live in ``pysetl.doctor``.

Added in 0.5.
"""

from __future__ import annotations

import json
from pathlib import Path  # noqa: TC003 - typer reads the annotations at run time
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from pysetl.cli._state import CliState
from pysetl.cli.commands import EXIT_RUN_FAILED

if TYPE_CHECKING:
    from pysetl.doctor import DoctorReport

__all__ = ["EXIT_CHECK_FAILED", "doctor", "print_report"]

EXIT_CHECK_FAILED = EXIT_RUN_FAILED
"""The exit code when a check failed (warnings alone exit 0)."""

_STYLES = {"ok": "green", "warn": "yellow", "fail": "bold red"}
_UNWRAPPED_WIDTH = 10_000


def print_report(report: DoctorReport, console: Console | None = None) -> None:
    """Render ``report`` as a table, then a one-line summary."""
    from pysetl.utils.redaction import redact_text  # noqa: PLC0415 - lazy

    out = console or Console(highlight=False)
    if console is None and not out.is_terminal:  # a pipe: one row per line
        out = Console(highlight=False, width=_UNWRAPPED_WIDTH)
    where = report.project or "-"
    table = Table(
        title=f"pysetl doctor: {where} (env {report.env or 'base only'})",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("check", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("detail", overflow="fold")
    table.add_column("fix", overflow="fold")
    for check in report.checks:
        table.add_row(
            check.name,
            Text(check.status.upper(), style=_STYLES[check.status]),
            Text(redact_text(check.detail)),
            Text(redact_text(check.fix or "")),
        )
    out.print(table)
    counts = f"{report.count('ok')} ok, {report.count('warn')} warnings, "
    counts += f"{report.count('fail')} failed"
    verdict = "pipelines can run" if report.ok else "fix the FAIL lines first"
    out.print(f"{counts}: {verdict}", markup=False)


def doctor(
    ctx: typer.Context,
    *,
    env: Annotated[
        str | None,
        typer.Option(
            "--env", "-e", help="The config environment (default: PYSETL_ENV)."
        ),
    ] = None,
    project: Annotated[
        Path | None,
        typer.Option(
            "--project", help="The project folder (default: found from here)."
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report as JSON.")
    ] = False,
) -> None:
    """Check Java, Spark, extras, config, pipelines, history and permissions."""
    from pysetl.doctor import run_doctor  # noqa: PLC0415 - lazy

    state = ctx.find_object(CliState)
    report = run_doctor(
        env=env,
        project_dir=project,
        history_url=state.history_url if state is not None else None,
    )
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    else:
        print_report(report)
    if not report.ok:
        raise typer.Exit(EXIT_CHECK_FAILED)
