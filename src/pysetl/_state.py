"""All of pysetl's process-wide state, in one place, and the one reset for tests.

Library code takes what it needs as parameters (a registry, a hook manager,
a writer); the defaults that spare users the wiring are the only global
state, and every piece of it is a field of ``STATE``. Each piece has one
owner, the module that creates and reads it on first use:

=========================  ===============================  ========================
field                      owner                            import-time value
=========================  ===============================  ========================
``settings``               ``pysetl.settings``              ``None`` (parsed on use)
``redactor``               ``pysetl.utils.redaction``       ``None`` (made on use)
``access_listeners``       ``pysetl.utils.dataset_access``  ``()``
``logging``                ``pysetl.logs``                  nothing installed
``connector_registry``     ``pysetl.storage.registry``      ``None`` (made on use)
``hook_manager``           ``pysetl.workflow.hooks``        ``None`` (made on use)
``runtimes``               ``pysetl.workflow.hooks``        ``[]``
``shared_writer``          ``pysetl.utils.writer``          ``None`` (made on use)
``writer_closes_at_exit``  ``pysetl.utils.writer``          ``False``
``exiting``                ``pysetl.utils.writer``          ``False``
``open_sessions``          ``pysetl.runtime``               empty
``log_captures``           ``pysetl.runtime``               nothing installed
=========================  ===============================  ========================

``reset_state()`` (public as ``pysetl.testing.reset_state``) puts every
piece back as it was at import, in dependency order: the default runtimes
and hook manager are closed (which writes what they hold), the handlers
``configure_logging`` installed are removed and the levels it changed
restored, and the registry, redactor, listeners and settings are forgotten,
so the next use builds them afresh. Two pieces belong to live objects and
are left to their owners: the open ``Session`` objects (a test's fixture may
keep one for a whole module; each closes itself, and any still open at exit
are closed then) with the log captures they installed, and the shared
writer thread (objects keep a reference to it; it holds no configuration,
and ``pysetl.utils.writer.reset_shared_writer`` closes it when a test must),
with the two facts of the process's exit it keeps.

What stays out, on purpose, next to the code that fills it: caches of facts
that do not change within a process, which no test can observe (the loaded
entry points, observer signatures and invokers of
``pysetl.workflow._hook_*``, ``DeliveryType`` instances, checked KPI names,
the YAML loaders of ``pysetl.config._files``, metric-label JSON, lineage
dataset fields, the JVM handles and JSON mapper of
``pysetl.monitoring.metrics._spark``, one set per live SparkContext, the
history's compiled SQL of ``pysetl.monitoring.history._sql_writes``,
OpenTelemetry resources by options and ``OTEL_*`` environment); the run-id
clock of ``pysetl.workflow._run_id``, which must never go back (a reset
could hand out an id twice); the writer threads' idents
(``pysetl.utils.writer``), facts about live threads; and the per-store side
tables that ``monitoring.history`` keeps for in-memory run histories, keyed
weakly by the store they belong to.

This module imports nothing from pysetl, so every layer may use it. How to
add a piece of global state: add a field here (with its owner and its
import-time value in the table above), read and write it only in its owner
module, and teach ``reset_state`` to put it back.

Added in 0.7.
"""

from __future__ import annotations

import logging
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pysetl.runtime import Session
    from pysetl.runtime._logs import RunLogCapture
    from pysetl.settings import Settings
    from pysetl.storage.registry import ConnectorRegistry
    from pysetl.utils.dataset_access import AccessListener
    from pysetl.utils.redaction import Redactor
    from pysetl.utils.writer import BackgroundWriter
    from pysetl.workflow.hooks import HookManager

__all__ = [
    "STATE",
    "LogCaptureState",
    "LoggingState",
    "ProcessState",
    "close_default_hooks",
    "reset_state",
    "undo_logging",
]


@dataclass
class LoggingState:
    """What ``pysetl.logs.configure_logging`` installed, to undo it.

    Attributes:
        handlers: The handlers it put on the root logger.
        debug: Whether it switched debug mode on.
        levels: The levels it replaced, by logger name, to restore.
    """

    handlers: list[logging.Handler] = field(default_factory=list)
    debug: bool = False
    levels: dict[str, int] = field(default_factory=dict)


@dataclass
class LogCaptureState:
    """What the run log captures (``pysetl.runtime``) changed on the root logger.

    Several captures can be installed at once (the default runtime of bare
    pipelines and a ``Session``): the first one saves the root's level and
    pins its handlers, and the last one to leave restores everything.

    Attributes:
        captures: The captures installed, in order.
        level: The root's level before the first capture.
        pinned: Root handlers given that level while captures are installed.
        fallback: The stderr handler standing in for Python's last resort.
    """

    captures: list[RunLogCapture] = field(default_factory=list)
    level: int = logging.NOTSET
    pinned: list[logging.Handler] = field(default_factory=list)
    fallback: logging.Handler | None = None


@dataclass
class ProcessState:
    """Every piece of pysetl's process-wide state (see the module docstring)."""

    settings: Settings | None = None
    redactor: Redactor | None = None
    access_listeners: tuple[AccessListener, ...] = ()
    logging: LoggingState = field(default_factory=LoggingState)
    connector_registry: ConnectorRegistry | None = None
    hook_manager: HookManager | None = None
    runtimes: list[object] = field(default_factory=list)
    shared_writer: BackgroundWriter | None = None
    # The shared writer's exit handler is registered (once a process).
    writer_closes_at_exit: bool = False
    # Interpreter exit has begun: the shared writer drops late work.
    exiting: bool = False
    open_sessions: weakref.WeakSet[Session] = field(default_factory=weakref.WeakSet)
    log_captures: LogCaptureState = field(default_factory=LogCaptureState)


STATE = ProcessState()
"""The process's state; only each field's owner module reads or writes it."""


def close_default_hooks(state: ProcessState) -> None:
    """Close the default runtimes (they write what they hold), then the manager."""
    while state.runtimes:
        close = getattr(state.runtimes.pop(), "close", None)
        if callable(close):
            close()
    manager, state.hook_manager = state.hook_manager, None
    if manager is not None:
        manager.close()


def undo_logging(state: ProcessState) -> None:
    """Remove the handlers ``configure_logging`` installed; restore the levels."""
    root = logging.getLogger()
    for handler in state.logging.handlers:
        root.removeHandler(handler)
    for name, level in state.logging.levels.items():
        logging.getLogger(name).setLevel(level)
    state.logging = LoggingState()


def reset_state() -> None:
    """Put pysetl's process-wide state back as it was at import (for tests).

    The default hook manager and its runtimes are closed, logging as
    ``configure_logging`` set it up is undone, and the connector registry,
    redactor, dataset-access listeners and parsed settings are forgotten.
    Open sessions and the shared writer are left to their owners (see the
    module docstring). Safe to call at any time, any number of times.

    Examples:
        An autouse fixture in a project's ``conftest.py``:

        >>> @pytest.fixture(autouse=True)
        ... def _fresh_pysetl():
        ...     reset_state()
        ...     yield
        ...     reset_state()
    """
    close_default_hooks(STATE)
    undo_logging(STATE)
    STATE.connector_registry = None
    STATE.access_listeners = ()
    STATE.redactor = None
    STATE.settings = None
