"""Latency of the dashboard's run list under load: polling clients + live streams.

Builds a SQLite run history with ``--runs`` runs (2,000 by default), of which
``--running`` (600) are running: each has two factory attempts and beats
every 10 s, as a live run does. Three processes then share the machine:

* the dashboard, served by uvicorn on 127.0.0.1 with its defaults;
* a streamer that opens ``--streams`` live streams (200), one per running
  run, spread over source addresses 127.0.0.2, 127.0.0.3, ... (16 per
  address: the per-client cap), reads them, and heartbeats the running runs;
* this process: ``--pollers`` clients (50) that each ask for the run list
  (``/api/runs?limit=25``, as the page does) once a second for
  ``--seconds`` (30).

It prints the p50, p95 and max latency of the run list with nothing else
going on, with the polling clients alone, then with the streams open too,
plus how many streams the server accepted and refused (``429``). The
figures are a report, not a target: the script exits 0 once every request
has succeeded.
``--streams 600`` is the scenario of one stream per running run (the server
accepts 256 and refuses the rest).

Usage: .venv/bin/python benchmarks/dashboard_load.py [--runs 2000] [--running 600]
       [--streams 200] [--pollers 50] [--seconds 30] [--db PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from pysetl.monitoring.history import SqliteRunHistory
from pysetl.monitoring.history.ops import FinishAttempt, StartAttempt

PER_ADDRESS = 16  # the dashboard's default cap of streams per client
HEARTBEAT = 10.0  # seconds, as pysetl's runtime beats


def run_id(n: int) -> str:
    """Ids that sort like ULIDs (a higher n is a newer run)."""
    return f"01LOAD{n:020d}"


def build(path: Path, runs: int, running: int) -> None:
    """``runs`` runs, the newest ``running`` of them still running."""
    now = time.time()
    with SqliteRunHistory(path) as history:
        for n in range(runs):
            rid = run_id(n)
            started = now - (runs - n) * 60.0
            live = n >= runs - running
            history.start_run(
                rid, f"pipeline_{n % 5}", started_at=now if live else started
            )
            ops = [
                StartAttempt(rid, 0, "Extract", 1, started),
                FinishAttempt(rid, 0, "Extract", 1, "succeeded", started + 1, 1.0),
                StartAttempt(rid, 1, "Load", 1, started + 1),
            ]
            if not live:
                ops.append(
                    FinishAttempt(rid, 1, "Load", 1, "succeeded", started + 2, 1.0)
                )
            history.apply(ops)
            if not live:
                history.finish_run(rid, "succeeded", finished_at=started + 2)


def serve(db: str, port: int) -> None:
    """The dashboard process (``--serve``)."""
    import uvicorn  # noqa: PLC0415 - only this role needs it

    from pysetl.dashboard import create_app  # noqa: PLC0415

    history = SqliteRunHistory(db)
    app = create_app(history)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="error")


async def _stream(url: str, address: str, counts: dict[str, int]) -> None:
    transport = httpx.AsyncHTTPTransport(local_address=address)
    # no read timeout: a quiet stream only sends a keepalive every 15 s
    timeout = httpx.Timeout(10, read=None)
    async with httpx.AsyncClient(timeout=timeout, transport=transport) as client:
        try:
            async with client.stream("GET", url) as response:
                key = (
                    "accepted"
                    if response.status_code == httpx.codes.OK
                    else str(response.status_code)
                )
                counts[key] = counts.get(key, 0) + 1
                async for _ in response.aiter_lines():
                    counts["lines"] = counts.get("lines", 0) + 1
        except httpx.HTTPError:
            counts["errors"] = counts.get("errors", 0) + 1


def stream(db: str, base: str, count: int, running: list[str]) -> None:
    """The streamer process (``--stream``): open streams, beat, report counts."""
    stop = threading.Event()

    def beat() -> None:
        with SqliteRunHistory(db) as history:
            while True:  # at once: a reused history's runs would be stale
                for rid in running:
                    history.heartbeat(rid)
                if stop.wait(HEARTBEAT):
                    return

    threading.Thread(target=beat, daemon=True).start()
    counts: dict[str, int] = {}

    async def main() -> None:
        tasks = [
            asyncio.create_task(
                _stream(
                    f"{base}/api/runs/{running[n % len(running)]}/stream",
                    f"127.0.0.{2 + n // PER_ADDRESS}",
                    counts,
                )
            )
            for n in range(count)
        ]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # until every stream is answered
            answered = sum(v for k, v in counts.items() if k != "lines")
            if answered >= count:
                break
            await asyncio.sleep(0.1)
        print(json.dumps(counts), flush=True)  # the parent waits for this line
        await asyncio.gather(*tasks)

    asyncio.run(main())


async def poll(base: str, clients: int, seconds: float) -> list[float]:
    """``clients`` clients asking for the run list once a second."""
    latencies: list[float] = []
    until = time.monotonic() + seconds
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        await asyncio.gather(*(_poll(client, until, latencies) for _ in range(clients)))
    return latencies


async def _poll(client: httpx.AsyncClient, until: float, out: list[float]) -> None:
    while time.monotonic() < until:
        started = time.perf_counter()
        response = await client.get("/api/runs", params={"limit": 25})
        response.raise_for_status()
        out.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(1.0)


def figures(latencies: list[float]) -> str:
    """p50, p95 and max of ``latencies`` (milliseconds)."""
    ordered = sorted(latencies)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    return (
        f"p50 {statistics.median(ordered):7.1f} ms   p95 {p95:7.1f} ms   "
        f"max {ordered[-1]:7.1f} ms   ({len(ordered)} requests)"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _running_ids(db: str) -> list[str]:
    running: list[str] = []
    with SqliteRunHistory(db) as history:
        cursor = None
        while True:
            page = history.list_runs(status="running", limit=500, cursor=cursor)
            running += [r.run_id for r in page.items]
            cursor = page.next_cursor
            if cursor is None:
                return running


def _up(base: str) -> bool:
    try:
        return httpx.get(f"{base}/api/health", timeout=1).is_success
    except httpx.HTTPError:
        return False


def _wait_for(base: str) -> None:
    deadline = time.monotonic() + 30
    while not _up(base):
        if time.monotonic() > deadline:
            msg = f"the dashboard at {base} did not start in 30 s"
            raise RuntimeError(msg)
        time.sleep(0.1)


def measure(args: argparse.Namespace) -> None:
    """Build the history, start the server and the streamer, poll, print."""
    db = args.db or Path(tempfile.mkdtemp(prefix="pysetl-load-")) / "history.db"
    if not db.exists():
        started = time.perf_counter()
        build(db, args.runs, args.running)
        took = time.perf_counter() - started
        print(f"history: {args.runs} runs, {args.running} running ({took:.0f} s)")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    me = [sys.executable, __file__]
    server = subprocess.Popen([*me, "--serve", str(db), str(port)])  # noqa: S603
    streamer = None
    try:
        _wait_for(base)
        quiet = asyncio.run(poll(base, 1, min(10.0, args.seconds)))
        print(f"run list, idle:                 {figures(quiet)}")
        alone = asyncio.run(poll(base, args.pollers, args.seconds))
        print(f"run list, {args.pollers} pollers:            {figures(alone)}")
        streamer = subprocess.Popen(  # noqa: S603
            [*me, "--stream", str(db), base, str(args.streams)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert streamer.stdout is not None  # noqa: S101 - a pipe was asked for
        counts = json.loads(streamer.stdout.readline())
        loaded = asyncio.run(poll(base, args.pollers, args.seconds))
        print(
            f"streams asked {args.streams}: accepted {counts.get('accepted', 0)}, "
            f"refused 429: {counts.get('429', 0)}, failed: {counts.get('errors', 0)}"
        )
        print(f"run list, {args.pollers} pollers + streams: {figures(loaded)}")
        print(
            "report only: these latencies have no target, so the exit status says "
            "only that every request succeeded"
        )
    finally:
        for proc in (streamer, server):
            if proc is not None:
                proc.terminate()
                proc.wait(10)


def main() -> None:
    """Parse the arguments; run this process's role."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--running", type=int, default=600)
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--pollers", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--db", type=Path)
    hidden = argparse.SUPPRESS
    parser.add_argument("--serve", nargs=2, help=hidden)  # DB PORT
    parser.add_argument("--stream", nargs=3, help=hidden)  # DB BASE N
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]))
    elif args.stream:
        db, base, count = args.stream
        stream(db, base, int(count), _running_ids(db))
    else:
        measure(args)


if __name__ == "__main__":
    main()
