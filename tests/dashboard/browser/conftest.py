"""Fixtures of the dashboard's browser tests: a history, the app, Debian's chromium.

One SQLite history per session, filled by real pysetl pipelines run in this
process (no Spark: pipelines ``nightly_sales``, ``inventory`` and ``xss``), is
served by the real app (``create_app``) under uvicorn on 127.0.0.1, and one
headless chromium (Debian's, driven by Playwright; never downloaded) opens it.
The live test adds its own run from a pipeline on local Spark in a subprocess.

Screenshots go to ``build/screenshots/dashboard-*.png`` (ignored by git: the
suite never rewrites tracked files); to refresh the ones the docs show, run
the browser tests with ``PYSETL_SCREENSHOTS=docs/images``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typing_extensions import Self

from pysetl.errors import PySetlError
from pysetl.monitoring import kpi
from pysetl.monitoring.history import (
    HistoryLogHandler,
    HistoryRecorder,
    SqliteRunHistory,
)
from pysetl.monitoring.metrics import MetricsCollector
from pysetl.workflow import Delivery, Factory, HookManager, Pipeline

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[3]
IMAGES = ROOT / os.environ.get("PYSETL_SCREENSHOTS", "build/screenshots")
NAME_PAYLOAD = '<img src=x onerror="window.__pwned=1">'
MESSAGE_PAYLOAD = "<script>window.__pwned=1</script>"
NIGHTLY_RUNS = 36
LOG_LINES = 450  # batches logged by the last nightly run: more than two pages
TOKEN = "dashboard-test-token-8f3a"  # noqa: S105 - a test token, not a secret

LOG = logging.getLogger("shop.etl")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip the browser tests, saying why, when Debian's chromium is missing."""
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(
        reason=f"{CHROMIUM} is missing: apt-get install chromium (Debian's package)"
    )
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


def wait_until(
    check: Callable[[], Any], timeout: float = 30.0, interval: float = 0.05
) -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {check.__name__}")
        time.sleep(interval)


# ------------------------------------------------------------- pipelines
class Step(Factory[int]):
    """A trivial factory: each subclass sleeps a little in ``process``."""

    seconds = 0.0

    def read(self) -> Self:
        LOG.info("%s: reading", type(self).__name__)
        return self

    def process(self) -> Self:
        time.sleep(self.seconds)
        LOG.info("%s: processed in %.3f s", type(self).__name__, self.seconds)
        return self

    def write(self) -> Self:
        return self

    def get(self) -> int:
        return 1


def nightly(run: int, rng: random.Random) -> list[type[Step]]:
    """The factories of run ``run`` of ``nightly_sales`` (every 6th run fails)."""
    rejected = rng.randint(0, 40)
    late = round(rng.uniform(0.02, 0.2), 3)
    fails = run % 6 == 5

    def load(self: Step) -> Step:
        time.sleep(0.01 + 0.004 * (run % 5))
        for batch in range(LOG_LINES if run == NIGHTLY_RUNS - 1 else 3):
            LOG.info("loaded order batch %d of run %d", batch, run)
        return self

    def clean(self: Step) -> Step:
        time.sleep(0.02 + 0.003 * (run % 7))
        kpi.counter("orders_rejected").inc(rejected)
        kpi.gauge("late_ratio").set(late)
        if rejected > 30:
            LOG.warning("%d orders rejected (missing customer id)", rejected)
        return self

    def score(self: Step) -> Step:
        time.sleep(0.015 + 0.002 * (run % 4))
        if fails:
            LOG.error("scoring model file is missing")
            msg = "Model file 'models/churn-v3.pkl' not found"
            raise PySetlError(msg, hint="run `make models` or set SCORING_MODEL")
        return self

    load_orders = type("LoadOrders", (Step,), {"process": load})
    clean_orders = type(
        "CleanOrders",
        (Step,),
        {"process": clean, "orders": Delivery[int](producer=load_orders)},
    )
    score_customers = type(
        "ScoreCustomers",
        (Step,),
        {"process": score, "orders": Delivery[int](producer=clean_orders)},
    )
    report = type(
        "WriteReport",
        (Step,),
        {"seconds": 0.01, "scores": Delivery[int](producer=score_customers)},
    )
    return [load_orders, clean_orders, score_customers, report]


def xss_factories() -> list[type[Step]]:
    """A factory named like a payload that fails with a payload message."""

    def explode(self: Step) -> Step:
        LOG.warning("suspicious input %s", MESSAGE_PAYLOAD)
        msg = f"cannot parse {MESSAGE_PAYLOAD}"
        raise PySetlError(msg, hint=f"check the file named {NAME_PAYLOAD}")

    first = type("Ingest", (Step,), {})
    payload = type(
        NAME_PAYLOAD,
        (Step,),
        {"process": explode, "source": Delivery[int](producer=first)},
    )
    return [first, payload]


