"""``pysetl errors``: failures grouped by fingerprint, and the occurrences of one.

``pysetl errors`` lists the error groups of the last 7 days (``--since``),
latest first, each with its count, runs, first and last failure, the
pipelines affected and a daily trend; ``--json`` prints the same as JSON.
``pysetl errors show FINGERPRINT`` lists the failures of one group with their
runs (``pysetl runs show RUN`` shows one). The grouping and the window live
in ``pysetl.monitoring.errors`` (``error_report``, ``group_failures``); these
functions parse, call it and render.
Everything printed goes through the redaction point; history errors go
through the top-level handler (exit code 4).

Added in 0.5.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from pysetl.cli._state import open_history_of
from pysetl.cli.commands import parse_age
from pysetl.errors import PySetlError
from pysetl.utils.redaction import redact_text

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pysetl.monitoring.errors import DailyCount, ErrorGroup, ErrorOccurrence
    from pysetl.monitoring.history import BaseRunHistory

__all__ = ["DEFAULT_SINCE", "errors_app", "list_errors", "show_errors", "sparkline"]

DEFAULT_SINCE = "7d"
"""The window ``pysetl errors`` looks at unless ``--since`` says otherwise."""
_BARS = "▁▂▃▄▅▆▇█"
_UNWRAPPED_WIDTH = 10_000  # as in ``commands``: a pipe gets whole lines

errors_app = typer.Typer(
    help="Failures grouped by fingerprint: counts, pipelines, daily trends.",
    invoke_without_command=True,
    no_args_is_help=False,
)


def sparkline(trend: Sequence[DailyCount]) -> str:
    """One character a day: ``·`` for none, else one of 8 bars, by share of the top.

    Examples:
        >>> from datetime import date
        >>> from pysetl.monitoring.errors import DailyCount
        >>> counts = [(1, 0), (2, 4), (3, 1)]
        >>> days = [DailyCount(date(2026, 1, d), n) for d, n in counts]
        >>> sparkline(days)
        '·█▂'
    """
    top = max((day.count for day in trend), default=0)
    return "".join(
        "·"
        if day.count == 0
        # the eighth of the top count the day reaches: 1..8 -> bars 0..7
        else _BARS[(day.count * len(_BARS) + top - 1) // top - 1]
        for day in trend
    )


def _console(console: Console | None) -> Console:
    if console is not None:
        return console
    out = Console(highlight=False)
    return out if out.is_terminal else Console(highlight=False, width=_UNWRAPPED_WIDTH)


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts).astimezone().strftime("%Y-%m-%d %H:%M")


def _print_json(out: Console, data: Any) -> None:
    out.print(redact_text(json.dumps(data, indent=2)), markup=False, soft_wrap=True)


def list_errors(
    history: BaseRunHistory,
    *,
    since: str | timedelta | None = DEFAULT_SINCE,
    pipeline: str | None = None,
    limit: int = 20,
    as_json: bool = False,
    console: Console | None = None,
    now: float | None = None,
) -> list[ErrorGroup]:
    """Show the error groups of a window, latest failure first.

    Args:
        history: The run history.
        since: The window: an age (``7d``, ``12h``), or ``all`` / ``None``
            for the whole history.
        pipeline: Only failures of this pipeline.
        limit: At most this many groups.
        as_json: Print JSON (``{"since": ..., "groups": [...]}``) instead
            of a table.
        console: Where to render; default: stdout.
        now: The current time (default: now).

    Returns:
        The groups shown.

    Raises:
        RunHistoryError: ``since`` is not an age; the history cannot be read.
    """
    from pysetl.monitoring.errors import error_report  # noqa: PLC0415 - lazy

    out = _console(console)
    report = error_report(history, since=since, pipeline=pipeline, limit=limit, now=now)
    start, groups = report.start, report.groups
    if as_json:
        _print_json(out, {"since": start, "groups": [g.to_dict() for g in groups]})
        return groups
    where = f" of pipeline {pipeline!r}" if pipeline else ""
    span = "in the whole history" if start is None else f"since {_when(start)}"
    if not groups:
        out.print(redact_text(f"No failures{where} {span}."), markup=False)
        return groups
    table = Table(
        title=redact_text(f"Errors{where} {span}, latest first"),
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("fingerprint", no_wrap=True)
    table.add_column("error", overflow="fold", min_width=20)
    table.add_column("factory", overflow="fold")
    table.add_column("count", justify="right", no_wrap=True)
    table.add_column("runs", justify="right", no_wrap=True)
    table.add_column("first seen", no_wrap=True)
    table.add_column("last seen", no_wrap=True)
    table.add_column("pipelines", overflow="fold")
    table.add_column("trend", no_wrap=True)
    for group in groups:
        table.add_row(
            group.fingerprint,
            Text(redact_text(f"{group.error_class}: {group.title}")),
            Text(group.factory or "-"),
            str(group.count),
            str(group.runs),
            _when(group.first_seen),
            _when(group.last_seen),
            Text(", ".join(group.pipelines)),
            sparkline(group.trend),
        )
    out.print(table)
    out.print("One group's failures: pysetl errors show FINGERPRINT", markup=False)
    return groups


def show_errors(
    history: BaseRunHistory,
    fingerprint: str,
    *,
    since: str | timedelta | None = None,
    pipeline: str | None = None,
    limit: int = 50,
    as_json: bool = False,
    console: Console | None = None,
    now: float | None = None,
) -> list[ErrorOccurrence]:
    """Show the failures of one error group, newest first, with their runs.

    Args:
        history: The run history.
        fingerprint: The group's fingerprint (or its first 4+ characters).
        since: The window: an age, or ``all`` / ``None`` (the default) for
            the whole history.
        pipeline: Only failures of this pipeline.
        limit: At most this many failures.
        as_json: Print JSON (a list of occurrences) instead of a table.
        console: Where to render; default: stdout.
        now: The current time (default: now).

    Returns:
        The occurrences shown.

    Raises:
        RunHistoryError: No failure has this fingerprint in the window; the
            fingerprint is too short or names several groups; the history
            cannot be read.
    """
    from pysetl.monitoring.errors import group_failures  # noqa: PLC0415 - lazy

    out = _console(console)
    found = group_failures(
        history, fingerprint, since=since, pipeline=pipeline, limit=limit, now=now
    )
    if as_json:
        _print_json(out, [o.to_dict() for o in found])
        return found
    latest = found[0]
    summary = Table.grid(padding=(0, 2))
    summary.add_column(style="bold")
    summary.add_column()
    summary.add_row("fingerprint", latest.fingerprint)
    summary.add_row("error class", latest.error_class)
    summary.add_row("factory", latest.factory or "- (the run itself)")
    summary.add_row("hint", Text(redact_text(latest.hint or "-")))
    out.print(summary)
    table = Table(
        title=f"Failures, newest first ({len(found)} shown)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("when", no_wrap=True)
    table.add_column("run", no_wrap=True, min_width=26)
    table.add_column("pipeline", overflow="fold")
    table.add_column("attempt", justify="right", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("message", overflow="fold", min_width=20)
    for occurrence in found:
        table.add_row(
            _when(occurrence.ts),
            occurrence.run_id,
            Text(occurrence.pipeline),
            "-" if occurrence.attempt is None else str(occurrence.attempt),
            occurrence.status,
            Text(redact_text(occurrence.message)),
        )
    out.print(table)
    if len(found) == limit:
        out.print(f"More failures may exist: raise --limit above {limit}")
    out.print("A run in full: pysetl runs show RUN", markup=False)
    return found


def _age_option(value: str) -> str:
    if value != "all":
        try:
            parse_age(value)
        except PySetlError as error:
            raise typer.BadParameter(error.message) from None
    return value


_Since = Annotated[
    str,
    typer.Option(
        "--since",
        callback=_age_option,
        help="The window: an age such as 7d, 12h, 2w, or 'all'.",
    ),
]
_Pipeline = Annotated[
    str | None, typer.Option("--pipeline", help="Only failures of this pipeline.")
]
_Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@errors_app.callback()
def errors(
    ctx: typer.Context,
    *,
    since: _Since = DEFAULT_SINCE,
    pipeline: _Pipeline = None,
    limit: Annotated[
        int, typer.Option(min=1, max=1000, help="At most this many groups.")
    ] = 20,
    as_json: _Json = False,
) -> None:
    """List failures grouped by fingerprint, latest first, with a daily trend."""
    if ctx.invoked_subcommand is not None:
        return
    with open_history_of(ctx, create=False) as history:
        list_errors(
            history, since=since, pipeline=pipeline, limit=limit, as_json=as_json
        )


@errors_app.command("show")
def show(
    ctx: typer.Context,
    *,
    fingerprint: Annotated[
        str,
        typer.Argument(
            metavar="FINGERPRINT", help="The group's fingerprint (4+ characters)."
        ),
    ],
    since: _Since = "all",
    pipeline: _Pipeline = None,
    limit: Annotated[
        int, typer.Option(min=1, max=1000, help="At most this many failures.")
    ] = 50,
    as_json: _Json = False,
) -> None:
    """Show the failures of one error group with their run ids, newest first."""
    with open_history_of(ctx, create=False) as history:
        show_errors(
            history,
            fingerprint,
            since=since,
            pipeline=pipeline,
            limit=limit,
            as_json=as_json,
        )
