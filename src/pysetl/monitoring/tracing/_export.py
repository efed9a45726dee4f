"""Exports that cannot hold a run up: bounded in time, reported once, then dropped.

The OpenTelemetry batch processors call their exporter on their own thread,
never on the run's. ``ExportGuard`` wraps each export of one signal (traces or
logs) and adds what a platform needs from an observer:

* a failed export (a closed port, a server that never answers, a 401) is
  reported once, as one warning naming the endpoint (secrets masked); the
  OpenTelemetry exporter's own per-batch warnings and errors about it are
  held back while the guard's export runs, and the first of them becomes the
  reason the warning gives;
* once ``closing(deadline)`` is called (by ``close()``), a batch is dropped
  without being sent when the endpoint is failing or the deadline has
  passed, so the last flush costs at most one export's timeout after the
  deadline; and an export that fails then, or that failed before and waits
  to try again, is not retried: the exporter's wait before its next try
  (1 s, then 2 s...) is cut short by shutting the wrapped exporter down
  (``stop_retries``), as the SDK's own shutdown does;
* counts: ``exported``, ``dropped`` (items) and ``failed_exports`` (batches).

Added in 0.5.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from pysetl.utils.redaction import redact_text

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from opentelemetry.sdk._logs import ReadableLogRecord
    from opentelemetry.sdk.trace import ReadableSpan

__all__ = ["ExportGuard", "GuardedLogExporter", "GuardedSpanExporter"]

_LOGGER = logging.getLogger("pysetl.monitoring.tracing")

# Where the OTLP/HTTP exporters log a failed batch (each batch, each retry).
_EXPORTER_LOGGERS = (
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.exporter.otlp.proto.http._log_exporter",
    "opentelemetry.exporter.otlp.common.http",
)


class _HoldBack(logging.Filter):
    """Drops the exporters' records logged inside the guard's own export call."""

    def __init__(self, local: threading.local, on_trouble: Callable[[], None]) -> None:
        super().__init__()
        self.local = local
        self.on_trouble = on_trouble

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(self.local, "active", False):
            return True  # another exporter of the process: not ours to quiet
        if getattr(self.local, "reason", None) is None:
            self.local.reason = record.getMessage()
        self.on_trouble()  # logged from inside the export: it is failing
        return False


class ExportGuard:
    """Times, counts and reports the exports of one signal.

    Args:
        signal: ``spans`` or ``log records`` (used in the warning).
        where: The endpoint, for the warning (secrets are masked).

    Attributes:
        exported: Items exported.
        dropped: Items not exported (failed batches, or dropped at close).
        failed_exports: Batches that failed.
        reported: Whether the one warning about failed exports was logged.
    """

    def __init__(self, signal: str, where: str) -> None:
        """Create the guard and hold back the exporters' own failure logs."""
        self.signal = signal
        self.where = redact_text(where)
        self.exported = 0
        self.dropped = 0
        self.failed_exports = 0
        self.reported = False
        self._failing = False
        self._troubled = False  # the export under way logged a failure
        self._deadline: float | None = None
        self._local = threading.local()
        self._filter = _HoldBack(self._local, self._trouble)
        self._stop: Callable[[], None] | None = None
        self._stopped = False
        for name in _EXPORTER_LOGGERS:
            logging.getLogger(name).addFilter(self._filter)

    def closing(self, deadline: float) -> None:
        """From now on, drop batches when failing or after ``deadline`` (monotonic).

        An export failing now, or from now on, is not retried (see
        ``stop_retries``).
        """
        self._deadline = deadline
        if self._failing or self._troubled:
            # failing, or an export under way failed and waits to try again
            self._stop_retries()

    def stop_retries(self, stop: Callable[[], None]) -> None:
        """Call ``stop()`` (once) to end the exporter's retries while closing."""
        self._stop = stop

    def _trouble(self) -> None:
        """The exporter logged a failure inside an export (a retry may follow)."""
        self._troubled = True
        if self._deadline is not None:
            self._stop_retries()

    def _stop_retries(self) -> None:
        if self._stop is None or self._stopped:
            return
        self._stopped = True
        try:
            self._stop()
        except Exception:  # noqa: BLE001 - closing goes on regardless
            _LOGGER.debug("pysetl: stopping the %s exporter failed", self.signal)

    def export(self, send: Callable[[], bool], count: int) -> bool:
        """Run ``send`` (one batch of ``count`` items); whether it succeeded."""
        deadline = self._deadline
        if deadline is not None and (self._failing or time.monotonic() >= deadline):
            self.dropped += count
            return False
        self._local.active, self._local.reason = True, None
        try:
            sent = send()
        except Exception as exc:  # noqa: BLE001 - an exporter never fails the run
            sent = False
            self._local.reason = f"{type(exc).__name__}: {exc}"
        finally:
            self._local.active = False
            self._troubled = False
        if sent:
            self.exported += count
            self._failing = False
            return True
        self.failed_exports += 1
        self.dropped += count
        self._failing = True
        if not self.reported:
            self.reported = True
            reason = redact_text(str(self._local.reason or "no reason given"))
            _LOGGER.warning(
                "pysetl cannot export %s to %s (%s); the run goes on, and %s are "
                "dropped while it fails (reported once)",
                self.signal,
                self.where,
                reason,
                self.signal,
            )
        return False

    def release(self) -> None:
        """Stop holding back the exporters' logs (at close)."""
        for name in _EXPORTER_LOGGERS:
            logging.getLogger(name).removeFilter(self._filter)


class _Wrapping:
    """What the guarded exporters share: the wrapped one, its guard, shutdown once.

    The guard may shut the wrapped exporter down early (``stop_retries``);
    the SDK's own shutdown later does nothing more.
    """

    def __init__(self, inner: Any, guard: ExportGuard) -> None:
        """Wrap ``inner``; the guard may shut it down early (``stop_retries``)."""
        self.inner = inner
        self.guard = guard
        self._shut = False
        guard.stop_retries(self.shutdown)

    def shutdown(self) -> None:
        """Shut the wrapped exporter down (once)."""
        if not self._shut:
            self._shut = True
            self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Flush the wrapped exporter."""
        return bool(self.inner.force_flush(timeout_millis))


class GuardedSpanExporter(_Wrapping, SpanExporter):
    """A span exporter whose exports go through an ``ExportGuard``."""

    inner: SpanExporter

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Export one batch of spans through the guard."""
        sent = self.guard.export(
            lambda: self.inner.export(spans) is SpanExportResult.SUCCESS, len(spans)
        )
        return SpanExportResult.SUCCESS if sent else SpanExportResult.FAILURE


class GuardedLogExporter(_Wrapping, LogRecordExporter):
    """A log record exporter whose exports go through an ``ExportGuard``."""

    inner: LogRecordExporter

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        """Export one batch of log records through the guard."""
        sent = self.guard.export(
            lambda: self.inner.export(batch) is LogRecordExportResult.SUCCESS,
            len(batch),
        )
        return LogRecordExportResult.SUCCESS if sent else LogRecordExportResult.FAILURE
