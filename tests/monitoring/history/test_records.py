"""Records and the serialisation of an error's context."""

from __future__ import annotations

import logging

import pytest

from pysetl.errors import ConfigError
from pysetl.monitoring.history import RunRecord, error_to_dict
from pysetl.monitoring.history.records import level_number


class TestErrorToDict:
    def test_context_values_that_are_not_json_become_their_repr(self):
        marker = object()
        error = ConfigError(
            "bad",
            hint="fix",
            config="jobs",
            errors=[{"loc": ("a", 1), "input": marker}],
        )
        data = error_to_dict(error)
        assert data["config"] == "jobs"
        assert data["errors"] == [{"loc": ["a", 1], "input": repr(marker)}]
        assert data["causes"] == []

    def test_an_implicit_context_counts_as_a_cause(self):
        def fail():
            try:
                {}["k"]
            except KeyError:
                raise RuntimeError("while handling") from None

        with pytest.raises(RuntimeError) as info:
            fail()
        assert error_to_dict(info.value)["causes"] == []
        error = RuntimeError("second")
        error.__context__ = ValueError("first")
        data = error_to_dict(error)
        assert data["causes"] == [{"error_type": "ValueError", "message": "first"}]
        assert data["hint"] is None


class TestLevels:
    @pytest.mark.parametrize(
        ("level", "number"),
        [("info", logging.INFO), ("ERROR", logging.ERROR), (25, 25), ("ODD", 20)],
    )
    def test_level_number(self, level, number):
        assert level_number(level) == number


class TestRunRecord:
    def test_duration(self):
        assert RunRecord("r", "p", "running", 1.0).duration is None
        assert RunRecord("r", "p", "succeeded", 1.0, finished_at=3.5).duration == 2.5
