"""Structured logging: run context on every line, JSON or console, secrets masked.

pysetl logs through the standard ``logging`` module, so users' own
``logging`` calls inside factories and third-party loggers (Spark's Py4J,
SQLAlchemy...) are handled the same way. Three pieces do the work:

* ``ContextFilter`` adds the current run's ``run_id``, ``pipeline``,
  ``stage``, ``factory``, ``attempt`` and ``phase`` (bound by the engine, see
  ``pysetl.utils.run_scope``) to every record a handler sees;
* ``RedactFilter`` masks secrets in a record's message and traceback
  through the one redaction point (``pysetl.utils.redaction``);
* ``JsonFormatter`` writes one JSON object per line (production), in
  the versioned schema ``LOG_SCHEMA_VERSION`` (documented field by field in
  ``docs/logging.md``); ``ConsoleFormatter`` writes readable lines
  (development).

When an OpenTelemetry span is current (the factory's span of the
``OpenTelemetryExporter``, or a span of the user's own instrumentation),
JSON lines carry its ``trace_id`` and ``span_id``. This module never imports
OpenTelemetry: it asks it only once something else has loaded it, so
without it a line costs one dictionary lookup more.

Only an entry point (the ``pysetl`` command, your ``main``) configures
logging, with ``configure_logging`` or ``logging.config.dictConfig``:

```python
logging.config.dictConfig({
    "version": 1,
    "filters": {
        "context": {"()": "pysetl.logs.ContextFilter"},
        "redact": {"()": "pysetl.logs.RedactFilter"},
    },
    "formatters": {"json": {"()": "pysetl.logs.JsonFormatter"}},
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["context", "redact"],
        },
    },
    "root": {"level": "INFO", "handlers": ["stdout"]},
    "loggers": {"py4j": {"level": "WARNING"}},
})
```

Environment: ``PYSETL_LOG_FORMAT`` (``json``, ``console`` or ``auto``),
``PYSETL_LOG_LEVEL`` (``INFO``...) and ``PYSETL_DEBUG=1`` (debug mode: level
``DEBUG`` for pysetl and a tracer of every lifecycle step, see
``pysetl.workflow._debug``), read through ``pysetl.settings.settings``
like every process setting (so ``PYSETL_DEBUG=0`` is off, and a value that
is not a boolean is a ``ConfigError``). This module sits below every layer:
it imports neither pyspark nor any other pysetl layer but ``utils`` and
``settings``.

Changed in 0.4: the variables are parsed once, by ``pysetl.settings``.

Changed in 0.5: JSON lines carry ``schema_version``, ``trace_id`` and ``span_id``.

Added in 0.2.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import datetime, timezone
from typing import IO, TYPE_CHECKING, Any, Literal

from pysetl._state import STATE, LoggingState, undo_logging
from pysetl.settings import settings
from pysetl.utils.redaction import default_redactor
from pysetl.utils.run_scope import current_scope

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = [
    "CONTEXT_FIELDS",
    "DEBUG_ENV",
    "FORMAT_ENV",
    "LEVEL_ENV",
    "LOG_SCHEMA_VERSION",
    "TRACE_FIELDS",
    "ConsoleFormatter",
    "ContextFilter",
    "JsonFormatter",
    "LogFormat",
    "RedactFilter",
    "configure_logging",
    "debug_enabled",
    "reset_logging",
    "trace_ids",
]

LogFormat = Literal["json", "console", "auto"]

FORMAT_ENV = "PYSETL_LOG_FORMAT"
LEVEL_ENV = "PYSETL_LOG_LEVEL"
DEBUG_ENV = "PYSETL_DEBUG"

CONTEXT_FIELDS = ("run_id", "pipeline", "stage", "factory", "attempt", "phase")
"""The run context fields that ``ContextFilter`` adds to every record."""

TRACE_FIELDS = ("trace_id", "span_id")
"""The ids of the current OpenTelemetry span, as lowercase hex (32 and 16 digits)."""

LOG_SCHEMA_VERSION = 1
"""The version of the JSON line schema (``schema_version`` of every line).

