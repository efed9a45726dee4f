"""run_factory: one factory, its deliveries injected by the engine, no history."""

from __future__ import annotations

import pytest
from typing_extensions import Self

from pysetl.errors import DependencyResolutionError, FactoryError
from pysetl.testing import run_factory
from pysetl.workflow import Deliverable, Delivery, Factory, HookManager
from pysetl.workflow.hooks import hook_impl


class Source(Factory[list[str]]):
    def read(self) -> Self:
        return self

    def process(self) -> Self:
        return self

    def write(self) -> Self:
        return self

    def get(self) -> list[str]:
        return ["a"]


class Join(Factory[str]):
    """Joins words (from Source) with a separator (from outside)."""

    words = Delivery[list[str]](producer=Source)
    separator = Delivery[str](delivery_id="sep")
    written: list[str] = []  # noqa: RUF012 - a test's record of writes

    def read(self) -> Self:
        self.parts, self.sep = self.words.get(), self.separator.get()
        return self

    def process(self) -> Self:
        self.text = self.sep.join(self.parts)
        return self

    def write(self) -> Self:
        Join.written.append(self.text)
        return self

    def get(self) -> str:
        return self.text


class Divide(Factory[float]):
    numbers = Delivery[list[int]]()

    def read(self) -> Self:
        self.values = self.numbers.get()
        return self

    def process(self) -> Self:
        self.result = self.values[0] / self.values[1]
        return self

    def write(self) -> Self:
        return self

    def get(self) -> float:
        return self.result


class Events:
    def __init__(self) -> None:
        self.seen: list[str] = []

    @hook_impl
    def after_factory_run(self, *, factory_name: str) -> None:
        self.seen.append(factory_name)


@pytest.fixture(autouse=True)
def _no_writes():
    Join.written.clear()


class TestInputs:
    def test_a_mapping_fills_deliveries_by_attribute_name(self):
        out = run_factory(Join, inputs={"words": ["x", "y"], "separator": "-"})
        assert out == "x-y"
        assert Join.written == ["x-y"]

    def test_deliverables_are_matched_by_type_id_and_producer(self):
        out = run_factory(
            Join(),
            inputs=[
                Deliverable[list[str]](["p", "q"], producer=Source),
                Deliverable[str]("+", delivery_id="sep"),
            ],
        )
        assert out == "p+q"

    def test_falsy_values_are_values(self):
        assert run_factory(Join, inputs={"words": [], "separator": ""}) == ""

    def test_an_unknown_name_lists_the_declared_deliveries(self):
        with pytest.raises(
            ValueError, match=r"no delivery 'sep'.*\['separator', 'words'\]"
        ):
            run_factory(Join, inputs={"sep": "-", "words": []})

    def test_a_plain_value_in_a_sequence_is_refused(self):
        with pytest.raises(
            TypeError, match="Deliverable objects or a mapping, not str"
        ):
            run_factory(Join, inputs=["-"])

    def test_a_missing_input_is_the_engines_preflight_error(self):
        with pytest.raises(DependencyResolutionError) as raised:
            run_factory(Join, inputs={"words": ["x"]})
        assert "Join" in str(raised.value)
        assert Join.written == []  # nothing ran

    def test_a_wrong_producer_does_not_fill_the_delivery(self):
        with pytest.raises(DependencyResolutionError):
            run_factory(
                Join,
                inputs=[
                    Deliverable[list[str]](["p"]),  # not from Source
                    Deliverable[str]("+", delivery_id="sep"),
                ],
            )


class TestRunning:
    def test_write_false_skips_write(self):
        assert run_factory(Join, {"words": ["a"], "separator": ","}, write=False) == "a"
        assert Join.written == []

    def test_a_failure_is_the_engines_factory_error_with_its_hint(self):
        with pytest.raises(FactoryError) as raised:
            run_factory(Divide, inputs={"numbers": [1, 0]}, name="unit")
        error = raised.value
        assert isinstance(error.__cause__, ZeroDivisionError)
        assert error.context["factory"] == "Divide"
        assert error.context["phase"] == "process"
        assert error.hint

    def test_nothing_observes_by_default(self, monkeypatch, tmp_path):
        """Even with observation switched on, no history is opened or written."""
        monkeypatch.setenv("PYSETL_OBSERVE", "1")
        monkeypatch.chdir(tmp_path)
        assert run_factory(Divide, inputs={"numbers": [6, 3]}) == 2.0
        assert list(tmp_path.iterdir()) == []

    def test_observers_can_be_given(self):
        events = Events()
        hooks = HookManager(observers=[events], inline=True)
        run_factory(Divide, inputs={"numbers": [6, 3]}, hooks=hooks)
        assert events.seen == ["Divide"]
