"""The default runtime: what a bare ``Pipeline.run()`` is observed with.

``pysetl.workflow`` attaches it to the process-wide hook manager through the
entry point ``default`` of the group ``pysetl.runtime`` (declared in
pysetl's own ``pyproject.toml``), so the workflow layer never imports this
one. It is a ``Session`` without a config: the project's history
(``PYSETL_HISTORY_URL`` or ``.pysetl/history.db`` found from the working
directory), log capture, metrics and Spark progress, closed at interpreter
exit (or by ``reset_default_hook_manager()``).

Added in 0.4.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pysetl.runtime._session import Session

if TYPE_CHECKING:
    from pysetl.workflow import HookManager

__all__ = ["attach_default"]


def attach_default(manager: HookManager) -> Session:
    """Register the default observers on ``manager``; return their session."""
    return Session(hooks=manager)
