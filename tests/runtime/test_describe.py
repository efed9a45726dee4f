"""``describe_project``: the pipelines of a project, from code, with their last run."""

from __future__ import annotations

import json
import textwrap

import pytest
from tests.shop_project import DOC_PAYLOAD, SECRET, make_project

from pysetl.errors import ConfigError
from pysetl.monitoring.history import SqliteRunHistory, open_history
from pysetl.runtime.describe import (
    ProjectView,
    describe_project,
    error_line,
    last_run,
    main,
)
from pysetl.runtime.project import run_project


@pytest.fixture
def shop(tmp_path, monkeypatch):
    """The sample project, no history variable, no observer switch."""
    monkeypatch.delenv("PYSETL_HISTORY_URL", raising=False)
    monkeypatch.delenv("PYSETL_OBSERVE", raising=False)
    root, _ = make_project(tmp_path / "shop")
    return root


class TestDescribeProject:
    def test_every_pipeline_by_name_without_running_anything(self, shop):
        view = describe_project(shop)
        assert view.root == str(shop)
        assert view.default == "orders"
        assert [p.project_name for p in view.pipelines] == [
            "broken",
            "orders",
            "reports",
        ]
        orders = view.pipeline("orders")
        assert orders.name == "orders"  # left unnamed: its project name
        assert orders.doc == "The daily orders: load, clean, then count and flag."
        assert [s.factories for s in orders.stages] == [
            ("LoadOrders",),
            ("CleanOrders",),
            ("CountOrders", "FlagOrders"),
        ]
        assert orders.last_run is None
        assert not (shop / ".pysetl").exists()  # nothing opened, nothing written

    def test_deliveries_schemas_docstrings_and_configs(self, shop):
        view = describe_project(shop)
        count = view.pipeline("orders").factory("CountOrders")
        assert DOC_PAYLOAD in count.doc
        assert {(d.attribute, d.source) for d in count.deliveries} == {
            ("orders", "CleanOrders"),
            ("minimum", "input:0"),
        }
        assert [(f.name, f.type) for f in count.output.fields] == [
            ("orders", "int"),
            ("total", "float"),
        ]
        flag = view.pipeline("orders").factory("FlagOrders")
        assert flag.configs[0].params["path"] == "/data/flags.csv"
        assert SECRET not in json.dumps(view.to_dict())
        report = view.pipeline("reports").factory("Report")
        assert [(f.name, f.type) for f in report.output.fields] == [
            ("id", "bigint"),
            ("customer", "string"),
            ("amount", "double"),
        ]
        assert len(view.pipeline("reports").problems) == 1

    def test_a_pipeline_that_cannot_be_built_is_described_by_its_error(self, shop):
        broken = describe_project(shop).pipeline("broken")
        assert broken.error == "RuntimeError: the catalog is missing"
        assert broken.doc == "A pipeline whose function fails."
        assert broken.stages == ()

    def test_only_the_names_asked_for_and_an_unknown_name(self, shop):
        assert [
            p.project_name for p in describe_project(shop, names=["reports"]).pipelines
        ] == ["reports"]
        with pytest.raises(ConfigError, match="No pipeline 'nope'"):
            describe_project(shop, names=["nope"])
        with pytest.raises(KeyError, match="broken, orders, reports"):
            describe_project(shop).pipeline("nope")

    def test_the_last_run_s_state_per_factory(self, shop):
        url = str(shop / "history.db")
        good = run_project("orders", project_dir=shop, history=url)
        failed = run_project(
            "orders", project_dir=shop, history=url, params={"fail": "1"}
        )
        assert (good.status, failed.status) == ("succeeded", "failed")
        history = open_history(url, create=False)
        try:
            orders = describe_project(shop, history=history).pipeline("orders")
        finally:
            history.close()
        assert orders.last_run is not None
        assert (orders.last_run.run_id, orders.last_run.status) == (
            failed.run_id,
            "failed",
        )
        states = {f.name: f.last_run.status for f in orders.factories}
        assert states["LoadOrders"] == "succeeded"
        assert states["CountOrders"] == "failed"
        count = orders.factory("CountOrders").last_run
        assert count.error == "ValueError: the orders file is truncated"
        assert count.duration is not None

    def test_a_pipeline_never_run_has_no_state(self, shop):
        history = SqliteRunHistory(shop / "empty.db")
        try:
            view = describe_project(shop, history=history, names=["reports"])
            assert last_run(history, "reports") is None
        finally:
            history.close()
        assert view.pipelines[0].last_run is None


class TestErrorLine:
    def test_the_innermost_cause_first_line(self):
        error = {
            "error_type": "FactoryError",
            "message": "Factory failed",
            "causes": [{"error_type": "KeyError", "message": "'id'\nmore"}],
        }
        assert error_line(error) == "KeyError: 'id'"
        assert error_line({"error_type": "X", "message": "m"}) == "X: m"
        assert error_line(None) is None


class TestChildMode:
    def test_writes_the_description_as_json(self, shop, tmp_path):
        out = tmp_path / "view.json"
        assert main(["--project", str(shop), "--output", str(out), "orders"]) == 0
        body = json.loads(out.read_text())
        assert [p["project_name"] for p in body["project"]["pipelines"]] == ["orders"]

    def test_a_project_that_cannot_be_read_is_an_error_body(self, tmp_path, capsys):
        (tmp_path / "pyproject.toml").write_text("[tool.pysetl\n")
        assert main(["--project", str(tmp_path)]) == 1
        body = json.loads(capsys.readouterr().out)
        assert "cannot be read" in body["error"]
        assert body["hint"]


def test_a_project_view_is_plain_data():
    view = ProjectView("/x")
    data = json.loads(json.dumps(view.to_dict()))
    assert data == {"root": "/x", "pipelines": [], "default": None}


@pytest.mark.usefixtures("spark")
def test_a_function_asking_for_context_gets_repositories_from_the_config(tmp_path):
    """The repository's config (from conf/) shows on the factory that receives it."""
    (tmp_path / "conf" / "base").mkdir(parents=True)
    (tmp_path / "conf" / "base" / "catalog.yaml").write_text(
        textwrap.dedent(
            """
            connectors:
              orders:
                storage: csv
                path: /landing/orders.csv
            """
        )
    )
    (tmp_path / "typed_etl_ctx.py").write_text(
        textwrap.dedent(
            '''
            from pyspark.sql.types import LongType
            from typedspark import Column, Schema
            from pysetl.storage.repository import SparkRepository
            from pysetl.workflow import Delivery, Factory

            class Order(Schema):
                id: Column[LongType]

            class Load(Factory[int]):
                """Loads the orders."""
                orders = Delivery[SparkRepository[Order]](delivery_id="orders")
                def read(self): return self
                def process(self): return self
                def write(self): return self
                def get(self): return 0

            def build(context):
                context.set_spark_repository_from_config(
                    Order, "orders", delivery_id="orders"
                )
                return context.new_pipeline(name="typed").add_stage_from_type(Load)
            '''
        )
    )
    (tmp_path / "pyproject.toml").write_text(
        '[tool.pysetl]\n[tool.pysetl.pipelines]\ntyped = "typed_etl_ctx:build"\n'
    )
    view = describe_project(tmp_path).pipeline("typed")
    assert view.error is None
    (item,) = view.inputs
    assert item.name == "orders"
    assert [(f.name, f.type) for f in item.fields] == [("id", "bigint")]
    (config,) = view.factory("Load").configs
    assert (config.config_name, config.used_as) == ("orders", "delivery orders")
    assert config.params["path"] == "/landing/orders.csv"
