"""Where the exporters' driver CPU goes: each part's thread CPU per demo run.

The companion of ``exporter_overhead.py`` (which gives the wall figure the
budget is set on). Two arms of the demo ETL, alternating, on one
SparkSession, the garbage collector on: ``on`` (the default observability)
and ``exporters`` (plus Prometheus, OpenTelemetry and OpenLineage, their
endpoints up: a real Pushgateway and loopback receivers, as in
``exporter_overhead.py``).

Each part below is one function of the exporters (or of a library they
call), wrapped to add up the CPU time of the thread that runs it
(``time.thread_time()``; a nested call of the same part counts once). The
table gives each part's milliseconds and calls per ``exporters`` run, and
the median process CPU of both arms. Parts nest (``Serde.to_json`` runs
inside ``OpenLineageExporter._send``): they do not add up.

Usage: python benchmarks/exporter_parts.py [--runs 10]
"""

from __future__ import annotations

import argparse
import collections
import functools
import gc
import importlib
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from exporter_overhead import config_with_exporters, demo_session, endpoints_up
from observer_overhead import load_demo

from pysetl import PySetl
from pysetl.settings import reset_settings
from pysetl.workflow.hooks import reset_default_hook_manager

WARMUP = 3
PARTS = {
    "OpenLineage: an event sent (client.emit)": (
        "pysetl.monitoring.lineage._exporter:OpenLineageExporter._send"
    ),
    "  its serialisation (Serde.to_json)": "openlineage.client.serde:Serde.to_json",
    "  its environment facets": (
        "openlineage.client.client:OpenLineageClient.add_environment_facets"
    ),
    "OpenLineage: a factory event built": (
        "pysetl.monitoring.lineage._events:EventBuilder.factory_event"
    ),
    "OpenLineage: a pipeline event built": (
        "pysetl.monitoring.lineage._events:EventBuilder.pipeline_event"
    ),
    "Prometheus: the end-of-run export": (
        "pysetl.monitoring.prometheus._exporter:PrometheusExporter._export"
    ),
    "  its exposition (history read, text made)": (
        "prometheus_client.exposition:generate_latest"
    ),
    "    the history read": ("pysetl.monitoring.prometheus._collector:_Pipeline.add"),
    "OpenTelemetry: a batch of spans exported": (
        "pysetl.monitoring.tracing._export:GuardedSpanExporter.export"
    ),
    "  its protobuf encoding": (
        "opentelemetry.exporter.otlp.proto.http.trace_exporter:encode_spans"
    ),
    "OpenTelemetry: a factory span ended": (
        "pysetl.monitoring.tracing._exporter:OpenTelemetryExporter._finish"
    ),
    "an HTTP request (the three exporters)": (
        "pysetl.monitoring._http:_LeanSession.request"
    ),
    "exporters built: Prometheus": (
        "pysetl.monitoring.prometheus._exporter:PrometheusExporter.__init__"
    ),
    "exporters built: OpenTelemetry": (
        "pysetl.monitoring.tracing._exporter:OpenTelemetryExporter.__init__"
    ),
    "exporters built: OpenLineage": (
        "pysetl.monitoring.lineage._exporter:OpenLineageExporter.__init__"
    ),
}


class Meter:
    """Thread CPU and calls of the wrapped parts, while ``on``."""

    def __init__(self) -> None:
        """Nothing counted yet."""
        self.cpu: collections.Counter[str] = collections.Counter()
        self.calls: collections.Counter[str] = collections.Counter()
        self.on = False
        self._depth = threading.local()

    def wrap(self, label: str, target: str) -> None:
        """Replace ``module:Class.function`` by a counting wrapper."""
        module, _, path = target.partition(":")
        owner: Any = importlib.import_module(module)
        *parents, name = path.split(".")
        for parent in parents:
            owner = getattr(owner, parent)
        raw = owner.__dict__[name]
        function = raw.__func__ if isinstance(raw, classmethod) else raw
        meter = self

        @functools.wraps(function)
        def counted(*args: Any, **kwargs: Any) -> Any:
            depth = getattr(meter._depth, label, 0)
            setattr(meter._depth, label, depth + 1)
            start = time.thread_time()
            try:
                return function(*args, **kwargs)
            finally:
                setattr(meter._depth, label, depth)
                if depth == 0 and meter.on:
                    meter.cpu[label] += time.thread_time() - start
                    meter.calls[label] += 1

        setattr(owner, name, classmethod(counted) if raw is not function else counted)


def main() -> int:
    """Start the endpoints, run the arms, print the parts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="runs of each arm")
    args = parser.parse_args()
    meter = Meter()
    for label, target in PARTS.items():
        meter.wrap(label, target)
    demo = load_demo()
    with (
        tempfile.TemporaryDirectory(prefix="pysetl-bench-parts-") as tmp,
        endpoints_up() as up,
    ):
        work = Path(tmp)
        try:
            confs = {
                "on": Path(demo.CONF),
                "exporters": config_with_exporters(Path(demo.CONF), work / "c", up),
            }
            cpus = run_arms(demo, confs, work, meter, args.runs)
        finally:
            reset_default_hook_manager()
            reset_settings()
    runs = args.runs
    on, exporters = (statistics.median(cpus[arm]) for arm in ("on", "exporters"))
    print(
        f"process CPU, median of {runs} runs: on {on * 1e3:.1f} ms, exporters "
        f"{exporters * 1e3:.1f} ms ({(exporters - on) * 1e3:+.1f} ms)"
    )
    print(f"{'part (thread CPU)':<48} {'ms a run':>9} {'calls':>6}")
    for label in PARTS:
        print(
            f"{label:<48} {meter.cpu[label] / runs * 1e3:>9.2f} "
            f"{meter.calls[label] / runs:>6.1f}"
        )
    return 0


def run_arms(
    demo: Any, confs: dict[str, Path], work: Path, meter: Meter, runs: int
) -> dict[str, list[float]]:
    """Process CPU seconds of each arm's runs; ``meter`` counts the exporters'."""
    spark = demo_session(demo, work)

    def run(arm: str) -> float:
        spark.catalog.clearCache()
        gc.collect()
        cpu = time.process_time()
        builder = PySetl.builder().load_config(confs[arm], "dev")
        builder.set_spark_session(spark)
        meter.on = arm == "exporters"
        with builder.getOrCreate() as context:
            demo.build(context).run()
        meter.on = False
        return time.process_time() - cpu

    cpus: dict[str, list[float]] = {arm: [] for arm in confs}
    try:
        for _ in range(WARMUP):
            for arm in confs:
                run(arm)
        meter.cpu.clear()
        meter.calls.clear()
        for i in range(runs):
            for arm in list(confs) if i % 2 == 0 else list(reversed(confs)):
                cpus[arm].append(run(arm))
    finally:
        spark.stop()
    return cpus


if __name__ == "__main__":
    sys.exit(main())
