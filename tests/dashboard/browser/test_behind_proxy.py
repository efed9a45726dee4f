"""The page in chromium behind a reverse proxy, under the prefix ``/pysetl``.

The app runs with uvicorn's ``root_path="/pysetl"`` (what ``pysetl ui
--root-path /pysetl`` sets) behind the small real proxy of ``proxy.py``,
which strips the prefix. Every request the page makes (its files, the API,
the token sign-in) must go through the prefix and succeed.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from pysetl.dashboard import create_app
from pysetl.monitoring.history import SqliteRunHistory

from ..proxy import ReverseProxy  # noqa: TID252 - tests are no package
from .conftest import wait_until

pytestmark = pytest.mark.browser
ROWS = "#runs-table tbody tr[data-run-id]"


@pytest.fixture(scope="module")
def behind_proxy(seeded) -> Iterator[str]:
    """The proxy's URL of the dashboard (``http://127.0.0.1:P/pysetl/``)."""
    uvicorn = pytest.importorskip("uvicorn")
    history = SqliteRunHistory(seeded.path, migrate=False)
    app = create_app(history, token=seeded.token)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        root_path="/pysetl",
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.2",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, daemon=True
    )
    thread.start()
    wait_until(lambda: server.started, timeout=20)
    try:
        with ReverseProxy(sock.getsockname()[1], proto="http") as proxy:
            yield proxy.url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        history.close()


def test_the_page_signs_in_and_works_under_the_prefix(page, behind_proxy, seeded):
    failed: list[str] = []
    page.on(
        "response",
        lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    # Leaving a page aborts its fetches still under way (net::ERR_ABORTED):
    # that is the browser's doing, not a request the prefix broke.
    page.on(
        "requestfailed",
        lambda r: (
            None
            if "ERR_ABORTED" in (r.failure or "")
            else failed.append(f"failed {r.url}: {r.failure}")
        ),
    )
    page.goto(f"{behind_proxy}?token={seeded.token}")
    assert page.url == behind_proxy  # redirected to the prefix, token gone
    page.wait_for_selector(ROWS)
    cookie = next(c for c in page.context.cookies() if c["name"] == "pysetl_ui_token")
    assert cookie["path"] == "/pysetl/"
    page.click(f"{ROWS} a[href^='#/runs/']")
    page.wait_for_selector("text=Timeline", timeout=15_000)
    page.goto(f"{behind_proxy}#/pipelines")
    page.wait_for_selector("[data-pipeline]")
    assert failed == []
    assert all(
        u.startswith(behind_proxy)
        for u in page.evaluate(
            "performance.getEntriesByType('resource').map(e => e.name)"
        )
    )
