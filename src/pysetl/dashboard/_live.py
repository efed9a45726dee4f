"""The live feed of a run: server-sent events from polling the history.

One watcher task per watched run polls the store every ``poll_interval``
seconds (on a worker thread) and fans the changes out to every client of
that run, so ten open pages cost one poll. Messages:

* ``event: run``: the ``RunOut`` plus ``progress``, when either changes;
* ``event: factory``: a ``FactoryOut``, for each attempt that changed;
* ``event: spark``: the ``/spark`` payload, when it changes;
* ``event: end``: the run is over (the stream then closes);
* ``: keepalive`` comments every ``keepalive`` seconds of silence.

A client that stops reading until its queue is full has its stream closed
(after a ``: resync`` comment) so that it reconnects to a whole snapshot
instead of silently missing changes.

A new client first gets the whole current state. The watcher stops when its
last client leaves; a failing read is logged and retried at the next tick.

Added in 0.3.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from pysetl.dashboard import _reads as reads
from pysetl.dashboard._api import no_nul, no_run

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from pysetl.monitoring.history._base import BaseRunHistory

__all__ = ["LiveHub", "publish", "router", "sse"]

_LOGGER = logging.getLogger(__name__)
_END = "event: end\ndata: {}\n\n"
_RESYNC = ": resync\n\n"
_QUEUE_SIZE = 1000

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
    ended: bool = False
    task: asyncio.Task[None] | None = None

    def snapshot(self) -> list[str]:
        """The messages that bring a new client up to date."""
        messages = [] if self.run is None else [sse("run", self.run)]
        messages += [sse("factory", f) for f in self.factories.values()]
        if self.spark is not None:
            messages.append(sse("spark", self.spark))
        if self.ended:
            messages.append(_END)
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
        if state["run"]["status"] != "running":
            self.ended = True
            messages.append(_END)
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
    """The watchers of the runs that clients follow.

    Args:
        history: The store to poll.
        poll_interval: Seconds between two polls of a run.
        keepalive: Seconds of silence after which a comment is sent.
    """

    def __init__(
        self, history: BaseRunHistory, *, poll_interval: float, keepalive: float
    ) -> None:
        """Create a hub with no watcher."""
        self.history = history
        self.poll_interval = poll_interval
        self.keepalive = keepalive
        self.read_errors = 0
        self._watches: dict[str, _Watch] = {}

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
            watch.task = asyncio.create_task(self._poll(watch))
        queue: asyncio.Queue[str] = asyncio.Queue(_QUEUE_SIZE)
        watch.clients.add(queue)
        try:
            yield ": connected\n\n"
            for message in watch.snapshot():
                yield message
                if message is _END:
                    return
            while True:
                try:
                    message = await asyncio.wait_for(queue.get(), self.keepalive)
                except asyncio.TimeoutError:
                    yield ": keepalive\n\n"
                    continue
                yield message
                if message is _RESYNC:
                    return
                if message is _END:
                    return
        finally:
            watch.clients.discard(queue)
            if not watch.clients and self._watches.get(run_id) is watch:
                del self._watches[run_id]
                if watch.task is not None:
                    watch.task.cancel()

    async def _poll(self, watch: _Watch) -> None:
        failing = False  # log a failure once, not four times a second
        while not watch.ended:
            try:
                state = await anyio.to_thread.run_sync(
                    self.read_state, watch.run_id, watch.metrics
                )
            except Exception:  # a broken store must not end the stream
                self.read_errors += 1
                if failing:
                    _LOGGER.debug("live feed still cannot read", exc_info=True)
                else:
                    _LOGGER.exception("dashboard live feed cannot read the history")
                failing, state = True, None
            else:
                if failing:
                    _LOGGER.warning("dashboard live feed reads the history again")
                failing = False
            if state is not None:
                for message in watch.update(state):
                    publish(watch, message)
            if not watch.ended:
                await asyncio.sleep(self.poll_interval)

    async def close(self) -> None:
        """Stop every watcher."""
        watches, self._watches = list(self._watches.values()), {}
        for watch in watches:
            if watch.task is not None:
                watch.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watch.task


@router.get(
    "/api/runs/{run_id}/stream",
    tags=["live"],
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
def stream(request: Request, run_id: str) -> StreamingResponse:
    """Server-sent events of a run: ``run``, ``factory``, ``spark``, ``end``."""
    hub: LiveHub = request.app.state.live
    if hub.history.find_run(run_id) is None:
        raise no_run(run_id)
    return StreamingResponse(
        hub.stream(run_id),
        media_type="text/event-stream",
        headers={"cache-control": "no-store", "x-accel-buffering": "no"},
    )
