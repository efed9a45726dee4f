"""Users' KPIs: recorded inside a run, attributed through the run scope."""

from __future__ import annotations

import math
import subprocess
import sys
from typing import Any

import pytest

from pysetl.utils.run_scope import RunScope, bind_scope, reset_scope
from pysetl.workflow import Factory, HookManager, Pipeline, kpi
from pysetl.workflow.hooks import hook_impl


class _Events:
    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    @hook_impl
    def on_metric_recorded(self, **kwargs: Any) -> None:
        self.seen.append(kwargs)


class _Counts(Factory[int]):
    def read(self) -> _Counts:
        kpi.counter("rows_rejected", labels={"reason": "null id"}).inc(5)
        return self

    def process(self) -> _Counts:
        kpi.gauge("late_ratio").set(0.25)
        kpi.histogram("batch_size").observe(12)
        return self

    def write(self) -> _Counts:
        return self

    def get(self) -> int:
        return 1


class TestInsideARun:
    def test_each_value_reaches_observers_with_its_factory(self):
        events = _Events()
        pipeline = Pipeline(hooks=HookManager(observers=[events], inline=True))
        pipeline.add_stage_from_type(_Counts).run()
        assert [(e["name"], e["kind"], e["value"]) for e in events.seen] == [
            ("rows_rejected", "counter", 5.0),
            ("late_ratio", "gauge", 0.25),
            ("batch_size", "histogram", 12.0),
        ]
        first = events.seen[0]
        assert first["run_id"] == pipeline.run_id
        assert first["factory_name"] == "_Counts"
        assert first["stage_id"] == 0
        assert first["attempt"] == 1
        assert first["labels"] == {"reason": "null id"}

    def test_background_delivery_gets_them_too(self):
        events = _Events()
        with HookManager(observers=[events]) as hooks:
            Pipeline(hooks=hooks).add_stage_from_type(_Counts).run()
            hooks.drain()
        assert len(events.seen) == 3


class TestOutsideARun:
    def test_recording_without_a_run_does_nothing(self):
        kpi.counter("rows").inc()
        kpi.gauge("ratio").set(1)
        kpi.histogram("size").observe(3)

    def test_a_scope_without_emit_does_nothing(self):
        token = bind_scope(RunScope("01RUN", "etl", 0, "F", 1))
        try:
            kpi.counter("rows").inc(2)
        finally:
            reset_scope(token)

    def test_a_bound_scope_with_emit_publishes(self):
        seen: list[tuple[str, dict[str, Any]]] = []

        def emit(event: str, /, **kwargs: Any) -> None:
            seen.append((event, kwargs))

        scope = RunScope("01RUN", "etl", 2, "Load", 1, "write")
        scope.emit = emit
        token = bind_scope(scope)
        try:
            kpi.gauge("lag_seconds", {"region": "eu"}).set(3)
        finally:
            reset_scope(token)
        event, payload = seen[0]
        assert event == "on_metric_recorded"
        assert payload["factory_name"] == "Load"
        assert payload["stage_id"] == 2
        assert payload["labels"] == {"region": "eu"}
        assert "emit" not in scope.as_dict()


class TestValidation:
    @pytest.mark.parametrize("name", ["", "1rows", "rows rejected", "a-b"])
    def test_invalid_names_are_refused(self, name):
        with pytest.raises(ValueError, match="Invalid metric name"):
            kpi.counter(name)

    def test_counters_only_go_up(self):
        with pytest.raises(ValueError, match="only go up"):
            kpi.counter("rows").inc(-1)

    @pytest.mark.parametrize("value", [math.nan, math.inf])
    def test_values_must_be_finite(self, value):
        with pytest.raises(ValueError, match="finite"):
            kpi.gauge("ratio").set(value)

    def test_labels_become_strings_and_repr_names_them(self):
        metric = kpi.histogram("size", {"n": 1})  # type: ignore[dict-item]
        assert metric.labels == {"n": "1"}
        assert repr(metric) == "Histogram('size', {'n': '1'})"
        assert kpi.KINDS == ("counter", "gauge", "histogram")


class TestWhereItLives:
    def test_the_old_name_is_the_same_api(self):
        from pysetl.monitoring import kpi as old

        assert old.counter is kpi.counter
        assert old.EVENT == kpi.EVENT

    def test_recording_needs_no_store(self):
        """Without SQLAlchemy (no ``monitoring`` extra) factories can still record."""
        probe = (
            "import sys; sys.modules['sqlalchemy'] = None\n"
            "from pysetl.workflow import kpi\n"
            "kpi.counter('rows').inc(3)\n"
            "print('ok')"
        )
        result = subprocess.run(  # noqa: S603 - our own interpreter and probe
            [sys.executable, "-c", probe],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "ok"
