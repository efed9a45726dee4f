"""``pretty``: short, readable names for types, generics and objects."""

from __future__ import annotations

import types
import typing
from functools import singledispatch
from typing import Any

__all__ = ["pretty"]

_GENERIC_ALIAS_TYPES: tuple[type, ...] = (
    types.GenericAlias,
    type(typing.List[int]),  # noqa: UP006 - the typing alias class itself is what we match
    type(typing.Union[int, str]),  # noqa: UP007 - same, for typing's union alias
)


def _origin_name(origin: Any) -> str:
    name = getattr(origin, "__name__", None) or getattr(origin, "_name", None)
    return str(name) if name else pretty(str(origin))


@singledispatch
def pretty(obj: Any) -> str:
    """Format a type, generic alias or object as a short name.

    ``None`` gives ``""``; a string gives its last dotted segment; a generic
    alias gives ``Origin[arg, ...]`` formatted recursively; a class gives its
    ``__name__``; anything else gives its ``repr``.

    Examples:
        >>> pretty(list[int])
        'list[int]'
        >>> pretty("module.Type")
        'Type'
        >>> pretty(None)
        ''

    Args:
        obj: What to format.

    Returns:
        The short name.
    """
    if isinstance(obj, _GENERIC_ALIAS_TYPES):
        args = ", ".join(pretty(arg) for arg in typing.get_args(obj))
        origin = _origin_name(typing.get_origin(obj) or obj)
        return f"{origin}[{args}]" if args else origin
    if isinstance(obj, type):
        return obj.__name__
    return repr(obj)


@pretty.register
def _(_obj: None) -> str:
    return ""


@pretty.register
def _(obj: str) -> str:
    return obj.rsplit(".", 1)[-1]
