from __future__ import annotations

import threading

from pysetl.utils.run_scope import RunScope, bind_scope, current_scope, reset_scope


class TestRunScope:
    def test_outside_any_run_there_is_no_scope(self):
        assert current_scope() is None

    def test_binding_then_resetting_restores_the_previous_scope(self):
        outer = RunScope("01RUN", "etl")
        inner = RunScope("01RUN", "etl", stage=0, factory="Load", attempt=1)
        outer_token = bind_scope(outer)
        inner_token = bind_scope(inner)
        assert current_scope() is inner
        reset_scope(inner_token)
        assert current_scope() is outer
        reset_scope(outer_token)
        assert current_scope() is None

    def test_a_scope_bound_in_one_thread_is_invisible_in_another(self):
        seen: list[RunScope | None] = []
        token = bind_scope(RunScope("01RUN", "etl"))
        try:
            thread = threading.Thread(target=lambda: seen.append(current_scope()))
            thread.start()
            thread.join()
        finally:
            reset_scope(token)
        assert seen == [None]

    def test_as_dict_leaves_out_unset_fields(self):
        assert RunScope("01RUN", "etl").as_dict() == {
            "run_id": "01RUN",
            "pipeline": "etl",
        }
        scope = RunScope("01RUN", "etl", stage=0, factory="F", attempt=1, phase="read")
        assert scope.as_dict() == {
            "run_id": "01RUN",
            "pipeline": "etl",
            "stage": 0,
            "factory": "F",
            "attempt": 1,
            "phase": "read",
        }
