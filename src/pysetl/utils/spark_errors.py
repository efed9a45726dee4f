"""Turning Spark and Py4J exceptions into short, secret-free text and details.

Connectors wrap foreign errors once, at their boundary; this module gives
them the text to classify the error by and the one line to put in the
message. Spark 4 hides the driver's own message behind an error class
(``FAILED_JDBC.CONNECTION``), so the Java cause chain is walked as well.
``spark_error_details`` finds Spark's error class and message parameters
in an exception, its Python causes or its Java cause chain (the workflow uses
it to enrich a failing factory's error). ``malformed_record`` finds the
record a FAILFAST read of a CSV (or JSON) file could not parse, and the file.
Nothing here imports pyspark.

It sits in ``utils`` because two independent layers use it: ``storage``
(connectors) and ``workflow`` (a failing factory's error context).

Changed in 0.7: moved from ``pysetl.storage._spark_errors``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pysetl.utils.redaction import default_redactor

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "MalformedRecord",
    "describe_exception",
    "full_text",
    "malformed_record",
    "spark_error_details",
]

_MAX = 400
_MAX_DEPTH = 10
_MAX_RECORD = 200
# Spark's error classes of a record it cannot parse: the raw record
# (MALFORMED_CSV_RECORD, a line with too many or too few fields) is preferred
# to the partly parsed row (MALFORMED_RECORD_IN_PARSING, a field of the
# wrong type: ``[null,Alan]``).
_RECORD_CLASSES = ("MALFORMED_CSV_RECORD", "MALFORMED_RECORD_IN_PARSING")
_FILE_CLASS = "FAILED_READ_FILE"


def _java_chain(exc: BaseException) -> list[str]:
    java: Any = getattr(exc, "java_exception", None) or getattr(exc, "_origin", None)
    lines: list[str] = []
    try:
        while java is not None and len(lines) < _MAX_DEPTH:
            lines.append(str(java.toString()))
            java = java.getCause()
    except Exception:  # noqa: BLE001, S110 # pragma: no cover - a dead JVM must not hide the original error
        pass
    return lines


def _first_line(text: str) -> str:
    return next((ln.strip() for ln in text.splitlines() if ln.strip()), "")


def full_text(exc: BaseException) -> str:
    """Everything the exception says, Java causes included (for classifying it)."""
    return "\n".join([str(exc), *_java_chain(exc)])


def _shown(text: str, limit: int) -> str:
    """``text`` on one line, redacted, at most ``limit`` characters."""
    line = default_redactor().redact_text(
        text.replace("\r", "\\r").replace("\n", "\\n")
    )
    return line if len(line) <= limit else f"{line[: limit - 3]}..."


def describe_exception(exc: BaseException, secrets: tuple[str, ...] = ()) -> str:
    """One line saying what went wrong, shortened, with ``secrets`` masked.

    It is the first line of the exception, followed by the innermost Java
    cause when there is one (that is where the driver says *why*).

    Args:
        exc: A Spark, Py4J or Python exception.
        secrets: Values that must not appear in the result.

    Returns:
        One line, at most a few hundred characters.
    """
    record = malformed_record(exc)
    chain = _java_chain(exc)
    line = _first_line(str(exc)) or type(exc).__name__
    if record is not None:  # Py4J's first line names a method call: say what failed
        line = record.describe()
    elif chain:
        cause = _first_line(chain[-1])
        if cause and cause not in line:
            line = f"{line} (cause: {cause})"
    for secret in secrets:
        if secret:
            line = line.replace(secret, "**********")
    line = default_redactor().redact_text(line)
    return line if len(line) <= _MAX else f"{line[: _MAX - 3]}..."


def _call(error: Any, method: str) -> Any:
    """``error.method()``, or ``None`` if it has no such method (or the JVM died)."""
    getter = getattr(error, method, None)
    if not callable(getter):
        return None
    try:
        return getter()
    except Exception:  # noqa: BLE001 - a Java object without the method, a dead JVM
        return None


def _condition(error: Any) -> tuple[str | None, dict[str, str]]:
    """The error class and parameters of one Python or Java Spark exception."""
    # getCondition is Spark 4's name; getErrorClass, Spark 3.5's, warns in
    # Python on Spark 4, so it is only asked of Java objects and of Spark 3.5.
    error_class = _call(error, "getCondition")
    if not error_class and not hasattr(type(error), "getCondition"):
        error_class = _call(error, "getErrorClass")
    if not error_class:
        return None, {}
    raw = _call(error, "getMessageParameters")
    params = {str(k): str(v) for k, v in dict(raw or {}).items()}
    return str(error_class), params


def spark_error_details(exc: BaseException) -> tuple[str | None, dict[str, str]]:
    """Spark's error class and message parameters found in ``exc``, if any.

    Looks at ``exc`` itself (a ``PySparkException``, or a pysetl
    ``SparkError`` with ``error_class``), its Python causes, and the Java
    cause chain of Py4J errors, and returns the first error class found.

    Args:
        exc: Any exception.

    Returns:
        ``(error_class, message_parameters)``, or ``(None, {})``.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(seen) < _MAX_DEPTH:
        seen.add(id(current))
        error_class = getattr(current, "error_class", None)
        if isinstance(error_class, str) and error_class:
            params = getattr(current, "message_parameters", None) or {}
            return error_class, {str(k): str(v) for k, v in dict(params).items()}
        found, params = _condition(current)
        if found:
            return found, params
        java: Any = getattr(current, "java_exception", None)
        depth = 0
        try:
            while java is not None and depth < _MAX_DEPTH:
                found, params = _condition(java)
                if found:
                    return found, params
                java, depth = java.getCause(), depth + 1
        except Exception:  # noqa: BLE001, S110 # pragma: no cover - a dead JVM must not hide the original error
            pass
        current = current.__cause__ or current.__context__
    return None, {}


