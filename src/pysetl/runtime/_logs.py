"""Log lines of runs into the history, and the run's own log lines.

``RunLogCapture`` puts a ``HistoryLogHandler`` on the root logger, so every
record emitted during a run (pysetl's, the user's, a library's) is stored
with its run and factory. It changes what other handlers print as little as
possible: the root level is lowered to the capture level only, and root
handlers that had no level of their own keep the old root level; when the
root logger had no handler at all, a stderr handler at ``WARNING`` stands in
for the one Python falls back to, so warnings and errors still show.

``RunLogger`` is the observer that logs the run's own lines on the
``pysetl.run`` logger: one INFO line when a run starts and ends, and one
ERROR line per failed factory with its context and hint (delivered in the
factory's thread, so the line carries the run and factory like the user's).

Added in 0.4.
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import TYPE_CHECKING, Any

from pysetl._state import STATE
from pysetl.errors import PySetlError
from pysetl.utils.run_scope import current_scope
from pysetl.workflow.hooks import hook_impl

if TYPE_CHECKING:
    from pysetl.monitoring.history import HistoryRecorder

__all__ = ["RUN_LOGGER", "RunLogCapture", "RunLogger"]

RUN_LOGGER = "pysetl.run"
"""The logger of the run's own lines (start, end, failed factories)."""
_CHATTY = ("py4j",)  # their INFO lines are every JVM call: WARNING and up only


class _RunLinesOnly(logging.Filter):
    """Keeps records logged inside a run (or naming one); drops Py4J chatter."""

    def __init__(self, recorder: HistoryRecorder) -> None:
        super().__init__()
        self.recorder = recorder

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING and record.name.startswith(_CHATTY):
            return False
        return (
            getattr(record, "run_id", None) is not None
            or current_scope() is not None
            or self.recorder.current_run() is not None
        )


# What the captures changed on the root logger is ``STATE.log_captures``
# (see ``pysetl._state.LogCaptureState``): several captures can be installed
# at once, the root's level is the lowest capture level while any is, and the
# last one to leave restores everything.
_ROOT_LOCK = threading.Lock()


def _lowest() -> int:
    """The root's level while captures are installed: it is never raised."""
    return min(
        STATE.log_captures.level, *(c.level for c in STATE.log_captures.captures)
    )


class RunLogCapture:
    """Stores the log lines of runs in the history while installed.

    Args:
        recorder: The recorder whose writer stores the lines.
        level: The lowest level stored.
    """

    def __init__(self, recorder: HistoryRecorder, level: str | int = "INFO") -> None:
        """Create the handler; ``install()`` puts it on the root logger."""
        from pysetl.monitoring.history import (  # noqa: PLC0415 - the monitoring extra
            HistoryLogHandler,
        )

        number = logging.getLevelName(level) if isinstance(level, str) else level
        self.level = number if isinstance(number, int) else logging.INFO
        self.handler = HistoryLogHandler(recorder, self.level)
        self.handler.addFilter(_RunLinesOnly(recorder))

    def install(self) -> None:
        """Add the handler to the root logger (idempotent)."""
        root = logging.getLogger()
        with _ROOT_LOCK:
            if self in STATE.log_captures.captures:
                return
            if not STATE.log_captures.captures:
                self._save(root)
            STATE.log_captures.captures.append(self)
            root.setLevel(_lowest())
            root.addHandler(self.handler)

    @staticmethod
    def _save(root: logging.Logger) -> None:
        """The first capture: keep what the root printed, for when it lowers it."""
        STATE.log_captures.level = old = root.level
        if not root.handlers:  # Python's last resort stops once a handler exists
            fallback = logging.StreamHandler(sys.stderr)
            fallback.setLevel(logging.WARNING)  # as the last resort prints
            fallback.setFormatter(
                logging.Formatter("%(levelname)s %(name)s: %(message)s")
            )
            STATE.log_captures.fallback = fallback
            root.addHandler(fallback)
        for handler in root.handlers:
            if handler.level == logging.NOTSET:
                handler.setLevel(old)  # prints what it printed before
                STATE.log_captures.pinned.append(handler)

    def uninstall(self) -> None:
        """Remove the handler; the last capture restores the root (idempotent)."""
        root = logging.getLogger()
        with _ROOT_LOCK:
            if self not in STATE.log_captures.captures:
                return
            STATE.log_captures.captures.remove(self)
            root.removeHandler(self.handler)
            if STATE.log_captures.captures:
                root.setLevel(_lowest())
                return
            if STATE.log_captures.fallback is not None:
                root.removeHandler(STATE.log_captures.fallback)
            for handler in STATE.log_captures.pinned:
                handler.setLevel(logging.NOTSET)
            root.setLevel(STATE.log_captures.level)
            STATE.log_captures.pinned, STATE.log_captures.fallback = [], None


class RunLogger:
    """Logs a run's start and end (INFO) and each failed factory (ERROR, once).

    It is delivered inline (``pysetl_inline``), in the thread that emits the
    event, so the failure line carries the factory's run scope.
    """

    pysetl_inline = True

    def __init__(self, logger: logging.Logger | None = None) -> None:
        """Log on ``logger`` (default: ``pysetl.run``)."""
        self.logger = logger or logging.getLogger(RUN_LOGGER)

    @hook_impl
    def before_pipeline_run(self, *, run_id: str, pipeline_name: str) -> None:
        """Say that the run started."""
        self.logger.info(
            "run %s of pipeline %r started",
            run_id,
            pipeline_name,
            extra={"run_id": run_id, "pipeline": pipeline_name, "event": "run_started"},
        )

    @hook_impl
    def after_pipeline_run(
        self, *, run_id: str, pipeline_name: str, duration: float
    ) -> None:
        """Say that the run succeeded."""
        self.logger.info(
            "run %s of pipeline %r succeeded in %.2f s",
            run_id,
            pipeline_name,
            duration,
            extra={
                "run_id": run_id,
                "pipeline": pipeline_name,
                "event": "run_finished",
                "status": "succeeded",
            },
        )

    @hook_impl
    def on_pipeline_run_failed(
        self, *, run_id: str, pipeline_name: str, duration: float, error: Exception
    ) -> None:
        """Say that the run failed (the factory's line has the details)."""
        self.logger.info(
            "run %s of pipeline %r failed after %.2f s: %s",
            run_id,
            pipeline_name,
            duration,
            type(error).__name__,
            extra={
                "run_id": run_id,
                "pipeline": pipeline_name,
                "event": "run_finished",
                "status": "failed",
            },
        )

    @hook_impl
    def on_factory_run_failed(
        self,
        *,
        run_id: str,
        stage_id: int,
        factory_name: str,
        attempt: int,
        phase: str,
        error: Exception,
    ) -> None:
        """Log the failure once, at ERROR, with its context and hint."""
        fields: dict[str, Any] = {
            "run_id": run_id,
            "stage": stage_id,
            "factory": factory_name,
            "attempt": attempt,
            "phase": phase,
            "event": "factory_failed",
            "error_type": type(error).__name__,
        }
        hint = error.hint if isinstance(error, PySetlError) else None
        error_class = getattr(error, "error_class", None)
        if error_class:
            fields["error_class"] = error_class
        if hint:
            fields["hint"] = hint
        # A FactoryError's message names the factory, phase, stage and run.
        text = (
            error.message
            if isinstance(error, PySetlError)
            else (
                f"Factory {factory_name!r} failed in {phase!r}: "
                f"{type(error).__name__}: {error}"
            )
        )
        self.logger.error(
            "%s%s",
            text.split("\n", 1)[0],
            f" (hint: {hint})" if hint else "",
            extra=fields,
        )
