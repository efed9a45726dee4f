"""Framework overhead of pysetl's workflow engine per factory, beside Hamilton, Kedro.

What is measured is what users get: the default ``Pipeline()`` (the default
hook manager, nothing recorded: ``PYSETL_OBSERVE=0`` and
``PYSETL_DISABLE_HOOKS=all``), the garbage collector ON, and the whole call a
user makes: building the pipeline, the pre-flight check and the run. Two
shapes of N trivial factories (they pass ints):

* chain:   N stages of one factory each, factory i consumes factory i-1
           (N distinct classes);
* fan-out: one source factory, then one stage of N factories consuming it.

The same shapes run through Hamilton (N functions of one module;
``driver.Builder().with_modules(mod).build()``, then ``execute`` of the last
node, or of the N consumers) and Kedro (N ``node``s, a ``Pipeline``, a
``SequentialRunner`` over an empty ``DataCatalog``, whose outputs are
``MemoryDataset``s; its per-node INFO logging turned off), in the same
process. User code (factory classes, the
module of functions) is made before the clock starts. Install them with
``uv sync --group bench``; without them only pysetl is measured.

Each sample times ``loops`` calls in a row (so a run pays for collecting the
garbage of the run before it, as in a loop of runs) and divides; the table
gives the median of the samples (and the min), in CPU seconds of this process
(``time.process_time``) and wall seconds (``time.perf_counter``). Every case
starts with a full collection and one warm-up call. A framework whose single
run at a size is projected to take longer than ``--max-run-seconds`` (from
its growth over the sizes before) is skipped at that size, and says so.

Targets, on pysetl's median CPU time; the script exits with status 1 if one
is missed: at most 20 us per factory at N = 10,000; growth t(10,000)/t(1,000)
at most 11 (linear is 10); at most half of Hamilton's time at every N (not
checked, and said so, when Hamilton is not installed). ``--gc-paused`` adds a
column with the garbage collector paused, for diagnosis only: it never meets
a target.

Usage: python benchmarks/workflow_overhead.py [--sizes 100 1000 10000]
       [--repeat 7] [--big-repeat 5] [--max-run-seconds 20] [--case-seconds 8]
       [--gc-paused]
       [--no-hamilton] [--no-kedro]
"""

from __future__ import annotations

import os

# Nothing recorded, nothing sent: set before pysetl (and the others) are imported.
os.environ["PYSETL_OBSERVE"] = "0"
os.environ["PYSETL_DISABLE_HOOKS"] = "all"
os.environ.setdefault("HAMILTON_TELEMETRY_ENABLED", "false")
os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "1")

import argparse
import contextlib
import gc
import importlib
import logging
import math
import statistics
import sys
import time
import types
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pysetl.workflow import Delivery, Factory, Pipeline, Stage

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

TARGET_US = 20.0  # pysetl CPU us per factory at the biggest size
TARGET_GROWTH = 11.0  # t(biggest) / t(the size before), linear = 10
TARGET_VS_HAMILTON = 0.5  # pysetl / Hamilton, at every size
TARGET_SIZE = 10_000
LOOP_FACTORIES = 20_000  # a sample runs at least this many factories
SHAPES = ("chain", "fan-out")


# ------------------------------------------------------------------ pysetl
class _Trivial(Factory[int]):
    value = 0

    def read(self) -> _Trivial:
        return self

    def process(self) -> _Trivial:
        return self

    def write(self) -> _Trivial:
        return self

    def get(self) -> int:
        return self.value


class Source(_Trivial):
    delivery_id = "source"
    value = 1


class FanOut(_Trivial):
    source = Delivery[int](delivery_id="source")

    def read(self) -> FanOut:
        self.value = self.source.get() + 1
        return self


def chain_classes(n: int) -> list[type[_Trivial]]:
    """N factory classes, each consuming the output of the previous one."""
    classes: list[type[_Trivial]] = []
    for i in range(n):
        namespace: dict[str, Any] = {"delivery_id": f"n{i}"}
        if i:
            namespace["previous"] = Delivery[int](delivery_id=f"n{i - 1}")

            def read(self: Any) -> Any:
                self.value = self.previous.get() + 1
                return self

            namespace["read"] = read
        classes.append(type(f"Link{i}", (_Trivial,), namespace))
    return classes


def pysetl_chain(classes: list[type[_Trivial]]) -> int:
    """Build and run a chain; return its last output."""
    pipeline = Pipeline()
    for cls in classes:
        pipeline.add_stage_from_type(cls)
    return int(pipeline.run().get_last_output())


