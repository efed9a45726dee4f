"""The live feed: server-sent events of a run while the history changes."""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import threading
import time

import httpx
import pytest

from pysetl.dashboard import create_app
from pysetl.dashboard._live import LiveHub, publish, sse
from pysetl.errors import RunHistoryError
from pysetl.monitoring.history import InMemoryRunHistory, SqliteRunHistory
from pysetl.monitoring.history.ops import AddEvent, FinishAttempt, StartAttempt
from pysetl.monitoring.metrics._progress import SPARK_PROGRESS_EVENT

from .conftest import T0, rid


def run_loop(coroutine_function):
    """``asyncio.run`` in a thread of its own: the test session's thread may
    already run a loop (Playwright's sync API does), where it cannot start."""
    outcome: list = []

    def target() -> None:
        try:
            outcome.append((True, asyncio.run(coroutine_function())))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test
            outcome.append((False, exc))

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(60)
    ok, value = outcome[0]
    if not ok:
        raise value
    return value


class Listener:
    """Reads an SSE stream on a thread; events land in ``events`` with a time."""

    def __init__(self, url: str, **options) -> None:
        self.events: queue.Queue[tuple[float, str, object]] = queue.Queue()
        self.comments: list[str] = []
        self.seen: list[tuple[float, str, object]] = []
        self.thread = threading.Thread(
            target=self._read, args=(url, options), daemon=True
        )
        self.thread.start()

    def _read(self, url: str, options) -> None:
        try:
            self._stream(url, options)
        except httpx.HTTPError as exc:  # the server went away at teardown
            self.error = exc

    def _stream(self, url: str, options) -> None:
        with (
            httpx.Client(timeout=30, **options) as client,
            client.stream("GET", url) as response,
        ):
            self.status = response.status_code
            self.content_type = response.headers["content-type"]
            event = None
            for line in response.iter_lines():
                if line.startswith(":"):
                    self.comments.append(line)
                elif line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    data = json.loads(line[6:])
                    self.events.put((time.monotonic(), event, data))

    def next(self, name: str, timeout: float = 5.0, where=lambda _: True):
        """The first event called ``name`` that matches (read or to come).

        Returns:
            When it arrived and its data.
        """
        deadline = time.monotonic() + timeout
        while True:
            for at, event, data in self.seen:
                if event == name and where(data):
                    self.seen.remove((at, event, data))
                    return at, data
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                pytest.fail(f"no {name!r} event in {timeout} s")
            try:
                self.seen.append(self.events.get(timeout=remaining))
            except queue.Empty:
                continue


@pytest.fixture(params=["memory", "sqlite"])
def store(request, tmp_path):
    history = (
        InMemoryRunHistory()
        if request.param == "memory"
        else SqliteRunHistory(tmp_path / "h.db")
    )
    # started now: a run silent for a minute is stale and its stream ends
    history.start_run(rid(1), "daily", started_at=time.time())
    yield history
    history.close()


