"""``RunWriter``: how the history recorder gets its operations to the store.

The recorder (``_recorder``) turns events into write operations; this base
hands them to the observers' one writer thread, keeps the heartbeat of the
running runs (1 s after a start, then 2, 4, 8 s... up to
``heartbeat_interval``), and waits for the writer at the end of a run, so
the history is complete when ``Pipeline.run()`` returns. When the run's
last event comes through ``HookManager.emit_then_drain`` (as
``Pipeline.run()`` sends it), that drain is the wait: at most the hook
manager's ``drain_timeout`` (5 s by default), not ``flush_timeout``.

Added in 0.2 (in ``HistoryRecorder``, which inherits it). Changed in 0.9:
the end-of-run wait is left to ``emit_then_drain``.
"""

from __future__ import annotations

import os
import threading
import time
from typing import TYPE_CHECKING

from pysetl.monitoring.history._checks import this_host
from pysetl.monitoring.history.ops import Heartbeat, StartRun
from pysetl.utils.writer import shared_writer

if TYPE_CHECKING:
    from types import TracebackType

    from typing_extensions import Self

    from pysetl.monitoring.history._base import BaseRunHistory
    from pysetl.monitoring.history.ops import Op
    from pysetl.utils.writer import BackgroundWriter, Ticker

__all__ = ["FIRST_HEARTBEAT", "RunWriter"]

FIRST_HEARTBEAT = 1.0
"""Seconds from a run's start to its first heartbeat; the gap then doubles."""


class RunWriter:
    """The writer side of ``HistoryRecorder``: submit, flush, heartbeat, close.

    Attributes:
        failed_batches: Batches dropped because the store kept failing.
        dropped: Operations (and other observers' work) the writer dropped.
        written: Operations written so far (by every observer of the writer).
    """

    def __init__(
        self,
        history: BaseRunHistory,
        *,
        heartbeat_interval: float = 10.0,
        config_version: str | None = None,
        flush_timeout: float = 10.0,
        writer: BackgroundWriter | None = None,
        host: str | None = None,
    ) -> None:
        """Create the recorder; nothing runs until the first event.

        ``host``: the host name its runs are recorded under (default:
        ``PYSETL_HOST``, else the machine's name). Changed in 0.6: ``host``.
        """
        self.history = history
        self.heartbeat_interval = heartbeat_interval
        self.config_version = config_version
        self.flush_timeout = flush_timeout
        self._writer = writer
        self._lock = threading.Lock()
        self._running: set[str] = set()
        self._ticker: Ticker | None = None
        self._host = this_host() if host is None else host

    # ------------------------------------------------------------ the queue
    @property
    def writer(self) -> BackgroundWriter:
        """The writer thread the operations go through."""
        return self._writer if self._writer is not None else shared_writer()

    @property
    def failed_batches(self) -> int:
        """Batches of this recorder's store that were dropped after retries."""
        return self.writer.failures.get(self.history.writer_key, 0)

    @property
    def dropped(self) -> int:
        """Work the writer dropped (queue full or closed)."""
        return self.writer.dropped

    @property
    def written(self) -> int:
        """Items the writer has written."""
        return self.writer.written

    def submit(self, *ops: Op) -> None:
        """Hand write operations to the writer (dropped and counted when it is full)."""
        writer = self.writer
        history = self.history
        for op in ops:
            writer.put(history, op)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued operation is written; ``False`` on timeout."""
        return self.writer.drain(self.flush_timeout if timeout is None else timeout)

    def _beat(self) -> None:
        with self._lock:
            running = sorted(self._running)
            ticker = self._ticker
        if ticker is not None and ticker.interval < self.heartbeat_interval:
            # Early beats come fast and then slow down to the interval.
            ticker.interval = min(ticker.interval * 2, self.heartbeat_interval)
        now = time.time()
        self.submit(*(Heartbeat(run_id, now) for run_id in running))

    def close(self, timeout: float | None = None) -> None:
        """Write what is queued and stop the heartbeat; idempotent."""
        with self._lock:
            ticker, self._ticker = self._ticker, None
            self._running.clear()
        if ticker is not None:
            ticker.cancel()
        self.flush(timeout)

    def __enter__(self) -> Self:
        """Use the recorder as a context manager that closes it."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the recorder."""
        self.close()

    # ------------------------------------------------------------------ runs
    def _start_run(
        self,
        run_id: str,
        pipeline_name: str,
        timestamp: float,
        resumed_from: str | None = None,
    ) -> None:
        with self._lock:
            self._running.add(run_id)
            start = self._ticker is None
            if start:
                self._ticker = self.writer.every(
                    min(FIRST_HEARTBEAT, self.heartbeat_interval),
                    self._beat,
                    key="pysetl-heartbeat",
                )
        self.submit(
            StartRun(
                run_id,
                pipeline_name,
                timestamp,
                os.getpid(),
                self._host,
                self.config_version,
                resumed_from,
            )
        )

    def _end_run(self, *ops: Op, run_id: str) -> None:
        self.submit(*ops)
        with self._lock:
            self._running.discard(run_id)
            ticker = self._ticker if not self._running else None
            if ticker is not None:
                self._ticker = None
        if ticker is not None:
            ticker.cancel()
        writer = self.writer
        # Inline delivery: wait here, unless the emitter drains this writer
        # next (``HookManager.emit_then_drain``, as ``Pipeline.run`` does).
        if not writer.on_thread() and not writer.drains_next():
            self.flush()

    def current_run(self) -> str | None:
        """The id of the one run this recorder sees running, else ``None``."""
        with self._lock:
            if len(self._running) == 1:
                return next(iter(self._running))
        return None
