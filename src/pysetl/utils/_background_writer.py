"""``BackgroundWriter``: one bounded queue and one daemon thread, batching to sinks.

The mechanism and the failure policy are described in ``pysetl.utils.writer``,
which re-exports the public names; what the writer's users hand it and get
back is in ``_writer_types``, the failures' reports in ``_writer_reports``
and the process-wide writer in ``_shared_writer``.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

from pysetl.utils._writer_reports import FailureReports, name_of
from pysetl.utils._writer_types import WRITER_THREADS, Sink, Ticker

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

__all__ = ["THREAD_NAME", "BackgroundWriter", "get_nowait"]

THREAD_NAME = "pysetl-writer"
# The public module's name: the writer's log lines kept it when this moved.
_LOGGER = logging.getLogger("pysetl.utils.writer")
_STOP = object()
_NOTHING = object()  # no work taken from the queue (it was empty)
_TICKERS = object()  # the tickers changed: a sleeping thread computes its wait again
_MANY = True  # third member of a queued ``put_many``: ``(slot, items, _MANY)``
_FAILED = object()  # what a sink's ``pack`` that raised leaves (nothing is queued)


class BackgroundWriter:
    """One bounded queue and one thread for every observer's slow work.

    Args:
        max_pending: How many calls and items may wait; more are dropped.
        retries: How many times a failing sink batch is retried.
        backoff: Seconds before the first retry (doubled each time).
        batch_size: At most this many items per sink batch.
        flush_interval: Seconds a pass waits for more items before writing
            a small batch (fewer, larger transactions); ``drain()``,
            ``close()`` and a full batch write at once.
        slow_threshold: Seconds after which a call or batch counts as slow.
        report_interval: Seconds between two log lines about one failing key.
        probe_interval: Seconds a sink stays down after a dropped batch
            before one batch is tried again.
        name: The thread's name.

    Attributes:
        dropped: Calls and items dropped (queue full, or writer closed).
        failures: Failed calls, ticks and dropped batches, by key.
        retried: Sink batches that were retried.
        slow: Calls or batches slower than ``slow_threshold``, by key.
        written: Items written by sinks.
    """

    def __init__(
        self,
        *,
        max_pending: int = 100_000,
        retries: int = 3,
        backoff: float = 0.05,
        batch_size: int = 2_000,
        flush_interval: float = 0.1,
        slow_threshold: float = 1.0,
        report_interval: float = 60.0,
        probe_interval: float = 5.0,
        name: str = THREAD_NAME,
    ) -> None:
        """Create the writer; its thread starts with the first piece of work."""
        self.max_pending = max_pending
        self.retries = retries
        self.backoff = backoff
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.slow_threshold = slow_threshold
        self.report_interval = report_interval
        self.probe_interval = probe_interval
        self.name = name
        self.dropped = 0
        self.retried = 0
        self.written = 0
        self.slow: dict[str, int] = {}
        self._reports = FailureReports()
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._last_submitted = 0
        self._done = 0  # advanced under the lock
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        # Cuts short the wait of a small batch for company (drain, close, every).
        self._urgent = threading.Event()
        self._thread: threading.Thread | None = None
        self._thread_id: int | None = None
        self._tickers: list[Ticker] = []
        # The items of the current pass, by sink slot; the writer's thread
        # only. Slots are numbers given to sinks by id (a sink need not be
        # hashable: a dataclass with eq), forgotten when nothing is queued.
        self._buffers: dict[int, tuple[Sink, list[Any]]] = {}
        self._slots: dict[int, int] = {}
        # Each sink's ``pack`` (or None), looked up once; the sink is kept
        # with it, so its id cannot stand for another sink meanwhile.
        self._packers: dict[int, tuple[Sink, Callable[[Any], object] | None]] = {}
        self._sinks: dict[int, Sink] = {}
        # Sinks that are down, by id: the sink and when to try it again.
        self._down: dict[int, tuple[Sink, float]] = {}
        self._next_slot = 0
        self._buffered = 0
        self._closed = False
        self._drain_next = threading.local()  # see drain_follows()

    # ---------------------------------------------------------------- state
    @property
    def failures(self) -> dict[str, int]:
        """Failed calls, ticks and dropped batches, by key."""
        return dict(self._reports.counts)

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called (new work is dropped)."""
        return self._closed

    @property
    def pending(self) -> int:
        """Calls and items submitted and not done yet."""
        return max(0, self._last_submitted - self._done)

    def on_thread(self) -> bool:
        """Whether the caller runs on this writer's thread."""
        return self._thread_id is not None and threading.get_ident() == self._thread_id

    @contextlib.contextmanager
    def drain_follows(self) -> Iterator[None]:
        """Mark the caller's thread as draining this writer right after the block.

        Work done in the block that would wait for the writer itself (the
        history recorder at a run's end) can leave it to that drain
        (``drains_next()``): one wait and one batch instead of two. The
        caller must drain after the block. Added in 0.9.
        """
        local = self._drain_next
        before = getattr(local, "on", False)
        local.on = True
        try:
            yield
        finally:
            local.on = before

    def drains_next(self) -> bool:
        """Whether the caller's thread drains this writer next (``drain_follows``)."""
        return getattr(self._drain_next, "on", False) is True

    # ----------------------------------------------------------- submitting
    def call(self, function: Callable[..., object], *args: Any, key: str = "") -> bool:
        """Run ``function(*args)`` on the writer's thread; ``False`` if dropped.

        Args:
            function: What to run; an exception it raises is logged and counted.
            *args: Its arguments.
            key: The name its failures are counted and logged under.
        """
        return self._submit((function, args, key or name_of(function)))

    def put(self, sink: Sink, item: object) -> bool:
        """Buffer ``item`` for ``sink.write_batch``; ``False`` if dropped.

        A sink with a ``pack(item)`` method has it called here, on the
        caller's thread, and its result queued instead (a store turns an
        operation into a plain row; see ``Sink``). Called on the writer's own
        thread (an observer handling an event), the item joins the current
        pass's buffer directly, without a trip through the queue.
        """
        packed = self._pack(sink, item)
        if packed is _FAILED:
            return False
        if self._thread_id is not None and threading.get_ident() == self._thread_id:
            self._buffer(sink).append(packed)
            self._buffered += 1
            return True
        return self._submit(None, sink, packed)

    def put_many(self, sink: Sink, items: Sequence[object]) -> bool:
        """Buffer ``items`` for ``sink.write_batch`` as one submission.

        Like ``put`` for each item, in order, at the cost of one: they are
        queued, counted and dropped together (``dropped`` counts one).
        """
        pack = self._pack
        packed = tuple(p for p in (pack(sink, i) for i in items) if p is not _FAILED)
        if not packed:
            return True
        if self._thread_id is not None and threading.get_ident() == self._thread_id:
            self._buffer(sink).extend(packed)
            self._buffered += len(packed)
            return True
        return self._submit(_MANY, sink, packed)

    def _pack(self, sink: Sink, item: object) -> object:
        known = self._packers.get(id(sink))
        if known is None or known[0] is not sink:  # the id of a sink gone since
            known = self._packers[id(sink)] = (sink, getattr(sink, "pack", None))
        pack = known[1]
        if pack is None:
            return item
        try:
            return pack(item)
        except Exception:  # noqa: BLE001 - that item is lost, never its neighbours
            self._reports.failed(name_of(sink), 1, self.report_interval)
            return _FAILED

    def _buffer(self, sink: Sink) -> list[Any]:
        """The current pass's buffer of ``sink`` (on the writer's thread)."""
        with self._lock:
            slot = self._slot(sink)
        return self._buffers.setdefault(slot, (sink, []))[1]

    def _slot(self, sink: Sink) -> int:
        """The number that stands for ``sink`` in the queue (lock held)."""
        slot = self._slots.get(id(sink))
        if slot is None:
            slot = self._slots[id(sink)] = self._next_slot
            self._sinks[slot] = sink
            self._next_slot += 1
        return slot

    def every(
        self, seconds: float, function: Callable[[], object], *, key: str = ""
    ) -> Ticker:
        """Call ``function()`` on the writer's thread every ``seconds``.

        The first call is ``seconds`` from now. Returns the ``Ticker`` to
        cancel. A ticker of a closed writer never runs.
        """
        ticker = Ticker(
            seconds, function, key or name_of(function), time.monotonic() + seconds
        )
        with self._lock:
            self._tickers.append(ticker)
        self._start()
        # Wake a thread asleep until its next tick, so that it sees the new
        # due time. A batch waiting for company goes on waiting (at most
        # flush_interval) unless the ticker is due sooner: a run's start
        # (tickers of its heartbeat and progress) is one batch, not two.
        self._queue.put(None if seconds < self.flush_interval else _TICKERS)
        self._urgent.set()
        return ticker

    def _submit(self, work: Any, sink: Sink | None = None, item: Any = None) -> bool:
        # Numbered and queued under the lock, so that the queue's order is the
        # numbers' order and ``drain`` can wait for a number: submitters on
        # several threads neither lose a number (``drain`` would return
        # early) nor queue work behind the stop marker of a concurrent
        # ``close`` (never done). Dropped work takes no number. Items go in
        # as ``(slot, item)`` or ``(slot, items, _MANY)``: a sink is named
        # by a number, so that a queued tuple of plain values refers to no
        # object the garbage collector must keep tracking.
        with self._lock:
            if self._closed or sys.is_finalizing():
                self.dropped += 1
                return False
            full = self._last_submitted - self._done >= self.max_pending
            if full:
                self.dropped += 1
                first_drop = self.dropped == 1
            else:
                self._last_submitted += 1
                if sink is not None:
                    slot = self._slot(sink)
                    work = (slot, item) if work is None else (slot, item, _MANY)
                self._queue.put(work)
            start = self._thread is None
        if full:
            if first_drop:
                _LOGGER.warning(
                    "pysetl observers are behind: dropping work (queue of %d full)",
                    self.max_pending,
                )
            return False
        if start:
            self._start()
        return True

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None or self._closed:
                return
            thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
            self._thread = thread
        thread.start()

    # -------------------------------------------------------------- waiting
    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until everything submitted so far is done, at most ``timeout`` s.

        Returns at once (``True`` when nothing waits) on the writer's own
        thread, which cannot wait for itself, and once the writer is closed
        (``close`` already waited, bounded, for what was queued).
        """
        if self.on_thread() or self._thread is None or self._closed:
            return self.pending == 0
        target = self._last_submitted
        self._queue.put(None)  # wake a thread that waits for its next tick
        self._urgent.set()  # or for company for a small batch
        with self._idle:
            return self._idle.wait_for(
                lambda: self._done >= target or not self._alive(), timeout=timeout
            )

    def _alive(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def close(self, timeout: float = 10.0) -> bool:
        """Finish what is queued (within ``timeout``) and stop; idempotent.

        Returns whether everything submitted was done. From now on new work
        is dropped (and counted), so nothing restarts the thread.
        """
        with self._lock:
            if self._closed:
                return self.pending == 0
        done = self.drain(timeout)
        with self._lock:
            self._closed = True
            thread = self._thread
            for ticker in self._tickers:
                ticker.cancel()
            self._tickers.clear()
        if thread is not None:
            # On its own thread (a task closing its writer) the loop stops
            # after the current pass instead of being joined.
            self._queue.put(_STOP)
            self._urgent.set()
            if not self.on_thread():
                thread.join(timeout=max(0.1, min(timeout, 1.0)))
        self._down.clear()  # a closed writer keeps no sink alive
        return done

    # --------------------------------------------------------------- thread
    def _loop(self) -> None:
        ident = threading.get_ident()
        self._thread_id = ident
        WRITER_THREADS.add(ident)
        try:
            self._serve()
        finally:
            # The ident may be reused by a later thread: it is no writer's.
            WRITER_THREADS.discard(ident)
            self._thread_id = None

    def _serve(self) -> None:
        buffers = self._buffers
        get = self._queue.get
        while True:
            try:
                work = get(timeout=self._wait())
            except queue.Empty:
                work = None
            done = 0
            deadline = time.monotonic() + self.flush_interval
            while True:
                taken, urgent, stop = self._take_queued(work)
                done += taken
                if stop:
                    self._flush(buffers)
                    self._finish(done)
                    return
                # Items arriving together make one batch; a small batch waits
                # up to flush_interval for company (one transaction, not many).
                # It sleeps meanwhile, in slices, instead of waking at every
                # item: only drain(), close() and a ticker due sooner cut it
                # short.
                left = deadline - time.monotonic()
                if urgent or not self._buffered or left <= 0:
                    break
                if self._buffered >= self.batch_size:
                    break
                self._urgent.wait(min(left, self.flush_interval / 5))
                self._urgent.clear()
                try:
                    work = get_nowait(self._queue)
                except queue.Empty:
                    work = _NOTHING
            self._flush(buffers)
            self._tick()
            # What the ticks put (a heartbeat) is written now, not at the
            # next wake-up (a whole interval later when nothing else comes).
            self._flush(buffers)
            self._finish(done)

    def _take_queued(self, work: Any) -> tuple[int, bool, bool]:
        """Take ``work`` and all that is queued now, without waiting.

        Returns how many submissions were taken, whether a marker asked to
        write at once (``drain()``) and whether to stop.
        """
        taken, urgent = 0, False
        buffers, sinks, limit = self._buffers, self._sinks, self.batch_size
        buffered = self._buffered
        try:
            while True:
                if work is _STOP:
                    return taken, True, True
                if work is None:  # drain(): write what we hold now
                    urgent = True
                elif work is not _NOTHING and work is not _TICKERS:
                    taken += 1
                    slot = work[0]
                    if slot.__class__ is int:  # an item (or items) for a sink
                        entry = buffers.get(slot)
                        if entry is None:
                            entry = buffers[slot] = (sinks[slot], [])
                        if len(work) == 2:  # noqa: PLR2004 - (slot, item)
                            entry[1].append(work[1])
                            buffered += 1
                        else:  # (slot, items, _MANY)
                            entry[1].extend(work[1])
                            buffered += len(work[1])
                    else:  # a call: it may put items on this thread
                        self._buffered = buffered
                        self._run(*work)
                        buffered = self._buffered
                if buffered >= limit:
                    return taken, urgent, False
                try:
                    work = get_nowait(self._queue)
                except queue.Empty:
                    return taken, urgent, False
        finally:
            self._buffered = buffered

    def _finish(self, count: int) -> None:
        if count:
            with self._idle:
                self._done += count
                if self._done >= self._last_submitted and not self._buffers:
                    # Nothing queued names a sink now: forget them (a closed
                    # store is not kept alive by the writer).
                    self._slots.clear()
                    self._sinks.clear()
                    self._packers.clear()
                self._idle.notify_all()

    def _wait(self) -> float | None:
        with self._lock:
            dues = [t.due for t in self._tickers if not t.cancelled]
        if not dues:
            return None
        return max(0.0, min(dues) - time.monotonic())

    def _tick(self) -> None:
        now = time.monotonic()
        # A tick due a little later (a tenth of its interval, at most a
        # flush interval) runs now with the others: what they put is one
        # batch (a heartbeat and a progress sample 5 ms apart were two).
        most = self.flush_interval
        with self._lock:
            self._tickers = [t for t in self._tickers if not t.cancelled]
            due = [
                t for t in self._tickers if t.due <= now + min(most, t.interval / 10)
            ]
        for ticker in due:
            ticker.due = now + ticker.interval
            self._run(ticker.function, (), ticker.key)

    def _run(
        self, function: Callable[..., object], args: tuple[Any, ...], key: str
    ) -> None:
        start = time.perf_counter()
        try:
            function(*args)
        except Exception:  # noqa: BLE001 - an observer never breaks anything
            self._reports.failed(key, 1, self.report_interval)
        self._timed(key, start)

    def _flush(self, buffers: dict[int, tuple[Sink, list[Any]]]) -> None:
        while buffers:  # a sink's write may buffer more (it runs on this thread)
            batch = list(buffers.values())
            buffers.clear()
            self._buffered = 0
            for sink, items in batch:
                self._write(sink, items)

    def _write(self, sink: Sink, items: list[Any]) -> None:
        key = name_of(sink)
        down = self._down.get(id(sink))
        retries = self.retries
        if down is not None and down[0] is sink:
            if time.monotonic() < down[1]:  # down: dropped without a try
                self._reports.failed(key, len(items), self.report_interval)
                return
            retries = 0  # a probe: one try
        start = time.perf_counter()
        attempt = 0
        while True:  # one try at least, even with ``retries`` below zero
            tried = time.perf_counter()
            try:
                sink.write_batch(items)
            except Exception:  # noqa: BLE001 - retried, then dropped and counted
                # A try that failed slowly (a lock or connection timeout) is
                # not retried: each retry would cost as long again.
                slow = time.perf_counter() - tried > self.slow_threshold
                if attempt < retries and not slow:
                    self.retried += 1
                    time.sleep(self.backoff * 2**attempt)
                    attempt += 1
                    continue
                self._down[id(sink)] = (sink, time.monotonic() + self.probe_interval)
                self._reports.failed(key, len(items), self.report_interval)
            else:
                self.written += len(items)
                if down is not None and self._down.pop(id(sink), None) is not None:
                    _LOGGER.warning(
                        "pysetl observer %s works again (%d failure(s) in all)",
                        key,
                        self._reports.counts.get(key, 0),
                    )
            break
        self._timed(key, start)

    def _timed(self, key: str, start: float) -> None:
        elapsed = time.perf_counter() - start
        if elapsed > self.slow_threshold:
            self.slow[key] = self.slow.get(key, 0) + 1
            _LOGGER.warning(
                "pysetl observer %s took %.3f s (threshold %.3f s)",
                key,
                elapsed,
                self.slow_threshold,
            )


def get_nowait(items: queue.SimpleQueue[Any]) -> Any:
    """The next item, or ``queue.Empty`` at once."""
    return items.get_nowait()
