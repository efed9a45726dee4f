"""``BackgroundWriter``: one thread, batches, retries, tickers, bounded queue and close.

Real threads throughout: the sinks block on events to hold the writer where a
test needs it, and ``wait_for`` polls instead of sleeping a fixed time,
except where a test shows that something does *not* happen.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from pysetl._state import STATE
from pysetl.utils import _shared_writer, _writer_types
from pysetl.utils.writer import (
    THREAD_NAME,
    BackgroundWriter,
    Ticker,
    on_writer_thread,
    reset_shared_writer,
    shared_writer,
)

LOGGER = "pysetl.utils.writer"


def wait_for(
    predicate: Callable[[], object], timeout: float = 5.0, interval: float = 0.002
) -> bool:
    """Poll ``predicate`` until it is true; fail the test after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {predicate}")
        time.sleep(interval)
    return True


class ListSink:
    """Records every batch; fails ``fail`` times first; can be held on a gate."""

    def __init__(
        self, *, fail: int = 0, delay: float = 0.0, key: str | None = None
    ) -> None:
        self.batches: list[list[Any]] = []
        self.threads: list[str] = []
        self.attempts = 0
        self.fail = fail
        self.delay = delay
        self.gate = threading.Event()
        self.gate.set()
        if key is not None:
            self.writer_key = key

    def write_batch(self, items: Sequence[Any], /) -> None:
        self.attempts += 1
        self.threads.append(threading.current_thread().name)
        self.gate.wait(10)
        if self.delay:
            time.sleep(self.delay)
        if self.fail:
            self.fail -= 1
            msg = f"store down (attempt {self.attempts})"
            raise RuntimeError(msg)
        self.batches.append(list(items))

    @property
    def items(self) -> list[Any]:
        return [item for batch in self.batches for item in batch]


@dataclass
class RecordSink:
    """A dataclass with ``eq``: unhashable, like many users' sinks."""

    written: list[Any] = field(default_factory=list)

    def write_batch(self, items: Sequence[Any], /) -> None:
        self.written.extend(items)


class Broken:
    """Always fails; ``writer_key`` names it in the counts and logs."""

    writer_key = "broken-store"

    def write_batch(self, items: Sequence[Any], /) -> None:
        msg = f"cannot write {len(items)} item(s)"
        raise OSError(msg)


@pytest.fixture
def make() -> Iterator[Callable[..., BackgroundWriter]]:
    """``make(**options)``: a writer with a unique thread name, closed afterwards."""
    made: list[BackgroundWriter] = []

    def build(**options: Any) -> BackgroundWriter:
        options.setdefault("name", f"test-writer-{uuid.uuid4().hex[:8]}")
        writer = BackgroundWriter(**options)
        made.append(writer)
        return writer

    yield build
    for writer in made:
        writer.close(timeout=2.0)


@pytest.fixture
def caplog_writer(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Captures the writer's own log records (WARNING and up)."""
    caplog.set_level(logging.WARNING, logger=LOGGER)
    return caplog


def hold(writer: BackgroundWriter) -> threading.Event:
    """Block the writer's thread on a call until the returned event is set."""
    release = threading.Event()
    entered = threading.Event()

    def blocked() -> None:
        entered.set()
        release.wait(10)

    writer.call(blocked, key="hold")
    wait_for(entered.is_set)
    return release


def alive(name: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == name and t.is_alive()]


def errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r for r in caplog.records if r.name == LOGGER and r.levelno == logging.ERROR
    ]


