"""Performance regression gate: short benchmarks, as ratios, against a baseline.

CI runs this (``scripts/dev.sh perf``). Each case is a short mode of one of
the benchmarks beside this file, run in its own Python process:

* ``workflow-chain``, ``workflow-fanout``: ``workflow_overhead.py``'s pysetl
  shapes at N=1,000 (no observer: the default ``Pipeline()``, nothing
  recorded), build + pre-flight + run;
* ``observer``: ``observer_overhead.py``'s trivial factories at N=1,000 with
  observing on (fresh SQLite history, default runtime, one KPI and one log
  line per factory, until the writer has written everything);
* ``dashboard``: ``dashboard_latency.py``'s history, small (1,000 runs,
  20,000 log lines), served by uvicorn on 127.0.0.1; one sample is a fixed
  round of API requests over real HTTP (run list pages and filters, run
  detail, log pages, a log search, pipeline charts), shared reads off so
  that every request reads the store.

The machine is shared and noisy, so no case is judged on its own time. Each
repetition times a calibration loop of pure-Python work (objects, dicts,
strings, calls) right before and after the case's sample, in the same
process, in CPU seconds of the process (every thread: the writer, the HTTP
server); the figure is the case's CPU time divided by the mean of the two
calibrations around it, so whatever slows the machine slows both. The
median over the repetitions is compared with the committed baseline
(``benchmarks/perf_baseline.json``): the gate fails when it is above
``baseline x tolerance`` (1.5 unless the baseline says otherwise). A case
over the limit is measured again in a fresh process, and fails the gate
only if that confirms it, so one unlucky burst of load is not a
regression, while a real one (every sample slower) shows twice.

``PYSETL_PERF_GATE_SLOWDOWN=K`` (an integer, read by this harness only)
runs the measured call K times per sample: a planted K-fold slowdown of the
measured path, to show that the gate catches it.

Every run writes its figures to ``build/perf/`` (``latest.json`` and one
file per run; ignored by git). Explicit commands, never tests:

* ``--record`` also copies the result into ``benchmarks/results/`` (the
  committed history);
* ``--update-baseline`` makes this run's medians the new baseline;
* ``plot`` draws ``docs/images/perf-trend.svg`` from ``benchmarks/results/``.

Usage: python benchmarks/perf_gate.py [--repeat 9] [--case NAME ...]
       [--record] [--update-baseline] [--out build/perf]
       python benchmarks/perf_gate.py plot [--out docs/images/perf-trend.svg]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BASELINE = HERE / "perf_baseline.json"
RESULTS = HERE / "results"
TREND_SVG = ROOT / "docs" / "images" / "perf-trend.svg"
SLOWDOWN_ENV = "PYSETL_PERF_GATE_SLOWDOWN"
DEFAULT_TOLERANCE = 1.5
SAMPLE_SECONDS = 0.2  # CPU seconds a sample aims at
CALIBRATION_SECONDS = 0.1  # CPU seconds a calibration aims at
UNIT_ROUNDS = 100_000  # ratios are in CPU time of this many calibration rounds
CASES = ("workflow-chain", "workflow-fanout", "observer", "dashboard")


# ------------------------------------------------------------ calibration
class _Point:
    __slots__ = ("x", "y")

    def __init__(self, x: int, y: int) -> None:
        self.x = x
        self.y = y

    def norm(self) -> int:
        return abs(self.x) + abs(self.y)


def calibration_work(rounds: int) -> int:
    """Pure-Python work shaped like a framework's: objects, dicts, strings, calls."""
    table: dict[str, int] = {}
    total = 0
    for i in range(rounds):
        point = _Point(i, -i)
        key = f"k{i % 256}"
        table[key] = table.get(key, 0) + point.norm()
        total += len(key) + (table[key] & 7)
    return total


def cpu_of(fn: Callable[[], Any]) -> float:
    """CPU seconds of the whole process (every thread) spent in ``fn()``."""
    start = time.process_time()
    fn()
    return time.process_time() - start