class TestStream:
    def test_a_change_reaches_every_client_within_a_second(self, store, serve_app):
        server = serve_app(create_app(store, poll_interval=0.1))
        url = f"{server.url}/api/runs/{rid(1)}/stream"
        clients = [Listener(url), Listener(url)]
        for client in clients:
            _, run = client.next("run")
            assert run["status"] == "running"
            assert run["progress"] == {"done": 0, "total": 0}
        assert clients[0].content_type.startswith("text/event-stream")

        written = time.monotonic()
        store.apply([StartAttempt(rid(1), 0, "Extract", 1, T0 + 1)])
        for client in clients:
            at, factory = client.next("factory")
            assert factory["factory"] == "Extract"
            assert factory["status"] == "running"
            assert at - written < 1.0

        written = time.monotonic()
        store.apply([FinishAttempt(rid(1), 0, "Extract", 1, "succeeded", T0 + 2, 1.0)])
        at, factory = clients[0].next(
            "factory", where=lambda f: f["status"] == "succeeded"
        )
        assert at - written < 1.0
        _, run = clients[0].next("run", where=lambda r: r["progress"]["done"] == 1)
        assert run["factories"]["succeeded"] == 1
        # metrics written after the factory ended (the collector is late)
        store.record_metric(rid(1), "rows_written", 5, factory="Extract")
        _, factory = clients[0].next("factory", where=lambda f: f["metrics"])
        assert factory["metrics"] == {"rows_written": 5.0}
        store.record_metric(rid(1), "rows_read", 9, factory="Extract")
        _, factory = clients[0].next(
            "factory", where=lambda f: "rows_read" in f["metrics"]
        )
        assert factory["metrics"] == {"rows_written": 5.0, "rows_read": 9.0}

        job = {
            "factory": "Extract",
            "job_id": 0,
            "status": "RUNNING",
            "num_tasks": 4,
            "completed_tasks": 1,
            "failed_tasks": 0,
            "active_tasks": 1,
            "stages_total": 1,
            "stages_done": 0,
        }
        store.apply(
            [AddEvent(rid(1), T0 + 3, SPARK_PROGRESS_EVENT, data={"jobs": [job]})]
        )
        _, spark = clients[1].next("spark", where=lambda s: s["jobs"])
        assert spark["jobs"] == [job]

        store.finish_run(rid(1), "succeeded", finished_at=T0 + 4)
        for client in clients:
            _, run = client.next("run", where=lambda r: r["status"] == "succeeded")
            client.next("end")
            client.thread.join(5)
            assert not client.thread.is_alive()  # the stream closed

    def test_a_finished_run_sends_its_state_and_ends(self, store, serve_app):
        store.finish_run(rid(1), "failed", finished_at=T0 + 1)
        server = serve_app(create_app(store))
        client = Listener(f"{server.url}/api/runs/{rid(1)}/stream")
        _, run = client.next("run")
        assert run["status"] == "failed"
        client.next("end")
        client.thread.join(5)
        # a second client after the first left gets the same
        again = Listener(f"{server.url}/api/runs/{rid(1)}/stream")
        again.next("end")

    def test_clients_that_leave_stop_the_watcher(self, store, serve_app):
        app = create_app(store, poll_interval=0.05)
        server = serve_app(app)
        hub: LiveHub = app.state.live
        url = f"{server.url}/api/runs/{rid(1)}/stream"
        with httpx.Client(timeout=10) as client:
            streams = [client.stream("GET", url) for _ in range(3)]
            readers = [s.__enter__().iter_lines() for s in streams]  # kept open
            for lines in readers:  # each got the run's state
                while not next(lines).startswith("event: run"):
                    pass
            assert len(hub._watches) == 1  # one watched run for three clients
            task = hub._poller
            assert len(hub._watches[rid(1)].clients) == 3
            assert hub.open_streams == 3
            for stream in streams:  # the pages close
                stream.__exit__(None, None, None)
        deadline = time.monotonic() + 5
        while hub._watches or not task.done() or hub.open_streams:
            assert time.monotonic() < deadline, "the poller outlived its clients"
            time.sleep(0.02)

    def test_keepalive_comments_while_nothing_changes(self, store, serve_app):
        server = serve_app(create_app(store, keepalive=0.2))
        client = Listener(f"{server.url}/api/runs/{rid(1)}/stream")
        client.next("run")
        deadline = time.monotonic() + 5
        while ": keepalive" not in client.comments:
            assert time.monotonic() < deadline, client.comments
            time.sleep(0.05)

    def test_with_a_token_the_stream_needs_it(self, store, serve_app):
        server = serve_app(create_app(store, token="tok-12345"))  # noqa: S106
        url = f"{server.url}/api/runs/{rid(1)}/stream"
        with httpx.Client(timeout=5) as client:
            assert client.get(url).status_code == 401
        listener = Listener(url, cookies={"pysetl_ui_token": "tok-12345"})
        _, run = listener.next("run")
        assert run["run_id"] == rid(1)


class BrokenHistory(InMemoryRunHistory):
    """A store whose reads fail after ``fail_after`` calls (to test the feed)."""

    def __init__(self) -> None:
        super().__init__()
        self.failing = False

    def _list_factory_attempts(self, *args, **kwargs):
        if self.failing:
            raise OSError("disk gone")
        return super()._list_factory_attempts(*args, **kwargs)


