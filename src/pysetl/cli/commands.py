"""What the ``pysetl`` commands do, callable from Python without the parser.

Each function takes an open run history and a rich ``Console``, asks
``pysetl.monitoring.runs`` (queries, paging, crash detection, following a
run's logs) or the history (retention) and renders the answer.
``__main__`` only parses arguments and calls these.

Exit codes (``exit_code_for``), the same for every command:

====  ==========================================================
code  meaning
====  ==========================================================
0     success
1     a pipeline or stage failed (``PipelineError``, ``StageError``,
      ``DependencyResolutionError``)
2     usage: unknown command or option, invalid value
3     configuration error (``ConfigError``)
4     run history error: cannot open, migrate, read or write the
      history, or no such run (``RunHistoryError``)
5     any other pysetl error (connectors, Spark)
70    internal error (a bug: please report it, run with ``--debug``)
130   interrupted (Ctrl-C)
====  ==========================================================

Added in 0.2.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from pysetl.cli._run_debugging import print_run_debugging
from pysetl.cli._spark_figures import print_spark_figures
from pysetl.errors import (
    ConfigError,
    DependencyResolutionError,
    PipelineError,
    PySetlError,
    RunHistoryError,
    StageError,
)

if TYPE_CHECKING:
    from pysetl.monitoring.history import (
        BaseRunHistory,
        FactoryAttemptRecord,
        Page,
        RunRecord,
    )

__all__ = [
    "EXIT_CONFIG",
    "EXIT_HISTORY",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_OTHER",
    "EXIT_RUN_FAILED",
    "EXIT_USAGE",
    "exit_code_for",
    "list_runs",
    "parse_age",
    "prune_runs",
    "show_logs",
    "show_run",
]

EXIT_OK = 0
EXIT_RUN_FAILED = 1
EXIT_USAGE = 2
EXIT_CONFIG = 3
EXIT_HISTORY = 4
EXIT_OTHER = 5
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130

_STYLES = {
    "running": "cyan",
    "succeeded": "green",
    "failed": "red",
    "crashed": "magenta",
}
_LEVEL_STYLES = {"WARNING": "yellow", "ERROR": "red", "CRITICAL": "bold red"}


def exit_code_for(error: BaseException) -> int:
    """The documented exit code for ``error`` (see the module docstring)."""
    codes: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], int], ...]
    codes = (
        ((PipelineError, StageError, DependencyResolutionError), EXIT_RUN_FAILED),
        (ConfigError, EXIT_CONFIG),
        (RunHistoryError, EXIT_HISTORY),
        (PySetlError, EXIT_OTHER),
        (KeyboardInterrupt, EXIT_INTERRUPTED),
    )
    for kinds, code in codes:
        if isinstance(error, kinds):
            return code
    return EXIT_INTERNAL


def parse_age(text: str | timedelta) -> timedelta:
    """An age such as ``30d``, ``12h``, ``90m``, ``45s`` or ``2w`` as a timedelta.

    ``pysetl.monitoring.runs.parse_age``, kept here for callers of 0.6.

    Raises:
        RunHistoryError: The text is not such an age.
    """
    from pysetl.monitoring.runs import parse_age as parse  # noqa: PLC0415 - lazy

    return parse(text)


def _when(ts: float | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts).astimezone().strftime(fmt)


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 60:  # noqa: PLR2004 - one minute
        return f"{value:.2f} s"
    minutes, seconds = divmod(int(value), 60)
    if minutes < 60:  # noqa: PLR2004 - one hour
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def _status(status: str) -> Text:
    return Text(status, style=_STYLES.get(status, ""))


# Output that is not a terminal (a pipe, a file, a test's runner) is laid out
# as wide as its content: a table cell is never wrapped or cut there, so a
# factory name stays whole and one row stays on one line for grep.
_UNWRAPPED_WIDTH = 10_000
# What the attempts table needs besides the factory column: stage, attempt,
# status and duration unwrapped, phases wrapped to about 12, the padding.
_ATTEMPT_COLUMNS_WIDTH = 60


def _console(console: Console | None) -> Console:
    if console is not None:
        return console
    out = Console(highlight=False)
    return out if out.is_terminal else Console(highlight=False, width=_UNWRAPPED_WIDTH)


def list_runs(
    history: BaseRunHistory,
    *,
    pipeline: str | None = None,
    status: str | None = None,
    limit: int = 20,
    cursor: str | None = None,
    page: int = 1,
    console: Console | None = None,
    host: str | None = None,
) -> Page[RunRecord]:
    """Show one page of runs, newest first, after marking dead runs crashed.

    Args:
        history: The run history.
        pipeline: Only runs of this pipeline.
        status: Only runs with this status.
        limit: Runs per page.
        cursor: Start after this cursor (printed under the previous page).
        page: Skip to this page number (counted from ``cursor``).
        console: Where to render; default: stdout.
        host: Only runs recorded on this host.

    Returns:
        The page shown.

    Changed in 0.6: ``host``, and a host column.
    """
    from pysetl.monitoring.runs import runs_page  # noqa: PLC0415 - lazy

    out = _console(console)
    runs = runs_page(
        history,
        pipeline=pipeline,
        status=status,
        limit=limit,
        cursor=cursor,
        page=page,
        host=host,
    )
    if not runs.items:
        out.print("No runs.")
        return runs
    table = Table(
        title=f"Runs in {history.url}",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("run", no_wrap=True, min_width=26)
    table.add_column("pipeline", overflow="fold", min_width=8)
    table.add_column("status", no_wrap=True, min_width=9)
    table.add_column("started", no_wrap=True, overflow="ellipsis")
    table.add_column("duration", justify="right", no_wrap=True, min_width=8)
    table.add_column("host", overflow="fold")
    for run in runs.items:
        table.add_row(
            run.run_id,
            run.pipeline,
            _status(run.status),
            _when(run.started_at, "%Y-%m-%d %H:%M"),
            _seconds(run.duration),
            run.host or "-",
        )
    out.print(table)
    if runs.next_cursor is not None:
        out.print(f"More runs: --cursor {runs.next_cursor}")
    return runs


def _phases(attempt: FactoryAttemptRecord) -> str:
    return ", ".join(
        f"{name} {_seconds(value)}" for name, value in attempt.phases.items()
    )


def _error_lines(error: dict[str, Any], *, traceback: bool) -> list[str]:
    lines = [f"{error.get('error_type', 'Error')}: {error.get('message', '')}"]
    where = [
        f"{key} {error[key]}"
        for key in ("stage", "factory", "attempt", "phase")
        if error.get(key) is not None
    ]
    if where:
        lines.append("at: " + ", ".join(where))
    if error.get("error_class"):
        lines.append(f"spark error class: {error['error_class']}")
    lines.extend(
        f"caused by: {cause['error_type']}: {cause['message']}"
        for cause in error.get("causes", [])
    )
    if error.get("hint"):
        lines.append(f"hint: {error['hint']}")
    if traceback and error.get("traceback"):
        lines.append(str(error["traceback"]).rstrip())
    return lines


def show_run(
    history: BaseRunHistory,
    run_id: str,
    *,
    limit: int = 100,
    traceback: bool = False,
    console: Console | None = None,
) -> RunRecord:
    """Show a run: its summary, stages, factory attempts and error.

    Args:
        history: The run history.
        run_id: The run's id.
        limit: At most this many stages and attempts.
        traceback: Also show the stored traceback of the error.
        console: Where to render; default: stdout, as wide as the content
            when it is not a terminal.

    Raises:
        RunHistoryError: No such run.

    Changed in 0.4: factory names are never cut; they fold on a narrow
    terminal, and output that is not a terminal is not wrapped.
    """
    from pysetl.monitoring.runs import run_details  # noqa: PLC0415 - lazy

    out = _console(console)
    details = run_details(history, run_id, limit=limit)
    run = details.run
    summary = Table.grid(padding=(0, 2))
    summary.add_column(style="bold")
    summary.add_column()
    summary.add_row("run", run.run_id)
    summary.add_row("pipeline", run.pipeline)
    summary.add_row("status", _status(run.status))
    summary.add_row("started", _when(run.started_at))
    summary.add_row("finished", _when(run.finished_at))
    summary.add_row("duration", _seconds(run.duration))
    summary.add_row("last heartbeat", _when(run.heartbeat_at))
    summary.add_row("host / pid", f"{run.host or '-'} / {run.pid or '-'}")
    summary.add_row("config version", run.config_version or "-")
    summary.add_row("resumed from", run.resumed_from or "-")
    out.print(summary)

    stages = details.stages
    if stages.items:
        table = Table(title="Stages", title_justify="left", box=box.SIMPLE_HEAD)
        for column in ("stage", "status", "duration"):
            table.add_column(column)
        for stage in stages.items:
            table.add_row(
                str(stage.stage_id), _status(stage.status), _seconds(stage.duration)
            )
        out.print(table)

    attempts = details.attempts
    if attempts.items:
        table = Table(
            title="Factory attempts", title_justify="left", box=box.SIMPLE_HEAD
        )
        # The phases wrap first: a factory name keeps its whole width while
        # the terminal has room for it, and a narrower one folds the name
        # onto more lines rather than cutting it with an ellipsis.
        longest = max(len(attempt.factory) for attempt in attempts.items)
        room = out.width - _ATTEMPT_COLUMNS_WIDTH
        table.add_column("stage", no_wrap=True)
        table.add_column(
            "factory",
            overflow="fold",
            min_width=min(longest, room) if room > 0 else None,
        )
        for column in ("attempt", "status", "duration"):
            table.add_column(column, no_wrap=True)
        table.add_column("phases", overflow="fold")
        for attempt in attempts.items:
            table.add_row(
                str(attempt.stage_id),
                attempt.factory,
                str(attempt.attempt),
                _status(attempt.status),
                _seconds(attempt.duration),
                _phases(attempt),
            )
        out.print(table)
        if attempts.next_cursor is not None:
            out.print(f"More attempts not shown: raise --limit above {limit}")

    print_spark_figures(out, details.spark)

    print_run_debugging(out, details.skipped, details.samples)

    if run.error:
        out.print(Text("Error", style="bold red"))
        for line in _error_lines(run.error, traceback=traceback):
            out.print(Text(line))
    return run


def prune_runs(
    history: BaseRunHistory,
    older_than: str | timedelta,
    *,
    console: Console | None = None,
) -> int:
    """Delete finished runs older than ``older_than`` (``30d``), with all they own.

    Returns:
        How many runs were deleted.
    """
    out = _console(console)
    age = parse_age(older_than)
    with out.status(f"Pruning runs older than {older_than} from {history.url}"):
        count = history.prune(age)
    out.print(f"Deleted {count} run(s) older than {older_than}.")
    return count


def _print_log(out: Console, line: Any) -> None:
    text = Text(f"{_when(line.ts)} ")
    text.append(f"{line.level:<8}", style=_LEVEL_STYLES.get(line.level, ""))
    text.append(f" {line.factory or '-'}: {line.message}")
    out.print(text, soft_wrap=True)


def show_logs(
    history: BaseRunHistory,
    run_id: str,
    *,
    factory: str | None = None,
    level: str | None = None,
    grep: str | None = None,
    limit: int = 100,
    follow: bool = False,
    poll_interval: float = 1.0,
    console: Console | None = None,
) -> int:
    """Show the log lines of a run, oldest first; optionally follow new ones.

    Args:
        history: The run history.
        run_id: The run's id.
        factory: Only lines of this factory.
        level: Only lines of this level and up.
        grep: Only lines containing this text (any case).
        limit: Without ``follow``: at most this many lines. With it: the
            page size of each poll.
        follow: Keep polling for new lines until the run ends, crashes
            (its process died), or Ctrl-C.
        poll_interval: Seconds between polls while following.
        console: Where to render; default: stdout.

    Returns:
        How many lines were shown.

    Raises:
        RunHistoryError: No such run.
    """
    from pysetl.monitoring.runs import log_pages  # noqa: PLC0415 - lazy

    out = _console(console)
    pages = log_pages(
        history, run_id, factory=factory, level=level, grep=grep, limit=limit,
        follow=follow, poll_interval=poll_interval,
    )  # fmt: skip
    shown = 0
    try:
        for page in pages:
            for line in page.items:
                _print_log(out, line)
            shown += len(page.items)
            if not follow and page.next_cursor is not None:
                out.print(f"More lines: raise --limit above {limit}, or --follow")
    except KeyboardInterrupt:
        return shown
    return shown
