"""The collector's private state: readings, pending work, and their helpers."""

from __future__ import annotations

import pstats
import sys
import threading
import time
import tracemalloc
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pysetl.monitoring.metrics._records import FactoryMetrics, ProfileLine

if TYPE_CHECKING:
    import cProfile
    from collections.abc import Callable, Collection, Iterable

__all__ = [
    "End",
    "Job",
    "Open",
    "RunState",
    "Sample",
    "max_rss",
    "profile_lines",
    "rows_of",
    "samples",
    "thread_readings",
    "wants",
]

_RSS_UNIT = 1 if sys.platform == "darwin" else 1024  # ru_maxrss is KiB on Linux
Sample = tuple[str, float, dict[str, str], "str | None", float]
"""One history row: metric name, value, labels, factory, time."""


try:
    import resource
except ImportError:  # pragma: no cover - Windows has no getrusage

    def max_rss() -> int | None:
        """The process's peak resident memory: unknown here."""
        return None

    def _thread_usage() -> tuple[float, int | None]:
        return time.thread_time(), None

else:

    def max_rss() -> int | None:
        """The process's peak resident memory so far, in bytes."""
        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * _RSS_UNIT

    _THREAD = getattr(resource, "RUSAGE_THREAD", None)  # Linux only

    def _thread_usage() -> tuple[float, int | None]:
        if _THREAD is None:
            return time.thread_time(), max_rss()
        usage = resource.getrusage(_THREAD)
        return usage.ru_utime + usage.ru_stime, int(usage.ru_maxrss) * _RSS_UNIT


def thread_readings() -> tuple[float, int | None]:
    """The calling thread's CPU seconds and the process's peak RSS bytes.

    On Linux one ``getrusage(RUSAGE_THREAD)`` gives both (the peak is the
    process's, the times are the thread's): one system call where a thread
    clock and ``getrusage(RUSAGE_SELF)``, which sums every thread, were two
    per reading. Elsewhere: ``time.thread_time()`` and ``max_rss()``.
    """
    return _thread_usage()


def wants(option: bool | Collection[str], name: str) -> bool:
    """Whether an option (``True``, ``False`` or factory names) covers ``name``."""
    if isinstance(option, bool):
        return option
    return name in option


@dataclass(slots=True)
class Open:
    """Readings taken when a factory attempt started."""

    thread: int | None
    cpu: float | None
    rss: int | None
    profiler: cProfile.Profile | None = None
    traced: bool = False  # we started tracemalloc for this attempt

    def finish(
        self, read: Callable[[], tuple[float, int | None]]
    ) -> tuple[dict[str, Any], cProfile.Profile | None]:
        """The readings at the attempt's end, as ``FactoryMetrics`` fields.

        Call it in the thread that delivers ``after_factory_run``; the CPU time
        counts only when that is the thread that delivered the start. ``read``
        gives the thread's CPU seconds and the peak RSS (``thread_readings``).

        Returns:
            The fields, and the stopped profiler when the attempt was profiled.
        """
        readings: dict[str, Any] = {}
        if self.profiler is not None:
            self.profiler.disable()
            readings["python_peak_bytes"] = tracemalloc.get_traced_memory()[1]
            if self.traced:
                tracemalloc.stop()
        if self.thread is not None and self.thread == threading.get_ident():
            cpu, rss = read()
            readings["cpu_seconds"] = cpu - (self.cpu or 0.0)
        else:
            rss = max_rss()
        readings["peak_rss_bytes"] = rss
        if rss is not None and self.rss is not None:
            readings["rss_growth_bytes"] = rss - self.rss
        return readings, self.profiler


@dataclass(slots=True)
class RunState:
    """What the collector knows of one run."""

    pipeline: str
    status: str = "running"
    duration: float | None = None
    factories: list[FactoryMetrics] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Job:
    """One factory attempt for the worker to complete."""

    metrics: FactoryMetrics
    output: Any
    profiler: cProfile.Profile | None


@dataclass(frozen=True, slots=True)
class End:
    """The end of a run, queued behind its factories."""

    run_id: str
    status: str
    duration: float
    timestamp: float


def profile_lines(profiler: cProfile.Profile, limit: int) -> tuple[ProfileLine, ...]:
    """The ``limit`` functions of ``profiler`` with the most cumulative time."""
    stats: dict[Any, Any] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    lines = [
        ProfileLine(f"{func[0]}:{func[1]}({func[2]})", int(calls), own, cumulative)
        for func, (_, calls, own, cumulative, _) in stats.items()
        if "_lsprof" not in func[2]  # the profiler's own disable()
    ]
    lines.sort(key=lambda line: -line.cumulative_seconds)
    return tuple(lines[:limit])


ON_THE_ATTEMPT = frozenset(
    {"pysetl_factory_duration_seconds", "pysetl_factory_phase_duration_seconds"}
)
"""Figures the factory attempt's row already holds (``duration``, ``phases``).

Changed in 0.4: they are no longer copied into the metrics table of the
history (they stay in ``FactoryMetrics.samples()`` and in summaries).
"""


def samples(metrics: FactoryMetrics) -> list[Sample]:
    """The history rows of ``metrics``: name, value, labels, factory, time.

    The run and the factory are columns of the row; the pipeline and the
    stage are those of the run's factory attempt in the history, so they are
    not repeated as labels (every label is masked for secrets, which costs).
    ``attempt`` is a label from the second attempt on. Durations are left
    out: the attempt's row holds them (``ON_THE_ATTEMPT``).
    """
    return rows_of(
        metrics.samples(durations=False),
        metrics.factory,
        metrics.attempt,
        metrics.started_at + metrics.duration_seconds,
    )


def rows_of(
    figures: Iterable[tuple[str, float, dict[str, str]]],
    factory: str,
    attempt: int,
    ts: float,
) -> list[Sample]:
    """History rows of an attempt's ``figures`` (see ``samples``)."""
    if attempt == 1:
        return [(name, value, labels, factory, ts) for name, value, labels in figures]
    base = {"attempt": str(attempt)}
    return [
        (name, value, base | labels, factory, ts) for name, value, labels in figures
    ]
