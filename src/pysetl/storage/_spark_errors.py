"""Turning Spark and Py4J exceptions into short, secret-free text.

Connectors wrap foreign errors once, at their boundary; this module gives
them the one-line description to put in the message.
"""

from __future__ import annotations

__all__ = ["describe_exception", "full_text"]

_MAX = 400


def full_text(exc: BaseException) -> str:
    """Everything the exception says, Java causes included (for classifying it)."""
    java = getattr(exc, "java_exception", None)
    parts = [str(exc)]
    if java is not None:
        parts.append(str(java.toString()))
    return "\n".join(parts)


def describe_exception(exc: BaseException, secrets: tuple[str, ...] = ()) -> str:
    """The first meaningful line of ``exc``, shortened, with ``secrets`` masked.

    Args:
        exc: A Spark, Py4J or Python exception.
        secrets: Values that must not appear in the result.

    Returns:
        One line, at most a few hundred characters.
    """
    java = getattr(exc, "java_exception", None)
    text = str(java.toString()) if java is not None else str(exc)
    line = next(
        (ln.strip() for ln in text.splitlines() if ln.strip()), type(exc).__name__
    )
    for secret in secrets:
        if secret:
            line = line.replace(secret, "**********")
    return line if len(line) <= _MAX else f"{line[: _MAX - 3]}..."
