"""Who read or wrote which dataset: how storage tells observers of its accesses.

``SparkRepository`` calls ``record_access`` when it loads or saves. The
call tells every registered listener (an exporter of lineage, for example)
which object was read or written, and by which code: the run scope bound in
the calling thread (``pysetl.utils.run_scope``), so a listener can file the
access under its run, stage, factory and attempt. With no listener, a call
is one truth test of a tuple; a listener must be quick (it runs in the
factory's thread) and must not raise (what it raises is swallowed).

The listeners are process-global state and live here only;
``reset_access_listeners`` empties them for tests.

How to report the accesses of a new kind of dataset: call
``record_access(self, "read")`` (or ``"write"``) where it reads or writes.

Added in 0.4.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Literal, TypeAlias

from pysetl._state import STATE
from pysetl.utils.run_scope import current_scope

if TYPE_CHECKING:
    from collections.abc import Callable

    from pysetl.utils.run_scope import RunScope

__all__ = [
    "AccessListener",
    "AccessMode",
    "add_access_listener",
    "record_access",
    "remove_access_listener",
    "reset_access_listeners",
]

AccessMode: TypeAlias = Literal["read", "write"]
AccessListener: TypeAlias = "Callable[[RunScope | None, object, AccessMode], None]"

# The listeners are ``STATE.access_listeners``: a tuple replaced whole (never
# mutated), so a reader needs no lock.
_LOCK = threading.Lock()


def add_access_listener(listener: AccessListener) -> None:
    """Call ``listener(scope, dataset, mode)`` on every access from now on."""
    with _LOCK:
        if listener not in STATE.access_listeners:
            STATE.access_listeners = (*STATE.access_listeners, listener)


def remove_access_listener(listener: AccessListener) -> None:
    """Stop calling ``listener``; nothing happens when it is not registered."""
    with _LOCK:
        STATE.access_listeners = tuple(
            known for known in STATE.access_listeners if known != listener
        )


def reset_access_listeners() -> None:
    """Forget every listener (for tests)."""
    with _LOCK:
        STATE.access_listeners = ()


def record_access(dataset: object, mode: AccessMode) -> None:
    """Tell the listeners that ``dataset`` was read or written here and now."""
    listeners = STATE.access_listeners
    if not listeners:
        return
    scope = current_scope()
    for listener in listeners:
        try:
            listener(scope, dataset, mode)
        except Exception:  # noqa: BLE001, S112, PERF203 - never break a read or write
            continue
