"""The errors page (``#/errors``) in Debian's chromium over a history of real runs."""

from __future__ import annotations

import time

import pytest

from pysetl.monitoring.errors import error_groups, normalise_message

pytestmark = pytest.mark.browser

ROWS = "#errors-table tbody tr[data-fingerprint]"


def test_lists_the_groups_with_a_trend_each(page, dashboard, seeded):
    page.goto(f"{dashboard.url}#/errors?days=30")
    page.wait_for_selector(ROWS)
    expected = error_groups(dashboard.history, since=time.time() - 30 * 86_400)
    shown = page.eval_on_selector_all(
        ROWS, "els => els.map(e => e.dataset.fingerprint)"
    )
    assert shown == [g.fingerprint for g in expected]
    assert page.get_attribute("a[data-nav=errors]", "class") == "active"
    # One bar a day: the 30 days back and today; the counts add up.
    bars = page.eval_on_selector_all(
        f"{ROWS} svg.trend",
        "svgs => svgs.map(s => [...s.querySelectorAll('rect')]"
        ".map(r => Number(r.dataset.count)))",
    )
    assert [len(b) for b in bars] == [31] * len(expected)
    assert [sum(b) for b in bars] == [g.count for g in expected]
    # A payload in a message is text, never markup.
    text = page.text_content("#errors-table")
    assert f"cannot parse {normalise_message(seeded.message_payload)}" in text
    assert page.evaluate("window.__pwned") is None
    assert page.errors == []


def test_the_window_is_chosen_in_the_page(page, dashboard):
    page.goto(f"{dashboard.url}#/errors")
    page.wait_for_selector(ROWS)
    page.select_option("select[name=days]", "90")
    page.wait_for_function("() => location.hash === '#/errors?days=90'")
    page.wait_for_selector(f"{ROWS} svg.trend rect >> nth=90")
    assert page.errors == []
