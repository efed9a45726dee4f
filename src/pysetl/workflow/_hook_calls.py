"""How the hook manager calls an observer's hook implementation.

An implementation takes only the keyword arguments it names (or ``**kwargs``
for all). The names are read once per function, and one call that names
them is generated per set of names: an event's delivery then costs a plain
call, not a filtered dict and an unpacking.
"""

from __future__ import annotations

import contextlib
import inspect
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["Call", "give_all", "invoker", "keyword_names"]


@dataclass(frozen=True, slots=True)
class Call:
    """One observer method, and how to call it with an event's arguments."""

    key: str
    function: Callable[..., object]
    # ``invoke(function, kwargs)`` calls it with the arguments it accepts.
    invoke: Callable[[Callable[..., object], dict[str, Any]], object]
    # False for an observer that pauses the run on purpose (``pysetl_pauses``).
    timed: bool = True


def give_all(function: Callable[..., object], kwargs: dict[str, Any]) -> object:
    """Call an observer that takes ``**kwargs`` with every argument."""
    return function(**kwargs)


_INVOKERS: dict[tuple[str, ...], Callable[..., object]] = {}


def invoker(
    names: frozenset[str] | None,
) -> Callable[[Callable[..., object], dict[str, Any]], object]:
    """A function that calls an observer with the arguments ``names`` only.

    Building a filtered dict and unpacking it (``function(**{k: kw[k] ...})``)
    cost each delivery about 0.6 us more than a call that names its
    arguments, and a factory's run makes seven deliveries. So one such call
    is generated per set of names (as ``dataclasses`` generates ``__init__``)
    and kept: the names are parameter names read from a signature, so they
    are identifiers. ``None`` (the observer takes ``**kwargs``) gets them all.
    """
    if names is None:
        return give_all
    key = tuple(sorted(names))
    invoke = _INVOKERS.get(key)
    if invoke is None:
        arguments = ", ".join(f"{name}=kwargs[{name!r}]" for name in key)
        source = f"def invoke(function, kwargs):\n    return function({arguments})\n"
        namespace: dict[str, Any] = {}
        exec(source, namespace)  # noqa: S102 - identifiers from a signature only
        invoke = _INVOKERS[key] = namespace["invoke"]
    return invoke


def keyword_names(function: Callable[..., object]) -> tuple[frozenset[str], bool]:
    """The keyword-only parameter names of ``function``, and whether it takes **kw.

    Read once per function (a method's, whatever instance it is bound to):
    ``inspect.signature`` cost a session a few milliseconds per start.
    """
    plain = getattr(function, "__func__", function)
    try:
        return _SIGNATURES[plain]
    except (KeyError, TypeError):  # not seen yet, or not hashable
        pass
    found = _read_keyword_names(function)
    with contextlib.suppress(TypeError):
        _SIGNATURES[plain] = found
    return found


_SIGNATURES: weakref.WeakKeyDictionary[object, tuple[frozenset[str], bool]] = (
    weakref.WeakKeyDictionary()
)


def _read_keyword_names(
    function: Callable[..., object],
) -> tuple[frozenset[str], bool]:
    names: set[str] = set()
    var_kw = False
    for param in inspect.signature(function).parameters.values():
        if param.kind is inspect.Parameter.KEYWORD_ONLY:
            names.add(param.name)
        elif param.kind is inspect.Parameter.VAR_KEYWORD:
            var_kw = True
    return frozenset(names), var_kw
