"""The dashboard's p95 as the history grows: a scaled-down load, several sizes.

For each size in ``--sizes`` (runs), builds a fresh history the way
``dashboard_latency.py`` does (three pipelines, five factory attempts per
run, ten metrics, a start event; ``--lines-per-run`` log lines per run, and
one big run of ``--big-run`` lines holding a rare word), serves it with the
real app on 127.0.0.1 (shared reads off: each request reads the store) and
prints each dashboard query's p95 in milliseconds per size. A query whose
p95 stays flat while the history grows tenfold costs what its page holds,
not what the history holds: that is what lets a year of runs stay under the
100 ms budget (see docs/scaling.md).

Usage: python benchmarks/history_load.py [--sizes 1000 3000 10000]
       [--requests 60] [--postgres URL]

``--postgres`` takes a database URL; each size gets a fresh schema in it,
dropped afterwards. The figures are noisy on a busy machine: compare the
sizes of one invocation, not runs on different days.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import sqlalchemy as sa
from dashboard_latency import T0, build, measure, run_id, serve

from pysetl.monitoring.history import open_history


def cases(size: int) -> list[tuple[str, str, dict[str, object]]]:
    """The dashboard's requests over a history of ``size`` runs."""
    big, mid = run_id(size - 1), run_id(size // 2)
    return [
        ("runs: first page", "/api/runs", {}),
        ("runs: 500 rows", "/api/runs", {"limit": 500}),
        ("runs: pipeline filter", "/api/runs", {"pipeline": "orders"}),
        ("runs: status=failed", "/api/runs", {"status": "failed"}),
        ("runs: deep cursor", "/api/runs", {"cursor": mid}),
        (
            "runs: time window",
            "/api/runs",
            {"since": T0 + size * 30, "until": T0 + size * 40},
        ),
        ("pipelines", "/api/pipelines", {}),
        ("run detail", f"/api/runs/{mid}", {}),
        ("logs: first page", f"/api/runs/{big}/logs", {"limit": 100}),
        ("logs: level=ERROR", f"/api/runs/{big}/logs", {"level": "ERROR"}),
        ("logs: search common", f"/api/runs/{big}/logs", {"q": "wrote 7"}),
        ("logs: search rare", f"/api/runs/{big}/logs", {"q": "needle"}),
        ("charts: pipeline", "/api/charts/pipelines/orders", {}),
        ("errors: 30 days", "/api/errors", {"days": 30}),
    ]


def target(postgres: str | None, tmp: Path, schemas: list[str]) -> str:
    """A fresh history's URL: a SQLite file, or a new PostgreSQL schema."""
    if postgres is None:
        return str(tmp / f"h-{uuid.uuid4().hex[:8]}.db")
    schema = f"load_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(postgres)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    engine.dispose()
    schemas.append(schema)
    sep = "&" if "?" in postgres else "?"
    return f"{postgres}{sep}options=-csearch_path%3D{schema}"


def main() -> None:
    """Build each size, measure every case, print p95 per case and size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000, 3000, 10000])
    parser.add_argument("--lines-per-run", type=int, default=60)
    parser.add_argument("--big-run", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--postgres", default=None)
    args = parser.parse_args()
    table: dict[str, list[float]] = {}
    schemas: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for size in args.sizes:
                url = target(args.postgres, Path(tmp), schemas)
                logs = args.lines_per_run * (size - 1) + args.big_run
                start = time.perf_counter()
                build(url, size, logs, args.big_run / logs)
                history = open_history(url)
                print(
                    f"{size:,} runs, {logs:,} log lines: built in "
                    f"{time.perf_counter() - start:.0f} s ({history.url})",
                    flush=True,
                )
                server, thread, base = serve(history)
                with httpx.Client(base_url=base, timeout=60) as client:
                    for name, path, params in cases(size):
                        _, p95, _ = measure(client, path, params, args.requests)
                        table.setdefault(name, []).append(p95)
                server.should_exit = True
                thread.join(10)
                history.close()
        finally:
            if schemas and args.postgres:
                engine = sa.create_engine(args.postgres)
                with engine.begin() as conn:
                    for schema in schemas:
                        conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
                engine.dispose()
    header = "".join(f"{size:>12,}" for size in args.sizes)
    print(f"\np95 ms by history size (runs)\n{'case':<24}{header}")
    for name, values in table.items():
        print(f"{name:<24}" + "".join(f"{v:12.1f}" for v in values))


if __name__ == "__main__":
    main()
