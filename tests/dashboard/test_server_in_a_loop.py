"""``serve`` called from a thread that already runs an event loop (a notebook)."""

from __future__ import annotations

import asyncio
import socket

import pytest

from pysetl.dashboard import serve
from pysetl.errors import DashboardError
from pysetl.monitoring.history import InMemoryRunHistory


def test_a_port_in_use_is_still_a_clear_error_inside_a_running_loop():
    """uvicorn's own loop cannot start in this thread: the server gets a thread."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        async def call() -> None:
            serve(InMemoryRunHistory(), port=port, log_level="critical")

        with pytest.raises(DashboardError, match="cannot listen"):
            asyncio.run(call())


def test_it_starts_inside_a_running_loop():
    ready: list[str] = []

    async def call() -> None:
        def on_ready(url: str) -> None:
            ready.append(url)
            raise KeyboardInterrupt  # what Ctrl+C raises in the waiting thread

        serve(InMemoryRunHistory(), port=0, log_level="critical", on_ready=on_ready)

    with pytest.raises((KeyboardInterrupt, SystemExit)):
        asyncio.run(call())
    assert ready
