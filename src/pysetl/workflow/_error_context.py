"""What a failing factory's error says beyond "it failed": Spark details and a hint.

``explain(exc, factory, phase)`` returns Spark's error class and message
parameters (for Spark and Py4J errors, through
``pysetl.utils.spark_errors.spark_error_details``) and a hint, when
one is known:

* ``UNRESOLVED_COLUMN.*``: the missing column, the columns Spark proposes,
  and which of the factory's input DataFrames has them;
* a missing path (``PATH_NOT_FOUND``, ``FileNotFoundError``): the path;
* a record a FAILFAST read cannot parse (``FAILED_READ_FILE``,
  ``MALFORMED_*``): the file and the record, redacted;
* ``KeyError``: the missing key and the keys of the factory's mapping
  inputs that look like it;
* ``AttributeError``: the missing attribute and the closest names
  (columns of a DataFrame, attributes of an object).

How to add a hint: add a function to ``_HINTS`` (Python exceptions) or to
``_SPARK_HINTS`` (Spark error class prefixes). A hint names objects, never
values (it goes through the redaction point anyway).

Added in 0.2.
"""

from __future__ import annotations

import difflib
import re
import sys
from typing import TYPE_CHECKING, Any

from pysetl.utils.spark_errors import malformed_record, spark_error_details

if TYPE_CHECKING:
    from collections.abc import Callable

    from pysetl.workflow.factory import Factory

__all__ = ["explain"]

_QUOTED = re.compile(r"`([^`]*)`")
_MAX_SHOWN = 20


def _names(text: str) -> list[str]:
    """The backquoted names of a Spark parameter (```a`, `b```), unqualified."""
    found = _QUOTED.findall(text)
    return found or [part.strip() for part in text.split(",") if part.strip()]


def _shown(names: list[str]) -> str:
    more = len(names) - _MAX_SHOWN
    text = ", ".join(names[:_MAX_SHOWN])
    return f"{text} (and {more} more)" if more > 0 else text


def _inputs(factory: Factory[Any] | None) -> dict[str, Any]:
    """The factory's delivered inputs, by delivery name."""
    if factory is None:
        return {}
    found: dict[str, Any] = {}
    for name, _ in type(factory).declared_deliveries():
        delivery = factory.__dict__.get(name) or getattr(factory, name, None)
        try:
            found[name] = delivery.get()  # type: ignore[union-attr]
        except Exception:  # noqa: BLE001, S112 - not delivered
            continue
    return found


def _columns(value: Any) -> list[str] | None:
    columns = getattr(value, "columns", None) if hasattr(value, "schema") else None
    if isinstance(columns, list):
        return [str(c) for c in columns]
    return None


def _unresolved_column(
    params: dict[str, str], factory: Factory[Any] | None, phase: str
) -> str:
    missing = _names(params.get("objectName", "?"))
    proposal = _names(params.get("proposal", ""))
    where = f"{type(factory).__name__}.{phase}()" if factory is not None else phase
    hint = f"column {', '.join(missing)} does not exist in a DataFrame of {where}"
    if proposal:
        hint += f"; available columns: {_shown(proposal)}"
    wanted = {p.split(".")[-1] for p in proposal}
    frames = [
        name
        for name, value in _inputs(factory).items()
        if (cols := _columns(value)) is not None and wanted <= set(cols)
    ]
    if frames:
        hint += f" (the columns of input {', '.join(map(repr, frames))})"
    return hint


def _path_not_found(
    params: dict[str, str], _factory: Factory[Any] | None, _phase: str
) -> str:
    path = params.get("path", "?")
    return f"the path {path} does not exist: check the connector's path and mount"


# Spark's error classes of a read that met a record it cannot parse.
_READ_FAILURES = ("FAILED_READ_FILE", "MALFORMED_")


