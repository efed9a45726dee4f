"""``HookManager``: registers observers and delivers events to them, safely.

Mechanism (why an observer can neither fail nor stall a run):

* every observer call is wrapped: an exception is logged with its traceback
  and counted in ``failures[<observer>.<event>]``, never raised;
* by default events are delivered on the observers' one writer thread
  (``pysetl.utils.writer``; the process-wide one unless ``writer=`` is
  given), in the order they were emitted. The run only appends to a bounded
  queue, so a slow observer costs the run nothing; when the queue is full
  the event is dropped and counted in ``dropped``. At the end of
  ``Pipeline.run()`` the pipeline waits at most ``drain_timeout`` seconds for
  the writer to catch up (observers' own writes included), then moves on;
* every call is timed; calls longer than ``slow_threshold`` seconds are
  logged and counted in ``slow[<observer>.<event>]``;
* ``inline=True`` delivers events synchronously in the thread that emits
  them, for observers that need the run's thread (context variables). Such
  observers are still isolated from failures, but a slow one does delay the run.
  One observer can ask for it alone with a true ``pysetl_inline`` attribute
  (the debug tracer does); the others stay on the background thread. An
  inline observer whose job is to pause the run (``Pipeline.stepper()``)
  says so with a true ``pysetl_pauses`` attribute: its calls are not timed.

With no observer registered, emitting an event is a dictionary lookup.

Words (``docs/architecture.md``): a *hook* is a point of a run where an event
is published; an *observer* is an object registered here that implements some
hooks; a *plugin* is only a package that ships observers through the
``pysetl.hooks`` entry points. pluggy calls every registered object a plugin:
its names are kept where pluggy's API is used.

Changed in 0.7: ``observers=``, ``observers`` and ``register(observer)``
replace ``plugins=``, ``plugins`` and ``register(plugin)``; the old names
still work and warn with a ``PySetlDeprecationWarning``.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import threading
import time
import types
import warnings
import weakref
from dataclasses import dataclass
from importlib import metadata
from typing import TYPE_CHECKING, Any, TypeVar

import pluggy

from pysetl._state import STATE, close_default_hooks
from pysetl.errors import PySetlDeprecationWarning
from pysetl.logs import debug_enabled
from pysetl.settings import settings
from pysetl.utils.writer import BackgroundWriter, shared_writer
from pysetl.workflow._debug import DebugTracer
from pysetl.workflow._hook_specs import ENTRY_POINT_GROUP, PROJECT_NAME, SPEC_CLASSES

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from types import TracebackType

    from typing_extensions import Self

__all__ = [
    "HookManager",
    "configured_hook_manager",
    "default_hook_manager",
    "reset_default_hook_manager",
]

_LOGGER = logging.getLogger(__name__)
DISABLE_ENV = "PYSETL_DISABLE_HOOKS"
# The value of a deprecated keyword that was not given.
_UNSET: Any = object()
_T = TypeVar("_T")


def _renamed(new: _T, old: _T, *, before: str, after: str) -> _T:
    """``new``, or the value of the deprecated keyword ``old`` (with a warning).

    Args:
        new: The value given under the new name (``_UNSET`` if none).
        old: The value given under the old name (``_UNSET`` if none).
        before: The old spelling, for the messages (``HookManager(plugins=...)``).
        after: The new spelling (``HookManager(observers=...)``).

    Raises:
        TypeError: Both names were given.
    """
    if old is _UNSET:
        return new
    if new is not _UNSET:
        msg = f"{before} and {after} name the same thing: pass {after} only"
        raise TypeError(msg)
    msg = (
        f"{before} is deprecated, use {after}: the objects are observers "
        "(a plugin is a package that ships them)"
    )
    warnings.warn(msg, PySetlDeprecationWarning, stacklevel=3)
    return old


@dataclass(frozen=True, slots=True)
class _Call:
    """One observer method, and how to call it with an event's arguments."""

    key: str
    function: Callable[..., object]
    # ``invoke(function, kwargs)`` calls it with the arguments it accepts.
    invoke: Callable[[Callable[..., object], dict[str, Any]], object]
    # False for an observer that pauses the run on purpose (``pysetl_pauses``).
    timed: bool = True


