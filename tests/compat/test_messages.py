"""Every error message the compatibility contract names, exactly (no Spark).

Written from ``pysetl-api.md`` (sections 1-7): old projects compare these
texts (``str(error)``, ``error.args[0]``, ``pytest.raises(match=...)``), so
they must not drift. Hints and context stay on attributes. The messages that
need Spark are in ``test_storage_messages.py``.
"""

from __future__ import annotations

from typing import Any

import pytest

from pysetl import PySetlBuilder
from pysetl.config import CsvConfig
from pysetl.utils.exceptions import (
    AlreadyExistsException,
    BasePySetlException,
    BuilderException,
    InvalidDeliveryException,
    PipelineException,
)
from pysetl.workflow import Deliverable, Delivery, Factory, Pipeline, Stage
from pysetl.workflow.dispatcher import Dispatcher
from pysetl.workflow.inspector import Inspector


def exact(error: BaseException, message: str) -> None:
    """``str(error)`` and ``args[0]`` are the contract's text, nothing more."""
    assert str(error) == message
    assert error.args[0] == message


class Producer(Factory[int]):
    def read(self) -> Producer:
        return self

    def process(self) -> Producer:
        return self

    def write(self) -> Producer:
        return self

    def get(self) -> int:
        return 1


class OnlyForOthers(Producer):
    consumers = {Producer}  # noqa: RUF012 - the old API declares consumers so


class Consumer(Factory[str]):
    number = Delivery[int]()

    def read(self) -> Consumer:
        self.value = str(self.number.get())
        return self

    def process(self) -> Consumer:
        return self

    def write(self) -> Consumer:
        return self

    def get(self) -> str:
        return self.value


class ListConsumer(Consumer):
    names = Delivery[list[str]]()


def raised(call: Any, kind: type[BaseException] = BasePySetlException) -> Any:
    with pytest.raises(kind) as info:
        call()
    return info.value


class TestDelivery:
    def test_an_empty_delivery(self):
        error = raised(Delivery[int]().get, InvalidDeliveryException)
        exact(error, "Delivery with no value")
        assert error.hint  # what to do stays on the attribute


class TestBuilders:
    def test_pysetl_builder_get_before_build(self):
        exact(raised(PySetlBuilder().get, BuilderException), "No PySetl object built")


class TestRegistries:
    def test_a_factory_added_twice_to_a_stage(self):
        factory = Producer()
        stage = Stage().add_factory(factory)
        error = raised(lambda: stage.add_factory(factory), AlreadyExistsException)
        exact(error, f"The item {factory.uuid} of type Producer already exists")

    def test_a_stage_added_twice_to_a_pipeline(self):
        stage = Stage().add_factory_from_type(Producer)
        pipeline = Pipeline().add_stage(stage)
        error = raised(lambda: pipeline.add_stage(stage), AlreadyExistsException)
        assert "already exists" in str(error)
        assert str(error) == error.args[0]

    def test_a_deliverable_added_twice_to_a_dispatcher(self):
        deliverable = Deliverable[int](1)
        dispatcher = Dispatcher().add_deliverable(deliverable)
        error = raised(
            lambda: dispatcher.add_deliverable(deliverable), AlreadyExistsException
        )
        exact(error, f"The item {deliverable.uuid} of type Deliverable already exists")

    def test_an_external_input_set_twice_on_a_pipeline(self):
        deliverable = Deliverable[int](1)
        pipeline = Pipeline().set_input_from_deliverable(deliverable)
        error = raised(
            lambda: pipeline.set_input_from_deliverable(deliverable),
            AlreadyExistsException,
        )
        assert "type Deliverable already exists" in str(error)


class TestDispatcher:
    def test_no_candidate_names_the_type_with_str(self):
        error = raised(lambda: Dispatcher().dispatch(Consumer()))
        assert isinstance(error, InvalidDeliveryException)
        exact(error, "Cannot find type <class 'int'>")

    def test_an_alias_type_is_printed_as_is(self):
        dispatcher = Dispatcher().add_deliverable(Deliverable[int](1))
        error = raised(lambda: dispatcher.dispatch(ListConsumer()))
        exact(error, "Cannot find type list[str]")

    def test_one_candidate_for_other_consumers(self):
        only = Deliverable[int](1, consumers={Producer})
        error = raised(lambda: Dispatcher().add_deliverable(only).dispatch(Consumer()))
        exact(error, "Can't find Consumer in consumer list")

    def test_several_candidates(self):
        dispatcher = (
            Dispatcher()
            .add_deliverable(Deliverable[int](1))
            .add_deliverable(Deliverable[int](2))
        )
        error = raised(lambda: dispatcher.dispatch(Consumer()))
        exact(
            error, "Find multiple deliveries having the sametype, producer and consumer"
        )


