"""Fixtures of the dashboard tests: histories (seeded, recorded), an app, a server.

``history`` is seeded by hand with fixed times, names and figures that the
API tests pin exactly (a real run cannot have a factory named
``<script>``, nor two runs that overlap just so). ``recorded`` holds real
runs of real pipelines, recorded by ``pysetl.testing.record_run`` as
``pysetl run`` records them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import uvicorn
from typing_extensions import Self

from pysetl.dashboard import create_app
from pysetl.monitoring.history import (
    RUN_START_EVENT,
    InMemoryRunHistory,
    SqliteRunHistory,
)
from pysetl.monitoring.history.ops import (
    AddEvent,
    AddLog,
    AddMetric,
    FinishAttempt,
    FinishStage,
    StartAttempt,
    StartStage,
)
from pysetl.testing import record_run, temporary_history
from pysetl.workflow import Delivery, Factory, Pipeline, kpi

T0 = 1_700_000_000.0
XSS = "<script>alert(1)</script>"


def rid(n: int) -> str:
    return f"01RUN{n:021d}"


def seed(history) -> None:
    """Three runs of 'daily' (ok, failed, running) and one of 'weekly'."""
    history.start_run(rid(1), "daily", started_at=T0)
    history.apply(
        [
            AddEvent(
                rid(1),
                T0,
                RUN_START_EVENT,
                data={
                    "factories": 2,
                    "graph": {
                        "nodes": [
                            {"id": "Extract", "stage_id": 0},
                            {"id": "Load", "stage_id": 1},
                        ],
                        "edges": [
                            {"source": "Extract", "target": "Load", "delivery": "rows"}
                        ],
                    },
                },
            ),
            StartStage(rid(1), 0, T0),
            StartAttempt(rid(1), 0, "Extract", 1, T0),
            FinishAttempt(
                rid(1), 0, "Extract", 1, "succeeded", T0 + 2, 2.0, {"read": 1.5}
            ),
            FinishStage(rid(1), 0, "succeeded", T0 + 2, 2.0),
            AddMetric(rid(1), "pysetl_factory_cpu_seconds", 1.25, T0 + 2, "Extract"),
            AddMetric(rid(1), "pysetl_factory_peak_rss_bytes", 1e6, T0 + 2, "Extract"),
            AddMetric(
                rid(1), "pysetl_factory_spark_input_records", 10, T0 + 2, "Extract"
            ),
            AddMetric(rid(1), "orders", 7, T0 + 2, "Extract", {"kind": "counter"}),
            AddMetric(
                rid(1),
                "pysetl_factory_phase_duration_seconds",
                1.5,
                T0 + 2,
                "Extract",
                {"phase": "read", "stage": "0"},
            ),
            AddMetric(rid(1), "pysetl_run_duration_seconds", 3, T0 + 3),  # no factory
            StartAttempt(rid(1), 1, "Load", 1, T0 + 2),
            FinishAttempt(rid(1), 1, "Load", 1, "succeeded", T0 + 3, 1.0),
        ]
    )
    history.add_logs(
        AddLog(T0 + i, "INFO" if i % 2 else "ERROR", f"line {i}", rid(1), "Extract")
        for i in range(10)
    )
    history.finish_run(rid(1), "succeeded", finished_at=T0 + 3)
    history.start_run(rid(2), "daily", started_at=T0 + 10)
    error = {
        "error_type": "FactoryError",
        "message": f"boom {XSS}",
        "hint": "check the input",
        "factory": "Extract",
        "stage": 0,
        "phase": "process",
        "attempt": 1,
        "error_class": "DIVIDE_BY_ZERO",
        "traceback": "Traceback ...",
    }
    history.apply(
        [
            StartAttempt(rid(2), 0, "Extract", 1, T0 + 10),
            FinishAttempt(
                rid(2), 0, "Extract", 1, "failed", T0 + 11, 1.0, {}, "process", error
            ),
        ]
    )
    history.finish_run(rid(2), "failed", finished_at=T0 + 11, error=error)
    history.start_run(rid(3), "daily", started_at=T0 + 20)
    history.apply([StartAttempt(rid(3), 0, XSS, 1, T0 + 20)])
    history.start_run(rid(4), "weekly", started_at=T0 + 30)
    history.finish_run(rid(4), "succeeded", finished_at=T0 + 31)


@pytest.fixture(params=["memory", "sqlite"])
def history(request, tmp_path):
    """A seeded history of each local kind."""
    store = (
        InMemoryRunHistory()
        if request.param == "memory"
        else SqliteRunHistory(tmp_path / "history.db")
    )
    seed(store)
    yield store
    store.close()


class Extract(Factory[list[int]]):
    """Logs three lines, counts 7 orders, produces three rows."""

    def read(self) -> Self:
        return self

    def process(self) -> Self:
        for i in range(3):
            logging.getLogger("tests.dashboard").warning("line %d", i)
        kpi.counter("orders").inc(7)
        self.rows = [1, 2, 3]
        return self

    def write(self) -> Self:
        return self

    def get(self) -> list[int]:
        return self.rows


class Load(Factory[int]):
    rows = Delivery[list[int]](producer=Extract)

    def read(self) -> Self:
        self.data = self.rows.get()
        return self

    def process(self) -> Self:
        return self

    def write(self) -> Self:
        return self

    def get(self) -> int:
        return sum(self.data)


class Broken(Factory[int]):
    def read(self) -> Self:
        return self

    def process(self) -> Self:
        msg = "boom"
        raise ZeroDivisionError(msg)

    def write(self) -> Self:
        return self

    def get(self) -> int:
        return 0


def daily() -> Pipeline:
    """Extract, then Load (fed Extract's ``rows``)."""
    return Pipeline(name="daily").add_stage_from_type(Extract).add_stage_from_type(Load)


@dataclass
class Recorded:
    history: object
    ok: str
    failed: str
    weekly: str


@pytest.fixture(params=["memory", "sqlite"])
def recorded(request, tmp_path) -> Iterator[Recorded]:
    """Real runs: 'daily' succeeded, then failed (Broken); then 'weekly'."""
    store = temporary_history(request.param, tmp_path)
    ok = record_run(daily(), store)
    failed = record_run(
        Pipeline(name="daily").add_stage_from_type(Broken), store, check=False
    )
    weekly = record_run(Pipeline(name="weekly").add_stage_from_type(Extract), store)
    yield Recorded(store, ok, failed, weekly)
    store.close()


@pytest.fixture
def memory_history():
    store = InMemoryRunHistory()
    seed(store)
    return store


@pytest.fixture
def client(history, serve_app) -> Iterator[httpx.Client]:
    """An HTTP client of the app over the seeded history, served on loopback."""
    server = serve_app(create_app(history))
    with httpx.Client(base_url=server.url, timeout=10) as http_client:
        yield http_client


@pytest.fixture
def client_of(serve_app):
    """``client_of(app)``: an HTTP client of ``app`` served on loopback."""
    clients: list[httpx.Client] = []

    def make(app, **options) -> httpx.Client:
        server = serve_app(app)
        http_client = httpx.Client(base_url=server.url, timeout=10, **options)
        clients.append(http_client)
        return http_client

    yield make
    for http_client in clients:
        http_client.close()


@dataclass
class Server:
    url: str
    server: uvicorn.Server


@pytest.fixture
def serve_app():
    """``serve_app(app)``: run ``app`` with uvicorn on 127.0.0.1; its base URL."""
    started: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(app) -> Server:
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=0,
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=1,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                pytest.fail("uvicorn did not start")
            time.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        started.append((server, thread))
        return Server(f"http://127.0.0.1:{port}", server)

    yield start
    for server, thread in started:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client
