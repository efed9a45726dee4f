"""``serve`` called from a thread that already runs an event loop (a notebook)."""

from __future__ import annotations

import asyncio
import socket
import threading

import pytest

from pysetl.dashboard import serve
from pysetl.errors import DashboardError
from pysetl.monitoring.history import InMemoryRunHistory


def run_loop(coroutine_function):
    """``asyncio.run`` in a thread of its own: the test session's thread may
    already run a loop (Playwright's sync API does), where it cannot start."""
    outcome: list = []

    def target() -> None:
        try:
            outcome.append((True, asyncio.run(coroutine_function())))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test
            outcome.append((False, exc))

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(60)
    ok, value = outcome[0]
    if not ok:
        raise value
    return value


def test_a_port_in_use_is_still_a_clear_error_inside_a_running_loop():
    """uvicorn's own loop cannot start in this thread: the server gets a thread."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        async def call() -> None:
            serve(InMemoryRunHistory(), port=port, log_level="critical")

        with pytest.raises(DashboardError, match="cannot listen"):
            run_loop(call)


def test_it_starts_inside_a_running_loop():
    ready: list[str] = []

    async def call() -> None:
        def on_ready(url: str) -> None:
            ready.append(url)
            raise KeyboardInterrupt  # what Ctrl+C raises in the waiting thread

        serve(InMemoryRunHistory(), port=0, log_level="critical", on_ready=on_ready)

    with pytest.raises((KeyboardInterrupt, SystemExit)):
        run_loop(call)
    assert ready
