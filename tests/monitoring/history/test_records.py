"""Read records: statuses, levels, durations."""

from __future__ import annotations

import json
import logging

import pytest

from pysetl.monitoring.history import RunRecord
from pysetl.monitoring.history.records import (
    STATUSES,
    FactoryAttemptRecord,
    PipelineSummary,
    RunStatus,
    level_number,
)


class TestRunStatus:
    def test_a_member_is_its_stored_string(self):
        status = RunStatus.FAILED
        assert status == "failed"
        assert isinstance(status, str)
        assert str(status) == "failed"
        assert f"{status}|{status:>8}" == "failed|  failed"
        assert json.dumps({"status": status}) == '{"status": "failed"}'
        assert {"failed": 1}[status] == 1

    def test_statuses_are_the_values_in_order(self):
        assert STATUSES == ("running", "succeeded", "failed", "crashed")
        assert tuple(RunStatus) == STATUSES
        assert all(type(s) is str for s in STATUSES)

    def test_records_hold_members(self):
        run = RunRecord("r", "p", "crashed", 1.0)
        attempt = FactoryAttemptRecord(1, "r", 0, "F", 1, "running", 1.0)
        summary = PipelineSummary("p", 1, "r", "succeeded", 1.0)
        assert run.status is RunStatus.CRASHED
        assert attempt.status is RunStatus.RUNNING
        assert summary.last_status is RunStatus.SUCCEEDED

    def test_an_unknown_status_stays_a_string(self):
        """A newer version's status, read from a shared store, is not an error."""
        status = RunRecord("r", "p", "paused", 1.0).status
        assert type(status) is str
        assert status == "paused"


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
