"""The dashboard's page in Debian's chromium over a history of real runs.

Runs list (filters, paging), run detail (error, hint, metrics, timeline),
logs (paging, search, level), history charts, script-injection payloads shown
as text, the token flow and the API page. The live view is in ``test_live.py``.
"""

from __future__ import annotations

import re
import time

import pytest
from typing_extensions import Self

from pysetl.monitoring.history import HistoryRecorder, SqliteRunHistory
from pysetl.workflow import Factory, HookManager, Pipeline

pytestmark = pytest.mark.browser

ROWS = "#runs-table tbody tr[data-run-id]"


def open_page(page, url):
    page.goto(url)
    page.wait_for_selector("#app > *", state="attached")


def attrs(page, selector, name):
    return page.eval_on_selector_all(
        selector, "(els, name) => els.map(e => e.getAttribute(name))", name
    )


def wait_count(page, selector, op, n):
    """Wait until the number of ``selector`` matches compares with ``n``."""
    page.wait_for_function(
        f"([s, n]) => document.querySelectorAll(s).length {op} n", arg=[selector, n]
    )


def wait_first_row(page, op, run_id):
    page.wait_for_function(
        f"id => document.querySelector('#runs-table tbody tr').dataset.runId {op} id",
        arg=run_id,
    )


def texts(page, selector):
    return page.eval_on_selector_all(selector, "els => els.map(e => e.textContent)")


def no_script_errors(page):
    assert page.errors == []


class TestRunsList:
    def test_lists_filters_and_pages_the_runs(self, page, dashboard, seeded, shot):
        open_page(page, dashboard.url)
        page.wait_for_selector(ROWS)
        ids = attrs(page, ROWS, "data-run-id")
        assert len(ids) == 25  # a page
        assert ids[0] == seeded.xss  # newest first
        assert page.locator("#pipeline-cards a.card").count() == 3
        shot(page, "runs")

        # By pipeline: the hash keeps the filter, every row is of it.
        page.select_option("select[name=pipeline]", "nightly_sales")
        page.wait_for_function(
            "() => [...document.querySelectorAll('#runs-table tbody td:nth-child(3)')]"
            ".every(td => td.textContent === 'nightly_sales')"
        )
        assert "pipeline=nightly_sales" in page.evaluate("location.hash")
        first = attrs(page, ROWS, "data-run-id")
        assert first == list(reversed(seeded.nightly))[:25]

        # Paging with next_cursor, and back.
        page.click("button[data-action=older]")
        wait_first_row(page, "!==", first[0])
        second = attrs(page, ROWS, "data-run-id")
        assert second == list(reversed(seeded.nightly))[25:]
        assert page.is_disabled("button[data-action=older]")
        page.click("button[data-action=newer]")
        wait_first_row(page, "===", first[0])
        assert page.is_disabled("button[data-action=newer]")

        # By status.
        page.select_option("select[name=status]", "failed")
        wait_count(page, ROWS, "===", 6)
        assert set(attrs(page, ROWS, "data-status")) == {"failed"}
        # By time: every run is recent, none is older than an hour.
        page.select_option("select[name=range]", "1h")
        page.wait_for_function("() => location.hash.includes('range=1h')")
        page.wait_for_selector(ROWS)
        assert page.locator(ROWS).count() == 6
        no_script_errors(page)

    def test_filters_come_from_the_address(self, page, dashboard, seeded):
        open_page(page, f"{dashboard.url}#/?pipeline=inventory")
        wait_count(page, ROWS, "===", 3)
        assert attrs(page, ROWS, "data-run-id") == list(reversed(seeded.inventory))
        assert page.input_value("select[name=pipeline]") == "inventory"
        # A run link opens the run.
        page.click(f"a[href='#/runs/{seeded.inventory[-1]}']")
        page.wait_for_selector("#run-id")
        assert page.text_content("#run-id") == seeded.inventory[-1]
        no_script_errors(page)

    def test_the_addressed_pipeline_shows_before_the_pipelines_list_comes(
        self, page, dashboard, seeded
    ):
        """The filter shows at once, even while the list of pipelines is held up."""
        held = []

        def hold(route):
            held.append(route)  # never answered

        page.route("**/api/pipelines*", hold)
        open_page(page, f"{dashboard.url}#/?pipeline=inventory")
        wait_count(page, ROWS, "===", 3)
        assert held  # the page asked for the pipelines; no answer came
        assert page.input_value("select[name=pipeline]") == "inventory"
        assert attrs(page, ROWS, "data-run-id") == list(reversed(seeded.inventory))
        page.unroute("**/api/pipelines*")

    def test_a_bad_filter_shows_the_api_message_and_hint(self, page, dashboard):
        open_page(page, f"{dashboard.url}#/?status=<b>bogus</b>")
        page.wait_for_selector(".notice.error")
        text = page.text_content(".notice.error")
        assert "Error 422" in text
        assert "'status'" in text
        assert "<b>bogus</b>" in text  # the API's message, shown as text
        assert page.text_content(".notice.error .hint").startswith("use one of")
        assert page.locator(".notice.error b").count() == 0

    def test_new_runs_appear_without_a_reload(self, page, serving, tmp_path):
        history = SqliteRunHistory(tmp_path / "fresh.db")
        with serving(history) as dashboard:
            open_page(page, dashboard.url)
            page.wait_for_selector("#runs-table td.empty")
            page.evaluate("window.__marker = 'same page'")
            recorder = HistoryRecorder(history)
            with HookManager(observers=[recorder]) as hooks:
                pipeline = Pipeline(hooks=hooks, name="fresh")
                pipeline.add_stage_from_type(Noop).run()
            recorder.close()
            # Auto-refresh reads the list again every 5 s.
            page.wait_for_selector(
                f"tr[data-run-id='{pipeline.run_id}']", timeout=12_000
            )
            assert page.evaluate("window.__marker") == "same page"
            assert page.locator("#pipeline-cards a.card").count() == 1
        history.close()
        no_script_errors(page)


