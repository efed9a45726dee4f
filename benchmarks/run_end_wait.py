"""What the demo ETL waits for at its end, with and without the exporters.

The companion of ``exporter_overhead.py``: where that script's wall figure
comes from. Two parts:

1. The demo ETL (``demo/flights_etl.py``) in two arms, alternating, on one
   SparkSession, the garbage collector on: ``on`` (the default
   observability) and ``exporters`` (plus Prometheus, OpenTelemetry and
   OpenLineage, their endpoints up, as in ``exporter_overhead.py``). For
   each run: the wall time of the run's last event and the drain after it
   (``HookManager.emit_then_drain``: the end-of-run work of every observer,
   which the run's thread waits for) and of the session's close.
2. A Pushgateway alone (Debian's ``prometheus-pushgateway``): the wall time
   of one push of a small group over a kept connection, with the gateway's
   default settings and with ``--push.disable-consistency-check``.

Usage: python benchmarks/run_end_wait.py [--runs 10] [--pushes 40]
"""

from __future__ import annotations

import argparse
import collections
import gc
import http.client
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from exporter_overhead import (
    config_with_exporters,
    demo_session,
    endpoints_up,
    free_port,
    wait_up,
)
from observer_overhead import load_demo
from prometheus_client import CollectorRegistry, Gauge, generate_latest

from pysetl import PySetl
from pysetl.settings import reset_settings
from pysetl.workflow import _hook_manager
from pysetl.workflow.hooks import reset_default_hook_manager

WARMUP = 3
GATEWAY = "/usr/bin/prometheus-pushgateway"


def time_run_ends(runs: int) -> dict[str, dict[str, list[float]]]:
    """Each arm's end-of-run waits and closes, in seconds."""
    demo = load_demo()
    waits: list[float] = []
    original = _hook_manager.HookManager.emit_then_drain

    def timed(self: Any, event: str, /, **kwargs: Any) -> bool:
        start = time.perf_counter()
        try:
            return original(self, event, **kwargs)
        finally:
            waits.append(time.perf_counter() - start)

    found: dict[str, dict[str, list[float]]] = {
        arm: collections.defaultdict(list) for arm in ("on", "exporters")
    }
    _hook_manager.HookManager.emit_then_drain = timed  # type: ignore[method-assign]
    try:
        with tempfile.TemporaryDirectory() as tmp, endpoints_up() as up:
            work = Path(tmp)
            confs = {
                "on": Path(demo.CONF),
                "exporters": config_with_exporters(Path(demo.CONF), work / "conf", up),
            }
            spark = demo_session(demo, work)

            def run(arm: str, keep: bool) -> None:
                spark.catalog.clearCache()
                gc.collect()
                waits.clear()
                builder = PySetl.builder().load_config(confs[arm], "dev")
                builder.set_spark_session(spark)
                context = builder.getOrCreate()
                demo.build(context).run()
                start = time.perf_counter()
                context.close_runtime()
                closed = time.perf_counter() - start
                if keep:
                    found[arm]["end of run"].append(sum(waits))
                    found[arm]["close"].append(closed)

            try:
                for _ in range(WARMUP):
                    for arm in confs:
                        run(arm, keep=False)
                for index in range(runs):
                    order = list(confs) if index % 2 == 0 else list(reversed(confs))
                    for arm in order:
                        run(arm, keep=True)
            finally:
                spark.stop()
    finally:
        _hook_manager.HookManager.emit_then_drain = original  # type: ignore[method-assign]
        reset_default_hook_manager()
        reset_settings()
    return found


def time_pushes(pushes: int, *flags: str) -> float:
    """The median wall seconds of one push to a fresh Pushgateway run with ``flags``."""
    port = free_port()
    gateway = subprocess.Popen(  # noqa: S603 - Debian's binary, our arguments
        [GATEWAY, f"--web.listen-address=127.0.0.1:{port}", *flags],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_up(f"http://127.0.0.1:{port}/-/ready")
        registry = CollectorRegistry()
        rows = Gauge("pysetl_factory_rows", "Rows.", ["factory"], registry=registry)
        for number in range(30):
            rows.labels(f"f{number}").set(number)
        body = generate_latest(registry)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        times = []
        for _ in range(pushes + 3):
            start = time.perf_counter()
            conn.request("PUT", "/metrics/job/pysetl/pipeline/flights", body=body)
            answer = conn.getresponse()
            text = answer.read()
            times.append(time.perf_counter() - start)
            if answer.status >= 300:  # noqa: PLR2004 - an HTTP error status
                msg = f"the Pushgateway answered {answer.status}: {text[:200]!r}"
                raise RuntimeError(msg)
        conn.close()
        return statistics.median(times[3:])
    finally:
        gateway.terminate()
        gateway.wait(timeout=10)


def main() -> int:
    """Time both parts and print them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="runs of each arm")
    parser.add_argument("--pushes", type=int, default=40)
    args = parser.parse_args()
    found = time_run_ends(args.runs)
    print(f"demo ETL, median of {args.runs} runs of each arm (wall ms)")
    print(f"{'arm':<10} {'end of run':>11} {'close':>8}")
    for arm, parts in found.items():
        end = statistics.median(parts["end of run"]) * 1e3
        close = statistics.median(parts["close"]) * 1e3
        print(f"{arm:<10} {end:>11.1f} {close:>8.1f}")
    default = time_pushes(args.pushes)
    unchecked = time_pushes(args.pushes, "--push.disable-consistency-check")
    print(f"\none push to a Pushgateway, median of {args.pushes} (wall ms)")
    print(f"default settings                       {default * 1e3:7.2f}")
    print(f"--push.disable-consistency-check       {unchecked * 1e3:7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
