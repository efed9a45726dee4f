"""How much the run history grows per run: rows and bytes per table.

Records real runs with ``pysetl.testing.record_run`` (what ``pysetl run``
records: the run, its stages, factory attempts, events, metrics and log
lines) of a synthetic pipeline of N trivial factories (Spark-free; each
factory logs one line), and, with ``--demo``, one run of the flights demo
(``demo/flights_etl.py`` in a subprocess, on local Spark). Each measure
starts from a fresh store, records one warm-up run (the config version,
first pages), then ``--runs`` runs, and divides the growth by that count.

Bytes are what the tables take with their indexes: on SQLite the pages of
each table and index (``dbstat``; the FTS index of log lines counts as the
logs'); on PostgreSQL ``pg_total_relation_size`` (heap, indexes, TOAST)
after ``VACUUM``. Page-grained: small runs need several to show.

Usage: python benchmarks/history_growth.py [--factories 10 100 1000]
       [--runs 10] [--postgres URL] [--demo]

``--postgres`` takes a database URL; every measure gets a fresh schema in
it, dropped afterwards.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from typing_extensions import Self

from pysetl.monitoring.history import BaseRunHistory, open_history
from pysetl.monitoring.history import _schema as s
from pysetl.testing import record_run
from pysetl.workflow import Factory, Pipeline, Stage

ROOT = Path(__file__).resolve().parents[1]
TABLES = (s.RUNS, s.STAGES, s.ATTEMPTS, s.EVENTS, s.METRICS, s.LOGS)
LOG = logging.getLogger("bench.growth")


def trivial(n: int) -> type[Factory[int]]:
    """A factory class that logs one line and delivers an int."""

    class Trivial(Factory[int]):
        def read(self) -> Self:
            return self

        def process(self) -> Self:
            LOG.info("factory %d processed its rows", n)
            return self

        def write(self) -> Self:
            return self

        def get(self) -> int:
            return n

    Trivial.__name__ = Trivial.__qualname__ = f"Trivial{n:04d}"
    return Trivial


def synthetic(factories: int) -> Pipeline:
    """A pipeline of ``factories`` trivial factories, ten to a stage."""
    pipeline = Pipeline(name=f"synthetic_{factories}")
    for start in range(0, factories, 10):
        stage = Stage()
        for n in range(start, min(start + 10, factories)):
            stage.add_factory(trivial(n)())
        pipeline.add_stage(stage)
    return pipeline


def snapshot(history: Any) -> dict[str, tuple[int, int]]:
    """Rows and bytes (with indexes) of each table."""
    engine: sa.Engine = history.engine
    out: dict[str, tuple[int, int]] = {}
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.exec_driver_sql("VACUUM")
        for table in TABLES:
            rows = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()
            if engine.dialect.name == "postgresql":
                size = conn.execute(
                    sa.text("SELECT pg_total_relation_size(CAST(:t AS regclass))"),
                    {"t": table.name},
                ).scalar()
            else:
                size = conn.execute(
                    sa.text(
                        "SELECT coalesce(sum(d.pgsize), 0) FROM dbstat d "
                        "JOIN sqlite_master m ON m.name = d.name "
                        "WHERE m.tbl_name = :t OR (:t = 'pysetl_logs' "
                        "AND m.tbl_name LIKE 'pysetl_logs_fts%')"
                    ),
                    {"t": table.name},
                ).scalar()
            out[table.name] = (int(rows or 0), int(size or 0))
    return out


def growth(before: dict[str, Any], after: dict[str, Any], runs: int) -> dict[str, Any]:
    """Rows and bytes per run, per table."""
    return {
        name: (
            (after[name][0] - before[name][0]) / runs,
            (after[name][1] - before[name][1]) / runs,
        )
        for name in after
    }


class Stores:
    """Fresh stores: a SQLite file each, or a PostgreSQL schema each."""

    def __init__(self, postgres: str | None, tmp: Path) -> None:
        self.postgres = postgres
        self.tmp = tmp
        self.schemas: list[str] = []

    def fresh(self) -> tuple[str, BaseRunHistory]:
        if self.postgres is None:
            url = str(self.tmp / f"h-{uuid.uuid4().hex[:8]}.db")
            return url, open_history(url)
        schema = f"growth_{uuid.uuid4().hex[:8]}"
        engine = sa.create_engine(self.postgres)
        with engine.begin() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
        engine.dispose()
        self.schemas.append(schema)
        sep = "&" if "?" in self.postgres else "?"
        url = f"{self.postgres}{sep}options=-csearch_path%3D{schema}"
        return url, open_history(url)

    def close(self) -> None:
        if self.postgres is None or not self.schemas:
            return
        engine = sa.create_engine(self.postgres)
        with engine.begin() as conn:
            for schema in self.schemas:
                conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        engine.dispose()


def measure_synthetic(stores: Stores, factories: int, runs: int) -> dict[str, Any]:
    _, history = stores.fresh()
    record_run(synthetic(factories), history)  # warm-up
    before = snapshot(history)
    for _ in range(runs):
        record_run(synthetic(factories), history)
    result = growth(before, snapshot(history), runs)
    history.close()
    return result


def measure_demo(stores: Stores) -> dict[str, Any]:
    url, history = stores.fresh()
    env = {**os.environ, "PYSETL_HISTORY_URL": url, "PYSETL_ENV": "dev"}
    script = [sys.executable, str(ROOT / "demo" / "flights_etl.py")]
    before = snapshot(history)
    subprocess.run(script, env=env, check=True, capture_output=True, cwd=ROOT)  # noqa: S603
    result = growth(before, snapshot(history), 1)
    history.close()
    return result


def show(title: str, result: dict[str, Any]) -> None:
    rows = sum(r for r, _ in result.values())
    size = sum(b for _, b in result.values())
    print(f"\n{title}: {rows:,.0f} rows, {size / 1024:,.1f} KiB per run")
    for name, (r, b) in result.items():
        print(f"  {name:<26} {r:>10,.1f} rows {b / 1024:>10,.1f} KiB")


def main() -> None:
    """Measure and print the growth per run of each case."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--factories", type=int, nargs="*", default=[10, 100, 1000])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--postgres", default=None)
    parser.add_argument("--demo", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        stores = Stores(args.postgres, Path(tmp))
        kind = "PostgreSQL" if args.postgres else "SQLite"
        try:
            for factories in args.factories:
                runs = max(1, args.runs * 10 // max(10, factories) or 1)
                result = measure_synthetic(stores, factories, runs)
                show(f"{kind}, {factories} trivial factories ({runs} runs)", result)
            if args.demo:
                show(f"{kind}, the flights demo (1 run)", measure_demo(stores))
        finally:
            stores.close()


if __name__ == "__main__":
    main()