It changes when a field is renamed or removed or changes type; a new field
does not change it. Added in 0.5.
"""

# Attributes of every LogRecord: what is not among them came from ``extra=``.
_STANDARD = frozenset(
    {
        *vars(logging.LogRecord("", 0, "", 0, "", None, None)),
        "message",
        "asctime",
        "taskName",
        *CONTEXT_FIELDS,
        *TRACE_FIELDS,
    }
)
_LEVEL_COLORS = {
    "DEBUG": "\x1b[2m",
    "INFO": "\x1b[32m",
    "WARNING": "\x1b[33m",
    "ERROR": "\x1b[31m",
    "CRITICAL": "\x1b[1;31m",
}
_RESET = "\x1b[0m"


def trace_ids() -> tuple[str, str] | None:
    """The trace and span ids of the current OpenTelemetry span, else ``None``.

    ``None`` too when OpenTelemetry is not loaded: it is never imported here.

    Added in 0.5.
    """
    trace = sys.modules.get("opentelemetry.trace")
    if trace is None:
        return None
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return f"{context.trace_id:032x}", f"{context.span_id:016x}"


class ContextFilter(logging.Filter):
    """Adds the current run's context (``CONTEXT_FIELDS``) to every record.

    Attach it to handlers (not loggers), so that records of every logger,
    users' and third parties' included, get it. Fields given explicitly with
    ``extra=`` win; outside a run the fields are ``None``. The ids of the
    current OpenTelemetry span (``TRACE_FIELDS``) are added too when one is
    current, so that a handler that formats later, on another thread, still
    has them.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Set the context fields on ``record``; never drops it."""
        scope = current_scope()
        fields = record.__dict__
        ids = trace_ids()
        if ids is not None:
            fields.setdefault("trace_id", ids[0])
            fields.setdefault("span_id", ids[1])
        if scope is None:
            for name in CONTEXT_FIELDS:
                fields.setdefault(name, None)
            return True
        fields.setdefault("run_id", scope.run_id)
        fields.setdefault("pipeline", scope.pipeline)
        fields.setdefault("stage", scope.stage)
        fields.setdefault("factory", scope.factory)
        fields.setdefault("attempt", scope.attempt)
        fields.setdefault("phase", scope.phase)
        return True


class RedactFilter(logging.Filter):
    """Masks secrets in a record's message, traceback and stack, in place.

    With it on a handler, any formatter (``logging.Formatter`` included)
    shows the record without secrets.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the record's secrets; never drops it."""
        redactor = default_redactor()
        message = record.getMessage()
        masked = redactor.redact_text(message)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redactor.redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redactor.redact_text(record.stack_info)
        return True


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    """The ``extra=`` key-values of a record, secrets masked by key and value."""
    extra = {k: v for k, v in vars(record).items() if k not in _STANDARD}
    return default_redactor().redact_mapping(extra) if extra else extra


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    return default_redactor().redact_text(repr(value))


