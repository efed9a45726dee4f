"""``AlertObserver``: evaluates the alert rules when a run ends.

The session registers it when the config has an ``alerts:`` section. Per
factory it costs nothing (it implements no factory event). When a run ends
(``after_pipeline_run`` or ``on_pipeline_run_failed``, delivered on the
observers' writer thread) it hands the run id to its own worker thread and
returns at once: the worker waits (bounded by ``wait``) for the writer to
have written the run's rows, then evaluates the rules and delivers
(``AlertEngine``). ``close()`` (the session's) waits at most ``wait``
seconds (default: the delivery deadline plus 0.5 s, 2.5 s with the defaults)
for that to finish, then moves on: the worker is a daemon.

Added in 0.5.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import TYPE_CHECKING, Any

from pysetl.monitoring.alerts._engine import AlertEngine
from pysetl.workflow.hooks import hook_impl

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from pysetl.monitoring.alerts._config import AlertsSection
    from pysetl.monitoring.alerts._notify import Notifier
    from pysetl.monitoring.history import BaseRunHistory
    from pysetl.utils.writer import BackgroundWriter

__all__ = ["AlertObserver"]

_LOGGER = logging.getLogger(__name__)
_STOP = object()


class AlertObserver:
    """Evaluates ``alerts:`` rules at the end of each run (see the module docstring).

    Args:
        section: The validated ``alerts:`` section.
        history: The run history (default: the session's, on attach).
        writer: The observers' writer whose rows it waits for (default: the
            session's).
        notifiers: The notifiers by name (default: built from the section).
        clock: The time, in epoch seconds.
        wait: Seconds ``close()`` and ``flush()`` wait at most for delivery.

    Attributes:
        engine: The engine (``None`` until a history is known).
    """

    def __init__(
        self,
        section: AlertsSection,
        *,
        history: BaseRunHistory | None = None,
        writer: BackgroundWriter | None = None,
        notifiers: Mapping[str, Notifier] | None = None,
        clock: Callable[[], float] = time.time,
        wait: float | None = None,
    ) -> None:
        """Build the engine now when a history is given."""
        self.section = section
        self.writer = writer
        self.wait = section.delivery.deadline + 0.5 if wait is None else wait
        self._notifiers = notifiers
        self._clock = clock
        self.engine: AlertEngine | None = None
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._pending = 0
        self._idle = threading.Condition()
        if history is not None:
            self._build(history)

    def _build(self, history: BaseRunHistory) -> None:
        self.engine = AlertEngine(
            self.section, history, notifiers=self._notifiers, clock=self._clock
        )

    def pysetl_attach(self, session: Any) -> None:
        """Take the session's history and writer (the session calls it)."""
        if self.writer is None:
            self.writer = session.writer
        if self.engine is None:
            if session.history is None:
                _LOGGER.warning(
                    "pysetl alerts are off: they need the run history, and this "
                    "session records no runs"
                )
                return
            self._build(session.history)

    # ----------------------------------------------------------------- events
    @hook_impl
    def after_pipeline_run(self, *, run_id: str) -> None:
        """A run succeeded: evaluate its rules (in the background)."""
        self._submit(run_id)

    @hook_impl
    def on_pipeline_run_failed(self, *, run_id: str) -> None:
        """A run failed: evaluate its rules (in the background)."""
        self._submit(run_id)

    def _submit(self, run_id: str) -> None:
        if self.engine is None or not self.section.enabled:
            return
        with self._idle:
            self._pending += 1
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="pysetl-alerts", daemon=True
                )
                self._thread.start()
        self._queue.put(run_id)

    def _loop(self) -> None:
        while True:
            run_id = self._queue.get()
            if run_id is _STOP:
                return
            try:
                if self.writer is not None:
                    # The run's rows are handed to the writer before this
                    # event; wait until they are written.
                    self.writer.drain(self.wait)
                assert self.engine is not None  # noqa: S101 - checked on submit
                self.engine.run_ended(run_id)
            except Exception:  # an observer never breaks anything
                _LOGGER.exception("pysetl alerts could not evaluate run %s", run_id)
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every ended run is evaluated and notified (bounded)."""
        limit = self.wait if timeout is None else timeout
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout=limit)

    def close(self) -> None:
        """Wait at most ``wait`` seconds for pending deliveries, then stop."""
        if not self.flush():
            _LOGGER.warning(
                "pysetl alerts still delivering after %.1f s; the run goes on",
                self.wait,
            )
        thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(_STOP)
