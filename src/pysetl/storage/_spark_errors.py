"""Turning Spark and Py4J exceptions into short, secret-free text and details.

Connectors wrap foreign errors once, at their boundary; this module gives
them the text to classify the error by and the one line to put in the
message. Spark 4 hides the driver's own message behind an error class
(``FAILED_JDBC.CONNECTION``), so the Java cause chain is walked as well.
:func:`spark_error_details` finds Spark's error class and message parameters
in an exception, its Python causes or its Java cause chain (the workflow uses
it to enrich a failing factory's error). Nothing here imports pyspark.
"""

from __future__ import annotations

from typing import Any

from pysetl.utils.redaction import default_redactor

__all__ = ["describe_exception", "full_text", "spark_error_details"]

_MAX = 400
_MAX_DEPTH = 10


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
    chain = _java_chain(exc)
    line = _first_line(str(exc)) or type(exc).__name__
    if chain:
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
