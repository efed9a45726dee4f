"""The process-wide hook manager, the managers the settings configure, and runtimes.

``default_hook_manager()`` is what a pipeline given no manager uses: made on
first use from the settings, with the default runtime (``pysetl.runtime``
entry point) attached unless ``PYSETL_OBSERVE`` is off. Both are kept in
``pysetl._state.STATE``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from pysetl._state import STATE, close_default_hooks
from pysetl.logs import debug_enabled
from pysetl.settings import settings
from pysetl.workflow._debug import DebugTracer
from pysetl.workflow._hook_manager import HookManager

if TYPE_CHECKING:
    from collections.abc import Iterable

    from pysetl.utils.writer import BackgroundWriter

__all__ = [
    "DISABLE_ENV",
    "RUNTIME_GROUP",
    "configured_hook_manager",
    "default_hook_manager",
    "reset_default_hook_manager",
]

# The hook manager's logger: its log lines kept their name when this moved.
_LOGGER = logging.getLogger("pysetl.workflow._hook_manager")
DISABLE_ENV = "PYSETL_DISABLE_HOOKS"
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
