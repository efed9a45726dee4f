"""``HistoryLogHandler``: log lines into the run history, through a recorder.

Added in 0.2.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from pysetl.monitoring.history.ops import AddLog
from pysetl.utils.run_scope import current_scope
from pysetl.utils.writer import on_writer_thread

if TYPE_CHECKING:
    from pysetl.monitoring.history._recorder import HistoryRecorder

__all__ = ["HistoryLogHandler"]


class HistoryLogHandler(logging.Handler):
    """A logging handler that stores log lines in the run history.

    The run and factory of a line come from the record's ``run_id`` and
    ``factory`` attributes (``logs.ContextFilter``, or
    ``logger.info(..., extra={"run_id": ...})``), else from the run scope of
    the thread that logged (a factory's own thread), else from the one run
    the recorder sees running.

    Args:
        recorder: The recorder whose writer thread stores the lines.
        level: The lowest level stored.
    """

    def __init__(self, recorder: HistoryRecorder, level: int = logging.INFO) -> None:
        """Attach the handler to ``recorder``."""
        super().__init__(level)
        self.recorder = recorder

    def handle(self, record: logging.LogRecord) -> bool:
        """Filter and emit ``record`` without the handler's lock.

        ``emit`` only queues (``BackgroundWriter.put`` is thread-safe), so
        the lock ``logging.Handler.handle`` takes around it for every record
        would guard nothing.
        """
        passed: object = self.filter(record)  # a LogRecord from 3.12 on
        if isinstance(passed, logging.LogRecord):  # a filter may return a copy
            record = passed
        if passed:
            self.emit(record)
        return bool(passed)

    def emit(self, record: logging.LogRecord) -> None:
        """Queue the record as a log line (formatting errors are handled).

        Records logged on the observers' writer thread (a failing store, a
        slow observer) are not stored: the recorder's own trouble must
        never feed back into it.
        """
        if on_writer_thread():
            return
        try:
            if self.formatter is None and not (record.exc_info or record.stack_info):
                message = record.getMessage()  # what the default format gives
            else:
                message = self.format(record)
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)
            return
        # The record's own context (set by ``logs.ContextFilter`` or
        # ``extra=``) first; else the run scope of the thread that logged,
        # so lines carry their run and factory without configure_logging().
        scope = current_scope()
        run_id = (
            getattr(record, "run_id", None)
            or (scope.run_id if scope is not None else None)
            or self.recorder.current_run()
        )
        factory = getattr(record, "factory", None) or (
            scope.factory if scope is not None else None
        )
        self.recorder.submit(
            AddLog(
                record.created, record.levelname, message, run_id, factory, record.name
            )
        )
