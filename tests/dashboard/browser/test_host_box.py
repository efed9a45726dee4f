"""The runs page's Host filter in chromium: the box, the address, the host links.

A history with runs from two hosts (``start_run(host=...)``, as two machines
sharing one history record them); the JSON API's host filter itself is
tested in ``tests/dashboard/test_host_filter.py``.
"""

from __future__ import annotations

import time

import pytest

from pysetl.monitoring.history import SqliteRunHistory

pytestmark = pytest.mark.browser

ROWS = "#runs-table tbody tr[data-run-id]"
# run id -> host, oldest first (ids sort like ULIDs: a later run, a higher id)
HOSTS = {f"01HOST{n:020d}": "etl-b" if n % 2 else "etl-a" for n in range(5)}


def of(host: str) -> list[str]:
    """The runs of ``host``, newest first (the page's order)."""
    return [run for run, name in reversed(HOSTS.items()) if name == host]


def shown(page) -> list[tuple[str, str]]:
    """``(run id, host cell)`` of each row of the runs table."""
    return page.eval_on_selector_all(
        ROWS, "rows => rows.map(r => [r.dataset.runId, r.cells[6].textContent])"
    )


def wait_rows(page, runs: list[str]) -> None:
    """Wait until the table lists exactly ``runs``, in this order."""
    page.wait_for_function(
        "ids => JSON.stringify([...document.querySelectorAll("
        "'#runs-table tbody tr[data-run-id]')].map(r => r.dataset.runId))"
        " === JSON.stringify(ids)",
        arg=runs,
    )


@pytest.fixture
def two_hosts(serving, tmp_path):
    history = SqliteRunHistory(tmp_path / "hosts.db")
    now = time.time()
    for n, (run, host) in enumerate(HOSTS.items()):
        history.start_run(run, "sales", started_at=now - 60 + n, host=host)
        history.finish_run(run, "succeeded", finished_at=now - 50 + n)
    try:
        with serving(history) as dashboard:
            yield dashboard
    finally:
        history.close()


def test_the_host_box_lists_the_runs_of_one_host(page, two_hosts):
    page.goto(two_hosts.url)
    wait_rows(page, list(reversed(HOSTS)))
    page.fill("input[name=host]", "etl-b")
    page.press("input[name=host]", "Enter")
    wait_rows(page, of("etl-b"))
    assert {host for _, host in shown(page)} == {"etl-b"}
    assert "host=etl-b" in page.evaluate("location.hash")
    # Emptied, the box lists every host again.
    page.fill("input[name=host]", "")
    page.press("input[name=host]", "Enter")
    wait_rows(page, list(reversed(HOSTS)))
    assert "host=" not in page.evaluate("location.hash")
    assert page.errors == []


def test_the_filter_comes_from_the_address_and_host_links(page, two_hosts):
    page.goto(f"{two_hosts.url}#/?host=etl-a")
    wait_rows(page, of("etl-a"))
    assert page.input_value("input[name=host]") == "etl-a"
    # An unknown host: no run, said so.
    page.fill("input[name=host]", "etl-c")
    page.press("input[name=host]", "Enter")
    page.wait_for_selector("#runs-table td.empty")
    # A row's host links to the runs of that host.
    page.fill("input[name=host]", "")
    page.press("input[name=host]", "Enter")
    wait_rows(page, list(reversed(HOSTS)))
    page.click(f"tr[data-run-id='{of('etl-b')[0]}'] a.host-link")
    wait_rows(page, of("etl-b"))
    assert page.input_value("input[name=host]") == "etl-b"
    assert page.errors == []
