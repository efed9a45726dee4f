"""Fixtures of the run history tests: every store, and a few helpers.

``history`` is parametrised over the in-memory store, a SQLite file and a
fresh schema of the session's real PostgreSQL server, so that every test
that takes it is a contract test of ``BaseRunHistory``.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import psycopg
import pytest

from pysetl.monitoring.history import (
    BaseRunHistory,
    InMemoryRunHistory,
    PostgresRunHistory,
    SqliteRunHistory,
)

STORES = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A SQLAlchemy URL whose search_path is a fresh schema, dropped afterwards."""
    server = request.getfixturevalue("postgres")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = {
        "host": server.host,
        "port": server.port,
        "user": server.user,
        "password": server.password,
        "dbname": server.database,
        "autocommit": True,
    }
    with psycopg.connect(**admin) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    yield (
        f"postgresql+psycopg://{server.user}:{quote(server.password)}"
        f"@{server.host}:{server.port}/{server.database}"
        f"?options=-csearch_path%3D{schema}"
    )
    with psycopg.connect(**admin) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


def make_history(kind: str, request: pytest.FixtureRequest) -> BaseRunHistory:
    if kind == "memory":
        return InMemoryRunHistory()
    if kind == "sqlite":
        tmp = request.getfixturevalue("tmp_path")
        return SqliteRunHistory(tmp / "pysetl" / "history.db")
    return PostgresRunHistory(request.getfixturevalue("pg_url"))


@pytest.fixture(params=STORES)
def history(request: pytest.FixtureRequest) -> Iterator[BaseRunHistory]:
    """Every run history implementation, empty."""
    store = make_history(request.param, request)
    yield store
    store.close()


@pytest.fixture(params=["memory", "sqlite"])
def local_history(request: pytest.FixtureRequest) -> Iterator[BaseRunHistory]:
    """The stores that need no server (for the slower recorder tests)."""
    store = make_history(request.param, request)
    yield store
    store.close()


@pytest.fixture
def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _wait_for(predicate, timeout: float = 20.0, interval: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {predicate}")
        time.sleep(interval)


@pytest.fixture
def wait_for():
    """``wait_for(predicate, timeout)``: poll until true, fail on timeout."""
    return _wait_for
