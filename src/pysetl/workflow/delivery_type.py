"""``DeliveryType``: the rule that decides whether two payload types match.

Two types match when:

1. both are generic aliases (``list[int]``, ``typing.List[int]``,
   ``SparkRepository[S]``) with the identical origin and matching arguments
   (arguments are compared with these same rules);
2. both are typedspark ``DataSet[S]`` classes over the same schema ``S``;
3. both are unions of the same members (``int | None == Optional[int]``);
4. otherwise, they are the same object. There is no subclass matching: a
   subclass of ``int`` does not match ``int``.

A ``DeliveryType`` is hashable, consistently with its equality, so
deliverables can be indexed by type and resolved in constant time.
"""

from __future__ import annotations

import sys
import types
import typing
from typing import Any

__all__ = ["DeliveryType", "shared_delivery_type"]

_ALIAS_TYPES: tuple[type, ...] = (
    types.GenericAlias,
    type(typing.List[int]),  # noqa: UP006 - the typing alias class is what we match
    types.UnionType,
    type(typing.Union[int, str]),  # noqa: UP007 - same, for typing's union alias
)

_UNION_ORIGINS = (typing.Union, types.UnionType)


def _dataset_schema(tp: Any) -> tuple[bool, Any]:
    """Return ``(True, schema)`` when ``tp`` is a typedspark ``DataSet`` class.

    typedspark is only consulted when it is already imported: a type cannot be
    a ``DataSet`` otherwise, and pure-Python pipelines never load Spark.
    """
    if "typedspark" not in sys.modules or not isinstance(tp, type):
        return False, None
    from typedspark import DataSet  # noqa: PLC0415 - optional, loaded only if in use

    if issubclass(tp, DataSet):
        return True, getattr(tp, "_schema_annotations", None)
    return False, None


def type_key(tp: Any) -> Any:
    """A hashable key such that two types match exactly when their keys are equal."""
    if isinstance(tp, _ALIAS_TYPES):
        origin = typing.get_origin(tp)
        if origin in _UNION_ORIGINS:  # ``int | None`` is ``Optional[int]``, any order
            return ("union", frozenset(type_key(arg) for arg in typing.get_args(tp)))
        args = tuple(type_key(arg) for arg in typing.get_args(tp))
        return ("alias", id(origin), args)
    is_dataset, schema = _dataset_schema(tp)
    if is_dataset:
        return ("dataset", id(schema))
    if isinstance(tp, type) and type(tp).__eq__ is type.__eq__:
        return tp  # classes compare by identity, in C: the fast, common case
    try:
        hash(tp)
    except TypeError:
        return ("object", id(tp))
    return ("type", _Identity(tp))


class _Identity:
    """Compares and hashes its object by identity."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Identity) and other.obj is self.obj

    def __hash__(self) -> int:
        return id(self.obj)


class DeliveryType:
    """A payload type, compared with the matching rules of this module.

    Args:
        tp: A type, a generic alias, or another ``DeliveryType`` (unwrapped).

    Attributes:
        tp: The wrapped type.
        key: The hashable key that equality and hashing use (see ``type_key``).

    Examples:
        >>> DeliveryType(list[int]) == typing.List[int]
        True
        >>> DeliveryType(bool) == int
        False
    """

    __slots__ = ("_hash", "key", "tp")

    def __init__(self, tp: Any) -> None:
        """Wrap ``tp``, unwrapping a ``DeliveryType``."""
        if isinstance(tp, DeliveryType):
            self.tp: Any = tp.tp
            self.key: Any = tp.key
        else:
            self.tp = tp
            self.key = type_key(tp)
        self._hash = hash(self.key)

    def __eq__(self, other: object) -> bool:
        """Match against another ``DeliveryType`` or a raw type."""
        if isinstance(other, DeliveryType):
            return bool(self.key == other.key)
        return bool(self.key == type_key(other))

    def __hash__(self) -> int:
        """Hash consistently with ``==``."""
        return self._hash

    def __repr__(self) -> str:
        """The wrapped type's ``repr``."""
        return repr(self.tp)


# One ``DeliveryType`` per builtin type (``int``, ``str``...), shared by every
# factory class and delivery that names it: thousands of classes would
# otherwise keep two each, for the garbage collector to scan. Builtins only,
# so the cache stays small and keeps no user class alive.
_SHARED: dict[type, DeliveryType] = {}


def shared_delivery_type(tp: Any) -> DeliveryType:
    """``DeliveryType(tp)``, the same object each time for a builtin type.

    A ``DeliveryType`` is never changed once made, so sharing one is safe.
    """
    if type(tp) is type and tp.__module__ == "builtins":
        shared = _SHARED.get(tp)
        if shared is None:
            shared = _SHARED[tp] = DeliveryType(tp)
        return shared
    return DeliveryType(tp)
