"""The pre-flight check: every delivery resolved before any factory runs."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pysetl.errors import DependencyResolutionError, PipelineError
from pysetl.workflow import Deliverable, Delivery, Pipeline, Stage

from .conftest import make_factory

calls: list[str] = []


def record(name):
    def compute(**values):
        calls.append(name)
        return sum(v for v in values.values() if isinstance(v, int))

    return compute


@pytest.fixture(autouse=True)
def _reset_calls():
    calls.clear()


def problems_of(pipeline) -> list[str]:
    with pytest.raises(DependencyResolutionError) as info:
        pipeline.run()
    return info.value.problems


class TestMissing:
    def test_missing_input_fails_before_anything_runs(self, hooks):
        first = make_factory("First", int, compute=record("First"))
        needy = make_factory("Needy", int, x=Delivery[str]())
        pipeline = (
            Pipeline(hooks=hooks).add_stage_from_type(first).add_stage_from_type(needy)
        )
        problems = problems_of(pipeline)
        assert calls == []
        assert len(problems) == 1
        assert problems[0].startswith("[missing] Needy.x (stage 1) needs str")
        assert "delivery_id=''" in problems[0]
        assert "producer=External" in problems[0]
        assert "Hint:" in problems[0]

    def test_keeps_the_old_message(self, hooks):
        needy = make_factory("Needy", int, x=Delivery[str](delivery_id="k"))
        with pytest.raises(
            DependencyResolutionError,
            match=r"Deliverable of type str with deliveryId k produced by External "
            r"is expected in Needy\.",
        ):
            Pipeline(hooks=hooks).add_stage_from_type(needy).run()

    def test_wrong_id_lists_same_type_candidates(self, hooks):
        needy = make_factory("Needy", int, x=Delivery[int](delivery_id="b"))
        pipeline = (
            Pipeline(hooks=hooks)
            .set_input_from_deliverable(Deliverable[int](1, delivery_id="a"))
            .add_stage_from_type(needy)
        )
        (problem,) = problems_of(pipeline)
        assert "int (delivery_id='a') from External as an external input" in problem
        assert "another delivery_id or producer" in problem

    def test_check_is_exact_per_delivery(self, hooks):
        """Old quirk: a second delivery of the same type passed if the first did."""
        needy = make_factory(
            "Needy",
            int,
            a=Delivery[int](delivery_id="a"),
            b=Delivery[int](delivery_id="b"),
        )
        pipeline = (
            Pipeline(hooks=hooks)
            .set_input_from_deliverable(Deliverable[int](1, delivery_id="a"))
            .add_stage_from_type(needy)
        )
        (problem,) = problems_of(pipeline)
        assert "Needy.b" in problem

    def test_types_with_the_same_name_do_not_collide(self, hooks):
        """Old quirk: types were compared by name."""
        Same = type("Same", (), {})  # noqa: N806
        Other = type("Same", (), {})  # noqa: N806
        needy = make_factory("Needy", int, x=Delivery[Other]())
        pipeline = (
            Pipeline(hooks=hooks)
            .set_input_from_deliverable(Deliverable[Same](Same()))
            .add_stage_from_type(needy)
        )
        (problem,) = problems_of(pipeline)
        assert "[missing]" in problem

    def test_every_problem_is_reported_at_once(self, hooks):
        a = make_factory("A", int, x=Delivery[str]())
        b = make_factory("B", int, y=Delivery[float](), z=Delivery[bytes]())
        pipeline = Pipeline(hooks=hooks).add_stage_from_type(a).add_stage_from_type(b)
        with pytest.raises(DependencyResolutionError) as info:
            pipeline.run()
        error = info.value
        assert len(error.problems) == 3
        # str() is the old pysetl's text for the first problem; the listing
        # of all of them is a note, shown under the traceback.
        assert str(error) == (
            "Deliverable of type str with deliveryId  produced by External "
            "is expected in A."
        )
        assert error.__notes__[0].startswith(
            "3 deliveries of pipeline 'pipeline' cannot be resolved"
        )
        assert "nothing has run yet" in error.hint

    def test_a_delivery_nobody_produces_is_missing_not_a_cycle(self, hooks):
        """The consumer's own output is no producer of its input (was ``[cyclic]``)."""
        needs_int = make_factory("NeedsInt", int, n=Delivery[int]())
        pipeline = Pipeline(hooks=hooks).add_stage_from_type(needs_int)
        with pytest.raises(DependencyResolutionError) as info:
            pipeline.run()
        error = info.value
        (problem,) = error.problems
        assert problem.startswith("[missing] NeedsInt.n (stage 0) needs int")
        assert "cycl" not in problem.lower()
        assert "NeedsInt produces int itself" in problem
        assert "Candidates: none." in problem
        assert str(error) == (
            "Deliverable of type int with deliveryId  produced by External "
            "is expected in NeedsInt."
        )

    def test_instances_of_one_class_do_not_make_a_cycle(self, hooks):
        """Two NeedsInt in one stage: each would feed the other; nobody else does."""
        needs_int = make_factory("NeedsInt", int, n=Delivery[int]())
        pipeline = Pipeline(hooks=hooks).add_stage(
            Stage().add_factory_from_type(needs_int).add_factory_from_type(needs_int)
        )
        problems = problems_of(pipeline)
        assert len(problems) == 2
        for problem in problems:
            assert problem.startswith("[missing] NeedsInt.n (stage 0) needs int")
            assert "NeedsInt produces int itself" in problem

    def test_an_earlier_instance_of_the_class_is_still_a_candidate(self, hooks):
        d = make_factory("D", int, compute=lambda: 1)
        needs_int = make_factory(
            "NeedsInt", int, compute=lambda n: n + 1, n=Delivery[int]()
        )
        pipeline = (
            Pipeline(hooks=hooks)
            .add_stage_from_type(d)
            .add_stage_from_type(needs_int)
            .add_stage_from_type(needs_int)
        )
        (problem,) = problems_of(pipeline)
        assert problem.startswith("[ambiguous] NeedsInt.n (stage 2)")
        assert "from D in stage 0" in problem
        assert "from NeedsInt in stage 1" in problem

    def test_a_missing_delivery_still_lists_other_candidates(self, hooks):
        needs_int = make_factory(
            "NeedsInt", int, delivery_id="n", n=Delivery[int](delivery_id="n")
        )
        pipeline = (
            Pipeline(hooks=hooks)
            .set_input_from_deliverable(Deliverable[int](1, delivery_id="m"))
            .add_stage_from_type(needs_int)
        )
        (problem,) = problems_of(pipeline)
        assert problem.startswith("[missing] NeedsInt.n (stage 0)")
        assert "int (delivery_id='m') from External as an external input" in problem
        assert "NeedsInt produces int itself" in problem

    def test_validate_alone(self, hooks):
        needy = make_factory("Needy", int, x=Delivery[str]())
        pipeline = Pipeline(hooks=hooks).add_stage_from_type(needy)
        with pytest.raises(DependencyResolutionError):
            pipeline.validate()
        ok = Pipeline(hooks=hooks).add_stage_from_type(make_factory("Ok", int))
        assert ok.validate() is ok


