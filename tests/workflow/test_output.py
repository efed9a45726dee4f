"""The output check: ``get()`` must return what ``Factory[T]`` declares."""

from __future__ import annotations

import sys
from typing import Annotated, Any, ForwardRef, Literal, NewType, Optional, Protocol

import pytest
from typing_extensions import TypedDict

from pysetl.errors import FactoryError, FactoryOutputError
from pysetl.workflow import Delivery, Factory, Pipeline, Stage
from pysetl.workflow._output import output_classes
from pysetl.workflow.hooks import HookManager, hook_impl

from .conftest import make_factory

UserId = NewType("UserId", int)


class Named(Protocol):
    name: str


class Movie(TypedDict):
    title: str


def returning(value: Any, out: Any, name: str = "Maker", **keywords: Any) -> type:
    """A factory class declaring ``Factory[out]`` whose ``get()`` returns ``value``."""

    class Maker(Factory[out], **keywords):  # type: ignore[valid-type, misc]
        def read(self):
            return self

        def process(self):
            return self

        def write(self):
            return self

        def get(self):
            return value

    Maker.__name__ = Maker.__qualname__ = name
    return Maker


def run(factory_class: type, hooks: HookManager) -> Pipeline:
    return Pipeline(hooks=hooks, name="p").add_stage_from_type(factory_class).run()


class Failures:
    def __init__(self) -> None:
        self.errors: list[BaseException] = []

    @hook_impl
    def on_factory_run_failed(self, *, error: BaseException) -> None:
        self.errors.append(error)


class TestWrongOutput:
    def test_none_for_a_declared_int_fails_naming_the_factory(self, hooks):
        """The test failed before: the run succeeded and the next factory got None."""
        with pytest.raises(FactoryOutputError) as info:
            run(returning(None, int, "NeedsInt"), hooks)
        error = info.value
        assert str(error).startswith(
            "Factory 'NeedsInt' returned None from get(), but it declares Factory[int]"
        )
        assert "(stage 0 of pipeline 'p', run " in str(error)
        assert "NeedsInt.process() sets what get() returns" in error.hint
        assert "Factory[int | None]" in error.hint
        assert "check_output=False" in error.hint
        assert (error.expected, error.got) == ("int", "NoneType")
        assert (error.factory, error.stage, error.phase) == ("NeedsInt", 0, "get")
        assert error.pipeline == "p"
        assert error.__cause__ is None
        assert isinstance(error, FactoryError)
        assert error.context["expected"] == "int"
        assert error.context["got"] == "NoneType"

    def test_a_value_of_another_type_fails(self, hooks):
        with pytest.raises(FactoryOutputError) as info:
            run(returning("42", int, "Counts"), hooks)
        error = info.value
        assert "returned a str from get(), but it declares Factory[int]" in str(error)
        assert "or declare the type it really returns (Factory[str])" in error.hint
        assert (error.expected, error.got) == ("int", "str")

    def test_the_value_itself_is_never_in_the_message(self, hooks):
        with pytest.raises(FactoryOutputError) as info:
            run(returning("s3cr3t-value", int), hooks)
        assert "s3cr3t-value" not in str(info.value)
        assert "s3cr3t-value" not in str(info.value.hint)

    def test_an_observed_run_fails_too_and_tells_the_observers(self):
        failures = Failures()
        with (
            HookManager(observers=[failures], inline=True) as hooks,
            pytest.raises(FactoryOutputError) as info,
        ):
            run(returning(None, int), hooks)
        assert failures.errors == [info.value]

    def test_a_stage_run_alone_is_checked(self):
        """Without a pipeline there is no plan: the class's record is read."""
        stage = Stage().add_factory_from_type(returning(1.5, int, "Half"))
        with pytest.raises(FactoryOutputError, match="Factory 'Half' returned a float"):
            stage.run()

    @pytest.mark.parametrize("parallel", [False, True])
    def test_a_parallel_or_timed_stage_is_checked(self, hooks, parallel):
        stage = (
            Stage(benchmark=not parallel, parallel=parallel)
            .add_factory_from_type(returning(1, int, "Good"))
            .add_factory_from_type(returning([], int, "Bad"))
        )
        with pytest.raises(FactoryOutputError, match="Factory 'Bad' returned a list"):
            Pipeline(hooks=hooks).add_stage(stage).run()

    def test_the_consumer_never_runs(self, hooks):
        seen: list[Any] = []
        first = returning(None, int, "First")
        second = make_factory(
            "Second", int, compute=lambda n: seen.append(n) or 1, n=Delivery[int]()
        )
        pipeline = Pipeline(hooks=hooks).add_stage_from_type(first)
        with pytest.raises(FactoryOutputError):
            pipeline.add_stage_from_type(second).run()
        assert seen == []