class JsonFormatter(logging.Formatter):
    """One JSON object per line, secrets masked.

    Keys: ``ts`` (ISO 8601, UTC), ``level``, ``logger``, ``message``, the
    run context (``run_id``, ``pipeline``, ``stage``, ``factory``,
    ``attempt``, ``phase``; ``null`` outside a run), ``trace_id`` and
    ``span_id`` (``null`` when no OpenTelemetry span is current),
    ``schema_version``, ``exc_info`` and ``stack_info`` when present, then
    every ``extra=`` key-value. The schema is documented in ``docs/logging.md``.

    Changed in 0.5: ``trace_id``, ``span_id`` and ``schema_version``.
    """

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as one line of JSON."""
        redactor = default_redactor()
        scope = current_scope()
        ts = datetime.fromtimestamp(record.created, tz=timezone.utc)
        data: dict[str, Any] = {
            "ts": ts.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": redactor.redact_text(record.getMessage()),
        }
        fields = record.__dict__
        for name in CONTEXT_FIELDS:
            value = fields.get(name)
            if value is None and scope is not None:
                value = getattr(scope, name)
            data[name] = value
        trace_id, span_id = fields.get("trace_id"), fields.get("span_id")
        if trace_id is None:
            trace_id, span_id = trace_ids() or (None, None)
        data["trace_id"], data["span_id"] = trace_id, span_id
        data["schema_version"] = LOG_SCHEMA_VERSION
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            data["exc_info"] = redactor.redact_text(record.exc_text)
        if record.stack_info:
            data["stack_info"] = redactor.redact_text(record.stack_info)
        for key, value in _extras(record).items():
            data.setdefault(key, _jsonable(value))
        return json.dumps(data, default=str, ensure_ascii=False)


class ConsoleFormatter(logging.Formatter):
    """Readable lines: time, level, logger, message, context, key=values.

    ``12:00:01.123 INFO     shop.clean  cleaned  run=01J... factory=Clean rows=3``

    Args:
        colors: Color the level with ANSI codes.
        show_time: Start with the time (off under a handler that shows it).
        show_level: Show the level (off under a handler that shows it).
    """

    def __init__(
        self,
        *,
        colors: bool = False,
        show_time: bool = True,
        show_level: bool = True,
    ) -> None:
        """Create the formatter."""
        super().__init__()
        self.colors = colors
        self.show_time = show_time
        self.show_level = show_level

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as one readable line (plus its traceback)."""
        redactor = default_redactor()
        parts: list[str] = []
        if self.show_time:
            clock = time.strftime("%H:%M:%S", time.localtime(record.created))
            parts.append(f"{clock}.{int(record.msecs):03d}")
        if self.show_level:
            level = f"{record.levelname:<8}"
            if self.colors:
                level = f"{_LEVEL_COLORS.get(record.levelname, '')}{level}{_RESET}"
            parts.append(level)
        parts.append(f"{record.name} ")
        parts.append(redactor.redact_text(record.getMessage()))
        scope = current_scope()
        fields = record.__dict__
        context = []
        for name in CONTEXT_FIELDS:
            value = fields.get(name)
            if value is None and scope is not None:
                value = getattr(scope, name)
            if value is not None:
                context.append(f"{'run' if name == 'run_id' else name}={value}")
        extras = [
            f"{key}={redactor.redact_text(str(value))}"
            for key, value in _extras(record).items()
        ]
        line = " ".join(parts + context + extras)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line = f"{line}\n{redactor.redact_text(record.exc_text)}"
        if record.stack_info:
            line = f"{line}\n{redactor.redact_text(record.stack_info)}"
        return line


# ------------------------------------------------------------ configuration
# The only process-wide logging state (``STATE.logging``): the handlers
# configure_logging installed on the root logger, the levels it replaced, and
# whether debug mode was switched on.


def debug_enabled() -> bool:
    """Whether debug mode is on (``PYSETL_DEBUG=1`` or ``configure_logging``).

    Raises:
        ConfigError: ``PYSETL_DEBUG`` is not a boolean.
    """
    return STATE.logging.debug or settings().debug


def _resolve_format(fmt: str | None, stream: IO[str]) -> str:
    chosen = (fmt or settings().log_format or "auto").strip().lower()
    if chosen not in {"json", "console", "auto"}:
        where = "" if fmt else f" (from {FORMAT_ENV})"
        msg = (
            f"Unknown log format {chosen!r}{where}; "
            "expected 'json', 'console' or 'auto'"
        )
        raise ValueError(msg)
    if chosen == "auto":
        isatty = getattr(stream, "isatty", None)
        return "console" if callable(isatty) and isatty() else "json"
    return chosen


def _level(level: str | int, where: str = "") -> int:
    if isinstance(level, int):
        return level
    number = logging.getLevelName(level.strip().upper())
    if not isinstance(number, int):
        msg = (
            f"Unknown log level {level!r}{where}; expected DEBUG, INFO, WARNING, ERROR"
        )
        raise ValueError(msg)  # noqa: TRY004 - a bad value, not a bad type
    return number