def run_pipeline(hooks: HookManager, name: str, factories: list[type[Step]]) -> str:
    """Run the factories, one stage each, and return the run id."""
    pipeline = Pipeline(hooks=hooks, name=name)
    for factory in factories:
        pipeline.add_stage_from_type(factory)
    with contextlib.suppress(PySetlError):  # some runs fail on purpose
        pipeline.run()
    return pipeline.run_id


@dataclass
class Seeded:
    """What the session history holds before any test runs."""

    path: Path
    nightly: list[str]
    inventory: list[str]
    xss: str
    name_payload: str = NAME_PAYLOAD
    message_payload: str = MESSAGE_PAYLOAD
    log_lines: int = LOG_LINES
    token: str = TOKEN


def seed(path: Path) -> Seeded:
    """Fill the history at ``path`` with real runs (no Spark, a few seconds)."""
    history = SqliteRunHistory(path)
    recorder = HistoryRecorder(history)
    collector = MetricsCollector(history=history, spark=False)
    handler = HistoryLogHandler(recorder)
    LOG.addHandler(handler)
    LOG.setLevel(logging.INFO)
    LOG.propagate = False
    rng = random.Random(5)  # noqa: S311 - test data
    try:
        with HookManager(observers=[recorder, collector]) as hooks:
            nightly_ids = [
                run_pipeline(hooks, "nightly_sales", nightly(n, rng))
                for n in range(NIGHTLY_RUNS)
            ]
            inventory = [
                run_pipeline(hooks, "inventory", [type("CountStock", (Step,), {})])
                for _ in range(3)
            ]
            xss = run_pipeline(hooks, "xss", xss_factories())
    finally:
        LOG.removeHandler(handler)
        LOG.propagate = True
        collector.close()
        recorder.close()
        history.close()
    return Seeded(path, nightly_ids, inventory, xss)


# ---------------------------------------------------------------- server
@dataclass
class Dashboard:
    """A served app: its base URL and the history it reads."""

    url: str
    history: SqliteRunHistory


def serve(history: SqliteRunHistory, token: str | None = None) -> Iterator[Dashboard]:
    """Serve ``create_app(history)`` with uvicorn on 127.0.0.1 in a thread."""
    uvicorn = pytest.importorskip("uvicorn")
    from pysetl.dashboard import create_app

    app = create_app(history, token=token)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, daemon=True
    )
    thread.start()
    wait_until(lambda: server.started, timeout=20)
    try:
        yield Dashboard(f"http://127.0.0.1:{port}/", history)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    """The session's history, filled once."""
    return seed(tmp_path_factory.mktemp("dashboard") / "history.db")


@pytest.fixture(scope="session")
def dashboard(seeded: Seeded) -> Iterator[Dashboard]:
    """The app over the session's history, without a token."""
    history = SqliteRunHistory(seeded.path, migrate=False)
    try:
        yield from serve(history)
    finally:
        history.close()


@pytest.fixture(scope="session")
def token_dashboard(seeded: Seeded) -> Iterator[Dashboard]:
    """The app over the session's history, with a token."""
    history = SqliteRunHistory(seeded.path, migrate=False)
    try:
        yield from serve(history, token=TOKEN)
    finally:
        history.close()


# --------------------------------------------------------------- browser
@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Debian chromium for the session (Playwright, sync API)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page (own cookies) that fails the test on any script error."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda msg: errors.append(msg.text) if msg.type == "error" else None,
    )
    page.errors = errors
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        context.close()


def screenshot(page: Any, name: str, *, full_page: bool = True) -> Path:
    """Write ``dashboard-<name>.png`` into ``IMAGES`` (see the module docstring)."""
    IMAGES.mkdir(parents=True, exist_ok=True)
    path = IMAGES / f"dashboard-{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


@pytest.fixture(scope="session")
def shot() -> Callable[..., Path]:
    """``shot(page, name)`` writes ``dashboard-<name>.png`` into ``IMAGES``."""
    return screenshot


@pytest.fixture(scope="session")
def waiter() -> Callable[..., Any]:
    """``waiter(check, timeout)`` polls until ``check()`` is truthy."""
    return wait_until


@pytest.fixture(scope="session")
def serving() -> Callable[..., contextlib.AbstractContextManager[Dashboard]]:
    """``with serving(history, token=None) as dashboard:`` serves another history."""
    return contextlib.contextmanager(serve)