class TestHub:
    def test_a_failing_read_is_counted_and_the_feed_goes_on(self, serve_app, caplog):
        history = BrokenHistory()
        history.start_run(rid(1), "daily", started_at=time.time())
        app = create_app(history, poll_interval=0.05)
        server = serve_app(app)
        client = Listener(f"{server.url}/api/runs/{rid(1)}/stream")
        client.next("run")
        history.failing = True
        hub: LiveHub = app.state.live
        deadline = time.monotonic() + 5
        while hub.read_errors == 0:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        while hub.read_errors < 5:  # the store stays down for a while
            assert time.monotonic() < deadline
            time.sleep(0.02)
        history.failing = False
        history.apply([StartAttempt(rid(1), 0, "A", 1, T0)])
        client.next("factory")
        errors = [
            r
            for r in caplog.records
            if r.levelno >= logging.ERROR and "cannot read" in r.getMessage()
        ]
        assert len(errors) == 1  # logged once, not at every poll
        assert errors[0].exc_info is not None
        assert "reads the history again" in caplog.text

    def test_a_client_that_stops_reading_is_closed_not_left_behind(self):
        history = InMemoryRunHistory()
        history.start_run(rid(1), "daily", started_at=time.time())
        hub = LiveHub(history, poll_interval=60, keepalive=60)

        async def scenario() -> list[str]:
            slow = hub.stream(rid(1))
            assert await anext(slow) == ": connected\n\n"
            watch = hub._watches[rid(1)]
            watch.update(hub.read_state(rid(1)))  # as the first poll does
            (queue,) = watch.clients
            for n in range(queue.maxsize + 5):  # more than it can hold
                publish(watch, sse("factory", {"n": n}))
            assert not watch.clients  # dropped from the fan-out
            rest = [message async for message in slow]
            assert not hub._watches  # its last client left: the watcher stopped
            return rest

        rest = run_loop(scenario)
        # the stream ends with the resync comment, not after a thousand stale events
        assert rest[-1] == ": resync\n\n"
        assert len(rest) <= 3

    def test_a_client_that_joins_an_ended_run_gets_its_end(self):
        history = InMemoryRunHistory()
        history.start_run(rid(1), "daily", started_at=time.time())
        history.finish_run(rid(1), "succeeded")
        hub = LiveHub(history, poll_interval=0.01, keepalive=60)

        async def scenario() -> list[str]:
            first = hub.stream(rid(1))
            assert await anext(first) == ": connected\n\n"  # stays, unread
            await hub._poller  # one pass ends the run; then it stops by itself
            assert hub._watches[rid(1)].ended
            joined = [message async for message in hub.stream(rid(1))]
            await first.aclose()
            assert not hub._watches
            return joined

        joined = run_loop(scenario)
        assert joined[0] == ": connected\n\n"
        assert joined[1].startswith("event: run\n")
        assert joined[-1] == "event: end\ndata: {}\n\n"

    def test_sse_format(self):
        assert sse("run", {"a": "<b>"}) == 'event: run\ndata: {"a":"<b>"}\n\n'

    def test_unknown_run_state_is_none(self):
        hub = LiveHub(InMemoryRunHistory(), poll_interval=1, keepalive=1)
        assert hub.read_state("nope") is None


