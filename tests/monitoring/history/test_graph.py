"""The recorder writes the run's graph and factory count at run start."""

from __future__ import annotations

from typing_extensions import Self

from pysetl.monitoring.history import (
    RUN_START_EVENT,
    HistoryRecorder,
    InMemoryRunHistory,
    pipeline_graph,
)
from pysetl.workflow import Deliverable, Delivery, Factory, HookManager, Pipeline, Stage
from pysetl.workflow.run_graph import RunGraph


class Source(Factory[int]):
    def read(self) -> Self:
        return self

    def process(self) -> Self:
        return self

    def write(self) -> Self:
        return self

    def get(self) -> int:
        return 2


class Other(Source):
    delivery_id = "other"


class Scale(Factory[int]):
    number = Delivery[int](producer=Other, delivery_id="other")
    factor = Delivery[str]()  # from outside the pipeline: not drawn

    def read(self) -> Self:
        return self

    def process(self) -> Self:
        return self

    def write(self) -> Self:
        return self

    def get(self) -> int:
        return self.number.get() * 2


def test_the_graph_names_every_factory_and_delivery(local_history):
    recorder = HistoryRecorder(local_history)
    pipeline = Pipeline(hooks=HookManager(observers=[recorder]), name="g")
    pipeline.set_input_from_deliverable(Deliverable[str]("x"))
    stage = Stage().add_factory(Source()).add_factory(Source()).add_factory(Other())
    pipeline.add_stage(stage)
    pipeline.add_stage_from_type(Scale)
    try:
        pipeline.run()
    finally:
        pipeline.hooks.close()
        recorder.close()
    run_id = pipeline.run_id
    event = local_history.latest_event(run_id, RUN_START_EVENT)
    assert event is not None
    assert event.data["factories"] == 4
    graph = event.data["graph"]
    assert graph["nodes"] == [
        {"id": "Source", "stage_id": 0},
        {"id": "Source#2", "stage_id": 0},
        {"id": "Other", "stage_id": 0},
        {"id": "Scale", "stage_id": 1},
    ]
    assert graph["edges"] == [
        {"source": "Other", "target": "Scale", "delivery": "number"}
    ]
    assert local_history.factory_counts([run_id])[run_id].total == 4


def _ran() -> Pipeline:
    pipeline = Pipeline(name="g").set_input_from_deliverable(Deliverable[str]("x"))
    pipeline.add_stage(Stage().add_factory(Other()))
    return pipeline.add_stage_from_type(Scale).run()


def test_the_graph_comes_from_the_event():
    """The recorder stores the event's ``graph``, not one read from the pipeline."""
    history = InMemoryRunHistory()
    graph = RunGraph.of(_ran())
    with HistoryRecorder(history) as recorder:
        recorder.before_pipeline_run(
            run_id="01G",
            pipeline_name="p",
            timestamp=0.0,
            pipeline=Pipeline(),  # never ran: it holds no plan
            graph=graph,
        )
        recorder.flush()
    data = history.latest_event("01G", RUN_START_EVENT).data
    assert data["factories"] == 2
    assert data["graph"] == graph.to_dict()


def test_an_event_without_a_graph_reads_the_pipelines_plan():
    """Payloads from before 0.7 carry the pipeline only: its plan is drawn."""
    history = InMemoryRunHistory()
    pipeline = _ran()
    with HistoryRecorder(history) as recorder:
        recorder.before_pipeline_run(
            run_id="01G", pipeline_name="p", timestamp=0.0, pipeline=pipeline
        )
        recorder.flush()
    graph = history.latest_event("01G", RUN_START_EVENT).data["graph"]
    assert graph == pipeline_graph(pipeline)
    assert graph["edges"] == [
        {"source": "Other", "target": "Scale", "delivery": "number"}
    ]


def test_a_pipeline_that_never_ran_has_no_graph():
    assert pipeline_graph(Pipeline()) is None


def test_without_the_pipeline_argument_nothing_is_drawn():
    history = InMemoryRunHistory()
    with HistoryRecorder(history) as recorder:
        recorder.before_pipeline_run(run_id="01G", pipeline_name="p", timestamp=0.0)
        recorder.flush()
    assert history.latest_event("01G", RUN_START_EVENT).data == {}


def test_a_graph_that_cannot_be_read_is_left_out(caplog):
    class Odd:
        @property
        def inspector(self):
            raise RuntimeError("odd pipeline")

    history = InMemoryRunHistory()
    with HistoryRecorder(history) as recorder:
        recorder.before_pipeline_run(
            run_id="01G", pipeline_name="p", timestamp=0.0, pipeline=Odd()
        )
        recorder.flush()
    assert history.latest_event("01G", RUN_START_EVENT).data == {}
    assert "cannot record the graph" in caplog.text
