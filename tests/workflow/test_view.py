"""``describe_pipeline``: stages, factories, deliveries, edges, configs, from code."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from pydantic import BaseModel, SecretStr
from pyspark.sql.types import LongType, StringType
from typedspark import Column, DataSet, Schema
from typing_extensions import Self

from pysetl.config import CsvConfig
from pysetl.errors import PipelineError
from pysetl.workflow import Deliverable, Delivery, Factory, HookManager, Pipeline, Stage
from pysetl.workflow.view import (
    ConfigView,
    PipelineView,
    config_view,
    describe_pipeline,
    own_doc,
    type_fields,
)

SECRET = "pw-view-3c9e-never-shown"  # noqa: S105 - a planted canary


class Row(Schema):
    """A typed row (typedspark; no JVM needed to read its schema)."""

    id: Column[LongType]
    name: Column[StringType]


@dataclass
class Order:
    """An order."""

    id: int
    amount: float


class _Plain:
    def read(self) -> Self:
        return self

    def process(self) -> Self:
        return self

    def write(self) -> Self:
        return self


class Load(_Plain, Factory[list[Order]]):
    """Loads the orders."""

    def __init__(self) -> None:
        self.target = CsvConfig(path="/data/orders.csv", password=SECRET)

    def get(self) -> list[Order]:
        return []


class Count(_Plain, Factory[int]):
    orders = Delivery[list[Order]](producer=Load)
    minimum = Delivery[float](delivery_id="minimum")

    def get(self) -> int:
        return 0


class Orphan(_Plain, Factory[str]):
    """Needs a text nobody gives."""

    missing = Delivery[str]()

    def get(self) -> str:
        return ""


def _pipeline() -> Pipeline:
    return (
        Pipeline(name="shop", hooks=HookManager())
        .set_input_from_deliverable(Deliverable[float](1.0, delivery_id="minimum"))
        .add_stage_from_type(Load)
        .add_stage(Stage(parallel=True).add_factory_from_type(Count))
        .add_stage_from_type(Count)
    )


class TestDescribePipeline:
    def test_stages_and_factories_in_order_named_as_a_run_names_them(self):
        view = describe_pipeline(_pipeline())
        assert [s.factories for s in view.stages] == [
            ("Load",),
            ("Count",),
            ("Count#2",),
        ]
        assert view.stages[1].parallel is True
        assert [(f.name, f.stage) for f in view.factories] == [
            ("Load", 0),
            ("Count", 1),
            ("Count#2", 2),
        ]

    def test_edges_follow_the_resolution(self):
        view = describe_pipeline(_pipeline())
        edges = {(e.source, e.target, e.attribute) for e in view.edges}
        assert edges == {
            ("Load", "Count", "orders"),
            ("input:0", "Count", "minimum"),
            ("Load", "Count#2", "orders"),
            ("input:0", "Count#2", "minimum"),
        }
        assert view.inputs[0].name == "minimum"
        assert view.inputs[0].type == "float"

    def test_deliveries_with_types_fields_producers_and_sources(self):
        count = describe_pipeline(_pipeline()).factory("Count")
        orders, minimum = sorted(
            count.deliveries, key=lambda d: d.attribute != "orders"
        )
        assert (orders.type, orders.producer, orders.source) == (
            "list[Order]",
            "Load",
            "Load",
        )
        assert [(f.name, f.type) for f in orders.fields] == [
            ("id", "int"),
            ("amount", "float"),
        ]
        assert (minimum.producer, minimum.source, minimum.delivery_id) == (
            None,
            "input:0",
            "minimum",
        )

    def test_docstrings_are_the_class_s_own(self):
        view = describe_pipeline(_pipeline())
        assert view.factory("Load").doc == "Loads the orders."
        assert view.factory("Count").doc == ""  # not Factory's docstring

    def test_a_config_held_by_a_factory_is_shown_redacted(self):
        load = describe_pipeline(_pipeline()).factory("Load")
        (config,) = load.configs
        assert config.kind == "CsvConfig"
        assert config.used_as == "attribute target"
        assert config.params["path"] == "/data/orders.csv"
        assert SECRET not in json.dumps(load.configs[0].params)
        assert config.params["password"] != SECRET

    def test_unresolved_deliveries_are_problems_not_errors(self):
        pipeline = Pipeline(hooks=HookManager()).add_stage_from_type(Orphan)
        view = describe_pipeline(pipeline)
        assert view.factory("Orphan").deliveries[0].source is None
        assert len(view.problems) == 1
        assert "Orphan.missing" in view.problems[0]

    def test_one_factory_in_two_stages_is_an_error(self):
        load = Load()
        pipeline = Pipeline(hooks=HookManager()).add_stage_from_factory(load)
        pipeline.add_stage(Stage().add_factory(load))
        with pytest.raises(PipelineError):
            describe_pipeline(pipeline)

    def test_unknown_factory_names_the_ones_there_are(self):
        with pytest.raises(KeyError, match="Load, Count, Count#2"):
            describe_pipeline(_pipeline()).factory("Nope")

    def test_to_dict_is_json(self):
        data = json.loads(json.dumps(describe_pipeline(_pipeline()).to_dict()))
        assert data["name"] == "shop"
        assert data["factories"][0]["output"]["type"] == "list[Order]"


class _Model(BaseModel):
    path: str
    password: SecretStr


class _Holder:
    def __init__(self) -> None:
        self.config = _Model(path="/x", password=SecretStr(SECRET))


class _Repository:
    """Shaped like a repository: its connector holds the config."""

    @property
    def connector(self) -> _Holder:
        return _Holder()


class TestConfigView:
    def test_a_connector_s_model_and_a_repository_s_connector(self):
        for value in (_Holder(), _Repository()):
            view = config_view(value, "orders")
            assert view == ConfigView(
                "orders", "_Model", {"path": "/x", "password": view.params["password"]}
            )
            assert SECRET not in view.params["password"]

    def test_anything_else_has_none(self):
        assert config_view(3, None) is None
        assert config_view(None, None) is None
        assert config_view(CsvConfig, None) is None

    def test_an_invalid_config_shows_its_params(self):
        view = config_view(CsvConfig(header="maybe?", password=SECRET), None)
        assert view is not None
        assert view.params["header"] == "maybe?"
        assert SECRET not in view.params["password"]


class TestTypeFields:
    def test_plain_types_have_none(self):
        assert type_fields(int) == ()
        assert type_fields(dict[str, int]) == ()

    def test_a_generic_over_a_dataclass(self):
        assert [f.name for f in type_fields(list[Order])] == ["id", "amount"]

    def test_a_typedspark_schema_and_a_generic_over_one(self):
        expected = [("id", "bigint"), ("name", "string")]
        for tp in (Row, DataSet[Row], list[Row]):
            assert [(f.name, f.type) for f in type_fields(tp)] == expected
        assert type_fields(DataSet) == ()  # no schema: nothing to show


def test_own_doc_of_a_function_and_of_nothing():
    def build() -> None:
        """Builds.

        More.
        """

    assert own_doc(build) == "Builds.\n\nMore."
    assert own_doc(lambda: None) == ""


def test_a_view_without_stages_is_still_a_view():
    view = PipelineView("x", error="RuntimeError: no")
    assert view.to_dict()["error"] == "RuntimeError: no"