class Noop(Factory[int]):
    def read(self) -> Self:
        return self

    def process(self) -> Self:
        return self

    def write(self) -> Self:
        return self

    def get(self) -> int:
        return 1


class TestRunDetail:
    def test_shows_error_hint_timeline_and_metrics(self, page, dashboard, seeded):
        failed = seeded.nightly[5]  # every 6th run fails in ScoreCustomers
        open_page(page, f"{dashboard.url}#/runs/{failed}")
        page.wait_for_selector("#errors-panel .error-card")
        card = page.text_content("#errors-panel .error-card")
        assert "Model file 'models/churn-v3.pkl' not found" in card
        assert "run `make models` or set SCORING_MODEL" in card
        assert "ScoreCustomers" in card
        assert page.text_content("#live-state") == "FINISHED"
        # The graph: each factory by its state.
        nodes = dict(
            zip(
                attrs(page, "#graph .node", "data-factory"),
                attrs(page, "#graph .node", "data-status"),
                strict=True,
            )
        )
        assert nodes["LoadOrders"] == "succeeded"
        assert nodes["ScoreCustomers"] == "failed"
        # The Gantt: one bar per factory that ran, phases inside.
        assert page.locator("#timeline g.gantt-row").count() == 3
        assert page.locator("#timeline g.gantt-row rect[class^=phase-]").count() >= 3
        # Metrics per factory.
        row = page.locator("#factories-table tr[data-factory=CleanOrders]")
        assert "cpu_seconds" in row.text_content()
        row.click()
        detail = page.locator("#factories-table tr.detail:not([hidden])")
        assert "peak_rss_bytes" in detail.text_content()
        no_script_errors(page)

    def test_a_run_whose_process_died_is_shown_stale(self, page, serving, tmp_path):
        history = SqliteRunHistory(tmp_path / "stale.db")
        started = time.time() - 7200
        history.start_run("01STALE0000000000000000001", "dead", started_at=started)
        history.heartbeat("01STALE0000000000000000001", at=started + 60)
        with serving(history) as dashboard:
            open_page(page, dashboard.url)
            page.wait_for_selector("tr[data-run-id='01STALE0000000000000000001']")
            assert page.locator("#runs-table [data-stale=true]").count() == 1
            streams: list[str] = []
            page.on(
                "request",
                lambda r: streams.append(r.url) if "/stream" in r.url else None,
            )
            open_page(page, f"{dashboard.url}#/runs/01STALE0000000000000000001")
            page.wait_for_selector("#run-stale")
            assert "process probably died" in page.text_content("#run-stale")
            # the clock stops at the last heartbeat: a minute, not two hours
            page.wait_for_timeout(1200)
            assert page.text_content("#run-duration") == "1m 00s"
            # nothing to follow: no live stream (the server would end it at once)
            assert streams == []
            assert page.get_attribute("#live-state", "data-live") == "off"
        history.close()
        no_script_errors(page)

    def test_unknown_run_says_so(self, page, dashboard):
        open_page(page, f"{dashboard.url}#/runs/NO-SUCH-RUN")
        page.wait_for_selector(".notice.error")
        text = page.text_content(".notice.error")
        assert "404" in text
        assert "NO-SUCH-RUN" in text