def loops_for(fn: Callable[[], Any], target: float) -> int:
    """How many calls of ``fn`` take about ``target`` CPU seconds."""
    one = max(cpu_of(fn), 1e-4)
    return max(1, round(target / one))


# ------------------------------------------------------------ the cases
def workflow_case(shape: str) -> Callable[[], Any]:
    """A call that builds and runs a 1,000-factory pysetl pipeline of ``shape``."""
    sys.path.insert(0, str(HERE))
    import workflow_overhead as wo  # noqa: PLC0415 - sets PYSETL_OBSERVE=0

    fn, args, expected = wo.pysetl_case(shape, 1000)

    def call() -> None:
        result = fn(*args)
        if result != expected:
            msg = f"{shape}: {result!r}, expected {expected!r}"
            raise AssertionError(msg)

    return call


@contextlib.contextmanager
def observer_case() -> Iterator[Callable[[], Any]]:
    """A call that runs 1,000 trivial factories, observed, into a fresh history."""
    sys.path.insert(0, str(HERE))
    import observer_overhead as oo  # noqa: PLC0415

    classes = oo.trivial_classes(1000)
    with tempfile.TemporaryDirectory(prefix="pysetl-perf-") as tmp:
        counter = iter(range(1_000_000))

        def call() -> None:
            db = Path(tmp) / f"history-{next(counter)}.db"
            *_, problem = oo.trivial_run(classes, True, db)  # noqa: FBT003
            if problem:
                msg = f"observed run incomplete: {problem}"
                raise AssertionError(msg)
            db.unlink()

        try:
            yield call
        finally:
            oo.observe(on=False)


