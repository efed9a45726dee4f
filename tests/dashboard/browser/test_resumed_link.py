"""The run page links a resumed run to the failed run it resumed (chromium)."""

from __future__ import annotations

import time

import pytest

from pysetl.monitoring.history import SqliteRunHistory

pytestmark = pytest.mark.browser

FAILED = "01FAILED000000000000000001"
RESUMED = "01RESUMED00000000000000001"


def test_the_resumed_run_links_the_failed_one(page, serving, tmp_path):
    history = SqliteRunHistory(tmp_path / "resumed.db")
    now = time.time()
    history.start_run(FAILED, "sales", started_at=now - 60)
    history.finish_run(FAILED, "failed", finished_at=now - 50)
    history.start_run(RESUMED, "sales", started_at=now - 40, resumed_from=FAILED)
    history.finish_run(RESUMED, "succeeded", finished_at=now - 30)
    try:
        with serving(history) as dashboard:
            page.goto(f"{dashboard.url}#/runs/{RESUMED}")
            link = page.wait_for_selector("#run-resumed-from a")
            assert link.text_content() == FAILED
            link.click()
            page.wait_for_function(
                "id => document.querySelector('#run-id')?.textContent === id",
                arg=FAILED,
            )
            # the failed run resumed nothing: no link on its page
            assert page.locator("#run-resumed-from").count() == 0
    finally:
        history.close()
    assert page.errors == []
