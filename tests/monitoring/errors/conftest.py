"""Histories of real failing runs for the error analytics tests.

``failing_runs`` records pipelines run through a real ``Session`` into a
fresh store (in memory, or a SQLite file under ``tmp_path``): the same
error in several runs and pipelines with different numbers, paths and
addresses in its message, another factory's error, and a run that fails
before any factory starts (a pre-flight error, no failed attempt).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from pysetl.errors import PySetlError
from pysetl.monitoring.history import (
    BaseRunHistory,
    InMemoryRunHistory,
    SqliteRunHistory,
)
from pysetl.runtime import Session
from pysetl.workflow import Delivery, Factory


class LoadOrders(Factory[int]):
    """Fails reading: a missing file whose path names the day."""

    day = 1

    def read(self) -> LoadOrders:
        msg = f"No such file or directory: '/data/orders/day-{self.day:04d}.csv'"
        raise FileNotFoundError(msg)

    def process(self) -> LoadOrders:
        return self

    def write(self) -> LoadOrders:
        return self

    def get(self) -> int:
        return 0


class Clean(Factory[int]):
    """Fails processing: a bad row whose number and batch address vary."""

    n = 0

    def read(self) -> Clean:
        return self

    def process(self) -> Clean:
        msg = f"row {1000 + self.n} is negative (-{self.n}.5) in batch 0x7f{self.n:04x}"
        raise ValueError(msg)

    def write(self) -> Clean:
        return self

    def get(self) -> int:
        return 0


class Fine(Factory[int]):
    """Succeeds."""

    def read(self) -> Fine:
        return self

    def process(self) -> Fine:
        return self

    def write(self) -> Fine:
        return self

    def get(self) -> int:
        return 1


class NeedsText(Factory[int]):
    """Wants a string that nothing produces: the run fails before it starts."""

    text = Delivery[str]()

    def read(self) -> NeedsText:
        return self

    def process(self) -> NeedsText:
        return self

    def write(self) -> NeedsText:
        return self

    def get(self) -> int:
        return 0


@dataclass
class Recorded:
    """A history and the ids of the runs recorded into it, by what they did."""

    history: BaseRunHistory
    url: str | None
    runs: dict[str, list[str]] = field(default_factory=dict)

    def run(
        self, pipeline: str, *factories: type[Factory[int]], fails: bool = True
    ) -> str:
        """Run ``factories`` as one stage each through a Session; the run id."""
        target = self.url if self.url is not None else self.history
        with Session(history=target, observe=True) as session:
            built = session.pipeline(pipeline)
            for factory in factories:
                built.add_stage_from_type(factory)
            if fails:
                with pytest.raises(PySetlError):
                    built.run()
            else:
                built.run()
        assert built.run_id is not None
        return built.run_id


def record_scenario(recorded: Recorded) -> Recorded:
    """Three missing files, four bad rows in two pipelines, one pre-flight error."""
    runs = recorded.runs
    for day in (1, 2, 3):
        LoadOrders.day = day
        runs.setdefault("load", []).append(recorded.run("orders", LoadOrders))
    for n in (0, 1):
        Clean.n = n
        for pipeline in ("orders", "refunds"):
            runs.setdefault("clean", []).append(recorded.run(pipeline, Fine, Clean))
    runs["fine"] = [recorded.run("orders", Fine, fails=False)]
    runs["preflight"] = [recorded.run("reports", NeedsText)]
    return recorded


@pytest.fixture
def clean_hooks(monkeypatch: pytest.MonkeyPatch) -> None:
    """No recording switch from the environment; fresh default hooks (root conftest)."""
    monkeypatch.delenv("PYSETL_OBSERVE", raising=False)
    monkeypatch.delenv("PYSETL_HISTORY_URL", raising=False)


@pytest.fixture(params=["memory", "sqlite"])
def failing_runs(
    request: pytest.FixtureRequest, tmp_path, clean_hooks
) -> Iterator[Recorded]:
    """The scenario recorded into each local store."""
    if request.param == "memory":
        recorded = Recorded(InMemoryRunHistory(), None)
    else:
        path = tmp_path / "history.db"
        recorded = Recorded(SqliteRunHistory(path), f"sqlite:///{path}")
    yield record_scenario(recorded)
    recorded.history.close()


@pytest.fixture
def sqlite_runs(tmp_path, clean_hooks) -> Iterator[Recorded]:
    """The scenario recorded into a SQLite file (for the command line)."""
    path = tmp_path / "history.db"
    recorded = Recorded(SqliteRunHistory(path), f"sqlite:///{path}")
    yield record_scenario(recorded)
    recorded.history.close()
