"""``SharedReads``: identical reads share one store read, on a fake clock."""

from __future__ import annotations

import threading

import pytest

from pysetl.dashboard import create_app
from pysetl.dashboard._shared import SharedReads
from pysetl.monitoring.history import InMemoryRunHistory

from .conftest import T0, rid


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Counter:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> int:
        self.calls += 1
        return self.calls


class TestSharedReads:
    def test_an_answer_serves_its_key_for_ttl_seconds(self):
        clock = Clock()
        shared = SharedReads(ttl=1.0, clock=clock)
        read = Counter()
        assert [shared.get("k", read) for _ in range(3)] == [1, 1, 1]
        assert shared.get("other", read) == 2  # another key reads
        clock.now += 1.0
        assert shared.get("k", read) == 3
        assert shared.reads == 3

    def test_a_ttl_of_zero_reads_every_time(self):
        shared = SharedReads(ttl=0, clock=Clock())
        read = Counter()
        assert [shared.get("k", read) for _ in range(3)] == [1, 2, 3]

    def test_a_failed_read_is_not_kept(self):
        shared = SharedReads(clock=Clock())

        def broken() -> int:
            raise OSError("disk gone")

        with pytest.raises(OSError, match="disk gone"):
            shared.get("k", broken)
        assert shared.get("k", lambda: 7) == 7

    def test_the_least_recently_used_key_is_dropped(self):
        shared = SharedReads(max_entries=2, clock=Clock())
        read = Counter()
        shared.get("a", read)
        shared.get("b", read)
        shared.get("a", read)  # a is used again: b is now the oldest
        shared.get("c", read)
        assert shared.get("a", read) == 1
        assert shared.get("b", read) == 4  # dropped: read again

    @pytest.mark.parametrize("fails", [False, True])
    def test_requests_during_a_read_wait_for_it(self, fails):
        """Single flight: ten requests while one read runs cost that one read."""
        shared = SharedReads(clock=Clock())
        started, release = threading.Event(), threading.Event()
        calls = []

        def slow() -> str:
            calls.append(1)
            started.set()
            release.wait(10)
            if fails:
                raise OSError("disk gone")
            return "page"

        answers: list[object] = []

        def ask() -> None:
            try:
                answers.append(shared.get("k", slow))
            except OSError as exc:
                answers.append(exc)

        leader = threading.Thread(target=ask)
        leader.start()
        assert started.wait(10)
        others = [threading.Thread(target=ask) for _ in range(10)]
        for thread in others:
            thread.start()
        release.set()
        for thread in [leader, *others]:
            thread.join(10)
        assert len(calls) == 1
        assert len(answers) == 11
        if fails:
            assert all(isinstance(a, OSError) for a in answers)
        else:
            assert answers == ["page"] * 11


class TestRunListShared:
    def test_the_run_list_and_pipelines_are_read_once_per_ttl(self, client_of):
        history = InMemoryRunHistory()
        history.start_run(rid(1), "daily", started_at=T0)
        clock = Clock()
        shared = SharedReads(ttl=1.0, clock=clock)
        client = client_of(create_app(history, shared_reads=shared))
        first = client.get("/api/runs").json()
        assert client.get("/api/pipelines").json()["items"][0]["runs"] == 1
        history.start_run(rid(2), "daily", started_at=T0 + 1)
        assert client.get("/api/runs").json() == first  # within the ttl
        other = client.get("/api/runs", params={"limit": 1}).json()
        assert [r["run_id"] for r in other["items"]] == [rid(2)]  # its own key
        assert shared.reads == 3
        clock.now += 1.0
        assert len(client.get("/api/runs").json()["items"]) == 2
        assert client.get("/api/pipelines").json()["items"][0]["runs"] == 2
