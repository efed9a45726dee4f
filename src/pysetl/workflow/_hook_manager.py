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

Next to it: how an observer method is called (``_hook_calls``), pluggy's
manager with a cheap first look and the entry points loaded once
(``_hook_pluggy``), and the process-wide default manager with its runtime
(``_default_hooks``).

Changed in 0.7: ``observers=``, ``observers`` and ``register(observer)``
replace ``plugins=``, ``plugins`` and ``register(plugin)``; the old names
still work and warn with a ``PySetlDeprecationWarning``.
"""

from __future__ import annotations

import logging
import threading
import time
import warnings
from typing import TYPE_CHECKING, Any, TypeVar

import pluggy

from pysetl.errors import PySetlDeprecationWarning
from pysetl.utils.writer import BackgroundWriter, shared_writer
from pysetl.workflow._hook_calls import Call, invoker, keyword_names
from pysetl.workflow._hook_pluggy import PluginManager, published
from pysetl.workflow._hook_specs import ENTRY_POINT_GROUP, PROJECT_NAME, SPEC_CLASSES

if TYPE_CHECKING:
    from collections.abc import Iterable
    from types import TracebackType

    from typing_extensions import Self

__all__ = ["HookManager"]

_LOGGER = logging.getLogger(__name__)
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
        self._pm = PluginManager(PROJECT_NAME)
        for spec in SPEC_CLASSES:
            self._pm.add_hookspecs(spec)
        self._spec_args = {
            name: keyword_names(getattr(spec, name))[0]
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
        self._calls: dict[str, tuple[Call, ...]] = {}
        self._inline: dict[str, tuple[Call, ...]] = {}
        # The call tables are rebuilt at the next event after a change, once
        # for a whole session's registrations (and unregistrations).
        self._stale = False
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
        self._stale = True
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
        self._stale = True

    def load_entry_points(self, group: str = ENTRY_POINT_GROUP) -> int:
        """Register the observers published in the entry-point ``group``."""
        count = 0
        for name, observer in published(group):
            if self._pm.get_plugin(name) is not None or self._pm.is_blocked(name):
                continue
            self._pm.register(observer, name=name)
            count += 1
        for _, observer in self._pm.list_name_plugin():
            self._validate(observer)
        self._stale = True
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
                names, _ = keyword_names(hookimpl.function)
                unknown = names - spec_args
                if unknown:
                    msg = (
                        f"Observer {hookimpl.plugin_name!r} asks {impl.name!r} for "
                        f"{sorted(unknown)!r}, which the event does not provide; "
                        f"it provides {sorted(spec_args)!r}"
                    )
                    raise pluggy.PluginValidationError(observer, msg)

    def _rebuild(self) -> None:
        self._stale = False  # first: a change made meanwhile marks it again
        calls: dict[str, tuple[Call, ...]] = {}
        inline: dict[str, tuple[Call, ...]] = {}
        for name in self._spec_args:
            caller = getattr(self._pm.hook, name)
            queued: list[Call] = []
            now: list[Call] = []
            for hookimpl in caller.get_hookimpls():  # registration order
                names, var_kw = keyword_names(hookimpl.function)
                call = Call(
                    key=f"{hookimpl.plugin_name}.{name}",
                    function=hookimpl.function,
                    invoke=invoker(None if var_kw else names),
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
        if self._stale:
            self._rebuild()
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
        if self._stale:
            self._rebuild()
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

    def _deliver_all(self, calls: tuple[Call, ...], kwargs: dict[str, Any]) -> None:
        try:
            mark = time.perf_counter()
            for call in calls:
                mark = self._deliver(call, kwargs, mark)
        finally:
            with self._lock:
                self._queued -= 1

    def _deliver(self, call: Call, kwargs: dict[str, Any], start: float) -> float:
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

    def emit_then_drain(self, event: str, /, **kwargs: Any) -> bool:
        """``emit(event, ...)``, then ``drain()``: a run's last event.

        An inline observer that would wait for the writer itself when the
        run ends (the history recorder) sees ``writer.drains_next()`` and
        leaves it to this drain: the run waits once, and its last records
        and those the queued observers add make one batch. Added in 0.9.
        """
        with self.writer.drain_follows():
            self.emit(event, **kwargs)
        return self.drain()

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
