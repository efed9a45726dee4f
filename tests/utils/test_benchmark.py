"""``BenchmarkModifier`` and ``BenchmarkResult``: per-method timing of factories."""

from __future__ import annotations

import time

import pytest

from pysetl.utils import BenchmarkModifier, BenchmarkResult


class Base:
    def read(self):
        return self

    def overridden(self):
        return "base"


class Timed(Base):
    constant = 3

    def __init__(self) -> None:
        self.calls: list[str] = []

    def process(self):
        self.calls.append("process")
        return self

    def overridden(self):
        return "child"

    def fails(self):
        msg = "boom"
        raise RuntimeError(msg)

    def _private(self):
        return "private"

    @property
    def prop(self):
        return "prop"

    @classmethod
    def klass(cls):
        return cls

    @staticmethod
    def static():
        return "static"

    class Nested:
        pass


class TestBenchmarkResult:
    def test_str_uses_the_old_layout(self):
        result = BenchmarkResult("MyFactory", read=1.0, process=2.5, write=0, total=3.5)
        assert str(result) == (
            "Benchmark class: MyFactory\n"
            "Total elapsed time: 3.5 s\n"
            "read: 1.0 s\n"
            "process: 2.5 s\n"
            "write: 0 s\n"
            "================="
        )

    def test_is_a_value_object(self):
        assert BenchmarkResult("A", 1, 2, 3, 6) == BenchmarkResult("A", 1, 2, 3, 6)


class TestBenchmarkModifier:
    def test_starts_with_empty_times(self):
        obj = BenchmarkModifier(Timed()).get()
        assert obj.times == {}

    def test_get_returns_the_same_instance(self):
        obj = Timed()
        assert BenchmarkModifier(obj).get() is obj

    def test_records_elapsed_seconds_per_method(self):
        obj = BenchmarkModifier(Timed()).get()
        assert obj.process() is obj
        assert obj.read() is obj
        assert set(obj.times) == {"process", "read"}
        assert all(isinstance(v, float) and v >= 0 for v in obj.times.values())
        assert obj.calls == ["process"]

    def test_last_call_wins(self, monkeypatch):
        ticks = iter([0.0, 1.0, 10.0, 10.5])
        monkeypatch.setattr(time, "perf_counter", lambda: next(ticks))
        obj = BenchmarkModifier(Timed()).get()
        obj.process()
        obj.process()
        assert obj.times == {"process": 0.5}

    def test_times_with_the_monotonic_clock(self, monkeypatch):
        ticks = iter([5.0, 7.25])
        monkeypatch.setattr(time, "perf_counter", lambda: next(ticks))
        obj = BenchmarkModifier(Timed()).get()
        obj.read()
        assert obj.times == {"read": 2.25}

    def test_records_time_of_a_failing_method(self):
        obj = BenchmarkModifier(Timed()).get()
        with pytest.raises(RuntimeError, match="boom"):
            obj.fails()
        assert "fails" in obj.times

    @pytest.mark.parametrize("reset", [None, {}])
    def test_recreates_missing_or_empty_times(self, reset):
        obj = BenchmarkModifier(Timed()).get()
        if reset is None:
            del obj.times
        else:
            obj.times = reset
        obj.read()
        assert list(obj.times) == ["read"]

    def test_overridden_method_is_wrapped_once_and_calls_the_override(self):
        obj = BenchmarkModifier(Timed()).get()
        assert obj.overridden() == "child"
        assert list(obj.times) == ["overridden"]

    def test_wrappers_keep_the_method_metadata(self):
        obj = BenchmarkModifier(Timed()).get()
        assert obj.process.__name__ == "process"
        assert "process" in vars(obj)

    @pytest.mark.parametrize(
        "name", ["_private", "prop", "klass", "static", "Nested", "constant"]
    )
    def test_leaves_private_non_method_and_class_level_callables_alone(self, name):
        obj = BenchmarkModifier(Timed()).get()
        assert name not in vars(obj)

    def test_changes_only_the_instance(self):
        BenchmarkModifier(Timed())
        other = Timed()
        assert "process" not in vars(other)
        assert not hasattr(other, "times")
