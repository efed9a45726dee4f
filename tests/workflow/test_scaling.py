"""Framework overhead grows linearly (loosely; the numbers live in benchmarks/)."""

from __future__ import annotations

import gc
import time

from pysetl.workflow import Delivery, Pipeline
from pysetl.workflow.hooks import HookManager

from .conftest import make_factory


def chain(n: int):
    first = make_factory("L0", int, compute=lambda: 0, delivery_id="n0")
    return [first] + [
        make_factory(
            f"L{i}",
            int,
            compute=lambda p: p + 1,
            delivery_id=f"n{i}",
            p=Delivery[int](delivery_id=f"n{i - 1}"),
        )
        for i in range(1, n)
    ]


def best_time(classes, hooks) -> float:
    best = float("inf")
    for _ in range(3):
        gc.collect()
        gc.disable()
        try:
            start = time.process_time()
            pipeline = Pipeline(hooks=hooks)
            for cls in classes:
                pipeline.add_stage_from_type(cls)
            pipeline.run()
            best = min(best, time.process_time() - start)
        finally:
            gc.enable()
    assert pipeline.get_last_output() == len(classes) - 1
    return best


class TestScaling:
    def test_eight_times_the_factories_costs_far_less_than_sixty_four_times(self):
        hooks = HookManager()
        small, large = chain(250), chain(2000)
        ratio = best_time(large, hooks) / best_time(small, hooks)
        assert ratio < 20  # linear is 8, the old quadratic engine was ~64
