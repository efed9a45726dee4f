"""What a front end asks the run history about runs: pages, one run in full, its logs.

``pysetl runs list|show|prune`` and ``pysetl logs`` call these and only
render what they return; the dashboard reads the same history through its
own paging. Each function takes the history it reads (the caller opens and
closes it):

* ``runs_page``: one page of runs, newest first, after marking dead runs
  crashed; ``page=N`` walks ``N - 1`` pages on from ``cursor``;
* ``run_details``: a run with its stages, factory attempts, Spark figures
  per factory, skipped factories and output samples (``RunDetails``);
* ``spark_figures``: a run's ``pysetl_factory_spark_*`` metric rows, per
  factory (its last attempt wins);
* ``log_pages``: a run's log lines page by page, optionally following the
  run until it ends (or its process died);
* ``parse_age``: ``30d``, ``12h``, ``90m``, ``45s``, ``2w`` as a timedelta.

Added in 0.7 (the logic of ``pysetl.cli.commands``, ``_spark_figures`` and
``_run_debugging``, which now only render).
"""

from __future__ import annotations

import contextlib
import functools
import re
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from pysetl.errors import RunHistoryError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from pysetl.monitoring.history import (
        BaseRunHistory,
        EventRecord,
        FactoryAttemptRecord,
        LogRecord,
        Page,
        RunRecord,
        StageRecord,
    )

__all__ = [
    "SAMPLE_EVENT",
    "SKIPPED_EVENT",
    "SPARK_METRIC_PREFIX",
    "RunDetails",
    "log_pages",
    "parse_age",
    "reconcile_crashed",
    "run_details",
    "runs_page",
    "spark_figures",
]

SAMPLE_EVENT = "factory_sample"
"""The event of a factory's output sample (``pysetl run --sample N``)."""
SKIPPED_EVENT = "on_factory_skipped"
"""The event of a factory a partial run read back instead of running."""
SPARK_METRIC_PREFIX = "pysetl_factory_spark_"
"""What the metric rows of a factory's Spark work are named after."""

_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_EXECUTOR_TASKS = "executor_tasks"
_METRICS_PAGE = 1000
_MAX_METRIC_ROWS = 20_000  # a run's metric rows read at most (for a summary)


def parse_age(text: str | timedelta) -> timedelta:
    """An age such as ``30d``, ``12h``, ``90m``, ``45s`` or ``2w`` as a timedelta.

    Raises:
        RunHistoryError: The text is not such an age.
    """
    if isinstance(text, timedelta):
        return text
    match = _AGE.match(text)
    if match is None:
        msg = f"Cannot read {text!r} as an age"
        raise RunHistoryError(msg, hint="write a number and a unit: 30d, 12h, 90m")
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


def reconcile_crashed(history: BaseRunHistory) -> None:
    """Mark dead runs crashed; a read-only user still gets the listing."""
    with contextlib.suppress(RunHistoryError):
        history.reconcile_crashed()


def runs_page(
    history: BaseRunHistory,
    *,
    pipeline: str | None = None,
    status: str | None = None,
    limit: int = 20,
    cursor: str | None = None,
    page: int = 1,
    host: str | None = None,
) -> Page[RunRecord]:
    """One page of runs, newest first, after marking dead runs crashed.

    Args:
        history: The run history.
        pipeline: Only runs of this pipeline.
        status: Only runs with this status.
        limit: Runs per page.
        cursor: Start after this cursor (the ``next_cursor`` of a page).
        page: Skip to this page number (counted from ``cursor``); the last
            page when there are fewer.
        host: Only runs recorded on this host.
    """
    reconcile_crashed(history)
    query = functools.partial(
        history.list_runs, pipeline=pipeline, status=status, limit=limit, host=host
    )
    runs = query(cursor=cursor)
    for _ in range(page - 1):
        if runs.next_cursor is None:
            break
        runs = query(cursor=runs.next_cursor)
    return runs


FactoryFigures = tuple[dict[str, float], dict[str, float]]