class TestAmbiguous:
    def test_two_producers_of_the_same_thing(self, hooks):
        a = make_factory("A", int, compute=lambda: 1)
        b = make_factory("B", int, compute=lambda: 2)
        c = make_factory("C", int, x=Delivery[int]())
        pipeline = (
            Pipeline(hooks=hooks)
            .add_stage(Stage().add_factory_from_type(a).add_factory_from_type(b))
            .add_stage_from_type(c)
        )
        (problem,) = problems_of(pipeline)
        assert problem.startswith("[ambiguous] C.x (stage 1)")
        assert "from A in stage 0" in problem
        assert "from B in stage 0" in problem
        assert "delivery_id" in problem.split("Hint:")[1]

    def test_declared_producer_resolves_it(self, hooks):
        a = make_factory("A", int, compute=lambda: 1)
        b = make_factory("B", int, compute=lambda: 2)
        c = make_factory(
            "C", int, compute=lambda x: x * 10, x=Delivery[int](producer=b)
        )
        pipeline = (
            Pipeline(hooks=hooks)
            .add_stage(Stage().add_factory_from_type(a).add_factory_from_type(b))
            .add_stage_from_type(c)
        )
        assert pipeline.run().get_last_output() == 20

    def test_external_input_wins_over_a_factory_for_an_undeclared_producer(self, hooks):
        a = make_factory("A", int, compute=lambda: 1)
        c = make_factory("C", int, compute=lambda x: x, x=Delivery[int]())
        pipeline = (
            Pipeline(hooks=hooks)
            .set_input_from_deliverable(Deliverable[int](5))
            .add_stage_from_type(a)
            .add_stage_from_type(c)
        )
        assert pipeline.run().get_last_output() == 5

    def test_a_source_naming_the_consumer_wins(self, hooks):
        c = make_factory("C", int, compute=lambda x: x, x=Delivery[int]())
        a = make_factory("A", int, compute=lambda: 1, consumers={c})
        b = make_factory("B", int, compute=lambda: 2)
        pipeline = (
            Pipeline(hooks=hooks)
            .add_stage(Stage().add_factory_from_type(a).add_factory_from_type(b))
            .add_stage_from_type(c)
        )
        assert pipeline.run().get_last_output() == 1


