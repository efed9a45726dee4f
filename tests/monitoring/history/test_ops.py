"""Write operations: the error's context, the status check, masking at creation."""

from __future__ import annotations

import pytest

from pysetl.errors import ConfigError
from pysetl.monitoring.history.ops import (
    FinishAttempt,
    FinishRun,
    FinishStage,
    error_to_dict,
)
from pysetl.monitoring.history.records import RunStatus


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


class TestStatuses:
    @pytest.mark.parametrize(
        "op",
        [
            FinishRun("r", "failed", 1.0),
            FinishStage("r", 0, "failed", 1.0),
            FinishAttempt("r", 0, "F", 1, "failed", 1.0),
        ],
    )
    def test_a_status_string_becomes_its_member(self, op):
        assert op.status is RunStatus.FAILED

    def test_an_unknown_status_is_kept_as_given(self):
        """``finish_run`` checks statuses; an operation keeps what it is given."""
        assert FinishRun("r", "paused", 1.0).status == "paused"