def spark_figures(history: BaseRunHistory, run_id: str) -> dict[str, FactoryFigures]:
    """Per factory, in the order first recorded: its figures, its tasks per executor.

    The figures are named without the ``pysetl_factory_spark_`` prefix
    (``jobs``, ``executor_cpu_seconds``...); the tasks per executor are
    keyed by executor id (``driver`` in local mode). At most 20,000 metric
    rows of the run are read.
    """
    found: dict[str, FactoryFigures] = {}
    cursor: str | None = None
    seen = 0
    while seen < _MAX_METRIC_ROWS:
        page = history.list_metrics(run_id, limit=_METRICS_PAGE, cursor=cursor)
        seen += len(page.items)
        for row in page.items:
            if row.factory is None or not row.name.startswith(SPARK_METRIC_PREFIX):
                continue
            values, executors = found.setdefault(row.factory, ({}, {}))
            name = row.name.removeprefix(SPARK_METRIC_PREFIX)
            if name == _EXECUTOR_TASKS:
                executors[str(row.labels.get("executor", "?"))] = row.value
            else:
                values[name] = row.value
        cursor = page.next_cursor
        if cursor is None:
            break
    return found


@dataclass(frozen=True, slots=True)
class RunDetails:
    """A run in full, as ``pysetl runs show`` prints it.

    Attributes:
        run: The run.
        stages: Its stages (one page of at most ``limit``).
        attempts: Its factory attempts (one page of at most ``limit``).
        spark: Its Spark figures per factory (``spark_figures``).
        skipped: The factories a partial run read back instead of running
            (``on_factory_skipped`` events; ``data["reason"]`` says why).
        samples: Its output samples (``factory_sample`` events; the rows
            are in ``data["rows"]``, not redacted yet).
    """

    run: RunRecord
    stages: Page[StageRecord]
    attempts: Page[FactoryAttemptRecord]
    spark: dict[str, FactoryFigures]
    skipped: Sequence[EventRecord]
    samples: Sequence[EventRecord]


def run_details(
    history: BaseRunHistory, run_id: str, *, limit: int = 100
) -> RunDetails:
    """A run with its stages, attempts, Spark figures, skips and samples.

    Dead runs are marked crashed first.

    Raises:
        RunHistoryError: No such run.
    """
    reconcile_crashed(history)
    run = history.get_run(run_id)
    return RunDetails(
        run=run,
        stages=history.list_stage_runs(run_id, limit=limit),
        attempts=history.list_factory_attempts(run_id, limit=limit),
        spark=spark_figures(history, run_id),
        skipped=history.list_events(run_id, name=SKIPPED_EVENT, limit=limit).items,
        samples=history.list_events(run_id, name=SAMPLE_EVENT, limit=limit).items,
    )


def log_pages(
    history: BaseRunHistory,
    run_id: str,
    *,
    factory: str | None = None,
    level: str | None = None,
    grep: str | None = None,
    limit: int = 100,
    follow: bool = False,
    poll_interval: float = 1.0,
    sleep: Callable[[float], object] | None = None,
) -> Iterator[Page[LogRecord]]:
    """The log lines of a run, oldest first, one page at a time.

    Without ``follow`` it yields one page (its ``next_cursor`` says whether
    more lines match). With it, it polls for new lines until the run ends,
    or crashes (its process died: dead runs are marked so while polling).

    Args:
        history: The run history.
        run_id: The run's id.
        factory: Only lines of this factory.
        level: Only lines of this level and up.
        grep: Only lines containing this text (any case).
        limit: The page size.
        follow: Keep polling for new lines until the run ends.
        poll_interval: Seconds between polls while following.
        sleep: Waits between polls (default ``time.sleep``).

    Raises:
        RunHistoryError: No such run (on the first ``next()``).
    """
    # Not at module level: parse_age is imported without opening a history.
    from pysetl.monitoring.history import RunStatus  # noqa: PLC0415

    history.get_run(run_id)
    cursor: str | None = None
    finished = False
    while True:
        page = history.search_logs(
            run_id, factory=factory, level=level, text=grep, limit=limit,
            cursor=cursor,
        )  # fmt: skip
        yield page
        if page.items:
            cursor = str(page.items[-1].id)
        if not follow:
            return
        if page.next_cursor is not None:
            continue
        if finished:
            return
        # A run whose process died ends too (marked crashed); it may have
        # ended between the two queries, so read once more.
        reconcile_crashed(history)
        finished = history.get_run(run_id).status != RunStatus.RUNNING
        if not finished:
            (sleep or time.sleep)(poll_interval)
