"""``error_report`` and ``group_failures``: the window and the empty answer."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pysetl.errors import RunHistoryError
from pysetl.monitoring.errors import (
    error_groups,
    error_report,
    group_failures,
    window_start,
)
from pysetl.monitoring.history import InMemoryRunHistory


class TestWindowStart:
    def test_an_age_before_now(self):
        assert window_start("2h", now=10_000.0) == 10_000.0 - 7200
        assert window_start(timedelta(seconds=5), now=10.0) == 5.0

    @pytest.mark.parametrize("since", ["all", None])
    def test_all_is_the_whole_history(self, since):
        assert window_start(since, now=10.0) is None

    def test_a_bad_age(self):
        with pytest.raises(RunHistoryError):
            window_start("soon", now=10.0)


class TestReport:
    def test_the_groups_of_the_window(self, failing_runs):
        history = failing_runs.history
        report = error_report(history, since="all")
        assert report.start is None
        assert report.groups == error_groups(history)

    def test_the_window_start_is_returned(self):
        report = error_report(InMemoryRunHistory(), since="1d", now=100_000.0)
        assert report.start == 100_000.0 - 86_400
        assert report.groups == []


class TestGroupFailures:
    def test_the_failures_of_a_group(self, failing_runs):
        history = failing_runs.history
        group = error_groups(history)[0]
        found = group_failures(history, group.fingerprint)
        assert {o.fingerprint for o in found} == {group.fingerprint}

    def test_none_is_an_error_that_says_how_to_list_the_groups(self):
        with pytest.raises(RunHistoryError) as info:
            group_failures(InMemoryRunHistory(), "abcdef012345")
        assert info.value.message == "No failure has the fingerprint 'abcdef012345'"
        assert (
            info.value.hint == "list the error groups with 'pysetl errors --since all'"
        )
