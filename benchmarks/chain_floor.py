"""The chain's growth with no engine at all: the floor under the workflow target.

``workflow_overhead.py`` checks that a chain of N factories grows at most 11x
from N = 1,000 to N = 10,000 (linear is 10). The chain's factories are N
distinct classes (the user's code), and at 10,000 they no longer fit the
CPU caches nor CPython's type-attribute cache (4,096 entries). This script
times, on the same classes, the least any engine must do, in plain Python:

* ``one pass``: make one object of each class;
* ``three passes``: make one object of each class (the build), check that
  each one's input was made before it (the pre-flight check), then look up
  each one's ``read`` and pass a value on (the run);
* ``pysetl``: the default ``Pipeline`` (``workflow_overhead.pysetl_chain``).

Each line gives the CPU microseconds per factory (median of the samples,
the garbage collector on, as in ``workflow_overhead.py``) at both sizes,
the growth, and what 10,000 costs beyond 1,000 per factory. The growth
target allows pysetl 10 % more per factory at 10,000 than at 1,000.

Usage: python benchmarks/chain_floor.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Any

from workflow_overhead import chain_classes, pysetl_chain

SIZES = (1000, 10000)


def one_pass(classes: list[type[Any]]) -> int:
    """One object of each class."""
    made = [object.__new__(cls) for cls in classes]
    return len(made)


def three_passes(classes: list[type[Any]]) -> int:
    """Build, check each input, run: the least a checked run does."""
    made = [object.__new__(cls) for cls in classes]
    seen: dict[str, int] = {}
    for i, factory in enumerate(made):
        kind = type(factory)
        previous = kind.__dict__.get("previous")
        if previous is not None and previous.delivery_id not in seen:
            msg = f"{kind.__name__}: no {previous.delivery_id}"
            raise RuntimeError(msg)
        seen[kind.delivery_id] = i
    value = 0
    for factory in made:
        _ = factory.read
        factory.value = value = value + 1
    return value


def per_factory(function: Any, classes: list[type[Any]], repeat: int) -> float:
    """Median CPU microseconds per factory of ``function(classes)``."""
    function(classes)  # warm
    samples = []
    for _ in range(max(repeat, 30000 // len(classes))):
        start = time.process_time()
        function(classes)
        samples.append(time.process_time() - start)
    return statistics.median(samples) / len(classes) * 1e6


def main() -> int:
    """Time the three at both sizes and print them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    classes = {n: chain_classes(n) for n in SIZES}
    print(f"{'':<13} {'1,000':>9} {'10,000':>9} {'growth':>7} {'extra':>9}")
    for name, function in (
        ("one pass", one_pass),
        ("three passes", three_passes),
        ("pysetl", pysetl_chain),
    ):
        small, big = (per_factory(function, classes[n], args.repeat) for n in SIZES)
        print(
            f"{name:<13} {small:>6.2f} us {big:>6.2f} us {big / small * 10:>6.1f}x "
            f"{big - small:>+6.2f} us"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
