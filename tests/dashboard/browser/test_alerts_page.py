"""The alerts page (``#/alerts``) in Debian's chromium over alerts of real runs."""

from __future__ import annotations

import pytest
from tests.dashboard.alerted import record_alerts

from pysetl.testing import temporary_history

pytestmark = pytest.mark.browser

XSS = "<script>window.__pwned=1</script><img src=x onerror=window.__pwned=2>"


def test_firing_first_then_past_each_expanding_to_its_events(page, serving, tmp_path):
    history = temporary_history("sqlite", tmp_path)
    alerted = record_alerts(history, firing_pipeline=XSS)
    with serving(history) as dashboard:
        page.goto(f"{dashboard.url}#/alerts")
        firing = f"#alerts-firing tr[data-alert-id='{alerted.firing}']"
        page.wait_for_selector(firing)
        page.wait_for_selector(
            f"#alerts-resolved tr[data-alert-id='{alerted.resolved}']"
        )
        assert page.get_attribute("a[data-nav=alerts]", "class") == "active"
        # The active table comes first and holds only the firing alert.
        ids = page.eval_on_selector_all(
            "table[id^=alerts-] > tbody > tr[data-state]",
            "rows => rows.map(r => [r.closest('table').id, r.dataset.state])",
        )
        assert ids == [["alerts-firing", "firing"], ["alerts-resolved", "resolved"]]
        # The summary naming a <script> pipeline is text, never markup.
        summary = page.text_content(f"{firing} .summary")
        assert summary == f"Pipeline {XSS!r} failed (run {alerted.firing_run})"
        assert page.evaluate("window.__pwned") is None
        # Its run is a link to the run's page.
        href = page.get_attribute(f"{firing} a.run-link", "href")
        assert href == f"#/runs/{alerted.firing_run}"
        # Expanded, it shows its events, oldest first, the error redacted.
        page.click(f"{firing} button.expand")
        events = f"tr.alert-events[data-alert-id='{alerted.firing}'] tbody tr"
        page.wait_for_selector(f"{events}[data-kind]")
        kinds = page.eval_on_selector_all(
            events, "rows => rows.map(r => r.dataset.kind)"
        )
        assert kinds == ["fired", "notified", "delivery_failed"]
        failed = page.text_content(f"{events}[data-kind=delivery_failed]")
        assert "connection refused" in failed
        assert "hunter2" not in failed
        assert page.evaluate("window.__pwned") is None
        assert page.errors == []
        # The run link opens the run.
        page.click(f"{firing} a.run-link")
        page.wait_for_function(f"() => location.hash === '#/runs/{alerted.firing_run}'")
