"""``OtlpLogHandler``: log records shipped over OTLP, with run context and trace ids.

A ``logging.Handler`` that turns each record into an OpenTelemetry log
record of the exporter's ``LoggerProvider``: the body is the message and the
attributes are the fields of the JSON log schema (``run_id``, ``pipeline``,
``stage``, ``factory``, ``attempt``, ``phase``, the ``extra=`` key-values,
``exception.*``), all passed through the one redaction point first. The
current span (the factory's, in a factory) gives the record its trace and
span ids. Records of OpenTelemetry's own loggers are never shipped (an
export failure would otherwise feed itself).

Added in 0.5.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry._logs import SeverityNumber

from pysetl.logs import CONTEXT_FIELDS, ContextFilter, RedactFilter
from pysetl.utils.redaction import default_redactor

if TYPE_CHECKING:
    from opentelemetry.sdk._logs import LoggerProvider

__all__ = ["OtlpLogHandler"]

_SEVERITY = (
    (logging.CRITICAL, SeverityNumber.FATAL),
    (logging.ERROR, SeverityNumber.ERROR),
    (logging.WARNING, SeverityNumber.WARN),
    (logging.INFO, SeverityNumber.INFO),
    (logging.DEBUG, SeverityNumber.DEBUG),
)
_TEXT = {"WARNING": "WARN", "CRITICAL": "FATAL"}
_STANDARD = frozenset(
    {
        *vars(logging.LogRecord("", 0, "", 0, "", None, None)),
        "message",
        "asctime",
        "taskName",
        "trace_id",
        "span_id",
        *CONTEXT_FIELDS,
    }
)


def _severity(levelno: int) -> SeverityNumber:
    for floor, number in _SEVERITY:
        if levelno >= floor:
            return number
    return SeverityNumber.TRACE


def _attribute(value: Any) -> Any:
    if isinstance(value, bool | int | float | str):
        return value
    return default_redactor().redact_text(repr(value))


class OtlpLogHandler(logging.Handler):
    """Ships each record to ``provider`` (secrets masked, run context attached).

    Args:
        provider: The exporter's ``LoggerProvider``.
        level: The lowest level shipped.
    """

    def __init__(self, provider: LoggerProvider, level: int = logging.INFO) -> None:
        """Create the handler with the context and redaction filters."""
        super().__init__(level)
        self.provider = provider
        self.addFilter(ContextFilter())
        self.addFilter(RedactFilter())

    def emit(self, record: logging.LogRecord) -> None:
        """Translate ``record`` and hand it to the provider's batch processor."""
        if record.name.startswith("opentelemetry"):
            return
        try:
            redactor = default_redactor()
            fields = vars(record)
            attributes: dict[str, Any] = {
                name: fields[name]
                for name in CONTEXT_FIELDS
                if fields.get(name) is not None
            }
            extra = {k: v for k, v in fields.items() if k not in _STANDARD}
            for key, value in redactor.redact_mapping(extra).items():
                attributes.setdefault(key, _attribute(value))
            attributes["code.function.name"] = record.funcName
            attributes["code.line.number"] = record.lineno
            if record.exc_info and record.exc_info[0] is not None:
                error = record.exc_info[1]
                attributes["exception.type"] = record.exc_info[0].__name__
                attributes["exception.message"] = redactor.redact_text(str(error))
            if record.exc_text:  # formatted and masked by RedactFilter
                attributes["exception.stacktrace"] = record.exc_text
            self.provider.get_logger(record.name).emit(
                timestamp=int(record.created * 1e9),
                context=otel_context.get_current(),
                severity_number=_severity(record.levelno),
                severity_text=_TEXT.get(record.levelname, record.levelname),
                body=redactor.redact_text(record.getMessage()),
                attributes=attributes,
            )
        except Exception:  # noqa: BLE001 - a log line never fails the run
            self.handleError(record)
