"""``ConfigWatcher``: hot reload of a project's config for long-running processes.

A thread watches the config directory with ``watchfiles`` (the ``config``
extra). When a ``*.yaml``/``*.yml``/``*.toml`` file changes it reloads the
whole config (same arguments as the first load, so the same schema and
rules validate it), and:

* if it is valid and its ``version`` differs, swaps it in atomically
  (``current`` is always a complete, validated config) and calls every
  subscriber with ``(old, new)``;
* if it is invalid, keeps the last good config, logs why (the error lists
  every problem with file, line and key) and counts it in ``rejected``;
* a subscriber that raises is logged and counted in ``subscriber_errors``;
  the others are still called, and nothing is raised.

Subscribers are given as ``on_change`` (one callable or a list of them) or
added with ``subscribe``.

Examples:
    >>> with ConfigWatcher("conf", "prod", schema=ProjectConfigModel) as watcher:
    ...     watcher.subscribe(lambda old, new: print(old.version, "->", new.version))
    ...     serve(lambda: watcher.current)

Added in 0.3.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from pysetl.config.layers import is_layer_file_name
from pysetl.config.loader import load_config
from pysetl.errors import ConfigError
from pysetl.utils.redaction import redact_text

if TYPE_CHECKING:
    import os
    from types import TracebackType

    from typing_extensions import Self

    from pysetl.config.profiles import ResolvedConfig

__all__ = ["ConfigWatcher", "Subscriber"]

_LOGGER = logging.getLogger(__name__)

Subscriber: TypeAlias = Callable[["ResolvedConfig", "ResolvedConfig"], object]
"""A subscriber: called with the old and the new config after each swap."""


def _watchfiles() -> Any:
    try:
        return importlib.import_module("watchfiles")
    except ImportError as exc:
        msg = "Hot reload needs watchfiles: pip install 'pysetl[config]'"
        raise ImportError(msg) from exc


def _subscribers(
    on_change: Subscriber | Iterable[Subscriber] | None,
) -> list[Subscriber]:
    """``on_change`` as a list of subscribers (one callable, several, or none).

    Raises:
        TypeError: ``on_change`` is neither a callable nor an iterable of
            callables (checked now: it would fail at every reload).
    """
    if on_change is None:
        return []
    if callable(on_change):
        return [on_change]
    given: object = on_change  # untyped callers pass anything
    if isinstance(given, str | bytes) or not isinstance(given, Iterable):
        _check_subscriber("on_change", given)  # not callable: raises
    callbacks = list(on_change)
    for index, callback in enumerate(callbacks):
        _check_subscriber(f"on_change[{index}]", callback)
    return callbacks


def _check_subscriber(name: str, value: object) -> None:
    """Raise a ``TypeError`` naming ``name`` unless ``value`` is callable."""
    if callable(value):
        return
    fix = "a function such as `lambda old, new: ...`"
    if name == "on_change":
        fix += " or a list of them"
    msg = (
        f"ConfigWatcher {name} must be a subscriber, a callable taking the old "
        f"and the new config; got {value!r} ({type(value).__name__}). "
        f"Fix: pass {fix}"
    )
    raise TypeError(msg)


def _is_config_file(_change: object, path: str) -> bool:
    return is_layer_file_name(Path(path).name)


class ConfigWatcher:
    """Keeps ``current`` up to date with the config files; see the module docstring.

    Args:
        root: The config directory.
        env: The environment (default ``$PYSETL_ENV``).
        on_change: The first subscribers: one callable or an iterable of
            them (called in that order, each as if added with ``subscribe``).
        debounce_ms: How long changes are gathered before a reload.
        **load_kwargs: Passed to every ``load_config`` call (``schema``,
            ``rules``, ``environ``, ``secrets``, ``overrides``...).

    Attributes:
        reloads: How many new configs were swapped in.
        rejected: How many reloads failed (the last good config was kept).
        subscriber_errors: How many subscriber calls raised.
        last_error: The error of the last rejected reload, if any (a
            ``ConfigLoadError``, or whatever a custom rule raised).

    Raises:
        ConfigLoadError: The *first* load fails (there is no good config to keep).
        TypeError: ``on_change`` is neither a callable nor an iterable of them.

    Changed in 0.4: ``on_change`` also takes an iterable of subscribers.
    """

    def __init__(
        self,
        root: str | os.PathLike[str] = "conf",
        env: str | None = None,
        *,
        on_change: Subscriber | Iterable[Subscriber] | None = None,
        debounce_ms: int = 200,
        **load_kwargs: Any,
    ) -> None:
        """Load the config once (raising if invalid); nothing is watched yet."""
        subscribers = _subscribers(on_change)  # before the (slower) first load
        self.root = Path(root)
        self.env = env
        self.debounce_ms = debounce_ms
        self._load_kwargs = load_kwargs
        self._current = load_config(self.root, env, **load_kwargs)
        self._subscribers: list[Subscriber] = subscribers
        self._lock = threading.Lock()
        self._reloading = threading.Lock()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self.reloads = 0
        self.rejected = 0
        self.subscriber_errors = 0
        self.last_error: Exception | None = None
        self._watch_errors: list[Exception] = []  # from the thread, for start()

    @property
    def current(self) -> ResolvedConfig:
        """The last good config (swapped atomically; never a half-loaded one)."""
        return self._current

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback(old, new)`` after each swap; returns an undo function.

        Raises:
            TypeError: ``callback`` is not callable.
        """
        _check_subscriber("subscribe() callback", callback)
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def reload(self) -> bool:
        """Reload now; returns whether a new config was swapped in.

        An invalid config is logged and counted, never raised. Reloads run
        one at a time (the watcher's and any direct call), so an older load
        is never swapped in over a newer one.
        """
        with self._reloading:
            return self._reload()

    def _reload(self) -> bool:
        try:
            new = load_config(self.root, self.env, **self._load_kwargs)
        except Exception as exc:  # noqa: BLE001 - logged and counted, never raised
            with self._lock:
                self.rejected += 1
                self.last_error = exc
            _LOGGER.warning(
                "pysetl config reload rejected, keeping version %s: %s",
                self._current.version[:12],
                redact_text(f"{type(exc).__name__}: {exc}"),
            )
            return False
        with self._lock:
            old = self._current
            if new.version == old.version:
                # same values; a renamed or moved file still changes where
                # they come from: keep ``explain`` true, tell no one
                if new.files != old.files:
                    self._current = new
                return False
            self._current = new
            self.reloads += 1
            subscribers = list(self._subscribers)
        _LOGGER.info(
            "pysetl config reloaded: version %s -> %s",
            old.version[:12],
            new.version[:12],
        )
        for callback in subscribers:
            self._notify(callback, old, new)
        return True

    def _notify(
        self, callback: Subscriber, old: ResolvedConfig, new: ResolvedConfig
    ) -> None:
        try:
            callback(old, new)
        except Exception:
            with self._lock:
                self.subscriber_errors += 1
            _LOGGER.warning(
                "pysetl config subscriber %r raised; the others still run",
                callback,
                exc_info=True,
            )

    # ----------------------------------------------------------- lifecycle
    def start(self, *, timeout: float = 10.0) -> Self:
        """Start watching in a daemon thread; returns once the watch is active.

        Raises:
            ConfigError: The directory cannot be watched (it was removed).
        """
        if self._thread is not None:
            return self
        watchfiles = _watchfiles()
        self._stop.clear()
        self._ready.clear()
        self._thread = threading.Thread(
            target=self._run,
            args=(watchfiles,),
            name=f"pysetl-config-watcher-{self.root}",
            daemon=True,
        )
        self._watch_errors.clear()
        self._thread.start()
        self._ready.wait(timeout)
        if self._watch_errors:  # the watch could not start
            error = self._watch_errors.pop()
            self.stop()
            msg = (
                f"Cannot watch the config directory {str(self.root)!r}: "
                f"{type(error).__name__}: {error}"
            )
            raise ConfigError(msg, hint="check that it exists and can be read")
        return self

    def _run(self, watchfiles: Any) -> None:
        try:
            self._watch(watchfiles)
        except Exception as exc:  # noqa: BLE001 - reported by start(), or logged
            self._watch_errors.append(exc)
            _LOGGER.warning(
                "pysetl config watcher stopped: %s",
                redact_text(f"{type(exc).__name__}: {exc}"),
            )
        finally:
            self._ready.set()

    def _watch(self, watchfiles: Any) -> None:
        for changes in watchfiles.watch(
            self.root,
            watch_filter=_is_config_file,
            debounce=self.debounce_ms,
            step=50,
            stop_event=self._stop,
            rust_timeout=100,
            yield_on_timeout=True,
        ):
            self._ready.set()  # the first (empty) batch: the watch is active
            if changes:
                self.reload()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop watching and wait for the thread to end."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)

    def __enter__(self) -> Self:
        """Start watching."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop watching."""
        self.stop()