@dataclass(frozen=True, slots=True)
class MalformedRecord:
    """A record Spark could not parse, as its error gives it: redacted, shortened.

    Attributes:
        record: The record (the raw line, or the partly parsed row), on one line.
        path: The file Spark was reading, when it says.
        reason: The innermost cause (``NumberFormatException: For input
            string: "x"``), when there is one beyond Spark's own error.
        error_class: Spark's error class for the record.
    """

    record: str
    path: str | None
    reason: str | None
    error_class: str

    def describe(self) -> str:
        """``malformed record in <file>: <record> (<reason>)``."""
        where = f" in {self.path}" if self.path else ""
        why = f" ({self.reason})" if self.reason else ""
        return f"malformed record{where}: {self.record}{why}"


def _errors(exc: BaseException) -> Iterator[Any]:
    """``exc``, its Python causes, and the Java cause chain of each, in order."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(seen) < _MAX_DEPTH:
        seen.add(id(current))
        yield current
        java: Any = getattr(current, "java_exception", None)
        depth = 0
        try:
            while java is not None and depth < _MAX_DEPTH:
                yield java
                java, depth = java.getCause(), depth + 1
        except Exception:  # noqa: BLE001, S110 # pragma: no cover - a dead JVM must not hide the original error
            pass
        current = current.__cause__ or current.__context__


def _is_java(error: Any) -> bool:
    """Whether ``error`` is a Java object seen through Py4J (not a Python error)."""
    return not isinstance(error, BaseException)


def malformed_record(exc: BaseException) -> MalformedRecord | None:
    """The record a read could not parse, if ``exc`` comes from one.

    Spark's FAILFAST mode fails a read on the first record it cannot parse
    and names it (``MALFORMED_CSV_RECORD``, ``MALFORMED_RECORD_IN_PARSING``),
    along with the file (``FAILED_READ_FILE``); Spark gives no line number.
    The error surfaces in the action that reads the data (a ``count()``, a
    write), anywhere in the Python or Java cause chain.

    Args:
        exc: Any exception.

    Returns:
        The record, the file and the reason, redacted; ``None`` when no
        malformed record is named.
    """
    found: dict[str, str] = {}
    path: str | None = None
    last: Any = None
    for error in _errors(exc):
        error_class, params = _condition(error)
        if error_class is None:
            last = error
            continue
        last = None
        if error_class.startswith(_FILE_CLASS):
            path = path or params.get("path")
        for wanted in _RECORD_CLASSES:
            if error_class.startswith(wanted) and "badRecord" in params:
                found.setdefault(wanted, params["badRecord"])
    chosen = next((c for c in _RECORD_CLASSES if c in found), None)
    if chosen is None:
        return None
    reason = None
    if last is not None and _is_java(last):  # the Java cause beyond Spark's errors
        reason = _shown(_first_line(str(last.toString())), _MAX_RECORD)
    return MalformedRecord(
        record=_shown(found[chosen], _MAX_RECORD),
        path=_shown(path, _MAX_RECORD) if path else None,
        reason=reason,
        error_class=chosen,
    )
