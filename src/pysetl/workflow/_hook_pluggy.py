"""pluggy's manager with a cheap first look at attributes, and entry-point loading.

Both are what a hook manager's start costs: pluggy parses every attribute of
every observer, and reading the installed distributions' entry points takes
milliseconds. ``PluginManager`` skips the attributes that carry no marker;
``published`` reads a group's entry points once a process.
"""

from __future__ import annotations

import inspect
import threading
import types
import weakref
from importlib import metadata
from typing import Any

import pluggy

__all__ = ["PluginManager", "published"]

_ABSENT = object()  # no such attribute (or not read yet)


class PluginManager(pluggy.PluginManager):
    """pluggy's manager, with a cheap first look at each attribute of an observer.

    pluggy (which calls observers "plugins") looks at every name of
    ``dir(observer)`` with
    ``inspect.getattr_static``, about a hundred per observer and seven
    observers per session: tens of milliseconds at each session build. An
    attribute whose raw value (instance dict, then the class dicts in MRO
    order, as ``getattr_static`` finds it) carries no ``pysetl_impl`` marker
    cannot be a hook; only marked ones go through pluggy's full parse.
    """

    # The observer pluggy is parsing, its own attributes and its class's parses.
    _memo: (
        tuple[Any, dict[str, Any] | None, dict[tuple[str, str], Any] | None] | None
    ) = None

    def register(self, plugin: Any, name: str | None = None) -> str | None:
        """Register with pluggy; the observer is not kept once it is parsed."""
        try:
            return super().register(plugin, name)
        finally:
            self._memo = None

    def parse_hookimpl_opts(self, plugin: Any, name: str) -> Any:  # pluggy's names
        """The parse of pluggy, for attributes whose raw value carries our marker.

        What an attribute of a class gives is the same for every instance
        that does not hide it: it is kept per class (a session registers
        new instances of the same observer classes at every run).
        """
        # pluggy asks about each name of one observer in turn: what is
        # looked up per observer is kept for the next name.
        memo = self._memo
        if memo is not None and memo[0] is plugin:
            own, per_class = memo[1], memo[2]
        else:
            own = _instance_dict(plugin)
            per_class = None
            if own is not None:
                per_class = _IMPL_PARSES.get(type(plugin))
                if per_class is None:
                    per_class = _IMPL_PARSES.setdefault(type(plugin), {})
            self._memo = (plugin, own, per_class)
        if own is None or per_class is None or name in own:
            # a module, a class, or the instance's own attribute
            return self._parse_impl(plugin, name)
        key = (self.project_name, name)
        found = per_class.get(key, _ABSENT)
        if found is _ABSENT:
            raw = _raw_attribute(plugin, name)
            found = self._parse_impl(plugin, name, raw)
            if not isinstance(raw, types.MemberDescriptorType):  # a slot varies
                per_class[key] = found
        return found

    def _parse_impl(self, plugin: Any, name: str, raw: Any = _ABSENT) -> Any:
        if raw is _ABSENT:
            raw = _raw_attribute(plugin, name)
        if not isinstance(raw, types.MemberDescriptorType) and not _marked(
            raw, self.project_name + "_impl"
        ):  # a slot's value is only known by reading it: pluggy does
            return None
        return super().parse_hookimpl_opts(plugin, name)

    def parse_hookspec_opts(self, module_or_class: Any, name: str) -> Any:
        """The same first look for the specs, kept: every manager adds them all."""
        key = (self.project_name, module_or_class, name)
        found = _SPEC_PARSES.get(key, _ABSENT)
        if found is _ABSENT:
            found = None
            if _marked(
                _raw_attribute(module_or_class, name), self.project_name + "_spec"
            ):
                found = super().parse_hookspec_opts(module_or_class, name)
            if inspect.isclass(module_or_class):  # a class's code does not change
                _SPEC_PARSES[key] = found
        return found


# What ``parse_hookspec_opts`` gave for each name of a spec class (pluggy
# reads the options, never changes them): each session's manager adds the
# same specs.
_SPEC_PARSES: dict[tuple[str, Any, str], Any] = {}


# What ``parse_hookimpl_opts`` gave for an attribute of a class, by class:
# a fact of the class's code (kept out of ``pysetl._state``, as the other
# caches of observer signatures), forgotten with the class.
_IMPL_PARSES: weakref.WeakKeyDictionary[type, dict[tuple[str, str], Any]] = (
    weakref.WeakKeyDictionary()
)


def _instance_dict(observer: Any) -> dict[str, Any] | None:
    """The instance dict of an observer object (``None``: a module or a class).

    An object without one (slots) gets an empty dict: nothing of its own.
    """
    if inspect.ismodule(observer) or inspect.isclass(observer):
        return None
    try:
        own = object.__getattribute__(observer, "__dict__")
    except AttributeError:
        return {}
    return own if isinstance(own, dict) else None


def _raw_attribute(observer: Any, name: str) -> Any:
    """``name`` on ``observer`` without running descriptors (``_ABSENT`` if none)."""
    if inspect.ismodule(observer):
        return vars(observer).get(name, _ABSENT)
    own = _instance_dict(observer)
    if own is not None and name in own:
        return own[name]
    for klass in (
        observer.__mro__ if inspect.isclass(observer) else type(observer).__mro__
    ):
        if name in vars(klass):
            return vars(klass)[name]
    return _ABSENT


def _marked(value: Any, marker: str) -> bool:
    """Whether ``value`` (or the function it wraps) carries ``marker``."""
    if value is _ABSENT:
        return False
    try:
        return hasattr(value, marker) or hasattr(
            getattr(value, "__func__", None), marker
        )
    except Exception:  # noqa: BLE001 - an odd object (its __getattr__ raised) is no hook
        return False


_PUBLISHED: dict[tuple[str, object], list[tuple[str, object]]] = {}
_PUBLISHED_LOCK = threading.Lock()


def published(group: str) -> list[tuple[str, object]]:
    """The loaded entry points of ``group``, as (name, object), once a process.

    Reading every installed distribution's entry points cost each new
    manager (each ``Session``) about 10 ms. The list is kept per group and
    per ``importlib.metadata.distributions`` (a test that fakes it sees its
    own). An entry point that fails to load raises, as pluggy's loader did,
    and is tried again by the next manager.
    """
    key = (group, metadata.distributions)
    with _PUBLISHED_LOCK:
        found = _PUBLISHED.get(key)
        if found is not None:
            return found
        found = []
        seen: set[str] = set()
        for dist in metadata.distributions():
            for entry in dist.entry_points:
                if entry.group != group or entry.name in seen:
                    continue
                seen.add(entry.name)
                found.append((entry.name, entry.load()))
        _PUBLISHED[key] = found
        return found