def _give_all(function: Callable[..., object], kwargs: dict[str, Any]) -> object:
    """Call an observer that takes ``**kwargs`` with every argument."""
    return function(**kwargs)


_INVOKERS: dict[tuple[str, ...], Callable[..., object]] = {}


def _invoker(
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
        return _give_all
    key = tuple(sorted(names))
    invoke = _INVOKERS.get(key)
    if invoke is None:
        arguments = ", ".join(f"{name}=kwargs[{name!r}]" for name in key)
        source = f"def invoke(function, kwargs):\n    return function({arguments})\n"
        namespace: dict[str, Any] = {}
        exec(source, namespace)  # noqa: S102 - identifiers from a signature only
        invoke = _INVOKERS[key] = namespace["invoke"]
    return invoke


class _PluginManager(pluggy.PluginManager):
    """pluggy's manager, with a cheap first look at each attribute of an observer.

    pluggy (which calls observers "plugins") looks at every name of
    ``dir(observer)`` with
    ``inspect.getattr_static``, about a hundred per observer and seven
    observers per session: tens of milliseconds at each session build. An
    attribute whose raw value (instance dict, then the class dicts in MRO
    order, as ``getattr_static`` finds it) carries no ``pysetl_impl`` marker
    cannot be a hook; only marked ones go through pluggy's full parse.
    """

    def parse_hookimpl_opts(self, plugin: Any, name: str) -> Any:  # pluggy's names
        """The parse of pluggy, for attributes whose raw value carries our marker."""
        raw = _raw_attribute(plugin, name)
        if not isinstance(raw, types.MemberDescriptorType) and not _marked(
            raw, self.project_name + "_impl"
        ):  # a slot's value is only known by reading it: pluggy does
            return None
        return super().parse_hookimpl_opts(plugin, name)

    def parse_hookspec_opts(self, module_or_class: Any, name: str) -> Any:
        """The same first look for the specs (every manager adds them all)."""
        if not _marked(
            _raw_attribute(module_or_class, name), self.project_name + "_spec"
        ):
            return None
        return super().parse_hookspec_opts(module_or_class, name)


_ABSENT = object()


def _raw_attribute(observer: Any, name: str) -> Any:
    """``name`` on ``observer`` without running descriptors (``_ABSENT`` if none)."""
    if inspect.ismodule(observer):
        return vars(observer).get(name, _ABSENT)
    if not inspect.isclass(observer):
        try:
            own = object.__getattribute__(observer, "__dict__")
        except AttributeError:
            own = {}
        if isinstance(own, dict) and name in own:
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


class HookManager:
    """The observers of a pipeline, and the safe delivery of events to them.

    Args:
        observers: Observers to register now.
        entry_points: Also load the observers of the ``pysetl.hooks`` group.
        disabled: Entry-point names not to load.
        inline: Deliver events synchronously (see the module docstring).
        slow_threshold: Seconds after which an observer call counts as slow.
        queue_size: How many undelivered events may wait before new ones are
            dropped (checked per manager, on top of the writer's own bound).
        drain_timeout: Seconds ``drain()`` waits by default.
        writer: The thread that delivers queued events (and does every
            observer's slow work); default: the process-wide writer.
        plugins: Deprecated alias of ``observers`` (changed in 0.7).

    Attributes:
        failures: Observer calls that raised, by ``<observer>.<event>``.
        slow: Observer calls slower than ``slow_threshold``, by
            ``<observer>.<event>``.
        dropped: Events dropped because the queue was full.

    Changed in 0.7: ``observers=`` replaces ``plugins=``.
    """

    def __init__(
        self,
        *,
        observers: Iterable[object] = _UNSET,
        entry_points: bool = False,
        disabled: Iterable[str] = (),
        inline: bool = False,
        slow_threshold: float = 1.0,
        queue_size: int = 100_000,
        drain_timeout: float = 5.0,
        writer: BackgroundWriter | None = None,
        plugins: Iterable[object] = _UNSET,
    ) -> None:
        """Create the manager, register ``observers`` and, optionally, entry points."""
        observers = _renamed(
            observers,
            plugins,
            before="HookManager(plugins=...)",
            after="HookManager(observers=...)",
        )
        self._pm = _PluginManager(PROJECT_NAME)
        for spec in SPEC_CLASSES:
            self._pm.add_hookspecs(spec)
        self._spec_args = {
            name: _keyword_names(getattr(spec, name))[0]
            for spec in SPEC_CLASSES
            for name in vars(spec)
            if not name.startswith("_")
        }
        self.inline = inline
        self.slow_threshold = slow_threshold
        self.drain_timeout = drain_timeout
        self.failures: dict[str, int] = {}
        self.slow: dict[str, int] = {}
        self.dropped = 0
        self._calls: dict[str, tuple[_Call, ...]] = {}
        self._inline: dict[str, tuple[_Call, ...]] = {}
        self.queue_size = queue_size
        self._writer = writer
        self._lock = threading.Lock()
        self._queued = 0  # events handed to the writer and not delivered yet
        for name in disabled:
            self._pm.set_blocked(name)
        for observer in () if observers is _UNSET else observers:
            self.register(observer)
        if entry_points:
            self.load_entry_points()

    # ------------------------------------------------------------ registration
    def register(
        self,
        observer: object = _UNSET,
        name: str | None = None,
        *,
        plugin: object = _UNSET,
    ) -> str:
        """Register an observer and return its name.

        Args:
            observer: The object whose ``@hook_impl`` methods get the events.
            name: Its name in ``failures`` and ``slow``; default: pluggy's
                (the object's id).
            plugin: Deprecated alias of ``observer`` (changed in 0.7).

        Raises:
            pluggy.PluginValidationError: A marked method has no matching
                event, or asks for an argument that the event does not have,
                or takes positional arguments (use ``*`` before them).
            TypeError: No observer was given.
        """
        observer = _renamed(
            observer,
            plugin,
            before="HookManager.register(plugin=...)",
            after="HookManager.register(observer=...)",
        )
        if observer is _UNSET:
            msg = "HookManager.register() needs the observer to register"
            raise TypeError(msg)
        registered = self._pm.register(observer, name)
        if registered is None:  # blocked
            return name or ""
        try:
            self._pm.check_pending()
            self._validate(observer)
        except pluggy.PluginValidationError:
            self._pm.unregister(observer)
            raise
        self._rebuild()
        return registered

    def unregister(self, observer: object = _UNSET, *, plugin: object = _UNSET) -> None:
        """Remove an observer.

        Args:
            observer: The registered object.
            plugin: Deprecated alias of ``observer`` (changed in 0.7).

        Raises:
            TypeError: No observer was given.
        """
        observer = _renamed(
            observer,
            plugin,
            before="HookManager.unregister(plugin=...)",
            after="HookManager.unregister(observer=...)",
        )
        if observer is _UNSET:
            msg = "HookManager.unregister() needs the observer to remove"
            raise TypeError(msg)
        self._pm.unregister(observer)
        self._rebuild()

    def load_entry_points(self, group: str = ENTRY_POINT_GROUP) -> int:
        """Register the observers published in the entry-point ``group``."""
        count = 0
        for name, observer in _published(group):
            if self._pm.get_plugin(name) is not None or self._pm.is_blocked(name):
                continue
            self._pm.register(observer, name=name)
            count += 1
        for _, observer in self._pm.list_name_plugin():
            self._validate(observer)
        self._rebuild()
        return count

    @property
    def observers(self) -> list[object]:
        """The registered observers, in registration order.

        Changed in 0.7: replaces ``plugins``.
        """
        return [observer for _, observer in self._pm.list_name_plugin() if observer]

    @property
    def plugins(self) -> list[object]:
        """Deprecated alias of ``observers`` (changed in 0.7)."""
        msg = (
            "HookManager.plugins is deprecated, use HookManager.observers: the "
            "objects are observers (a plugin is a package that ships them)"
        )
        warnings.warn(msg, PySetlDeprecationWarning, stacklevel=2)
        return self.observers

    def _validate(self, observer: object) -> None:
        for impl in self._pm.get_hookcallers(observer) or []:
            spec_args = self._spec_args[impl.name]
            for hookimpl in impl.get_hookimpls():
                if hookimpl.plugin is not observer:
                    continue
                names, _ = _keyword_names(hookimpl.function)
                unknown = names - spec_args
                if unknown:
                    msg = (
                        f"Observer {hookimpl.plugin_name!r} asks {impl.name!r} for "
                        f"{sorted(unknown)!r}, which the event does not provide; "
                        f"it provides {sorted(spec_args)!r}"
                    )
                    raise pluggy.PluginValidationError(observer, msg)

    def _rebuild(self) -> None:
        calls: dict[str, tuple[_Call, ...]] = {}
        inline: dict[str, tuple[_Call, ...]] = {}
        for name in self._spec_args:
            caller = getattr(self._pm.hook, name)
            queued: list[_Call] = []
            now: list[_Call] = []
            for hookimpl in caller.get_hookimpls():  # registration order
                names, var_kw = _keyword_names(hookimpl.function)
                call = _Call(
                    key=f"{hookimpl.plugin_name}.{name}",
                    function=hookimpl.function,
                    invoke=_invoker(None if var_kw else names),
                    timed=getattr(hookimpl.plugin, "pysetl_pauses", False) is not True,
                )
                alone = getattr(hookimpl.plugin, "pysetl_inline", False) is True
                (now if self.inline or alone else queued).append(call)
            if queued:
                calls[name] = tuple(queued)
            if now:
                inline[name] = tuple(now)
        self._calls, self._inline = calls, inline

    # ---------------------------------------------------------------- delivery
    @property
    def enabled(self) -> bool:
        """Whether any observer is registered (emitting is free otherwise)."""
        return bool(self._calls or self._inline)

    @property
    def writer(self) -> BackgroundWriter:
        """The thread that delivers queued events (the process-wide one by default)."""
        writer = self._writer
        if writer is not None:
            return writer
        return shared_writer()  # looked up each time: a test may have reset it

    def emit(self, event: str, /, **kwargs: Any) -> None:
        """Publish ``event`` with its keyword arguments to every observer of it."""
        now = self._inline.get(event)
        if now:
            # One clock reading per call: each call's time is the span
            # between the readings around it.
            mark = time.perf_counter()
            for call in now:
                mark = self._deliver(call, kwargs, mark)
        calls = self._calls.get(event)
        if not calls:
            return
        with self._lock:
            full = self._queued >= self.queue_size
            if not full:
                self._queued += 1
        if full:
            self._drop(event)
        elif not self.writer.call(self._deliver_all, calls, kwargs, key="pysetl-hooks"):
            with self._lock:
                self._queued -= 1
            self._drop(event)

    def _drop(self, event: str) -> None:
        with self._lock:
            self.dropped += 1
        if self.dropped == 1 or self.dropped % 1000 == 0:
            _LOGGER.warning(
                "pysetl observers are behind: dropped event %r (%d dropped so far)",
                event,
                self.dropped,
            )

    def _deliver_all(self, calls: tuple[_Call, ...], kwargs: dict[str, Any]) -> None:
        try:
            mark = time.perf_counter()
            for call in calls:
                mark = self._deliver(call, kwargs, mark)
        finally:
            with self._lock:
                self._queued -= 1

    def _deliver(self, call: _Call, kwargs: dict[str, Any], start: float) -> float:
        """Call one observer from ``start`` (a clock reading); return the next."""
        try:
            call.invoke(call.function, kwargs)
        except Exception:
            with self._lock:
                self.failures[call.key] = self.failures.get(call.key, 0) + 1
            _LOGGER.exception("pysetl observer %s raised; the run goes on", call.key)
        end = time.perf_counter()
        elapsed = end - start
        if elapsed <= self.slow_threshold or not call.timed:
            return end
        with self._lock:
            self.slow[call.key] = self.slow.get(call.key, 0) + 1
        _LOGGER.warning(
            "pysetl observer %s took %.3f s (threshold %.3f s)",
            call.key,
            elapsed,
            self.slow_threshold,
        )
        return time.perf_counter()  # the warning is not the next call's time

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until every emitted event is delivered, at most ``timeout`` seconds.

        It waits for the writer, so what the observers handed to the writer
        while handling the events (history rows, metrics) is written too.

        Args:
            timeout: Seconds to wait; ``None`` uses ``drain_timeout``.

        Returns:
            Whether everything was delivered in time.
        """
        limit = self.drain_timeout if timeout is None else timeout
        done = self.writer.drain(limit)
        if not done:
            _LOGGER.warning(
                "pysetl observers still busy after %.3f s; the run goes on", limit
            )
        return done

    def close(self) -> None:
        """Deliver what is queued (within ``drain_timeout``); idempotent.

        A writer given as ``writer=`` is left running (its owner closes it).
        """
        self.drain()

    def __enter__(self) -> Self:
        """Use the manager as a context manager that closes it."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the manager."""
        self.close()


def _keyword_names(function: Callable[..., object]) -> tuple[frozenset[str], bool]:
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


_PUBLISHED: dict[tuple[str, object], list[tuple[str, object]]] = {}
_PUBLISHED_LOCK = threading.Lock()


def _published(group: str) -> list[tuple[str, object]]:
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


RUNTIME_GROUP = "pysetl.runtime"


def default_hook_manager() -> HookManager:
    """The process-wide manager that pipelines use when given none.

    It is created on first use, with the observers of the ``pysetl.hooks``
    entry points, except those named in the comma-separated environment
    variable ``PYSETL_DISABLE_HOOKS`` (``all`` disables every entry point),
    and, in debug mode (``PYSETL_DEBUG=1``), the ``DebugTracer``.

    Unless ``PYSETL_OBSERVE`` is off, the default runtime is attached to it:
    the entry point ``default`` of the group ``pysetl.runtime`` (pysetl's own
    is ``pysetl.runtime:attach_default``, which records every run in the
    project's history). ``workflow`` knows nothing of what it attaches; a
    runtime that cannot be loaded (its extra is missing) is skipped.

    The manager and its runtime are kept in ``pysetl._state.STATE``.
    """
    manager = STATE.hook_manager
    if manager is None:
        manager = STATE.hook_manager = configured_hook_manager()
        if settings().observe is not False:
            _attach_runtime(manager)
    return manager


def configured_hook_manager(
    *, disabled: Iterable[str] = (), writer: BackgroundWriter | None = None
) -> HookManager:
    """A new manager as the process settings configure it.

    It holds the observers of the ``pysetl.hooks`` entry points, except those
    named in ``PYSETL_DISABLE_HOOKS`` (``all``: none) or in ``disabled``, and,
    in debug mode, the ``DebugTracer``. The default manager and every
    ``pysetl.runtime.Session`` start from one.

    Args:
        disabled: More entry-point names not to load.
        writer: The thread that delivers queued events (see ``HookManager``).

    Added in 0.4.
    """
    current = settings()
    manager = HookManager(
        entry_points=not current.entry_points_disabled,
        disabled=(*current.disabled_hooks, *disabled),
        writer=writer,
    )
    if debug_enabled():
        manager.register(DebugTracer(), name="pysetl-debug")
    return manager


def _attach_runtime(manager: HookManager) -> None:
    from importlib.metadata import entry_points  # noqa: PLC0415 - first use only

    for entry in entry_points(group=RUNTIME_GROUP, name="default"):
        try:
            attach = entry.load()
            STATE.runtimes.append(attach(manager))
        except ImportError as exc:  # its extra is not installed: record nothing
            _LOGGER.debug("pysetl runtime %r not loaded: %s", entry.value, exc)
        except Exception:  # a runtime never stops a pipeline from running
            _LOGGER.exception(
                "pysetl runtime %r failed; runs are not recorded", entry.value
            )
        return


def reset_default_hook_manager() -> None:
    """Close and forget the process-wide manager and its runtime (for tests)."""
    close_default_hooks(STATE)