def _console_handler(stream: IO[str], *, colors: bool) -> logging.Handler:
    try:
        from rich.console import Console  # noqa: PLC0415 - optional: the cli extra
        from rich.logging import RichHandler  # noqa: PLC0415
    except ImportError:  # pragma: no cover - exercised without the cli extra
        handler: logging.Handler = logging.StreamHandler(stream)
        handler.setFormatter(ConsoleFormatter(colors=colors))
        return handler
    console = Console(file=stream, force_terminal=colors or None, highlight=False)
    handler = RichHandler(
        console=console,
        show_path=False,
        markup=False,
        rich_tracebacks=False,  # rich's tracebacks would bypass the redaction
        log_time_format="%H:%M:%S",
    )
    handler.setFormatter(ConsoleFormatter(show_time=False, show_level=False))
    return handler


def configure_logging(
    format: LogFormat | None = None,  # noqa: A002 - the natural name
    level: str | int | None = None,
    *,
    levels: Mapping[str, str | int] | None = None,
    handlers: Iterable[logging.Handler] = (),
    debug: bool | None = None,
    stream: IO[str] | None = None,
) -> list[logging.Handler]:
    """Configure the root logger for a pysetl run (entry points only).

    Replaces the handlers a previous call installed (never anybody else's),
    so calling it twice is safe.

    Args:
        format: ``json``, ``console`` or ``auto``; default: ``PYSETL_LOG_FORMAT``,
            else ``auto`` (console on a terminal, JSON otherwise).
        level: The root level; default: ``PYSETL_LOG_LEVEL``, else ``DEBUG``
            in debug mode and ``INFO`` otherwise.
        levels: Levels per logger name (``{"py4j": "WARNING"}``).
        handlers: More handlers (a ``HistoryLogHandler``...); they get the
            context and redaction filters too.
        debug: Debug mode; default: ``PYSETL_DEBUG``. It sets the ``pysetl``
            loggers to ``DEBUG`` and makes new default hook managers trace
            every lifecycle step. Py4J stays at ``INFO`` unless ``levels``
            says otherwise (its debug lines are every JVM call).
        stream: Where the main handler writes; default: ``sys.stderr``.

    Returns:
        The handlers installed on the root logger.

    Raises:
        ValueError: Unknown format or level (a ``ConfigError``, also a
            ``ValueError``, when a ``PYSETL_*`` variable holds a bad value).
    """
    out = stream if stream is not None else sys.stderr
    chosen = _resolve_format(format, out)
    on = debug_enabled() if debug is None else debug
    default = "DEBUG" if on else "INFO"
    from_env = settings().log_level if not level else None
    where = f" (from {LEVEL_ENV})" if from_env else ""
    root_level = _level(level or from_env or default, where)
    wanted = {"py4j": logging.INFO, "pysetl": logging.DEBUG} if on else {}
    wanted |= {name: _level(value) for name, value in (levels or {}).items()}

    reset_logging()
    if chosen == "json":
        main: logging.Handler = logging.StreamHandler(out)
        main.setFormatter(JsonFormatter())
    else:
        isatty = getattr(out, "isatty", None)
        main = _console_handler(out, colors=callable(isatty) and bool(isatty()))
    installed = [main, *handlers]
    root = logging.getLogger()
    for handler in installed:
        handler.addFilter(ContextFilter())
        handler.addFilter(RedactFilter())
        root.addHandler(handler)
    # The root's level is restored with the others ("" names the root).
    previous = {"": root.level}
    root.setLevel(root_level)
    for name, value in wanted.items():
        logger = logging.getLogger(name)
        previous.setdefault(name, logger.level)
        logger.setLevel(value)
    STATE.logging = LoggingState(handlers=installed, debug=on, levels=previous)
    return installed


def reset_logging() -> None:
    """Undo ``configure_logging``: remove its handlers, restore levels."""
    undo_logging(STATE)
