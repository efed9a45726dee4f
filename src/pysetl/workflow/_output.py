"""The output check: a factory's ``get()`` must return what its ``Factory[T]`` says.

The declared ``T`` is turned once per factory class into the classes an
output must be an instance of (``output_classes``), kept in the class's
record (``pysetl.workflow.factory.class_record``); each run then costs one
``isinstance``. The rules:

* a class: an instance of it (or of a subclass); ``float`` also takes an
  ``int``, and ``complex`` an ``int`` or a ``float``, as type checkers do;
* a generic alias (``list[int]``, ``SparkRepository[S]``): an instance of
  its origin class; the arguments are not checked (that would cost a walk
  of the value);
* a typedspark ``DataSet[S]``: a ``DataSet`` (each ``DataSet[S]`` is a new
  class, so the schema is not checked);
* a union (``int | str``, ``Optional[T]``): any of its members; ``None``
  only passes when the type allows it (``T | None``, ``Optional[T]``);
* ``Annotated[T, ...]``: as ``T``;
* anything ``isinstance`` cannot test (``Any``, ``object``, a type variable,
  a string or forward reference, ``Literal``, a non-runtime protocol, a
  ``TypedDict``, a ``NewType``): not checked.

A factory class turns its check off with ``check_output = False`` (a class
attribute, or the class keyword ``class F(Factory[T], check_output=False)``),
or names the classes its outputs really are by overriding the class method
``Factory.output_classes`` (for types only known at run time).

Added in 0.2.
"""

from __future__ import annotations

import sys
import types
import typing
from typing import TYPE_CHECKING, Any

from pysetl.errors import FactoryOutputError
from pysetl.utils._pretty import pretty
from pysetl.utils.redaction import redact_text

if TYPE_CHECKING:
    from pysetl.workflow.factory import Factory

__all__ = ["output_classes", "output_error"]

_NONE = type(None)
_UNIONS = (typing.Union, types.UnionType)
# What type checkers accept in place of a number class (PEP 484's numeric tower).
_PROMOTED: dict[type, tuple[type, ...]] = {float: (int,), complex: (float, int)}


def output_classes(tp: Any) -> tuple[type, ...] | None:
    """The classes an output of declared type ``tp`` must be an instance of.

    Args:
        tp: The ``T`` of a ``Factory[T]``.

    Returns:
        A tuple for ``isinstance``, or ``None`` when ``tp`` cannot be checked
        (see the module docstring).
    """
    classes = _classes(tp)
    if classes is None:
        return None
    try:  # a protocol or TypedDict refuses isinstance: no check, not a crash
        isinstance(None, classes)
    except TypeError:
        return None
    return classes


def _classes(tp: Any) -> tuple[type, ...] | None:  # noqa: PLR0911 - a return per rule
    if tp is None or tp is _NONE:
        return (_NONE,)
    if tp is Any or tp is object:
        return None
    origin = typing.get_origin(tp)
    if origin in _UNIONS:
        found: list[type] = []
        for arg in typing.get_args(tp):
            member = _classes(arg)
            if member is None:  # ``int | Any`` takes anything
                return None
            found += member
        return tuple(dict.fromkeys(found))
    if origin is typing.Annotated:
        return _classes(typing.get_args(tp)[0])
    if origin is not None:
        tp = origin
    if not isinstance(tp, type):  # TypeVar, ForwardRef, "Name", Literal, NewType
        return None
    dataset = _dataset_base(tp)
    if dataset is not None:
        return (dataset,)
    return (tp, *_PROMOTED.get(tp, ()))


def _dataset_base(tp: type) -> type | None:
    """The ``DataSet`` class of typedspark when ``tp`` is one of its ``DataSet[S]``.

    typedspark is only consulted when it is already imported: a type cannot be
    a ``DataSet`` otherwise, and pure-Python pipelines never load Spark.
    """
    if "typedspark" not in sys.modules:
        return None
    from typedspark import DataSet  # noqa: PLC0415 - optional, loaded only if in use

    return DataSet if issubclass(tp, DataSet) else None


def output_error(  # noqa: PLR0917 - the error path: everything the error carries
    factory: Factory[Any],
    output: Any,
    name: str,
    stage_id: int,
    pipeline_name: str,
    run_id: str,
) -> FactoryOutputError:
    """The error for a factory whose ``get()`` returned ``output``, of the wrong type.

    The message names the factory, the declared type and the class of what
    came back, never the value itself (it may be large, or a secret).
    """
    cls = type(factory)
    expected = pretty(cls.delivery_type().tp)
    got = type(output).__name__
    what = "None" if output is None else f"a {got}"
    msg = redact_text(
        f"Factory {name!r} returned {what} from get(), but it declares "
        f"Factory[{expected}] (stage {stage_id} of pipeline {pipeline_name!r}, "
        f"run {run_id})"
    )
    owner = cls.__name__
    if output is None:
        fix = (
            f"check that {owner}.process() sets what get() returns, or declare "
            f"Factory[{expected} | None] if None is a valid output"
        )
    else:
        fix = (
            f"return a value of type {expected} from {owner}.get(), or declare "
            f"the type it really returns (Factory[{got}])"
        )
    hint = redact_text(
        f"{fix}; to skip the check, declare class {owner}(Factory[...], "
        "check_output=False)"
    )
    return FactoryOutputError(
        msg,
        hint=hint,
        expected=expected,
        got=got,
        run_id=run_id,
        pipeline=pipeline_name,
        stage=stage_id,
        factory=name,
        attempt=1,
        phase="get",
    )
