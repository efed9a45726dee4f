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
    fail = False

    def process(self) -> Self:
        if self.fail:
            msg = "no total today"
            raise ValueError(msg)
        self.total = self.evens.get().groupBy().sum("id").first()[0]
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
    with HookManager(plugins=[recorder]) as hooks:
        yield history, hooks
    recorder.close()


def _pipeline(hooks: HookManager, *, fail: bool = False) -> Pipeline:
    Total.fail = fail
    last = Stage().add_factory_from_type(Count).add_factory_from_type(Total)
    return (
        Pipeline(name="evens", hooks=hooks)
        .add_stage_from_type(Numbers)
        .add_stage_from_type(Evens)
        .add_stage(last)
    )


class TestStepper:
    def test_one_stage_per_next_then_the_outputs(self, spark, recorded):
        _, hooks = recorded
        stepper = _pipeline(hooks).stepper()
        assert stepper.run_id is None
        first = stepper.next()
        assert first.index == 0
        assert first.outputs["Numbers"].count() == 10
        assert stepper.position == 1
        assert not stepper.done
        with pytest.raises(KeyError, match="ran: Numbers"):
            stepper.get("Evens")
        second = stepper.next()
        assert second.outputs["Evens"].count() == 5
        assert stepper.get(Evens).count() == 5
        last = stepper.next()
        assert last.outputs == {"Count": 5, "Total": 20}
        assert stepper.done
        assert stepper.get(int) in {5, 20}
        assert stepper.get("Total") == 20
        assert list(stepper.deliverables) == ["Numbers", "Evens", "Count", "Total"]
        with pytest.raises(PipelineError, match="has run already"):
            stepper.next()

    def test_the_run_is_recorded_like_any_run(self, spark, recorded):
        history, hooks = recorded
        stepper = _pipeline(hooks).stepper()
        stepper.next()
        run_id = stepper.run_id
        assert run_id is not None
        hooks.drain()
        assert history.get_run(run_id).status == "running"
        stepper.run_all()
        hooks.drain()
        run = history.get_run(run_id)
        assert run.status == "succeeded"
        attempts = history.list_factory_attempts(run_id).items
        assert [a.factory for a in attempts] == ["Numbers", "Evens", "Count", "Total"]
        assert {a.status for a in attempts} == {"succeeded"}
        assert hooks.slow == {}  # the pauses are not slow observers
        assert stepper not in hooks.plugins

    def test_a_failing_stage_raises_in_next_and_the_run_fails(self, spark, recorded):
        history, hooks = recorded
        stepper = _pipeline(hooks, fail=True).stepper()
        stepper.next()
        stepper.next()
        with pytest.raises(FactoryError, match="no total today"):
            stepper.next()
        assert stepper.done
        assert isinstance(stepper.error, FactoryError)
        hooks.drain()
        assert history.get_run(stepper.run_id).status == "failed"
        assert stepper.get("Count") == 5

    def test_the_pre_flight_check_fails_the_first_next(self, recorded):
        _, hooks = recorded
        stepper = Pipeline(hooks=hooks).add_stage_from_type(Orphan).stepper()
        with pytest.raises(DependencyResolutionError):
            stepper.next()
        assert stepper.done


class TestClosing:
    def test_a_with_block_finishes_the_run(self, spark, recorded):
        _, hooks = recorded
        with _pipeline(hooks).stepper() as stepper:
            stepper.next()
        assert stepper.done
        assert stepper.get("Total") == 20

    def test_closing_keeps_the_error_and_a_stepper_never_started_does_nothing(
        self, spark, recorded
    ):
        _, hooks = recorded
        idle = Stepper(_pipeline(hooks))
        idle.close()
        assert idle.run_id is None
        failing = _pipeline(hooks, fail=True).stepper()
        failing.next()
        failing.close()
        assert isinstance(failing.error, FactoryError)


def test_notebook_display(spark, recorded):
    _, hooks = recorded
    stepper = _pipeline(hooks).stepper()
    assert repr(stepper) == "Stepper('evens', 0/3 stages)"
    assert "not started" in stepper._repr_html_()
    step = stepper.next()
    html = stepper._repr_html_()
    assert "<td>0</td><td>Numbers</td><td>ran</td>" in html
    assert "<td>1</td><td>Evens</td><td>next</td>" in html
    assert "Numbers" in step._repr_html_()
    stepper.run_all()
