"""The engine binds a RunScope around each factory, in the thread that runs it."""

from __future__ import annotations

import types
from typing import Any

import pytest

from pysetl.errors import FactoryError
from pysetl.utils.run_scope import RunScope, current_scope
from pysetl.workflow import Delivery, Factory, Pipeline, Stage


def _recording(name: str, seen: list[dict[str, Any]]) -> type[Factory[int]]:
    def snapshot(self: Any) -> Any:
        scope = current_scope()
        assert scope is not None
        seen.append({"who": type(self).__name__, **scope.as_dict()})
        return self

    def get(_self: Any) -> int:
        return 1

    body = {"read": snapshot, "process": snapshot, "write": snapshot, "get": get}
    return types.new_class(name, (Factory[int],), exec_body=lambda ns: ns.update(body))


class TestScopeDuringRun:
    def test_each_phase_sees_its_run_stage_factory_and_phase(self):
        seen: list[dict[str, Any]] = []
        pipeline = Pipeline().add_stage_from_type(_recording("Extract", seen)).run()
        phases = [entry["phase"] for entry in seen]
        assert phases == ["read", "process", "write"]
        for entry in seen:
            assert entry["run_id"] == pipeline.run_id
            assert entry["factory"] == "Extract"
            assert entry["stage"] == 0
            assert entry["attempt"] == 1

    @pytest.mark.parametrize("parallel", [False, True])
    def test_factories_of_one_stage_each_see_their_own_scope(self, parallel):
        seen: list[dict[str, Any]] = []
        stage = Stage(parallel=parallel)
        for name in ("A", "B", "C"):
            stage.add_factory_from_type(_recording(name, seen))
        Pipeline().add_stage(stage).run()
        assert {(entry["who"], entry["factory"]) for entry in seen} == {
            ("A", "A"),
            ("B", "B"),
            ("C", "C"),
        }

    def test_the_scope_is_gone_after_the_run_even_when_a_factory_fails(self):
        class Boom(Factory[int]):
            def read(self) -> Any:
                raise RuntimeError("boom")

            def process(self) -> Any:
                return self

            def write(self) -> Any:
                return self

            def get(self) -> int:
                return 0

        with pytest.raises(FactoryError):
            Pipeline().add_stage_from_type(Boom).run()
        assert current_scope() is None

    def test_consumers_see_the_scope_of_their_own_factory(self):
        seen: list[RunScope] = []

        class Source(Factory[int]):
            def read(self) -> Any:
                return self

            def process(self) -> Any:
                return self

            def write(self) -> Any:
                return self

            def get(self) -> int:
                return 41

        class Sink(Factory[int]):
            value = Delivery[int]()

            def read(self) -> Any:
                scope = current_scope()
                assert scope is not None
                seen.append(scope)
                return self

            def process(self) -> Any:
                return self

            def write(self) -> Any:
                return self

            def get(self) -> int:
                return self.value.get() + 1

        pipeline = (
            Pipeline().add_stage_from_type(Source).add_stage_from_type(Sink).run()
        )
        assert pipeline.get_last_output() == 42
        assert [(s.factory, s.stage) for s in seen] == [("Sink", 1)]