class TestDeclaredProducer:
    def test_is_honoured_with_a_single_candidate(self, hooks):
        """Old quirk: a single candidate was taken whatever its producer."""
        a = make_factory("A", int, compute=lambda: 1)
        other = make_factory("Other", int)
        c = make_factory("C", int, x=Delivery[int](producer=other))
        pipeline = Pipeline(hooks=hooks).add_stage_from_type(a).add_stage_from_type(c)
        (problem,) = problems_of(pipeline)
        assert problem.startswith("[missing] C.x")
        assert "producer=Other" in problem
        assert "from A in stage 0" in problem

    def test_external_deliverable_can_name_a_producer(self, hooks):
        a = make_factory("A", int)
        c = make_factory("C", int, compute=lambda x: x, x=Delivery[int](producer=a))
        pipeline = (
            Pipeline(hooks=hooks)
            .set_input_from_deliverable(Deliverable[int](9, producer=a))
            .add_stage_from_type(c)
        )
        assert pipeline.run().get_last_output() == 9


class TestWrongConsumer:
    def test_restricted_output_is_not_given_to_others(self, hooks):
        allowed = make_factory("Allowed", int)
        a = make_factory("A", int, consumers={allowed})
        c = make_factory("C", int, x=Delivery[int](producer=a))
        pipeline = Pipeline(hooks=hooks).add_stage_from_type(a).add_stage_from_type(c)
        (problem,) = problems_of(pipeline)
        assert problem.startswith("[wrong consumer] C.x")
        assert "Can't find C in consumer list" in problem
        assert "only for Allowed" in problem

    def test_restricted_external_input(self, hooks):
        allowed = make_factory("Allowed", int)
        c = make_factory("C", int, x=Delivery[int]())
        pipeline = (
            Pipeline(hooks=hooks)
            .set_input_from_deliverable(Deliverable[int](1, consumers={allowed}))
            .add_stage_from_type(c)
        )
        (problem,) = problems_of(pipeline)
        assert "[wrong consumer]" in problem