class TestLogs:
    def test_pages_searches_and_filters_the_log(self, page, dashboard, seeded):
        open_page(page, f"{dashboard.url}#/runs/{seeded.nightly[-1]}")
        lines = "#logs .line"
        page.wait_for_selector(lines)
        assert page.locator(lines).count() == 200  # one page, never the whole log
        page.click("button[data-action=more-logs]")
        wait_count(page, lines, "===", 400)
        page.click("button[data-action=more-logs]")
        wait_count(page, lines, ">", 400)
        assert page.is_disabled("button[data-action=more-logs]")
        total = page.locator(lines).count()
        assert total >= seeded.log_lines

        page.fill("#logs-panel input[name=q]", "batch 42 of")
        wait_count(page, lines, "===", 1)
        message = page.text_content("#logs .line .msg")
        assert message == f"loaded order batch 42 of run {len(seeded.nightly) - 1}"
        assert page.text_content("#logs .line mark") == "batch 42 of"

        page.fill("#logs-panel input[name=q]", "")
        page.select_option("#logs-panel select[name=level]", "WARNING")
        page.wait_for_function(
            "() => { const l = [...document.querySelectorAll('#logs .line .lvl')];"
            " return l.length > 0 && l.length < 50 &&"
            " l.every(e => e.textContent === 'WARNING' || e.textContent === 'ERROR'); }"
        )
        page.select_option("#logs-panel select[name=level]", "")
        page.fill("#logs-panel input[name=q]", "no such text anywhere")
        page.wait_for_selector("#logs .empty")
        assert page.text_content("#logs .empty") == "No log line matches."
        no_script_errors(page)


class TestCharts:
    def test_history_charts_are_drawn(self, page, dashboard, seeded, shot):
        open_page(page, f"{dashboard.url}#/pipelines/nightly_sales")
        page.wait_for_selector("svg#chart-duration")
        points = {
            chart: int(page.get_attribute(f"svg#{chart}", "data-points"))
            for chart in (
                "chart-duration",
                "chart-failure",
                "chart-factories",
                "chart-cpu",
                "chart-memory",
            )
        }
        runs = len(seeded.nightly)
        assert points["chart-duration"] == runs
        assert points["chart-failure"] == runs
        # 4 factories a run; the last does not run when the third fails
        assert points["chart-factories"] >= 3 * runs
        assert points["chart-cpu"] == runs
        assert points["chart-memory"] == runs
        assert page.text_content("#failure-rate .value") == "17%"  # 6 of 36
        assert page.locator("#status-strip a.status-failed").count() == 6
        kpis = attrs(page, "[data-kpi]", "data-kpi")
        assert sorted(kpis) == ["late_ratio", "orders_rejected"]
        # Axes with labels; a point carries its run in a tooltip and opens it.
        assert page.locator("svg#chart-duration .axis text").count() >= 4
        title = page.text_content("svg#chart-duration rect.barv title")
        assert title.startswith(seeded.nightly[0])
        # One factory across runs: its duration (and its metrics, when the
        # API gives them).
        page.select_option("select[name=factory]", "CleanOrders")
        page.wait_for_selector("svg#chart-factory-duration")
        drawn = page.get_attribute("svg#chart-factory-duration", "data-points")
        assert drawn == str(runs)
        page.hover("svg#chart-cpu circle.pt")
        assert page.is_visible(".tip")
        shot(page, "charts")
        page.click("svg#chart-duration rect.barv")
        page.wait_for_selector("#run-id")
        assert page.text_content("#run-id") == seeded.nightly[0]
        no_script_errors(page)

    def test_pipelines_page_lists_them(self, page, dashboard):
        open_page(page, f"{dashboard.url}#/pipelines")
        page.wait_for_selector("tr[data-pipeline]")
        assert attrs(page, "tr[data-pipeline]", "data-pipeline") == [
            "inventory",
            "nightly_sales",
            "xss",
        ]