class TestPipeline:
    def test_a_missing_delivery_fails_the_pre_flight_check(self):
        pipeline = Pipeline().add_stage_from_type(Consumer)
        error = raised(pipeline.run, InvalidDeliveryException)
        exact(
            error,
            "Deliverable of type int with deliveryId  produced by External "
            "is expected in Consumer.",
        )
        assert len(error.problems) == 1

    def test_a_missing_delivery_with_an_id_and_a_producer(self):
        class Keyed(Consumer):
            number = Delivery[int](producer=Producer, delivery_id="n")

        pipeline = Pipeline().add_stage_from_type(Keyed)
        error = raised(pipeline.run, InvalidDeliveryException)
        exact(
            error,
            "Deliverable of type int with deliveryId n produced by Producer "
            "is expected in Keyed.",
        )

    def test_the_first_of_several_problems_gives_the_text(self):
        """Every problem is on ``.problems``; the text is the first one's."""

        class Other(Consumer):
            number = Delivery[int](delivery_id="other")

        pipeline = Pipeline().add_stage_from_type(Consumer).add_stage_from_type(Other)
        error = raised(pipeline.run, InvalidDeliveryException)
        exact(
            error,
            "Deliverable of type int with deliveryId  produced by External "
            "is expected in Consumer.",
        )
        assert len(error.problems) == 2

    def test_a_consumer_not_in_the_consumers_of_its_producer(self):
        pipeline = (
            Pipeline().add_stage_from_type(OnlyForOthers).add_stage_from_type(Consumer)
        )
        error = raised(pipeline.run, InvalidDeliveryException)
        exact(error, "Can't find Consumer in consumer list")

    def test_ambiguous_producers(self):
        class Again(Producer):
            pass

        pipeline = (
            Pipeline()
            .add_stage(
                Stage().add_factory_from_type(Producer).add_factory_from_type(Again)
            )
            .add_stage_from_type(Consumer)
        )
        error = raised(pipeline.run, InvalidDeliveryException)
        exact(
            error, "Find multiple deliveries having the sametype, producer and consumer"
        )

    def test_get_output_of_a_class_not_in_the_pipeline(self):
        pipeline = Pipeline().add_stage_from_type(Producer)
        error = raised(lambda: pipeline.get_output(Consumer), PipelineException)
        exact(error, "There isn't any class Consumer")

    def test_one_factory_in_two_stages(self):
        factory = Producer()
        pipeline = (
            Pipeline()
            .add_stage(Stage().add_factory(factory))
            .add_stage(Stage().add_factory(factory))
        )
        exact(raised(pipeline.run, PipelineException), "Multiple factories found")

    def test_diagram_ids(self):
        pipeline = Pipeline().add_stage_from_type(Producer)
        error = raised(lambda: pipeline.diagram_id, NotImplementedError)
        exact(error, "Pipeline doesn't have a diagram id")
        graph = Inspector(pipeline).graph
        error = raised(lambda: graph.diagram_id, NotImplementedError)
        exact(error, "DAG doesn't have diagram id")


class TestFactory:
    def test_a_factory_without_type_parameter(self):
        class Raw(Factory):  # type: ignore[type-arg]
            def read(self) -> Raw:
                return self

            def process(self) -> Raw:
                return self

            def write(self) -> Raw:
                return self

            def get(self) -> None:
                return None

        error = raised(Raw.delivery_type, NotImplementedError)
        exact(error, "Raw factory does not have a type parameter")


class TestConfig:
    def test_or_with_something_else_than_a_config(self):
        error = raised(lambda: CsvConfig(path="/x") | {"a": 1}, TypeError)
        exact(error, "unsupported operand type(s) for |: 'CsvConfig' and 'dict'")