class TestCyclesAndOrder:
    def test_two_factories_needing_each_other(self, hooks):
        a = make_factory("A", int, delivery_id="a")
        b = make_factory("B", int, delivery_id="b", x=Delivery[int](delivery_id="a"))
        a.y = Delivery[int](delivery_id="b")  # a needs b, b needs a
        a.y.__set_name__(a, "y")
        pipeline = Pipeline(hooks=hooks).add_stage_from_type(a).add_stage_from_type(b)
        (problem,) = problems_of(pipeline)
        assert problem.startswith("[cyclic] A.y (stage 0)")
        assert "Cycle: A -> B -> A." in problem

    def test_a_factory_needing_its_own_output_is_missing_it(self, hooks):
        """No other factory produces it: missing, not a cycle of one factory."""
        a = make_factory("A", int)
        a.me = Delivery[int](producer=a)
        a.me.__set_name__(a, "me")
        (problem,) = problems_of(Pipeline(hooks=hooks).add_stage_from_type(a))
        assert problem.startswith("[missing] A.me (stage 0) needs int")
        assert "producer=A" in problem
        assert "A produces int itself" in problem

    def test_a_sibling_producer_is_an_order_problem_not_a_cycle(self, hooks):
        """The consumer's own output does not make a same-stage producer a cycle."""
        a = make_factory("A", int)
        needs_int = make_factory("NeedsInt", int, n=Delivery[int]())
        pipeline = Pipeline(hooks=hooks).add_stage(
            Stage().add_factory_from_type(a).add_factory_from_type(needs_int)
        )
        (problem,) = problems_of(pipeline)
        assert problem.startswith("[order] NeedsInt.n (stage 0)")
        assert "int (delivery_id='') from A in stage 0" in problem
        assert "from NeedsInt" not in problem

    def test_the_cycle_search_passes_over_external_inputs(self, hooks):
        a = make_factory("A", int, delivery_id="a", y=Delivery[int](delivery_id="b"))
        b = make_factory(
            "B",
            int,
            delivery_id="b",
            s=Delivery[str](),
            x=Delivery[int](delivery_id="a"),
        )
        pipeline = (
            Pipeline(hooks=hooks)
            .set_input_from_deliverable(Deliverable[str]("text"))
            .add_stage_from_type(a)
            .add_stage_from_type(b)
        )
        (problem,) = problems_of(pipeline)
        assert "Cycle: A -> B -> A." in problem

    def test_longer_cycle_through_three_factories(self, hooks):
        a = make_factory("A", int, delivery_id="a", x=Delivery[int](delivery_id="c"))
        b = make_factory("B", int, delivery_id="b", x=Delivery[int](delivery_id="a"))
        c = make_factory("C", int, delivery_id="c", x=Delivery[int](delivery_id="b"))
        pipeline = (
            Pipeline(hooks=hooks)
            .add_stage_from_type(a)
            .add_stage_from_type(b)
            .add_stage_from_type(c)
        )
        (problem,) = problems_of(pipeline)
        assert "Cycle: A -> C -> B -> A." in problem

    def test_consumer_in_the_same_stage(self, hooks):
        a = make_factory("A", int)
        c = make_factory("C", int, x=Delivery[int](producer=a))
        pipeline = Pipeline(hooks=hooks).add_stage(
            Stage().add_factory_from_type(a).add_factory_from_type(c)
        )
        (problem,) = problems_of(pipeline)
        assert problem.startswith("[order] C.x (stage 0)")
        assert "cannot consume each other's outputs" in problem

    def test_consumer_before_its_producer(self, hooks):
        a = make_factory("A", int)
        c = make_factory("C", int, x=Delivery[int](producer=a))
        pipeline = Pipeline(hooks=hooks).add_stage_from_type(c).add_stage_from_type(a)
        (problem,) = problems_of(pipeline)
        assert "[order]" in problem
        assert "stage 1 or later" in problem


class TestStructure:
    def test_same_instance_in_two_stages(self, hooks):
        a = make_factory("A", int)()
        pipeline = (
            Pipeline(hooks=hooks).add_stage_from_factory(a).add_stage_from_factory(a)
        )
        with pytest.raises(PipelineError, match="Multiple factories found"):
            pipeline.run()

    def test_empty_pipeline_runs(self, hooks):
        pipeline = Pipeline(hooks=hooks).run()
        assert pipeline.get_last_output() is None


class TestChainsProperty:
    @settings(max_examples=30, deadline=None)
    @given(st.lists(st.integers(min_value=1, max_value=3), min_size=1, max_size=6))
    def test_any_chain_of_stages_resolves_and_sums(self, widths):
        """Each stage's factories consume every factory of the previous stage."""
        from pysetl.workflow.hooks import HookManager

        pipeline = Pipeline(hooks=HookManager())
        previous: list[type] = []
        counter = 0
        for width in widths:
            stage = Stage()
            made = []
            for _ in range(width):
                counter += 1
                inputs = {
                    f"in{i}": Delivery[int](producer=p) for i, p in enumerate(previous)
                }
                cls = make_factory(
                    f"F{counter}",
                    int,
                    compute=lambda **values: 1 + sum(values.values()),
                    **inputs,
                )
                stage.add_factory_from_type(cls)
                made.append(cls)
            pipeline.add_stage(stage)
            previous = made
        expected = 1
        for width in widths[:-1]:
            expected = 1 + width * expected
        assert pipeline.run().get_last_output() == expected