class TestBatching:
    def test_items_arriving_together_make_one_batch_in_order(self, make):
        writer = make()
        sink = ListSink()
        release = hold(writer)
        for number in range(100):
            assert writer.put(sink, number)
        release.set()
        assert writer.drain()
        assert sink.batches == [list(range(100))]
        assert writer.written == 100

    def test_batch_size_is_respected(self, make):
        writer = make(batch_size=30)
        sink = ListSink()
        release = hold(writer)
        for number in range(100):
            writer.put(sink, number)
        release.set()
        assert writer.drain()
        assert [len(batch) for batch in sink.batches] == [30, 30, 30, 10]
        assert sink.items == list(range(100))

    def test_items_arriving_slowly_are_written_at_once(self, make):
        writer = make()
        sink = ListSink()
        writer.put(sink, "a")
        wait_for(lambda: sink.items == ["a"])
        writer.put(sink, "b")
        wait_for(lambda: sink.items == ["a", "b"])
        assert sink.batches == [["a"], ["b"]]

    def test_each_sink_gets_its_own_batches(self, make):
        writer = make()
        first, second = ListSink(), ListSink()
        release = hold(writer)
        for number in range(6):
            writer.put(first if number % 2 else second, number)
        release.set()
        assert writer.drain()
        assert first.batches == [[1, 3, 5]]
        assert second.batches == [[0, 2, 4]]

    def test_sinks_write_on_the_writer_thread(self, make):
        writer = make(name="named-writer")
        sink = ListSink()
        writer.put(sink, 1)
        assert writer.drain()
        assert sink.threads == ["named-writer"]

    def test_an_unhashable_sink_works(self, make):
        """A dataclass sink (``__hash__ = None``) is written; the thread lives on."""
        writer = make()
        sink = RecordSink()
        writer.put(sink, 1)
        writer.put(sink, 2)
        assert writer.drain()
        assert sink.written == [1, 2]
        later = ListSink()
        writer.put(later, 3)
        assert writer.drain()
        assert later.items == [3]

    def test_many_threads_putting_at_once(self, make):
        """Concurrent submitters: nothing lost, and ``drain`` waits for all of it."""
        writer = make()
        sink = ListSink()
        start = threading.Barrier(8)

        def submit(offset: int) -> None:
            start.wait()
            for number in range(500):
                writer.put(sink, offset + number)

        threads = [threading.Thread(target=submit, args=(i * 1000,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert writer.drain()
        assert writer.pending == 0
        assert len(sink.items) == 4000
        assert writer.written == 4000
        assert writer.dropped == 0


class TestRetries:
    def test_a_failing_batch_is_retried_then_written(self, make, caplog_writer):
        writer = make(retries=3, backoff=0.001)
        sink = ListSink(fail=2)
        writer.put(sink, "x")
        assert writer.drain()
        assert sink.batches == [["x"]]
        assert sink.attempts == 3
        assert writer.retried == 2
        assert writer.failures == {}
        assert errors(caplog_writer) == []

    def test_a_batch_failing_every_retry_is_dropped_counted_and_logged_once(
        self, make, caplog_writer
    ):
        writer = make(retries=2, backoff=0.001)
        sink = ListSink(fail=99, key="my-store")
        release = hold(writer)
        for item in "abc":
            writer.put(sink, item)
        release.set()
        assert writer.drain()
        assert sink.attempts == 3
        assert writer.retried == 2
        assert writer.failures == {"my-store": 1}
        assert writer.written == 0
        (record,) = errors(caplog_writer)
        assert record.getMessage().startswith(
            "pysetl observer my-store failed (3 item(s) lost); the run goes on"
        )
        assert record.exc_info is not None
        assert isinstance(record.exc_info[1], RuntimeError)
        assert "store down (attempt 3)" in str(record.exc_info[1])

    def test_the_backoff_doubles(self, make):
        writer = make(retries=2, backoff=0.05)
        sink = ListSink(fail=99)
        started = time.perf_counter()
        writer.put(sink, 1)
        assert writer.drain()
        assert time.perf_counter() - started >= 0.05 + 0.1

    def test_later_failures_are_rate_limited_with_a_count(self, make, caplog_writer):
        writer = make(retries=0, report_interval=60)
        for number in range(3):  # three batches, three failures
            writer.put(Broken(), number)
            assert writer.drain()
        assert writer.failures == {"broken-store": 3}
        (first,) = errors(caplog_writer)
        assert first.exc_info is not None
        writer.report_interval = 0  # the interval has passed
        writer.put(Broken(), 3)
        assert writer.drain()
        assert writer.failures == {"broken-store": 4}
        first_again, summary = errors(caplog_writer)
        assert first_again is first
        assert summary.getMessage() == (
            "pysetl observer broken-store failed 3 more time(s) (4 in all); "
            "last error: OSError: cannot write 1 item(s)"
        )
        assert summary.exc_info is None
        writer.report_interval = 60
        writer.put(Broken(), 4)
        assert writer.drain()
        assert len(errors(caplog_writer)) == 2  # within the interval again

    def test_the_interval_is_measured_in_time(self, make, caplog_writer):
        writer = make(retries=0, report_interval=0.05)
        writer.put(Broken(), 1)
        assert writer.drain()
        time.sleep(0.06)
        writer.put(Broken(), 2)
        assert writer.drain()
        assert len(errors(caplog_writer)) == 2

    @pytest.mark.parametrize("retries", [0, -1])
    def test_no_retries_means_one_try(self, make, retries):
        writer = make(retries=retries)
        sink = ListSink(fail=1)
        writer.put(sink, 1)
        writer.put(ListSink(), 2)
        assert writer.drain()
        assert sink.attempts == 1
        assert writer.retried == 0
        assert writer.failures == {"ListSink": 1}

    def test_keys_are_reported_apart(self, make, caplog_writer):
        writer = make(retries=0)
        writer.put(Broken(), 1)
        writer.put(ListSink(fail=1), 2)
        assert writer.drain()
        assert writer.failures == {"broken-store": 1, "ListSink": 1}
        assert len(errors(caplog_writer)) == 2

    def test_failures_is_a_copy(self, make):
        writer = make(retries=0)
        writer.put(Broken(), 1)
        assert writer.drain()
        writer.failures.clear()
        assert writer.failures == {"broken-store": 1}


class TestDownSinks:
    """A sink whose batch was dropped is down: no retries until a probe succeeds."""

    def test_batches_of_a_down_sink_are_dropped_without_a_try(self, make):
        """Before: every batch was tried and retried (0.35 s each by default)."""
        writer = make(retries=3, backoff=0.05, probe_interval=60)
        sink = ListSink(fail=99, key="down-store")
        writer.put(sink, 0)
        assert writer.drain()
        assert sink.attempts == 4
        started = time.perf_counter()
        for number in range(1, 21):
            writer.put(sink, number)
            assert writer.drain()
        assert time.perf_counter() - started < 1.0  # 20 x 0.35 s of backoff before
        assert sink.attempts == 4
        assert writer.failures == {"down-store": 21}

    def test_a_probe_is_one_try_and_a_success_brings_the_sink_back(
        self, make, caplog_writer
    ):
        writer = make(retries=3, backoff=0.001, probe_interval=0.05)
        sink = ListSink(fail=5, key="flaky-store")
        writer.put(sink, "lost")
        assert writer.drain()
        assert sink.attempts == 4
        time.sleep(0.06)
        writer.put(sink, "probe")  # one try, which fails: down again
        assert writer.drain()
        assert sink.attempts == 5
        time.sleep(0.06)
        writer.put(sink, "back")
        assert writer.drain()
        assert sink.items == ["back"]
        writer.put(sink, "normal")
        assert writer.drain()
        assert sink.items == ["back", "normal"]
        assert writer.failures == {"flaky-store": 2}
        (back,) = [r for r in caplog_writer.records if r.levelno == logging.WARNING]
        assert back.getMessage() == (
            "pysetl observer flaky-store works again (2 failure(s) in all)"
        )

    def test_the_rate_limited_report_names_the_last_error(self, make, caplog_writer):
        writer = make(retries=0, report_interval=0, probe_interval=60)
        sink = ListSink(fail=99, key="down-store")
        writer.put(sink, 1)
        assert writer.drain()
        writer.put(sink, 2)  # dropped without a try
        assert writer.drain()
        _first, summary = errors(caplog_writer)
        assert summary.getMessage().endswith(
            "last error: RuntimeError: store down (attempt 1)"
        )

    def test_other_sinks_are_not_held_up(self, make):
        writer = make(retries=0, probe_interval=60)
        broken, working = ListSink(fail=99), ListSink()
        writer.put(broken, 1)
        assert writer.drain()
        writer.put(broken, 2)
        writer.put(working, 3)
        assert writer.drain()
        assert working.items == [3]


class TestCalls:
    def test_a_call_runs_on_the_writer_thread_with_its_arguments(self, make):
        writer = make(name="call-writer")
        seen: list[tuple[Any, ...]] = []

        def record(*args: Any) -> None:
            seen.append((*args, threading.current_thread().name, on_writer_thread()))

        assert writer.call(record, 1, "two")
        assert writer.drain()
        assert seen == [(1, "two", "call-writer", True)]

    def test_a_call_that_raises_is_counted_logged_and_later_work_runs(
        self, make, caplog_writer
    ):
        writer = make()
        ran: list[str] = []

        def explode() -> None:
            msg = "observer bug"
            raise ValueError(msg)

        writer.call(explode, key="hooks")
        writer.call(ran.append, "after")
        sink = ListSink()
        writer.put(sink, "item")
        assert writer.drain()
        assert ran == ["after"]
        assert sink.items == ["item"]
        assert writer.failures == {"hooks": 1}
        (record,) = errors(caplog_writer)
        assert "pysetl observer hooks failed (1 item(s) lost)" in record.getMessage()
        assert record.exc_info is not None
        assert isinstance(record.exc_info[1], ValueError)

    def test_the_default_key_is_the_function_name(self, make):
        writer = make()

        def flaky() -> None:
            raise RuntimeError

        writer.call(flaky)
        assert writer.drain()
        assert list(writer.failures) == [flaky.__qualname__]

    def test_an_object_without_a_name_is_keyed_by_its_type(self, make):
        class Task:
            def __call__(self) -> None:
                raise RuntimeError

        writer = make()
        writer.call(Task())
        assert writer.drain()
        assert list(writer.failures) == ["Task"]

    def test_a_slow_call_is_counted_and_logged(self, make, caplog_writer):
        writer = make(slow_threshold=0.1)
        writer.call(time.sleep, 0.15, key="sleepy")
        writer.call(lambda: None, key="quick")
        assert writer.drain()
        assert writer.slow == {"sleepy": 1}
        (record,) = [r for r in caplog_writer.records if "took" in r.getMessage()]
        assert record.levelno == logging.WARNING
        assert record.getMessage().startswith("pysetl observer sleepy took")

    def test_a_slow_sink_is_counted_under_its_key(self, make):
        writer = make(slow_threshold=0.01)
        writer.put(ListSink(delay=0.03, key="slow-store"), 1)
        assert writer.drain()
        assert writer.slow == {"slow-store": 1}


class TestMaxPending:
    def test_what_does_not_fit_is_dropped_counted_and_warned_once(
        self, make, caplog_writer
    ):
        writer = make(max_pending=3)
        sink = ListSink()
        release = hold(writer)  # the held call is one of the three
        accepted = [writer.put(sink, number) for number in range(5)]
        assert accepted == [True, True, False, False, False]
        assert not writer.call(print)
        assert writer.dropped == 4
        warnings = [r for r in caplog_writer.records if "behind" in r.getMessage()]
        assert len(warnings) == 1
        assert "queue of 3 full" in warnings[0].getMessage()
        release.set()
        assert writer.drain()
        assert writer.pending == 0
        assert sink.items == [0, 1]
        assert writer.put(sink, "room again")
        assert writer.drain()
        assert sink.items == [0, 1, "room again"]


class TestDrain:
    def test_drain_waits_for_a_slow_sink(self, make):
        writer = make()
        sink = ListSink(delay=0.2)
        writer.put(sink, 1)
        assert writer.pending == 1
        assert writer.drain(5.0)
        assert sink.items == [1]
        assert writer.pending == 0

    def test_drain_times_out(self, make):
        writer = make()
        sink = ListSink()
        sink.gate.clear()
        writer.put(sink, 1)
        started = time.monotonic()
        assert not writer.drain(0.1)
        assert 0.1 <= time.monotonic() - started < 2.0
        assert writer.pending == 1
        sink.gate.set()
        assert writer.drain()
        assert sink.items == [1]

    def test_drain_on_the_writer_thread_returns_at_once(self, make):
        """Waiting for itself would deadlock: it returns whether nothing waits."""
        writer = make()
        results: list[tuple[bool, float]] = []

        def drain_from_inside() -> None:
            started = time.monotonic()
            done = writer.drain(5.0)
            results.append((done, time.monotonic() - started))

        writer.call(drain_from_inside)
        assert writer.drain()
        ((done, elapsed),) = results
        assert done is False  # the call itself was not finished
        assert elapsed < 1.0

    def test_drain_of_an_unused_writer(self, make):
        writer = make()
        assert writer.drain(0.01)
        assert writer.pending == 0

    def test_drain_wakes_a_thread_waiting_for_a_ticker(self, make):
        writer = make()
        writer.every(60, lambda: None)
        sink = ListSink()
        writer.put(sink, 1)
        assert writer.drain(2.0)
        assert sink.items == [1]


class TestTickers:
    def test_a_ticker_runs_periodically_on_the_thread(self, make):
        writer = make(name="tick-writer")
        threads: list[str] = []
        ticker = writer.every(
            0.01, lambda: threads.append(threading.current_thread().name)
        )
        assert isinstance(ticker, Ticker)
        wait_for(lambda: len(threads) >= 3)
        assert set(threads) == {"tick-writer"}

    def test_the_first_call_is_one_interval_away(self, make):
        writer = make()
        calls: list[float] = []
        started = time.monotonic()
        writer.every(0.1, lambda: calls.append(time.monotonic()))
        wait_for(lambda: calls)
        assert calls[0] - started >= 0.1

    def test_a_cancelled_ticker_stops(self, make):
        writer = make()
        calls: list[int] = []
        ticker = writer.every(0.01, lambda: calls.append(1))
        wait_for(lambda: len(calls) >= 2)
        ticker.cancel()
        writer.call(lambda: None)
        assert writer.drain()  # a tick in progress at cancel() has finished
        seen = len(calls)
        time.sleep(0.1)
        assert len(calls) == seen

    def test_other_tickers_go_on_when_one_is_cancelled(self, make):
        writer = make()
        kept: list[int] = []
        writer.every(0.01, lambda: None).cancel()
        writer.every(0.01, lambda: kept.append(1))
        wait_for(lambda: len(kept) >= 3)

    def test_tickers_stop_after_close(self, make):
        writer = make()
        calls: list[int] = []
        ticker = writer.every(0.01, lambda: calls.append(1))
        wait_for(lambda: len(calls) >= 2)
        writer.close()
        assert ticker.cancelled
        wait_for(lambda: alive(writer.name) == [])
        seen = len(calls)
        time.sleep(0.1)
        assert len(calls) == seen

    def test_a_ticker_of_a_closed_writer_never_runs(self, make):
        writer = make()
        writer.close()
        calls: list[int] = []
        writer.every(0.01, lambda: calls.append(1))
        time.sleep(0.1)
        assert calls == []
        assert alive(writer.name) == []

    def test_a_failing_tick_is_counted_and_ticking_goes_on(self, make, caplog_writer):
        writer = make(report_interval=60)
        calls: list[int] = []

        def tick() -> None:
            calls.append(1)
            raise RuntimeError

        writer.every(0.01, tick, key="heartbeat")
        wait_for(lambda: len(calls) >= 3)
        assert writer.failures["heartbeat"] >= 2
        assert len(errors(caplog_writer)) == 1  # the rest within the interval

    def test_what_a_tick_puts_is_written_in_the_same_pass(self, make):
        """Before: a heartbeat was written at the next wake-up, an interval late."""
        writer = make()
        sink = ListSink()
        ticks: list[float] = []

        def beat() -> None:
            ticks.append(time.monotonic())
            writer.put(sink, "beat")

        ticker = writer.every(1.0, beat)
        wait_for(lambda: ticks, timeout=5)
        wait_for(lambda: sink.items, timeout=0.5)
        ticker.cancel()
        assert len(ticks) == 1

    def test_a_new_ticker_leaves_a_waiting_batch_waiting_for_company(self, make):
        """A run's start (its heartbeat and progress tickers) is one batch, not two."""
        writer = make(flush_interval=0.3)
        sink = ListSink()
        writer.put(sink, "run started")
        writer.every(60, lambda: None)
        time.sleep(0.05)  # well within the flush interval
        writer.put(sink, "stage started")
        assert writer.drain()
        assert sink.batches == [["run started", "stage started"]]

    def test_a_ticker_due_sooner_than_the_flush_interval_is_not_held_back(self, make):
        writer = make(flush_interval=5.0)
        sink = ListSink()
        writer.put(sink, "waiting")
        calls: list[float] = []
        started = time.monotonic()
        writer.every(0.05, lambda: calls.append(time.monotonic()))
        wait_for(lambda: calls, timeout=2.0)
        assert calls[0] - started < 1.0

    def test_ticks_due_close_together_put_one_batch(self, make):
        """A tick due within a tenth of its interval runs with the one due now."""
        writer = make()
        sink = ListSink()
        writer.every(1.0, lambda: writer.put(sink, "beat"))
        time.sleep(0.03)  # due 30 ms after the first: within 100 ms
        writer.every(1.0, lambda: writer.put(sink, "progress"))
        wait_for(lambda: len(sink.items) >= 2, timeout=5)
        assert sink.batches[0] == ["beat", "progress"]

    def test_a_ticker_starts_an_idle_writer(self, make):
        """The first piece of work may be a ticker: it starts the thread."""
        writer = make()
        calls: list[int] = []
        writer.every(0.01, lambda: calls.append(1))
        wait_for(lambda: len(calls) >= 2)

    def test_a_ticker_wakes_a_thread_that_waits_for_work(self, make):
        writer = make()
        sink = ListSink()
        writer.put(sink, 1)
        assert writer.drain()  # the thread now waits without a timeout
        calls: list[int] = []
        writer.every(0.01, lambda: calls.append(1))
        wait_for(lambda: len(calls) >= 2)


class TestClose:
    def test_close_writes_what_is_queued_and_stops_the_thread(self, make):
        writer = make()
        sink = ListSink()
        release = hold(writer)
        for number in range(10):
            writer.put(sink, number)
        release.set()
        assert writer.close()
        assert writer.closed
        assert sink.items == list(range(10))
        wait_for(lambda: alive(writer.name) == [])

    def test_close_is_idempotent(self, make):
        writer = make()
        writer.put(ListSink(), 1)
        assert writer.close()
        started = time.monotonic()
        assert writer.close()
        assert writer.close(timeout=0)
        assert time.monotonic() - started < 0.5

    def test_close_is_bounded_by_its_timeout(self, make):
        writer = make()
        sink = ListSink()
        sink.gate.clear()
        writer.put(sink, 1)
        started = time.monotonic()
        assert not writer.close(timeout=0.1)
        assert time.monotonic() - started < 2.0
        assert writer.closed
        assert not writer.close()  # still not done: says so again
        sink.gate.set()
        wait_for(lambda: alive(writer.name) == [])
        assert sink.items == [1]  # queued before close: written

    def test_work_after_close_is_dropped_and_starts_no_thread(self, make):
        writer = make()
        sink = ListSink()
        writer.put(sink, 1)
        writer.close()
        wait_for(lambda: alive(writer.name) == [])
        assert not writer.put(sink, 2)
        assert not writer.call(sink.write_batch, [3])
        assert writer.dropped == 2
        assert writer.drain(0.01)
        assert alive(writer.name) == []
        assert sink.items == [1]

    def test_close_of_an_unused_writer_starts_nothing(self, make):
        writer = make()
        assert writer.close()
        assert alive(writer.name) == []
        assert not writer.put(ListSink(), 1)
        assert alive(writer.name) == []

    def test_close_from_the_writer_thread_stops_it(self, make):
        """A task that closes its own writer neither waits for itself nor leaks it."""
        writer = make()
        results: list[bool] = []
        writer.call(lambda: results.append(writer.close(timeout=5.0)))
        wait_for(lambda: results)
        assert results == [False]  # the closing call itself was not done
        assert writer.closed
        wait_for(lambda: alive(writer.name) == [])
        assert not writer.on_thread()


class TestOnWriterThread:
    def test_only_the_writers_thread_is_on_it(self, make):
        writer = make()
        other = make()
        seen: dict[str, bool] = {}

        def look() -> None:
            seen["any"] = on_writer_thread()
            seen["own"] = writer.on_thread()
            seen["other"] = other.on_thread()

        assert not on_writer_thread()
        assert not writer.on_thread()
        writer.call(look)
        assert writer.drain()
        assert seen == {"any": True, "own": True, "other": False}
        assert not on_writer_thread()
        assert not writer.on_thread()

    def test_a_stopped_thread_is_no_longer_a_writer(self, make):
        writer = make()
        idents: list[int] = []
        writer.call(lambda: idents.append(threading.get_ident()))
        writer.close()
        wait_for(lambda: alive(writer.name) == [])
        assert idents[0] not in _writer_types.WRITER_THREADS


class TestSharedWriter:
    @pytest.fixture(autouse=True)
    def _isolated(self, monkeypatch):
        """A shared writer of the test's own; the process's is left alone."""
        monkeypatch.setattr(STATE, "shared_writer", None)
        monkeypatch.setattr(STATE, "exiting", False)
        yield
        reset_shared_writer()

    def test_one_writer_until_reset(self):
        first = shared_writer()
        assert shared_writer() is first
        assert first.name == THREAD_NAME
        reset_shared_writer()
        assert first.closed
        second = shared_writer()
        assert second is not first
        assert not second.closed

    def test_a_closed_shared_writer_is_replaced(self):
        first = shared_writer()
        first.close()
        assert shared_writer() is not first

    def test_reset_without_a_writer(self):
        reset_shared_writer()
        assert not shared_writer().closed

    def test_its_close_is_registered_once(self, monkeypatch):
        monkeypatch.setattr(STATE, "writer_closes_at_exit", False)
        registered: list[object] = []
        monkeypatch.setattr(_shared_writer.atexit, "register", registered.append)
        shared_writer()
        reset_shared_writer()
        shared_writer()
        assert STATE.writer_closes_at_exit
        assert registered == [_shared_writer.close_shared_at_exit]

    def test_at_exit_it_is_closed_and_late_work_is_dropped(self):
        writer = shared_writer()
        _shared_writer.close_shared_at_exit()
        assert writer.closed
        assert shared_writer() is writer  # not a new, running one
        assert not writer.put(ListSink(), "from a __del__")

    def test_asked_for_during_exit_it_drops_everything(self):
        before = set(threading.enumerate())
        _shared_writer.close_shared_at_exit()
        writer = shared_writer()
        assert writer.closed
        assert not writer.call(print)
        assert not writer.drain(0.01) or writer.pending == 0
        assert set(threading.enumerate()) - before == set()