class TestInjection:
    def test_payloads_show_as_text_everywhere(self, page, dashboard, seeded):
        name, message = seeded.name_payload, seeded.message_payload
        # The runs list shows the error with its payloads.
        open_page(page, dashboard.url)
        page.wait_for_selector(f"tr[data-run-id='{seeded.xss}']")
        assert name in page.text_content(f"tr[data-run-id='{seeded.xss}'] td.err")
        # The run: graph node, error card, timeline, table and logs.
        open_page(page, f"{dashboard.url}#/runs/{seeded.xss}")
        page.wait_for_selector("#errors-panel .error-card")
        page.wait_for_selector("#logs .line")
        assert name in attrs(page, "#graph .node", "data-factory")
        card = page.text_content("#errors-panel .error-card")
        assert name in card
        assert message in card
        assert f"check the file named {name}" in card
        rows = attrs(page, "#factories-table tr[data-factory]", "data-factory")
        assert name in rows
        logs = page.text_content("#logs")
        assert f"suspicious input {message}" in logs
        # Nothing of it became markup, nothing ran.
        assert page.locator("#app img").count() == 0
        assert page.locator("#app script, body > script:not([src])").count() == 0
        assert page.evaluate("typeof window.__pwned") == "undefined"
        no_script_errors(page)


class TestToken:
    def test_token_in_the_address_opens_the_page(self, page, token_dashboard, seeded):
        url = token_dashboard.url
        refused = page.goto(url)
        assert refused.status == 401
        assert "token" in refused.json()["hint"]
        wrong = page.goto(f"{url}?token=wrong-token")
        assert wrong.status == 401

        page.goto(f"{url}?token={seeded.token}")
        page.wait_for_selector(ROWS)
        assert "token" not in page.url  # it left the address bar
        cookies = {c["name"]: c for c in page.context.cookies()}
        cookie = cookies["pysetl_ui_token"]
        assert cookie["httpOnly"] is True
        assert cookie["sameSite"] == "Strict"
        # The page's own requests (fetch, EventSource) carry the cookie.
        open_page(page, f"{url}#/runs/{seeded.nightly[5]}")
        page.wait_for_selector("#errors-panel .error-card")
        assert re.search(r"v\d", page.text_content("#health"))

    def test_an_expired_cookie_asks_for_the_token(self, page, token_dashboard, seeded):
        url = token_dashboard.url
        page.goto(f"{url}?token={seeded.token}")
        page.wait_for_selector(ROWS)
        page.context.clear_cookies()
        page.evaluate("location.hash = '#/pipelines'")
        page.wait_for_selector(".login")
        page.fill(".login input[name=token]", seeded.token)
        page.click(".login button")
        page.wait_for_selector(ROWS)
        assert "token" not in page.url


class TestApiPage:
    def test_lists_the_endpoints(self, page, dashboard):
        open_page(page, f"{dashboard.url}#/api")
        page.wait_for_selector(".endpoint")
        paths = texts(page, ".endpoint code")
        assert "/api/runs" in paths
        assert "/api/runs/{run_id}/logs" in paths
        assert page.get_attribute("a[href='openapi.json']", "href") == "openapi.json"
        no_script_errors(page)