class ThreadsHistory(InMemoryRunHistory):
    """Counts the reads of runs' attempts at once, and can hold them."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self.active = 0
        self.most_at_once = 0
        self.release = threading.Event()
        self.release.set()

    def _list_factory_attempts(self, *args, **kwargs):
        with self.lock:
            self.active += 1
            self.most_at_once = max(self.most_at_once, self.active)
        try:
            self.release.wait(30)
            return super()._list_factory_attempts(*args, **kwargs)
        finally:
            with self.lock:
                self.active -= 1


def open_streams(url: str, run_ids, **options):
    """Open one stream per run on one keep-open client; wait for ': connected'."""
    client = httpx.Client(timeout=10, **options)
    streams = []
    for run_id in run_ids:
        stream = client.stream("GET", f"{url}/api/runs/{run_id}/stream")
        response = stream.__enter__()
        streams.append((stream, response))
    return client, streams


def close_streams(client, streams) -> None:
    for stream, _ in streams:
        stream.__exit__(None, None, None)
    client.close()


class TestLoad:
    """Many streams neither starve the API nor open without bound."""

    def test_one_pass_reads_every_watched_run(self, serve_app):
        history = ThreadsHistory()
        now = time.time()
        for n in range(12):
            history.start_run(rid(n), "daily", started_at=now)
        app = create_app(history, poll_interval=0.02)
        hub: LiveHub = app.state.live
        server = serve_app(app)
        client, streams = open_streams(server.url, [rid(n) for n in range(12)])
        try:
            deadline = time.monotonic() + 10
            while len(hub._watches) < 12:  # headers come before the generator
                assert time.monotonic() < deadline
                time.sleep(0.02)
            passes = hub.passes
            while hub.passes < passes + 3:
                assert time.monotonic() < deadline
                time.sleep(0.02)
            assert history.most_at_once == 1  # one poller, not one per run
        finally:
            close_streams(client, streams)

    def test_the_run_list_answers_while_the_feed_is_stuck(self, serve_app):
        """50 streams on a store whose reads hang leave the API's threads free."""
        history = ThreadsHistory()
        now = time.time()
        for n in range(50):
            history.start_run(rid(n), "daily", started_at=now)
        history.release.clear()  # every read of the feed now hangs
        app = create_app(history, max_streams_per_client=50)
        server = serve_app(app)
        client, streams = open_streams(server.url, [rid(n) for n in range(50)])
        try:
            with httpx.Client(base_url=server.url, timeout=5) as api:
                for _ in range(3):
                    response = api.get("/api/runs", params={"limit": 5})
                    assert response.status_code == 200
                    assert len(response.json()["items"]) == 5
            assert history.most_at_once == 1  # one stuck read, not 40
        finally:
            history.release.set()
            close_streams(client, streams)

    def test_streams_are_capped_per_client_and_in_total(self, store, serve_app):
        app = create_app(store, max_streams=3, max_streams_per_client=2)
        hub: LiveHub = app.state.live
        server = serve_app(app)
        first, streams = open_streams(server.url, [rid(1), rid(1)])
        assert [r.status_code for _, r in streams] == [200, 200]
        url = f"{server.url}/api/runs/{rid(1)}/stream"
        with httpx.Client(timeout=5) as same:
            refused = same.get(url)
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "10"
        body = refused.json()
        assert body["error"] == "too_many_streams"
        assert "this address has 2 live streams open" in body["message"]
        assert body["hint"]
        other = {"transport": httpx.HTTPTransport(local_address="127.0.0.2")}
        second, more = open_streams(server.url, [rid(1)], **other)
        assert more[0][1].status_code == 200  # another client: its own cap
        third = {"transport": httpx.HTTPTransport(local_address="127.0.0.3")}
        with httpx.Client(timeout=5, **third) as late:
            refused = late.get(url)
            assert refused.status_code == 429
            assert "has 3 live streams open" in refused.json()["message"]
            close_streams(first, streams)
            deadline = time.monotonic() + 5
            while hub.open_streams > 1:  # the closed streams gave their slots
                assert time.monotonic() < deadline, hub.open_streams
                time.sleep(0.02)
            listener = Listener(url, transport=third["transport"])
            listener.next("run")
        assert listener.status == 200
        close_streams(second, more)

    def test_unknown_runs_do_not_keep_a_slot(self, store, serve_app):
        app = create_app(store, max_streams=1)
        server = serve_app(app)
        with httpx.Client(base_url=server.url, timeout=5) as client:
            for _ in range(3):
                assert client.get("/api/runs/nope/stream").status_code == 404
        assert app.state.live.open_streams == 0

    def test_a_stale_run_sends_its_state_and_ends(self, serve_app):
        """A run whose process died stays 'running': there is nothing to stream."""
        history = InMemoryRunHistory()
        history.start_run(rid(1), "daily", started_at=time.time() - 3600)
        history.start_run(rid(2), "daily", started_at=time.time() - 3600)
        history.mark_crashed(rid(2))
        server = serve_app(create_app(history))
        stale = Listener(f"{server.url}/api/runs/{rid(1)}/stream")
        _, run = stale.next("run")
        assert (run["status"], run["stale"]) == ("running", True)
        _, end = stale.next("end")
        assert end == {"reason": "stale"}
        crashed = Listener(f"{server.url}/api/runs/{rid(2)}/stream")
        _, run = crashed.next("run")
        assert run["status"] == "crashed"
        _, end = crashed.next("end")
        assert end == {}
        for listener in (stale, crashed):
            listener.thread.join(5)
            assert not listener.thread.is_alive()  # the stream closed

    def test_a_store_that_fails_the_lookup_gives_the_slot_back(self, serve_app):
        history = FailingLookupHistory()
        history.start_run(rid(1), "daily", started_at=time.time())
        history.failing = True
        app = create_app(history)
        server = serve_app(app)
        with httpx.Client(base_url=server.url, timeout=5) as client:
            response = client.get(f"/api/runs/{rid(1)}/stream")
        assert response.status_code == 503
        assert response.json()["error"] == "history_unavailable"
        assert app.state.live.open_streams == 0


class FailingLookupHistory(InMemoryRunHistory):
    """A store whose run lookups fail while ``failing`` is set."""

    failing = False

    def _get_run(self, run_id):
        if self.failing:
            raise RunHistoryError("disk gone", hint="check the disk")
        return super()._get_run(run_id)