class TestAcceptedOutput:
    @pytest.mark.parametrize(
        ("value", "declared"),
        [
            (None, int | None),
            (None, Optional[int]),  # noqa: UP045 - the typing spelling is what we test
            (3, int | None),
            (3, float),  # as type checkers do: an int is a float
            (3, complex),
            (True, int),
            ([1, 2], list[int]),
            (("a",), tuple[str, ...]),
            ({"a": 1}, dict[str, int]),
            (4, int | str),
            ("x", Annotated[str, "meta"]),
            (None, None),
            (object(), Any),
            (None, object),
            (1, UserId),
            ("x", Literal["x"]),
            ({"title": "x"}, Movie),
            ("x", Named),
            ("x", "Later"),
            (None, int | Any),
        ],
    )
    def test_matching_or_unchecked_outputs_pass(self, hooks, value, declared):
        assert run(returning(value, declared), hooks).get_last_output() is value

    def test_generic_aliases_check_the_origin_only(self, hooks):
        assert run(returning(["x"], list[int]), hooks).get_last_output() == ["x"]
        with pytest.raises(FactoryOutputError) as info:
            run(returning(("x",), list[int]), hooks)
        assert info.value.expected == "list[int]"
        assert info.value.got == "tuple"

    def test_a_subclass_passes(self, hooks):
        class Base:
            pass

        class Sub(Base):
            pass

        output = Sub()
        assert run(returning(output, Base), hooks).get_last_output() is output


class TestOptOut:
    def test_the_class_keyword_turns_the_check_off(self, hooks):
        maker = returning(None, int, check_output=False)
        assert maker.check_output is False
        assert maker.output_classes() is None
        assert run(maker, hooks).get_last_output() is None

    def test_the_class_attribute_turns_the_check_off_and_is_inherited(self, hooks):
        class Loose(Factory[int]):
            check_output = False

            def read(self):
                return self

            def process(self):
                return self

            def write(self):
                return self

            def get(self):
                return "not an int"

        class Looser(Loose):
            pass

        assert run(Looser, hooks).get_last_output() == "not an int"

    def test_the_keyword_can_turn_it_back_on_in_a_subclass(self, hooks):
        loose = returning(None, int, check_output=False)

        class Strict(loose, check_output=True):  # type: ignore[misc, valid-type]
            pass

        with pytest.raises(FactoryOutputError):
            run(Strict, hooks)

    def test_output_classes_can_be_given_for_a_dynamic_type(self, hooks):
        class Rows(Factory[Any]):
            value: Any = ()

            @classmethod
            def output_classes(cls):
                return (list, tuple)

            def read(self):
                return self

            def process(self):
                return self

            def write(self):
                return self

            def get(self):
                return self.value

        assert run(Rows, hooks).get_last_output() == ()
        Rows.value = "abc"
        with pytest.raises(FactoryOutputError, match="returned a str"):
            run(Rows, hooks)


class TestOutputClasses:
    @pytest.mark.parametrize(
        ("declared", "expected"),
        [
            (int, (int,)),
            (float, (float, int)),
            (complex, (complex, float, int)),
            (list[int], (list,)),
            (int | None, (int, type(None))),
            (Optional[list[str]], (list, type(None))),  # noqa: UP045
            (int | str | int, (int, str)),
            (Annotated[int, "x"], (int,)),
            (None, (type(None),)),
            (type(None), (type(None),)),
        ],
    )
    def test_classes_of_a_declared_type(self, declared, expected):
        assert output_classes(declared) == expected

    @pytest.mark.parametrize(
        "declared",
        [
            Any,
            object,
            "Later",
            ForwardRef("Later"),
            Literal[1],
            UserId,
            Named,
            Movie,
            int | Any,
        ],
    )
    def test_what_isinstance_cannot_test_is_not_checked(self, declared):
        assert output_classes(declared) is None

    def test_without_typedspark_loaded_a_class_is_itself(self, monkeypatch):
        """A pure-Python pipeline never imports typedspark to check an output."""
        monkeypatch.delitem(sys.modules, "typedspark", raising=False)
        assert output_classes(int) == (int,)
        assert "typedspark" not in sys.modules
