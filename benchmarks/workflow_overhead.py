"""Framework overhead of pysetl's workflow engine, per factory.

Times building and running pipelines of N trivial factories (they pass ints;
no SparkSession, no observer) in two shapes:

* chain:   N stages of one factory each, factory i consumes factory i-1;
* fan-out: one source factory, then one stage of N factories consuming it.

Factory classes are created before the clock starts (that is user code);
the clock covers pipeline construction, the pre-flight check and the run.
Like ``timeit``, each round repeats small sizes until it has run about
10,000 factories, the garbage collector is paused while timing, and the best
of ``--repeat`` rounds is reported (per pipeline). Times are CPU seconds of this process
(``time.process_time``), so other processes on a busy machine do not skew them.

Usage: python benchmarks/workflow_overhead.py [--sizes 10 100 1000 10000]
"""

from __future__ import annotations

import argparse
import gc
import time
from typing import Any

from pysetl.workflow import Delivery, Factory, HookManager, Pipeline, Stage

TARGET_US = 50.0
TARGET_GROWTH = 11.0
LOOP_FACTORIES = 10_000
SHAPES = ("chain", "fan-out")


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


def run_chain(classes: list[type[_Trivial]], hooks: HookManager) -> int:
    """Build and run a chain; return its last output."""
    pipeline = Pipeline(hooks=hooks)
    for cls in classes:
        pipeline.add_stage_from_type(cls)
    return int(pipeline.run().get_last_output())


def run_fan_out(n: int, hooks: HookManager) -> int:
    """Build and run a fan-out of ``n`` consumers; return the last output."""
    stage = Stage()
    for _ in range(n):
        stage.add_factory(FanOut())
    pipeline = Pipeline(hooks=hooks).add_stage_from_type(Source).add_stage(stage)
    return int(pipeline.run().get_last_output())


def time_once(loops: int, fn: Any, *args: Any) -> float:
    """CPU seconds of one call, averaged over ``loops`` calls, with the GC paused."""
    gc.collect()
    gc.disable()
    try:
        start = time.process_time()
        for _ in range(loops):
            fn(*args)
        return (time.process_time() - start) / loops
    finally:
        gc.enable()


def measure(sizes: list[int], repeat: int) -> dict[tuple[str, int], float]:
    """Best time per pipeline for each shape and size.

    Rounds interleave the sizes, so a busy moment on the machine affects
    every size alike instead of skewing the growth ratio.
    """
    hooks = HookManager()  # no observer attached
    cases: list[tuple[str, int, Any, tuple[Any, ...]]] = []
    for n in sizes:
        classes = chain_classes(n)
        assert run_chain(classes, hooks) == n - 1  # noqa: S101 - sanity check
        assert run_fan_out(n, hooks) == 2  # noqa: S101, PLR2004 - sanity check
        cases.append(("chain", n, run_chain, (classes, hooks)))
        cases.append(("fan-out", n, run_fan_out, (n, hooks)))
    best: dict[tuple[str, int], float] = {}
    for _ in range(repeat):
        for shape, n, fn, fn_args in cases:
            loops = max(1, LOOP_FACTORIES // n)  # a round runs >= 10,000 factories
            elapsed = time_once(loops, fn, *fn_args)
            best[shape, n] = min(best.get((shape, n), elapsed), elapsed)
    return best


def lookup_baseline(small: int, big: int, repeat: int) -> float:
    """Growth of the interpreter alone on the chain's classes.

    Six plain attribute lookups per factory instance (what any engine must do
    to call ``read``, ``process``, ``write``, ``get`` and read ``delivery_id``
    and ``consumers``), no pysetl code: CPython's type-attribute cache holds
    4,096 entries, so lookups across 10,000 distinct classes get slower per
    class. A chain ratio near this baseline is the interpreter, not pysetl.
    """

    def lookups(objects: list[_Trivial], loops: int) -> None:
        for _ in range(loops):
            for obj in objects:
                _ = (obj.read, obj.process, obj.write, obj.get)
                _ = (obj.delivery_id, obj.consumers)

    times = {}
    for n in (small, big):
        objects = [cls() for cls in chain_classes(n)]
        loops = max(1, 10 * LOOP_FACTORIES // n)
        best = min(time_once(1, lookups, objects, loops) for _ in range(repeat))
        times[n] = best / loops  # one pass over the n instances
    return times[big] / times[small]


def main() -> None:
    """Print the overhead table and the growth ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000, 10000])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    sizes = sorted(args.sizes)
    totals = measure(sizes, args.repeat)
    print(f"{'N':>7}  {'shape':<8}  {'total cpu s':>11}  {'us/factory':>10}")
    for n in sizes:
        for shape in SHAPES:
            total = totals[shape, n]
            per = total / (n + (shape == "fan-out")) * 1e6
            print(f"{n:>7}  {shape:<8}  {total:>11.4f}  {per:>10.1f}")
    big = sizes[-1]
    if len(sizes) > 1:
        small = sizes[-2]
        print()
        for shape in SHAPES:
            ratio = totals[shape, big] / totals[shape, small]
            print(
                f"growth t({big})/t({small}) {shape:<8}: {ratio:5.2f} "
                f"(target <= {TARGET_GROWTH:g}; linear = {big / small:g})"
            )
        baseline = lookup_baseline(small, big, args.repeat)
        print(
            f"baseline t({big})/t({small}) attribute lookups on the chain's "
            f"classes, no pysetl code: {baseline:5.2f}"
        )
    worst = max(totals[s, big] / (big + (s == "fan-out")) for s in SHAPES)
    print(f"worst us/factory at N={big}: {worst * 1e6:.1f} (target <= {TARGET_US:g})")


if __name__ == "__main__":
    main()