def pysetl_fan_out(n: int) -> int:
    """Build and run a fan-out of ``n`` consumers; return the last output."""
    stage = Stage()
    for _ in range(n):
        stage.add_factory(FanOut())
    pipeline = Pipeline().add_stage_from_type(Source).add_stage(stage)
    return int(pipeline.run().get_last_output())


def pysetl_case(shape: str, n: int) -> tuple[Callable[..., Any], tuple[Any, ...], Any]:
    """The call, its arguments (user code, made now) and its expected result."""
    if shape == "chain":
        return pysetl_chain, (chain_classes(n),), n - 1
    return pysetl_fan_out, (n,), 2


# ---------------------------------------------------------------- Hamilton
def hamilton_module(shape: str, n: int) -> tuple[types.ModuleType, list[str]]:
    """A module of N functions in ``shape``, and the nodes to ask for."""
    name = f"_bench_hamilton_{shape.replace('-', '_')}_{n}"
    module = types.ModuleType(name)
    sys.modules[name] = module  # Hamilton keeps the functions of this module only
    if shape == "chain":
        lines = ["def n0() -> int:\n    return 0"]
        lines += [
            f"def n{i}(n{i - 1}: int) -> int:\n    return n{i - 1} + 1"
            for i in range(1, n)
        ]
        final = [f"n{n - 1}"]
    else:
        lines = ["def source() -> int:\n    return 1"]
        lines += [
            f"def c{i}(source: int) -> int:\n    return source + 1" for i in range(n)
        ]
        final = [f"c{i}" for i in range(n)]
    exec(compile("\n".join(lines), name, "exec"), module.__dict__)  # noqa: S102
    return module, final


def hamilton_run(module: types.ModuleType, final: list[str]) -> Any:
    """Build a driver over ``module`` and compute ``final``; the last value."""
    from hamilton import driver  # noqa: PLC0415 - optional

    # Hamilton walks a chain recursively: one frame per node.
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 20 * len(module.__dict__) + 1_000))
    try:
        result = driver.Builder().with_modules(module).build().execute(final)
    finally:
        sys.setrecursionlimit(limit)
    return result[final[-1]]


def hamilton_case(
    shape: str, n: int
) -> tuple[Callable[..., Any], tuple[Any, ...], Any]:
    """The call, its arguments and its expected result."""
    module, final = hamilton_module(shape, n)
    return hamilton_run, (module, final), n - 1 if shape == "chain" else 2


# ------------------------------------------------------------------- Kedro
def _first() -> int:
    return 0


def _source() -> int:
    return 1


def _plus_one(value: int) -> int:
    return value + 1


def kedro_run(shape: str, n: int) -> Any:
    """Build N nodes in ``shape`` and run them; the last value."""
    from kedro.io import DataCatalog  # noqa: PLC0415 - optional
    from kedro.pipeline import Pipeline as KedroPipeline  # noqa: PLC0415
    from kedro.pipeline import node  # noqa: PLC0415
    from kedro.runner import SequentialRunner  # noqa: PLC0415

    if shape == "chain":
        nodes = [node(_first, None, "n0", name="n0")]
        nodes += [
            node(_plus_one, f"n{i - 1}", f"n{i}", name=f"n{i}") for i in range(1, n)
        ]
        last = f"n{n - 1}"
    else:
        nodes = [node(_source, None, "source", name="source")]
        nodes += [node(_plus_one, "source", f"c{i}", name=f"c{i}") for i in range(n)]
        last = f"c{n - 1}"
    catalog = DataCatalog()
    SequentialRunner().run(KedroPipeline(nodes), catalog)
    return catalog.load(last)


def kedro_case(shape: str, n: int) -> tuple[Callable[..., Any], tuple[Any, ...], Any]:
    """The call, its arguments and its expected result."""
    return kedro_run, (shape, n), n - 1 if shape == "chain" else 2


# ----------------------------------------------------------------- timing
@dataclass
class Figure:
    """Seconds per factory of one framework, shape and size."""

    cpu: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)
    paused: list[float] = field(default_factory=list)  # CPU, GC paused
    skipped: str = ""

    @property
    def median(self) -> float:
        """Median CPU seconds per factory."""
        return statistics.median(self.cpu) if self.cpu else math.nan


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the garbage collector (for the labelled diagnostic column only)."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def sample(
    fn: Callable[..., Any], args: tuple[Any, ...], loops: int
) -> tuple[float, float]:
    """CPU and wall seconds of one call, averaged over ``loops`` calls in a row."""
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(loops):
        fn(*args)
    return (time.process_time() - cpu) / loops, (time.perf_counter() - wall) / loops