def _malformed(
    exc: BaseException, factory: Factory[Any] | None, phase: str
) -> str | None:
    """The file and record a read could not parse, when Spark names them."""
    record = malformed_record(exc)
    if record is None:
        return None
    return (
        f"{_where(factory, phase)} read a {record.describe()}: fix that record, or "
        "read it with mode='PERMISSIVE' (fields that do not parse become null) or "
        "mode='DROPMALFORMED' (the record is skipped) in the source's config"
    )


_SPARK_HINTS: tuple[
    tuple[str, Callable[[dict[str, str], Factory[Any] | None, str], str]], ...
] = (
    ("UNRESOLVED_COLUMN", _unresolved_column),
    ("PATH_NOT_FOUND", _path_not_found),
)


def _key_error(exc: BaseException, factory: Factory[Any] | None, phase: str) -> str:
    key = exc.args[0] if exc.args else "?"
    hint = f"key {key!r} is missing from a mapping in {_where(factory, phase)}"
    close: list[str] = []
    for name, value in _inputs(factory).items():
        if isinstance(value, dict):
            keys = [str(k) for k in value]
            matches = difflib.get_close_matches(str(key), keys, n=3)
            close.extend(f"{name}[{m!r}]" for m in matches)
    if close:
        hint += f"; did you mean {', '.join(close)}?"
    else:
        hint += "; use .get() or check the producer's output"
    return hint


def _attribute_error(
    exc: BaseException, factory: Factory[Any] | None, phase: str
) -> str:
    name = getattr(exc, "name", None)
    obj = getattr(exc, "obj", None)
    if name is None:
        return f"an attribute is missing in {_where(factory, phase)}"
    hint = f"{type(obj).__name__} has no attribute {name!r} ({_where(factory, phase)})"
    candidates = _columns(obj) or [n for n in dir(obj) if not n.startswith("_")]
    matches = difflib.get_close_matches(str(name), candidates, n=3)
    if matches:
        hint += f"; did you mean {', '.join(map(repr, matches))}?"
    return hint


def _file_not_found(
    exc: BaseException, factory: Factory[Any] | None, phase: str
) -> str:
    path = getattr(exc, "filename", None) or "?"
    return f"the file {path} does not exist ({_where(factory, phase)})"


def _where(factory: Factory[Any] | None, phase: str) -> str:
    return f"{type(factory).__name__}.{phase}()" if factory is not None else phase


_HINTS: tuple[
    tuple[type[BaseException], Callable[[Any, Factory[Any] | None, str], str]], ...
] = (
    (KeyError, _key_error),
    (AttributeError, _attribute_error),
    (FileNotFoundError, _file_not_found),
)


def explain(
    exc: BaseException, factory: Factory[Any] | None, phase: str
) -> tuple[str | None, dict[str, str], str | None]:
    """Spark's details and a hint for ``exc``, raised by ``factory`` in ``phase``.

    Args:
        exc: What the factory raised.
        factory: The factory, to look at its inputs (``None`` if unknown).
        phase: ``read``, ``process``, ``write`` or ``get``.

    Returns:
        ``(error_class, message_parameters, hint)``; ``hint`` is ``None``
        when nothing specific is known.
    """
    error_class: str | None = None
    params: dict[str, str] = {}
    # A Spark error means pyspark is imported already: without it there is
    # no error class to look for.
    if "pyspark" in sys.modules:
        error_class, params = spark_error_details(exc)
    hint: str | None = None
    try:
        if error_class is None:
            for kind, python_hint in _HINTS:
                if isinstance(exc, kind):
                    hint = python_hint(exc, factory, phase)
                    break
        elif error_class.startswith(_READ_FAILURES):
            hint = _malformed(exc, factory, phase)
        else:
            for prefix, spark_hint in _SPARK_HINTS:
                if error_class.startswith(prefix):
                    hint = spark_hint(params, factory, phase)
                    break
    except Exception:  # noqa: BLE001 - a hint must never hide the error
        hint = None
    return error_class, params, hint
