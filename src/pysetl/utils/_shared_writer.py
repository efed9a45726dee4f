"""The process-wide writer: made on first use, closed at interpreter exit.

Kept in ``pysetl._state.STATE``, with whether exit has begun: once it has,
late work (a log line from a ``__del__``) goes to the closed writer, which
drops it, instead of starting a new thread.
"""

from __future__ import annotations

import atexit

from pysetl._state import STATE
from pysetl.utils._background_writer import BackgroundWriter

__all__ = ["close_shared_at_exit", "reset_shared_writer", "shared_writer"]


def shared_writer() -> BackgroundWriter:
    """The process-wide writer that observers use when given none.

    Created on first use; closed (within two seconds) at interpreter exit,
    after which late work (a log line from a ``__del__``) is dropped.
    """
    # Kept in ``pysetl._state.STATE``, with whether exit has begun.
    writer = STATE.shared_writer
    if writer is not None and (STATE.exiting or not writer.closed):
        return writer  # at exit: the closed one, which drops late work
    writer = STATE.shared_writer = BackgroundWriter()
    if STATE.exiting:  # asked for during exit: a writer that drops everything
        writer.close()
    if not STATE.writer_closes_at_exit:
        atexit.register(close_shared_at_exit)
        STATE.writer_closes_at_exit = True
    return writer


def close_shared_at_exit() -> None:
    """Close the process-wide writer, within two seconds (registered with atexit)."""
    STATE.exiting = True
    writer = STATE.shared_writer
    if writer is not None:
        writer.close(timeout=2.0)


def reset_shared_writer() -> None:
    """Close and forget the process-wide writer (for tests)."""
    writer, STATE.shared_writer = STATE.shared_writer, None
    if writer is not None:
        writer.close(timeout=2.0)