def measure(
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    expected: Any,
    n: int,
    *,
    repeat: int,
    budget: float,
    paused: bool,
) -> Figure:
    """Warm up, check the result, then take ``repeat`` samples (GC on).

    A sample runs ``LOOP_FACTORIES // n`` calls, or one when a call takes
    longer than ``budget / 10`` seconds; sampling stops after three samples
    once the case has taken ``budget`` seconds.
    """
    factories = n + 1 if fn in {pysetl_fan_out, kedro_run} else n
    figure = Figure()
    gc.collect()  # the previous case's garbage is not this one's bill
    start = time.perf_counter()
    result = fn(*args)
    warm = time.perf_counter() - start
    if result != expected:
        msg = f"{fn.__name__}{args[:1]!r}: {result!r}, expected {expected!r}"
        raise AssertionError(msg)
    loops = 1 if warm > budget / 10 else max(1, LOOP_FACTORIES // n)
    start = time.perf_counter()
    for i in range(repeat):
        if i >= 3 and time.perf_counter() - start > budget:  # noqa: PLR2004
            break
        cpu, wall = sample(fn, args, loops)
        figure.cpu.append(cpu / factories)
        figure.wall.append(wall / factories)
    if paused:
        for _ in range(len(figure.cpu)):
            gc.collect()
            with gc_paused():
                cpu, _ = sample(fn, args, loops)
            figure.paused.append(cpu / factories)
    return figure


def projected_run(history: list[tuple[int, float]], n: int) -> float:
    """Seconds one run of size ``n`` should take, from the sizes before."""
    if not history:
        return 0.0
    n1, t1 = history[-1]
    exponent = 2.0  # with one point, assume the worst we have seen (quadratic)
    if len(history) > 1:
        n0, t0 = history[-2]
        exponent = max(1.0, math.log(t1 / t0) / math.log(n1 / n0))
    return float(t1 * (n / n1) ** exponent)


# ---------------------------------------------------------------- report
def us(seconds: float) -> str:
    """Microseconds, or ``-`` when there is no figure."""
    return "-" if math.isnan(seconds) else f"{seconds * 1e6:.1f}"


def ratio(a: float, b: float) -> str:
    """``a / b``, or ``-``."""
    return "-" if math.isnan(a) or math.isnan(b) else f"{a / b:.2f}x"


def available(module: str, enabled: bool, *submodules: str) -> bool:
    """Whether ``module`` (and ``submodules``) can be imported and is wanted."""
    if not enabled:
        print(f"{module}: left out (--no-{module})")
        return False
    try:
        for name in (module, *submodules):
            importlib.import_module(name)
    except ImportError as exc:
        print(f"{module}: not installed ({exc}); install with: uv sync --group bench")
        return False
    return True


def version(dist: str) -> str:
    """The installed version of ``dist``."""
    from importlib.metadata import PackageNotFoundError  # noqa: PLC0415
    from importlib.metadata import version as _version  # noqa: PLC0415

    try:
        return _version(dist)
    except PackageNotFoundError:
        return "?"


def main() -> int:  # noqa: C901, PLR0912, PLR0915 - a report, top to bottom
    """Measure, print the table and the verdict; 1 if a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--repeat", type=int, default=7, help="samples below 10,000")
    parser.add_argument("--big-repeat", type=int, default=5, help="samples at 10,000+")
    parser.add_argument("--max-run-seconds", type=float, default=20.0)
    parser.add_argument(
        "--case-seconds", type=float, default=8.0, help="sampling budget per case"
    )
    parser.add_argument("--gc-paused", action="store_true")
    parser.add_argument("--no-hamilton", dest="hamilton", action="store_false")
    parser.add_argument("--no-kedro", dest="kedro", action="store_false")
    args = parser.parse_args()
    sizes = sorted(args.sizes)

    frameworks: dict[str, Callable[[str, int], Any]] = {"pysetl": pysetl_case}
    if available("hamilton", args.hamilton):
        frameworks["hamilton"] = hamilton_case
    if available("kedro", args.kedro, "kedro.io", "kedro.pipeline", "kedro.runner"):
        # Kedro's logging setup (applied on import) prints two INFO lines per
        # node through rich, which would dominate its time: turned off.
        logging.getLogger("kedro").setLevel(logging.WARNING)
        frameworks["kedro"] = kedro_case
    print(
        f"python {sys.version.split()[0]}, pysetl {version('pysetl')}, "
        f"sf-hamilton {version('sf-hamilton')}, kedro {version('kedro')}; "
        "GC on, CPU and wall us per factory (median of samples, min)"
    )

    figures: dict[tuple[str, str, int], Figure] = {}
    for shape in SHAPES:
        history: dict[str, list[tuple[int, float]]] = {f: [] for f in frameworks}
        for n in sizes:
            repeat = args.big_repeat if n >= TARGET_SIZE else args.repeat
            for name, case in frameworks.items():
                guess = projected_run(history[name], n)
                if name != "pysetl" and guess > args.max_run_seconds:
                    figures[name, shape, n] = Figure(
                        skipped=f"one run projected ~{guess:.0f} s "
                        f"(> --max-run-seconds {args.max_run_seconds:g})"
                    )
                    continue
                fn, fn_args, expected = case(shape, n)
                figure = measure(
                    fn,
                    fn_args,
                    expected,
                    n,
                    repeat=repeat,
                    budget=args.case_seconds,
                    paused=args.gc_paused,
                )
                figures[name, shape, n] = figure
                history[name].append((n, figure.median * n))
                print(f"  measured {name:<8} {shape:<7} N={n}", file=sys.stderr)

    def get(name: str, shape: str, n: int) -> Figure:
        return figures.get((name, shape, n), Figure())

    head = f"{'N':>6}  {'shape':<7}  {'pysetl cpu (min)':>16}  {'wall':>6}"
    if args.gc_paused:
        head += f"  {'gc paused*':>10}"
    head += f"  {'hamilton cpu':>12}  {'wall':>6}  {'kedro cpu':>9}  {'wall':>6}"
    head += f"  {'vs hamilton':>11}  {'vs kedro':>8}  verdict"
    print()
    print(head)
    misses: list[str] = []
    unchecked: list[str] = []
    for n in sizes:
        for shape in SHAPES:
            mine, ham, ked = (get(f, shape, n) for f in ("pysetl", "hamilton", "kedro"))
            row = (
                f"{n:>6}  {shape:<7}  "
                f"{us(mine.median) + ' (' + us(min(mine.cpu)) + ')':>16}  "
                f"{us(statistics.median(mine.wall)):>6}"
            )
            if args.gc_paused:
                row += f"  {us(statistics.median(mine.paused)):>10}"
            row += (
                f"  {us(ham.median):>12}  "
                f"{us(statistics.median(ham.wall)) if ham.wall else '-':>6}  "
                f"{us(ked.median):>9}  "
                f"{us(statistics.median(ked.wall)) if ked.wall else '-':>6}  "
                f"{ratio(mine.median, ham.median):>11}  "
                f"{ratio(mine.median, ked.median):>8}  "
            )
            verdict = []
            if n == TARGET_SIZE:
                ok = mine.median * 1e6 <= TARGET_US
                verdict.append(f"{'OK' if ok else 'OVER'} <={TARGET_US:g}us")
                if not ok:
                    misses.append(
                        f"{shape} N={n}: {us(mine.median)} us > {TARGET_US:g}"
                    )
            if ham.cpu:
                r = mine.median / ham.median
                ok = r <= TARGET_VS_HAMILTON
                verdict.append(f"{'OK' if ok else 'OVER'} <={TARGET_VS_HAMILTON:g}xH")
                if not ok:
                    misses.append(f"{shape} N={n}: {r:.2f}x Hamilton")
            else:
                unchecked.append(f"{shape} N={n} vs Hamilton")
            print(row + ", ".join(verdict))
    skipped = [
        f"  {name} {shape} N={n}: {fig.skipped}"
        for (name, shape, n), fig in figures.items()
        if fig.skipped
    ]
    if skipped:
        print("skipped:\n" + "\n".join(skipped))
    if args.gc_paused:
        print("* GC paused: for diagnosis only, never the figure that meets a target")

    if len(sizes) > 1:
        big, small = sizes[-1], sizes[-2]
        print()
        for shape in SHAPES:
            growth = get("pysetl", shape, big).median * big
            growth /= get("pysetl", shape, small).median * small
            ok = growth <= TARGET_GROWTH
            print(
                f"growth t({big})/t({small}) {shape:<7}: {growth:5.2f} "
                f"(linear = {big / small:g}) {'OK' if ok else 'OVER'} "
                f"<= {TARGET_GROWTH:g}"
            )
            if not ok:
                misses.append(f"{shape} growth {growth:.2f} > {TARGET_GROWTH:g}")
    if TARGET_SIZE not in sizes:
        unchecked.append(f"the {TARGET_US:g} us target (N={TARGET_SIZE} not measured)")

    print()
    if unchecked:
        print("not checked: " + "; ".join(unchecked))
    if misses:
        print("VERDICT: OVER: " + "; ".join(misses))
        return 1
    print("VERDICT: OK, every checked target is met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
