"""The live feed of a run: server-sent events from polling the history.

One poller task, shared by every watched run, reads the state of all of
them in one pass on one worker thread of its own (never the thread pool the
API's routes run on), then fans each run's changes out to every client of
that run: ten pages open on one run cost one read, and 200 runs watched at
once cost one thread. After a pass it sleeps ``poll_interval`` seconds, or
``IDLE_RATIO`` times as long as the pass took if that is longer, so the feed
reads the store at most a quarter of the time however many runs are watched
(the reads hold the GIL, which the API's requests need too). Messages:

* ``event: run``: the ``RunOut`` plus ``progress``, when either changes;
* ``event: factory``: a ``FactoryOut``, for each attempt that changed;
* ``event: spark``: the ``/spark`` payload, when it changes;
* ``event: end``: the run is over (the stream then closes). ``data`` is
  ``{}``, or ``{"reason": "stale"}`` for a run still ``running`` whose
  process stopped beating (``stale``): there is nothing left to stream;
* ``: keepalive`` comments every ``keepalive`` seconds of silence.

A client that stops reading until its queue is full has its stream closed
(after a ``: resync`` comment) so that it reconnects to a whole snapshot
instead of silently missing changes.

Streams are capped: at most ``max_streams`` in all and
``max_streams_per_client`` per client (an IPv4 address or an IPv6 /64); one
more is answered ``429`` with ``Retry-After``, before anything is read.

A new client first gets the whole current state. A run is no longer read
once its last client leaves, and the poller stops with the last run; a
failing read is logged once and retried at the next pass.

Added in 0.3. Changed in 0.4: one shared poller, stream caps, stale runs end.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from pysetl.dashboard import _reads as reads
from pysetl.dashboard._api import ApiProblem, no_nul, no_run
from pysetl.dashboard._throttle import client_key
from pysetl.monitoring.history import RunStatus

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from starlette.types import Receive, Scope, Send

    from pysetl.monitoring.history import BaseRunHistory

__all__ = [
    "IDLE_RATIO",
    "MAX_STREAMS",
    "MAX_STREAMS_PER_CLIENT",
    "LiveHub",
    "publish",
    "router",
    "sse",
]

IDLE_RATIO = 3.0
"""The poller rests at least this many times as long as its last pass took."""
MAX_STREAMS = 256
"""Live streams open at once, by default (one more is answered 429)."""
MAX_STREAMS_PER_CLIENT = 16
"""Live streams one client may hold open, by default."""

_LOGGER = logging.getLogger(__name__)
_END = "event: end\ndata: {}\n\n"
_END_STALE = 'event: end\ndata: {"reason":"stale"}\n\n'
_ENDS = frozenset({_END, _END_STALE})
_RESYNC = ": resync\n\n"
_QUEUE_SIZE = 1000
_RETRY_AFTER = 10  # seconds a refused stream is told to wait

router = APIRouter(dependencies=[Depends(no_nul)])


def sse(event: str, data: Any) -> str:
    """One server-sent event with JSON ``data``."""
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


@dataclass
class _Watch:
    """The latest state of one run and the queues of its clients."""

    run_id: str
    clients: set[asyncio.Queue[str]] = field(default_factory=set)
    run: dict[str, Any] | None = None
    factories: dict[tuple[str, int, int], dict[str, Any]] = field(default_factory=dict)
    spark: dict[str, Any] | None = None
    metrics: reads.MetricsSeen = field(default_factory=reads.MetricsSeen)
    end: str | None = None

    @property
    def ended(self) -> bool:
        """Whether the run is over (or stale): nothing more to stream."""
        return self.end is not None

    def snapshot(self) -> list[str]:
        """The messages that bring a new client up to date."""
        messages = [] if self.run is None else [sse("run", self.run)]
        messages += [sse("factory", f) for f in self.factories.values()]
        if self.spark is not None:
            messages.append(sse("spark", self.spark))
        if self.end is not None:
            messages.append(self.end)
        return messages

    def update(self, state: dict[str, Any]) -> list[str]:
        """Take a new state; return the messages of what changed."""
        messages = []
        if state["run"] != self.run:
            self.run = state["run"]
            messages.append(sse("run", self.run))
        for factory in state["factories"]:
            key = (factory["factory"], factory["stage_id"], factory["attempt"])
            if self.factories.get(key) != factory:
                self.factories[key] = factory
                messages.append(sse("factory", factory))
        if state["spark"] != self.spark:
            self.spark = state["spark"]
            messages.append(sse("spark", self.spark))
        if state["run"]["status"] != RunStatus.RUNNING:
            self.end = _END
        elif state["run"].get("stale"):  # its process died: it will not change
            self.end = _END_STALE
        if self.end is not None:
            messages.append(self.end)
        return messages


def publish(watch: _Watch, message: str) -> None:
    """Queue ``message`` for every client of ``watch``.

    A client whose queue is full (it stopped reading) loses its backlog and
    gets ``_RESYNC``: its stream closes rather than silently missing a change
    (or the ``end``), and the browser's ``EventSource`` reconnects and starts
    again from a whole snapshot.
    """
    for queue in list(watch.clients):
        if not queue.full():
            queue.put_nowait(message)
            continue
        watch.clients.discard(queue)
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait(_RESYNC)


class LiveHub:
    """The runs that clients follow, their shared poller and the stream caps.

    Args:
        history: The store to poll.
        poll_interval: Seconds between two polls of a run (at least
            ``IDLE_RATIO`` times as long as the last pass over every watched
            run took).
        keepalive: Seconds of silence after which a comment is sent.
        max_streams: Streams open at once, at most.
        max_streams_per_client: Streams one client may hold open, at most.

    Changed in 0.4: one poller for every run; ``max_streams`` and
    ``max_streams_per_client``.
    """

    def __init__(
        self,
        history: BaseRunHistory,
        *,
        poll_interval: float,
        keepalive: float,
        max_streams: int = MAX_STREAMS,
        max_streams_per_client: int = MAX_STREAMS_PER_CLIENT,
    ) -> None:
        """Create a hub with no watched run."""
        self.history = history
        self.poll_interval = poll_interval
        self.keepalive = keepalive
        self.max_streams = max_streams
        self.max_streams_per_client = max_streams_per_client
        self.read_errors = 0
        self.passes = 0
        self._watches: dict[str, _Watch] = {}
        self._streams: dict[str, int] = {}
        self._poller: asyncio.Task[None] | None = None
        self._failing = False  # log a failure once, not four times a second
        # The poller's own thread: the API's routes keep anyio's pool.
        self._limiter = anyio.CapacityLimiter(1)

    @property
    def open_streams(self) -> int:
        """How many streams are open now."""
        return sum(self._streams.values())

    def admit(self, client: str) -> str | None:
        """Count one more stream of ``client``; why not, if it is over a cap.

        Call ``release(client)`` once the admitted stream ends.
        """
        if self.open_streams >= self.max_streams:
            return f"the dashboard has {self.max_streams} live streams open"
        if self._streams.get(client, 0) >= self.max_streams_per_client:
            return f"this address has {self.max_streams_per_client} live streams open"
        self._streams[client] = self._streams.get(client, 0) + 1
        return None

    def release(self, client: str) -> None:
        """Forget one stream of ``client`` (the stream ended)."""
        left = self._streams.get(client, 0) - 1
        if left > 0:
            self._streams[client] = left
        else:
            self._streams.pop(client, None)

    def read_state(
        self, run_id: str, metrics: reads.MetricsSeen | None = None
    ) -> dict[str, Any] | None:
        """The run's state now (on a worker thread), ``None`` if it is unknown.

        Args:
            run_id: The run.
            metrics: The run's metrics read so far (only new ones are read).
        """
        run = self.history.find_run(run_id)
        if run is None:
            return None
        run_payload, factories, _ = reads.run_state(self.history, run, metrics)
        counts = run_payload["factories"]
        run_payload = {
            **run_payload,
            "progress": {
                "done": counts["succeeded"] + counts["failed"],
                "total": counts["total"],
            },
        }
        spark = reads.spark_of(self.history, run)
        return {"run": run_payload, "factories": factories, "spark": spark}

    async def stream(self, run_id: str) -> AsyncIterator[str]:
        """The messages of one client of ``run_id``, until the run ends."""
        watch = self._watches.get(run_id)
        if watch is None:
            watch = self._watches[run_id] = _Watch(run_id)
        if self._poller is None or self._poller.done():
            self._poller = asyncio.create_task(self._poll())
        queue: asyncio.Queue[str] = asyncio.Queue(_QUEUE_SIZE)
        watch.clients.add(queue)
        try:
            yield ": connected\n\n"
            for message in watch.snapshot():
                yield message
                if message in _ENDS:
                    return
            while True:
                try:
                    message = await asyncio.wait_for(queue.get(), self.keepalive)
                except asyncio.TimeoutError:
                    yield ": keepalive\n\n"
                    continue
                yield message
                if message == _RESYNC or message in _ENDS:
                    return
        finally:
            watch.clients.discard(queue)
            if not watch.clients and self._watches.get(run_id) is watch:
                del self._watches[run_id]
            if not self._watches and self._poller is not None:
                self._poller.cancel()
                self._poller = None

    def _read_all(
        self, watches: list[_Watch]
    ) -> list[tuple[dict[str, Any] | None, BaseException | None]]:
        """Each run's state, or the error that stopped its read (one thread)."""
        return [self._read_one(watch) for watch in watches]

    def _read_one(
        self, watch: _Watch
    ) -> tuple[dict[str, Any] | None, BaseException | None]:
        try:
            return self.read_state(watch.run_id, watch.metrics), None
        except Exception as exc:  # noqa: BLE001 - a broken store must not end the feed
            return None, exc

    async def _poll(self) -> None:
        """Read every watched run, publish the changes, sleep; until none is left."""
        while True:
            watches = [w for w in self._watches.values() if not w.ended]
            if not watches:
                return
            started = time.monotonic()
            found = await anyio.to_thread.run_sync(
                self._read_all, watches, limiter=self._limiter
            )
            self.passes += 1
            errors = [error for _, error in found if error is not None]
            self._note_errors(errors)
            for watch, (state, _) in zip(watches, found, strict=True):
                if state is not None:
                    for message in watch.update(state):
                        publish(watch, message)
            # At most a quarter of the time reading, however many runs are watched.
            took = time.monotonic() - started
            await asyncio.sleep(max(self.poll_interval, IDLE_RATIO * took))

    def _note_errors(self, errors: list[BaseException]) -> None:
        self.read_errors += len(errors)
        if errors and not self._failing:
            _LOGGER.error(
                "dashboard live feed cannot read the history (%d runs)",
                len(errors),
                exc_info=errors[0],
            )
        elif errors:
            _LOGGER.debug("live feed still cannot read", exc_info=errors[0])
        elif self._failing:
            _LOGGER.warning("dashboard live feed reads the history again")
        self._failing = bool(errors)

    async def close(self) -> None:
        """Stop the poller and forget every watched run."""
        self._watches = {}
        poller, self._poller = self._poller, None
        if poller is not None:
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller


