"""Latency of the dashboard's JSON API over a large run history.

Builds a run history (SQLite, or PostgreSQL with ``--postgres URL``: an
empty database or schema) with ``--runs`` runs (10,000 by default, three
pipelines, five factory attempts each, metrics and a start event with the
graph) and log lines: one big run holds ``--logs`` lines (200,000 by
default, the run of issue 18's log searches), every other run
``--lines-per-run`` (80 by default: about 1,000,000 lines in all). The
word the rare search looks for (``needle``) is in ``RARE_LINES`` (3) lines
of the big run, spread over it, whatever its size; the script prints how
many lines that search returned, and exits 1 if it is not that many. Rows are
bulk-inserted with SQLAlchemy Core ``executemany`` in one transaction per
table. The app is served by uvicorn on 127.0.0.1 and each case is requested
``--requests`` times over real HTTP (httpx, one keep-alive connection) after
a few warm-ups; the table shows the p50 and p95 latency in milliseconds.
The figures are a report, not a target: the script exits 0 once every
request has succeeded (``perf_gate.py`` is the regression gate).
Every request reads the store (the app's shared reads are off: ``ttl=0``),
so a case measures its query, not the 1-second cache of identical requests.

Usage: python benchmarks/dashboard_latency.py [--runs 10000] [--logs 200000]
       [--lines-per-run 80] [--requests 200] [--db PATH | --postgres URL] [--reuse]

Changed: ``--logs`` was the number of lines of the whole history, of which
the big run held ``--big-run-share`` (0.2), and the rare word was in one line
of 100,000, so ``--logs 200000`` gave a big run of 40,000 lines that held it
in none (the rare search measured an empty answer).

``--reuse`` measures an already built history (``--db`` or ``--postgres``)
again; it is migrated first, so a history built before a migration shows
that migration's effect (e.g. the log search index of schema version 7).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from pysetl.dashboard import create_app
from pysetl.dashboard._shared import SharedReads
from pysetl.monitoring.history import BaseRunHistory, open_history
from pysetl.monitoring.history import _schema as s

T0 = 1_700_000_000.0
PIPELINES = ("orders", "customers", "finance")
FACTORIES = ("Extract", "Clean", "Join", "Aggregate", "Load")
CHUNK = 50_000
RARE_WORD = "needle"  # what the rare search looks for
RARE_LINES = 3  # lines of the big run that hold it, whatever its size


def run_id(n: int) -> str:
    """Ids that sort like ULIDs (a higher n is a newer run)."""
    return f"01BENCH{n:019d}"


def _insert(conn: Any, table: Any, rows: Any) -> int:
    count = 0
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == CHUNK:
            conn.execute(table.insert(), batch)
            count += len(batch)
            batch = []
    if batch:
        conn.execute(table.insert(), batch)
        count += len(batch)
    return count


def _status(n: int) -> str:
    return "failed" if n % 17 == 0 else "succeeded"


def build(
    url: str,
    runs: int,
    logs: int,
    big_share: float = 0.2,
    *,
    big_lines: int | None = None,
) -> str:
    """Fill a fresh history at ``url``; return the id of the big run.

    ``logs`` lines in all: the big run (the newest) holds ``big_lines`` of
    them, else ``big_share`` of them, the other runs share the rest. The big
    run's ``rare_lines(...)`` hold ``RARE_WORD``.
    """
    history: Any = open_history(url)
    engine = history.engine
    graph = {
        "nodes": [{"id": f, "stage_id": i} for i, f in enumerate(FACTORIES)],
        "edges": [
            {"source": a, "target": b, "delivery": "frame"}
            for a, b in itertools.pairwise(FACTORIES)
        ],
    }
    big = runs - 1
    with engine.begin() as conn:
        _insert(
            conn,
            s.RUNS,
            (
                {
                    "run_id": run_id(n),
                    "pipeline": PIPELINES[n % len(PIPELINES)],
                    "status": _status(n),
                    "started_at": T0 + n * 60,
                    "finished_at": T0 + n * 60 + 30,
                    "heartbeat_at": T0 + n * 60 + 30,
                    "pid": 1000 + n,
                    "host": "bench",
                    "error": {"error_type": "FactoryError", "message": "boom"}
                    if _status(n) == "failed"
                    else None,
                }
                for n in range(runs)
            ),
        )
        _insert(
            conn,
            s.ATTEMPTS,
            (
                {
                    "run_id": run_id(n),
                    "stage_id": i,
                    "factory": f,
                    "attempt": 1,
                    "status": "succeeded",
                    "started_at": T0 + n * 60 + i * 5,
                    "finished_at": T0 + n * 60 + i * 5 + 4,
                    "duration": 4.0,
                    "phases": {"read": 1.0, "process": 2.0, "write": 1.0},
                }
                for n in range(runs)
                for i, f in enumerate(FACTORIES)
            ),
        )
        _insert(
            conn,
            s.EVENTS,
            (
                {
                    "run_id": run_id(n),
                    "ts": T0 + n * 60,
                    "name": "before_pipeline_run",
                    "stage_id": None,
                    "factory": None,
                    "attempt": None,
                    "data": {"factories": len(FACTORIES), "graph": graph},
                }
                for n in range(runs)
            ),
        )
        _insert(
            conn,
            s.METRICS,
            (
                {
                    "run_id": run_id(n),
                    "factory": f,
                    "name": name,
                    "value": 1.0,
                    "labels": {},
                    "ts": T0 + n * 60,
                }
                for n in range(runs)
                for f in FACTORIES
                for name in ("pysetl_factory_cpu_seconds", "orders_rejected")
            ),
        )
        if big_lines is None:
            big_lines = int(logs * big_share)
        rest = max(0, logs - big_lines)
        rare = rare_lines(big_lines)
        per_run = max(1, rest // max(1, runs - 1))

        def log_rows() -> Any:
            made = 0
            for n in range(runs - 1):
                for j in range(per_run):
                    if made == rest:
                        return
                    made += 1
                    yield _log(n, j)
            for j in range(big_lines):
                yield _log(big, j, rare=j in rare)

        _insert(conn, s.LOGS, log_rows())
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.exec_driver_sql("VACUUM ANALYZE")
    history.close()
    return run_id(big)


def rare_lines(big_lines: int) -> set[int]:
    """Which lines of the big run hold ``RARE_WORD``: ``RARE_LINES``, spread."""
    return {big_lines * (k + 1) // (RARE_LINES + 1) for k in range(RARE_LINES)} & set(
        range(big_lines)
    )


def _log(n: int, j: int, *, rare: bool = False) -> dict[str, Any]:
    level, levelno = ("ERROR", 40) if j % 50 == 0 else ("INFO", 20)
    word = RARE_WORD if rare else "rows"
    return {
        "ts": T0 + n * 60 + j * 0.001,
        "level": level,
        "levelno": levelno,
        "logger": "bench",
        "run_id": run_id(n),
        "factory": FACTORIES[j % len(FACTORIES)],
        "message": f"factory step {j} wrote {j * 7} {word}",
    }


def serve(history: BaseRunHistory) -> tuple[uvicorn.Server, threading.Thread, str]:
    """The app over ``history`` on 127.0.0.1, in a thread (no shared reads)."""
    app = create_app(history, shared_reads=SharedReads(ttl=0))
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, thread, f"http://127.0.0.1:{port}"


def measure(
    client: httpx.Client, path: str, params: dict[str, Any], repeat: int
) -> tuple[float, float, int]:
    """p50 and p95 in ms over ``repeat`` requests, and the items of the answer."""
    for _ in range(3):
        client.get(path, params=params).raise_for_status()
    times = []
    response = None
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(path, params=params)
        times.append((time.perf_counter() - start) * 1000)
        response.raise_for_status()
    assert response is not None  # noqa: S101 - repeat >= 1
    body = response.json()
    items = len(body.get("items", body.get("runs", body.get("factories", []))))
    cuts = statistics.quantiles(times, n=20)
    return statistics.median(times), cuts[18], items


def main() -> None:
    """Build the history, serve it, measure every case, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument(
        "--logs", type=int, default=200_000, help="lines of the big run"
    )
    parser.add_argument(
        "--lines-per-run", type=int, default=80, help="lines of every other run"
    )
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--db", type=Path, default=None)
    parser.add_argument("--postgres", default=None, help="an empty database's URL")
    parser.add_argument("--reuse", action="store_true", help="measure it again")
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory()
    path = args.db or Path(tmp.name) / "history.db"
    target = args.postgres or str(path)
    big = run_id(args.runs - 1)
    total = args.logs + args.lines_per_run * max(0, args.runs - 1)
    if not args.reuse:
        if args.postgres is None and path.exists():
            path.unlink()
        start = time.perf_counter()
        build(target, args.runs, total, big_lines=args.logs)
        print(f"built in {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    history = open_history(target)  # migrates a history built by an older pysetl
    print(f"opened (and migrated) in {time.perf_counter() - start:.1f} s")
    print(
        f"history: {args.runs} runs, {total} log lines ({args.logs} in run "
        f"{big}, {len(rare_lines(args.logs))} of them with {RARE_WORD!r}), "
        f"{history.url} schema version {history.schema_version}"
    )
    server, thread, url = serve(history)
    mid = run_id(args.runs // 2)
    with httpx.Client(base_url=url, timeout=60) as client:
        first = client.get(f"/api/runs/{big}/logs", params={"limit": 100}).json()
        deep = str(first["items"][0]["id"] + int(args.logs * 0.75))
        cases = [
            ("runs: first page", "/api/runs", {}),
            ("runs: pipeline filter", "/api/runs", {"pipeline": "orders"}),
            ("runs: status=failed", "/api/runs", {"status": "failed"}),
            (
                "runs: time window",
                "/api/runs",
                {"since": T0 + 3000 * 60, "until": T0 + 4000 * 60},
            ),
            ("runs: deep cursor", "/api/runs", {"cursor": mid}),
            ("runs: limit=500", "/api/runs", {"limit": 500}),
            ("pipelines", "/api/pipelines", {}),
            ("run detail", f"/api/runs/{mid}", {}),
            ("logs: first page (100)", f"/api/runs/{big}/logs", {"limit": 100}),
            (
                "logs: deep cursor",
                f"/api/runs/{big}/logs",
                {"limit": 100, "cursor": deep},
            ),
            ("logs: level=ERROR", f"/api/runs/{big}/logs", {"level": "ERROR"}),
            ("logs: search common", f"/api/runs/{big}/logs", {"q": "wrote 7"}),
            ("logs: search rare", f"/api/runs/{big}/logs", {"q": RARE_WORD}),
            ("logs: small run", f"/api/runs/{mid}/logs", {}),
            ("charts: pipeline (100)", "/api/charts/pipelines/orders", {}),
        ]
        print(f"\n{'case':<26} {'p50 ms':>8} {'p95 ms':>8} {'items':>6}")
        found: dict[str, int] = {}
        for name, path_, params in cases:
            p50, p95, items = measure(client, path_, params, args.requests)
            found[name] = items
            print(f"{name:<26} {p50:8.2f} {p95:8.2f} {items:6d}")
    server.should_exit = True
    thread.join(10)
    tmp.cleanup()
    matched, expected = found["logs: search rare"], len(rare_lines(args.logs))
    print(
        f"\nlogs: search rare matched {matched} of the {args.logs} lines of run "
        f"{big} ({expected} hold {RARE_WORD!r})"
    )
    print(
        "report only: these latencies have no target here, so the exit status "
        "says only that every request succeeded and the rare search found its "
        "lines (the regression gate is benchmarks/perf_gate.py)"
    )
    if matched != expected:
        msg = (
            f"the rare search returned {matched} lines, not {expected}: it did "
            "not measure what it says (a history built by an older version of "
            "this script? build it again without --reuse)"
        )
        raise SystemExit(msg)


if __name__ == "__main__":
    main()