@contextlib.contextmanager
def dashboard_case() -> Iterator[Callable[[], Any]]:
    """A call that sends one round of API requests to a served dashboard."""
    sys.path.insert(0, str(HERE))
    import dashboard_latency as dl  # noqa: PLC0415
    import httpx  # noqa: PLC0415
    import uvicorn  # noqa: PLC0415

    from pysetl.dashboard import create_app  # noqa: PLC0415
    from pysetl.dashboard._shared import SharedReads  # noqa: PLC0415
    from pysetl.monitoring.history import SqliteRunHistory  # noqa: PLC0415

    runs = 1000
    with tempfile.TemporaryDirectory(prefix="pysetl-perf-") as tmp:
        path = Path(tmp) / "history.db"
        big = dl.build(str(path), runs, 20_000, 0.5)
        history = SqliteRunHistory(path)
        app = create_app(history, shared_reads=SharedReads(ttl=0))
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        mid = dl.run_id(runs // 2)
        requests: list[tuple[str, dict[str, Any]]] = [
            ("/api/runs", {}),
            ("/api/runs", {"pipeline": "orders"}),
            ("/api/runs", {"status": "failed"}),
            ("/api/runs", {"cursor": mid}),
            ("/api/pipelines", {}),
            (f"/api/runs/{mid}", {}),
            (f"/api/runs/{big}/logs", {"limit": 100}),
            (f"/api/runs/{big}/logs", {"level": "ERROR"}),
            (f"/api/runs/{big}/logs", {"q": "wrote 7"}),
            (f"/api/runs/{mid}/logs", {}),
            ("/api/charts/pipelines/orders", {}),
        ]
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as c:

                def call() -> None:
                    for url, params in requests:
                        c.get(url, params=params).raise_for_status()

                yield call
        finally:
            server.should_exit = True
            thread.join(10)
            history.close()


@contextlib.contextmanager
def make_case(name: str) -> Iterator[Callable[[], Any]]:
    """The measured call of case ``name`` (set up, and torn down after)."""
    if name == "workflow-chain":
        yield workflow_case("chain")
    elif name == "workflow-fanout":
        yield workflow_case("fan-out")
    elif name == "observer":
        with observer_case() as call:
            yield call
    elif name == "dashboard":
        with dashboard_case() as call:
            yield call
    else:
        msg = f"unknown case {name!r}: expected one of {', '.join(CASES)}"
        raise SystemExit(msg)


def slowdown() -> int:
    """The planted slowdown factor (``PYSETL_PERF_GATE_SLOWDOWN``, default 1)."""
    raw = os.environ.get(SLOWDOWN_ENV, "1")
    try:
        factor = int(raw)
    except ValueError:
        factor = 0
    if factor < 1:
        msg = f"{SLOWDOWN_ENV}={raw!r}: expected a whole number >= 1 (1: none)"
        raise SystemExit(msg)
    return factor


def measure_case(name: str, repeat: int) -> dict[str, Any]:
    """Ratios of the case's CPU time to the calibration around it (child side)."""
    factor = slowdown()
    with make_case(name) as call:
        call()  # warm-up: imports, caches, the JVM-free paths compiled
        loops = loops_for(call, SAMPLE_SECONDS)
        probe = cpu_of(lambda: calibration_work(UNIT_ROUNDS))
        rounds = max(1, round(UNIT_ROUNDS * CALIBRATION_SECONDS / max(probe, 1e-4)))

        def sample() -> None:
            for _ in range(loops):
                for _ in range(factor):
                    call()

        def calibrate() -> float:
            return cpu_of(lambda: calibration_work(rounds))

        ratios, cases, calibrations = [], [], []
        gc.collect()
        before = calibrate()
        for _ in range(repeat):
            spent = cpu_of(sample) / loops
            after = calibrate()
            ratios.append(spent / ((before + after) / 2) * rounds / UNIT_ROUNDS)
            cases.append(spent)
            calibrations.append(after)
            before = after
    return {
        "ratio": statistics.median(ratios),
        "ratios": ratios,
        "case_cpu_s": cases,
        "calibration_cpu_s": calibrations,
        "loops": loops,
        "calibration_rounds": rounds,
        "slowdown": factor,
    }


# ------------------------------------------------------------ the gate
def run_child(name: str, repeat: int) -> dict[str, Any]:
    """Measure case ``name`` in a fresh interpreter; its figures."""
    proc = subprocess.run(  # noqa: S603 - our interpreter, our script
        [sys.executable, __file__, "--child", name, "--repeat", str(repeat)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if proc.returncode:
        sys.stderr.write(proc.stderr)
        msg = f"case {name}: the benchmark failed (exit {proc.returncode})"
        raise SystemExit(msg)
    figures: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return figures


def load_baseline(path: Path) -> dict[str, Any]:
    """The baseline at ``path`` (an empty one when the file does not exist)."""
    if not path.exists():
        return {"tolerance": DEFAULT_TOLERANCE, "cases": {}}
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def git_commit() -> str:
    """The commit measured (with ``+dirty`` when the tree has changes)."""

    def git(*args: str) -> str:
        return subprocess.run(  # noqa: S603
            ["git", *args],  # noqa: S607 - git from PATH
            capture_output=True,
            text=True,
            check=False,
            cwd=ROOT,
        ).stdout.strip()

    commit = git("rev-parse", "--short=12", "HEAD") or "unknown"
    return commit + (
        "+dirty" if git("status", "--porcelain", "--untracked-files=no") else ""
    )


def gate(args: argparse.Namespace) -> int:
    """Run every case, compare with the baseline, write the JSON; 1 on a regression."""
    baseline = load_baseline(Path(args.baseline))
    tolerance = float(baseline.get("tolerance", DEFAULT_TOLERANCE))
    names = args.case or list(CASES)
    started = time.perf_counter()
    result: dict[str, Any] = {
        "timestamp": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commit": git_commit(),
        "python": sys.version.split()[0],
        "load_average": list(os.getloadavg()),
        "cpus": os.cpu_count(),
        "repeat": args.repeat,
        "tolerance": tolerance,
        "slowdown": slowdown(),
        "cases": {},
    }
    print(
        f"perf gate: {len(names)} cases x {args.repeat} repetitions, CPU-time ratio "
        f"to a calibration loop; fails above baseline x {tolerance:g}"
        + (
            f"; PLANTED SLOWDOWN x{result['slowdown']}"
            if result["slowdown"] > 1
            else ""
        )
    )
    print(
        f"{'case':<16} {'median':>7} {'baseline':>8} {'limit':>7} {'ratio':>6}  verdict"
    )
    failed = []
    for name in names:
        figures = run_child(name, args.repeat)
        base = baseline["cases"].get(name, {}).get("ratio")
        verdict = "no baseline"
        if base is not None:
            limit = base * tolerance
            figures["baseline"], figures["limit"] = base, limit
            verdict = "OK"
            if figures["ratio"] > limit:
                again = run_child(name, args.repeat)
                figures["confirmation"] = again
                if again["ratio"] > limit:
                    verdict = f"REGRESSION (confirmed: {again['ratio']:.3f})"
                    failed.append(name)
                else:
                    verdict = f"OK (not confirmed: {again['ratio']:.3f})"
        figures["verdict"] = verdict
        result["cases"][name] = figures
        print(
            f"{name:<16} {figures['ratio']:>7.3f} "
            f"{base if base is not None else float('nan'):>8.3f} "
            f"{figures.get('limit', float('nan')):>7.3f} "
            f"{figures['ratio'] / base if base else float('nan'):>5.2f}x  {verdict}",
            flush=True,
        )
    result["seconds"] = round(time.perf_counter() - started, 1)
    result["passed"] = not failed
    write_result(result, args)
    if args.update_baseline:
        update_baseline(result, tolerance, Path(args.baseline))
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if failed:
        print(f"perf gate: FAILED: regression in {', '.join(failed)}")
        return 1
    print(f"perf gate: passed in {result['seconds']:g} s")
    return 0


def write_result(result: dict[str, Any], args: argparse.Namespace) -> None:
    """``build/perf/latest.json``, one file per run, and ``--record``'s copy."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, indent=1) + "\n"
    stamp = result["timestamp"].replace(":", "").replace("-", "")
    (out / f"run-{stamp}.json").write_text(text)
    (out / "latest.json").write_text(text)
    print(f"figures: {out / 'latest.json'}")
    if args.record:
        RESULTS.mkdir(exist_ok=True)
        kept = RESULTS / f"{stamp}-{result['commit'].replace('+', '-')}.json"
        kept.write_text(text)
        print(f"recorded: {kept.relative_to(ROOT)}")


def update_baseline(result: dict[str, Any], tolerance: float, path: Path) -> None:
    """Make this run's medians the baseline (an explicit command)."""
    if result["slowdown"] != 1:
        msg = f"refusing to take a baseline with {SLOWDOWN_ENV} set"
        raise SystemExit(msg)
    data = {
        "note": "CPU-time ratio of each case to the calibration loop (median); "
        "made by benchmarks/perf_gate.py --update-baseline",
        "commit": result["commit"],
        "timestamp": result["timestamp"],
        "tolerance": tolerance,
        "cases": {
            name: {"ratio": round(figures["ratio"], 4)}
            for name, figures in result["cases"].items()
        },
    }
    path.write_text(json.dumps(data, indent=1) + "\n")
    print(f"baseline updated: {path}")


def main() -> int:
    """Parse the arguments: the gate, one child case, or the plot."""
    if len(sys.argv) > 1 and sys.argv[1] == "plot":
        from perf_trend import main as plot  # noqa: PLC0415

        return plot(sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--case", nargs="+", choices=CASES)
    parser.add_argument("--record", action="store_true")
    parser.add_argument("--update-baseline", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "build" / "perf"))
    parser.add_argument("--baseline", default=str(BASELINE), help=argparse.SUPPRESS)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure_case(args.child, args.repeat)))
        return 0
    return gate(args)


if __name__ == "__main__":
    sys.exit(main())
