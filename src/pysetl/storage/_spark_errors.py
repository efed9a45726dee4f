"""Turning Spark and Py4J exceptions into short, secret-free text.

Connectors wrap foreign errors once, at their boundary; this module gives
them the text to classify the error by and the one line to put in the
message. Spark 4 hides the driver's own message behind an error class
(``FAILED_JDBC.CONNECTION``), so the Java cause chain is walked as well.
"""

from __future__ import annotations

from typing import Any

__all__ = ["describe_exception", "full_text"]

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
    return line if len(line) <= _MAX else f"{line[: _MAX - 3]}..."
