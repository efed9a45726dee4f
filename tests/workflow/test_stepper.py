"""``Pipeline.stepper()``: a stage per ``next()`` on real Spark, recorded as any run."""

from __future__ import annotations

import pytest
from typing_extensions import Self

from pysetl.errors import DependencyResolutionError, FactoryError, PipelineError
from pysetl.monitoring.history import HistoryRecorder, InMemoryRunHistory
from pysetl.workflow import Delivery, Factory, HookManager, Pipeline, Stage
from pysetl.workflow.stepper import Stepper


class _Plain:
    def read(self) -> Self:
        return self

    def write(self) -> Self:
        return self


class Numbers(_Plain, Factory[object]):
    """Ten numbers as a Spark DataFrame."""

    def process(self) -> Self:
        from pyspark.sql import SparkSession

        self.frame = SparkSession.getActiveSession().range(10)
        return self

    def get(self) -> object:
        return self.frame


class Evens(_Plain, Factory[object]):
    numbers = Delivery[object](producer=Numbers)

    def process(self) -> Self:
        self.frame = self.numbers.get().where("id % 2 = 0")
        return self

    def get(self) -> object:
        return self.frame


class Count(_Plain, Factory[int]):
    evens = Delivery[object](producer=Evens)

    def process(self) -> Self:
        self.count = self.evens.get().count()
        return self

    def get(self) -> int:
        return self.count


class Total(_Plain, Factory[int]):
    evens = Delivery[object](producer=Evens)

    def process(self) -> Self:
        self.total = sum(row.id for row in self.evens.get().collect())
        return self

    def get(self) -> int:
        return self.total


class Orphan(_Plain, Factory[int]):
    text = Delivery[str]()

    def process(self) -> Self:
        return self

    def get(self) -> int:
        return 0


@pytest.fixture
def recorded():
    history = InMemoryRunHistory()
    recorder = HistoryRecorder(history)
    with HookManager(observers=[recorder]) as hooks:
        yield history, hooks
    recorder.close()


def _pipeline(hooks: HookManager) -> Pipeline:
    last = Stage().add_factory_from_type(Count).add_factory_from_type(Total)
    return (
        Pipeline(name="evens", hooks=hooks)
        .add_stage_from_type(Numbers)
        .add_stage_from_type(Evens)
        .add_stage(last)
    )


class Ints(_Plain, Factory[list[int]]):
    """Ten numbers, as a Python list (the tests that need no Spark)."""

    def process(self) -> Self:
        self.values = list(range(10))
        return self

    def get(self) -> list[int]:
        return self.values


class Halves(_Plain, Factory[list[int]]):
    ints = Delivery[list[int]](producer=Ints)
    fail = False

    def process(self) -> Self:
        if self.fail:
            msg = "no halves today"
            raise ValueError(msg)
        self.values = [n // 2 for n in self.ints.get()]
        return self

    def get(self) -> list[int]:
        return self.values


class Size(_Plain, Factory[int]):
    halves = Delivery[list[int]](producer=Halves)

    def process(self) -> Self:
        self.size = len(self.halves.get())
        return self

    def get(self) -> int:
        return self.size


def _plain(hooks: HookManager, *, fail: bool = False) -> Pipeline:
    Halves.fail = fail
    return (
        Pipeline(name="halves", hooks=hooks)
        .add_stage_from_type(Ints)
        .add_stage_from_type(Halves)
        .add_stage_from_type(Size)
    )


def test_one_stage_per_next_on_spark_recorded_as_any_run(spark, recorded):
    """Each next() runs one stage of a Spark pipeline; one run, recorded whole."""
    history, hooks = recorded
    stepper = _pipeline(hooks).stepper()
    assert stepper.run_id is None
    first = stepper.next()
    assert first.index == 0
    assert first.outputs["Numbers"].columns == ["id"]  # a DataFrame, not run yet
    assert (stepper.position, stepper.done) == (1, False)
    with pytest.raises(KeyError, match="ran: Numbers"):
        stepper.get("Evens")
    hooks.drain()
    assert history.get_run(stepper.run_id).status == "running"
    second = stepper.next()
    assert second.outputs["Evens"].columns == ["id"]
    assert stepper.get(Evens) is second.outputs["Evens"]
    last = stepper.next()
    assert last.outputs == {"Count": 5, "Total": 20}
    assert stepper.done
    assert list(stepper.deliverables) == ["Numbers", "Evens", "Count", "Total"]
    hooks.drain()
    assert history.get_run(stepper.run_id).status == "succeeded"
    attempts = history.list_factory_attempts(stepper.run_id).items
    assert [a.factory for a in attempts] == ["Numbers", "Evens", "Count", "Total"]
    assert {a.status for a in attempts} == {"succeeded"}
    assert hooks.slow == {}  # the pauses are not slow observers
    assert stepper not in hooks.observers
    with pytest.raises(PipelineError, match="has run already"):
        stepper.next()


class TestStepper:
    def test_outputs_by_name_class_and_type(self, recorded):
        _, hooks = recorded
        stepper = _plain(hooks).stepper()
        stepper.next()
        stepper.next()
        assert stepper.get("Halves") == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
        assert stepper.get(Ints) == list(range(10))
        assert stepper.get(list[int]) == list(range(10))  # the first that ran
        with pytest.raises(KeyError, match="ran: Ints, Halves"):
            stepper.get(int)
        assert stepper.run_all().get_last_output() == 10
        assert stepper.get(int) == 10

    def test_a_failing_stage_raises_in_next_and_the_run_fails(self, recorded):
        history, hooks = recorded
        stepper = _plain(hooks, fail=True).stepper()
        stepper.next()
        with pytest.raises(FactoryError, match="no halves today"):
            stepper.next()
        assert stepper.done
        assert isinstance(stepper.error, FactoryError)
        hooks.drain()
        assert history.get_run(stepper.run_id).status == "failed"
        assert stepper.get("Ints") == list(range(10))

    def test_the_pre_flight_check_fails_the_first_next(self, recorded):
        _, hooks = recorded
        stepper = Pipeline(hooks=hooks).add_stage_from_type(Orphan).stepper()
        with pytest.raises(DependencyResolutionError):
            stepper.next()
        assert stepper.done


class TestClosing:
    def test_a_with_block_finishes_the_run(self, recorded):
        _, hooks = recorded
        with _plain(hooks).stepper() as stepper:
            stepper.next()
        assert stepper.done
        assert stepper.get("Size") == 10

    def test_closing_keeps_the_error_and_a_stepper_never_started_does_nothing(
        self, recorded
    ):
        _, hooks = recorded
        idle = Stepper(_plain(hooks))
        idle.close()
        assert idle.run_id is None
        failing = _plain(hooks, fail=True).stepper()
        failing.next()
        failing.close()
        assert isinstance(failing.error, FactoryError)


def test_notebook_display(recorded):
    _, hooks = recorded
    stepper = _plain(hooks).stepper()
    assert repr(stepper) == "Stepper('halves', 0/3 stages)"
    assert "not started" in stepper._repr_html_()
    step = stepper.next()
    html = stepper._repr_html_()
    assert "<td>0</td><td>Ints</td><td>ran</td>" in html
    assert "<td>1</td><td>Halves</td><td>next</td>" in html
    assert "<td>Ints</td><td><code>list</code></td>" in step._repr_html_()
    stepper.run_all()
