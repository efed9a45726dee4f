"""The project page (``#/project``) in Debian's chromium, over a sample project."""

from __future__ import annotations

import pytest
from tests.shop_project import DOC_PAYLOAD, SECRET, make_project

from pysetl.dashboard import create_app
from pysetl.dashboard._project import ProjectDescriber
from pysetl.monitoring.history import SqliteRunHistory
from pysetl.runtime.project import run_project

pytestmark = pytest.mark.browser


def _statuses(page):
    return page.eval_on_selector_all(
        "#project-graph g[data-factory]",
        "gs => Object.fromEntries("
        "gs.map(g => [g.dataset.factory, g.dataset.status || null]))",
    )


def test_factories_by_stage_details_on_click_and_the_last_run(  # noqa: PLR0915
    page, serve_app, shot, tmp_path, monkeypatch
):
    monkeypatch.delenv("PYSETL_HISTORY_URL", raising=False)
    root, _ = make_project(tmp_path / "shop")
    url = str(tmp_path / "history.db")
    history = SqliteRunHistory(url)
    try:
        app = create_app(history)
        app.state.project = ProjectDescriber(root, ttl=600)
        server = serve_app(app)
        page.goto(f"{server.url}/#/project")
        page.wait_for_selector("#project-graph g[data-factory=CountOrders]")
        assert page.get_attribute("a[data-nav=project]", "class") == "active"
        tabs = page.eval_on_selector_all(
            "#pipeline-tabs .tab", "ts => ts.map(t => t.dataset.pipeline)"
        )
        assert tabs == ["broken", "orders", "reports"]
        assert page.get_attribute(".tab.active", "data-pipeline") == "orders"
        # Factories by stage: one column each, the last stage's two side by side.
        columns = page.eval_on_selector_all(
            "#project-graph g[data-factory]",
            "gs => gs.map(g => [g.dataset.factory, g.transform.baseVal[0].matrix.e])",
        )
        x = dict(columns)
        assert x["LoadOrders"] < x["CleanOrders"] < x["CountOrders"]
        assert x["CountOrders"] == x["FlagOrders"]
        labels = page.eval_on_selector_all(
            "#project-graph text.stage-label", "ts => ts.map(t => t.textContent)"
        )
        assert labels == ["Inputs", "Stage 0", "Stage 1", "Stage 2"]
        assert page.locator("#project-graph path.edge").count() == 4
        # Never run yet: no state on any factory.
        assert set(_statuses(page).values()) == {None}

        # A recorded run (the last stage fails): the page shows the states
        # when it loads again (the code's description is reused; the
        # history is read at each request).
        failed = run_project(
            "orders", project_dir=root, history=url, observe=True, params={"fail": "1"}
        )
        page.reload()
        page.wait_for_selector("#project-graph g[data-status=failed]")
        assert _statuses(page) == {
            "LoadOrders": "succeeded",
            "CleanOrders": "succeeded",
            "CountOrders": "failed",
            "FlagOrders": "not run",
        }
        assert failed.run_id in page.text_content("#pipeline-panel .panel-head")

        # A click on a factory shows its deliveries, docstring and last run.
        page.click("#project-graph g[data-factory=CountOrders]")
        page.wait_for_selector("#factory-details[data-factory=CountOrders]")
        near = page.eval_on_selector_all(
            "#project-graph path.edge.near",
            "es => es.map(e => e.dataset.source + '>' + e.dataset.target).sort()",
        )
        assert near == ["CleanOrders>CountOrders", "input:0>CountOrders"]
        doc = page.text_content("#factory-doc")
        assert DOC_PAYLOAD in doc  # shown as text
        assert page.locator("#factory-details img").count() == 0
        assert page.evaluate("window.__pwned") is None
        rows = page.eval_on_selector_all(
            "#factory-deliveries tbody tr",
            "rs => rs.map(r => [...r.cells].slice(0, 4).map(c => c.textContent))",
        )
        assert rows == [
            ["minimum", "float", "min_amount", "input min_amount"],
            ["orders", "list[dict]", "", "CleanOrders"],
        ]
        last = page.text_content("#factory-last-run")
        assert "failed" in last
        assert failed.run_id in last
        assert "ValueError: the orders file is truncated" in last
        assert "orders: int" not in last
        fields = page.eval_on_selector_all(
            "#factory-details table.fields td", "cs => cs.map(c => c.textContent)"
        )
        assert fields[:4] == ["orders", "int", "total", "float"]
        page.mouse.move(0, 0)  # no tooltip in the picture
        shot(page, "project")

        # Its source is a link to the factory that feeds it; configs are masked.
        page.click("#factory-deliveries button[data-goto=CleanOrders]")
        page.wait_for_selector("#factory-details[data-factory=CleanOrders]")
        page.click("#project-graph g[data-factory=FlagOrders]")
        page.wait_for_selector("#factory-details .config")
        config = page.text_content("#factory-details .config")
        assert "/data/flags.csv" in config
        assert SECRET not in page.content()

        # The typed reports: the schema of a DataSet, an unresolved delivery.
        page.click(".tab[data-pipeline=reports]")
        page.wait_for_selector("#pipeline-panel[data-pipeline=reports]")
        assert "Report.summary" in page.text_content("#pipeline-problems")
        page.click("#project-graph g[data-factory=Report]")
        page.wait_for_selector("#factory-details[data-factory=Report]")
        schema = page.eval_on_selector_all(
            "#factory-details table.fields td", "cs => cs.map(c => c.textContent)"
        )
        assert schema == ["id", "bigint", "customer", "string", "amount", "double"]
        # A pipeline whose function fails says why.
        page.click(".tab[data-pipeline=broken]")
        page.wait_for_selector("#pipeline-error")
        assert "RuntimeError: the catalog is missing" in page.text_content(
            "#pipeline-error"
        )
        assert page.errors == []
    finally:
        history.close()