@router.get(
    "/api/runs/{run_id}/stream",
    tags=["live"],
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream(request: Request, run_id: str) -> StreamingResponse:
    """Server-sent events of a run: ``run``, ``factory``, ``spark``, ``end``.

    ``429`` with ``Retry-After`` when the dashboard, or this client, has
    as many streams open as allowed.
    """
    hub: LiveHub = request.app.state.live
    client = client_key(request.client.host if request.client else None)
    refusal = hub.admit(client)  # on the event loop: no two requests race
    if refusal is not None:
        msg = f"Too many live streams: {refusal}"
        raise ApiProblem(
            429,
            "too_many_streams",
            msg,
            "close other pages of running runs; the page falls back to "
            "reloading the run now and then",
            headers={"retry-after": str(_RETRY_AFTER)},
        )
    try:
        known = await anyio.to_thread.run_sync(hub.history.find_run, run_id)
    except BaseException:
        hub.release(client)
        raise
    if known is None:
        hub.release(client)
        raise no_run(run_id)
    return _Stream(
        hub.stream(run_id),
        release=lambda: hub.release(client),
        media_type="text/event-stream",
        headers={"cache-control": "no-store", "x-accel-buffering": "no"},
    )


class _Stream(StreamingResponse):
    """A streaming answer that gives its slot back however it ends."""

    def __init__(
        self, content: AsyncIterator[str], *, release: Callable[[], None], **kw: Any
    ) -> None:
        super().__init__(content, **kw)
        self._release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Stream, then release the slot (also on disconnect or cancel)."""
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()
