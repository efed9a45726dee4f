"""Retry policies and timeouts of factories (``pysetl.workflow.retry``), no Spark."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
import time
from typing import Any

import pytest
from typing_extensions import Self

from pysetl.errors import (
    ConfigError,
    FactoryError,
    FactoryOutputError,
    FactoryTimeoutError,
)
from pysetl.workflow import Factory, HookManager, Pipeline, Stage, hook_impl
from pysetl.workflow.retry import (
    FactoryPolicies,
    FactoryPolicy,
    RetryPolicy,
    as_policies,
    error_matches,
)

FAST = {"delay": 0.001, "jitter": 0.0}


class Events:
    """Every factory event, in order, as (event, factory, attempt, extra)."""

    def __init__(self) -> None:
        self.seen: list[tuple[Any, ...]] = []
        self.threads: dict[int, set[int]] = {}

    @hook_impl
    def before_factory_run(self, *, factory_name: str, attempt: int) -> None:
        self.seen.append(("start", factory_name, attempt))
        self.threads.setdefault(attempt, set()).add(threading.get_ident())

    @hook_impl
    def after_factory_run(self, *, factory_name: str, attempt: int) -> None:
        self.seen.append(("ok", factory_name, attempt))

    @hook_impl
    def on_factory_run_failed(
        self, *, factory_name: str, attempt: int, error: FactoryError
    ) -> None:
        self.seen.append(("failed", factory_name, attempt, type(error).__name__))
        assert error.attempt == attempt

    @hook_impl
    def on_factory_retried(
        self,
        *,
        factory_name: str,
        attempt: int,
        error: FactoryError,
        delay: float,
        next_attempt: int,
    ) -> None:
        self.seen.append(("retried", factory_name, attempt, next_attempt))
        assert error.attempt == attempt
        assert delay >= 0


def _flaky(fails: int, error: type[Exception] = ConnectionError, **keywords: Any):
    """A factory class whose first ``fails`` attempts raise ``error``."""
    calls: list[int] = []

    class Flaky(Factory[int], **keywords):
        def read(self) -> Self:
            return self

        def process(self) -> Self:
            calls.append(1)
            if len(calls) <= fails:
                msg = f"call {len(calls)} failed"
                raise error(msg)
            return self

        def write(self) -> Self:
            return self

        def get(self) -> int:
            return len(calls)

    return Flaky, calls


STUCK = """
import json, time
from typing_extensions import Self
from pysetl.errors import FactoryTimeoutError
from pysetl.workflow import Factory, HookManager, Pipeline
from pysetl.workflow.retry import FactoryPolicy


class Sleeper(Factory[int]):
    def read(self) -> Self:
        return self

    def process(self) -> Self:
        time.sleep(5)  # a C call: the interrupt waits for it to return
        return self

    def write(self) -> Self:
        return self

    def get(self) -> int:
        return 0


policies = {"Sleeper": FactoryPolicy(timeout=0.2, grace=0.2)}
started = time.perf_counter()
try:
    Pipeline(hooks=HookManager(), policies=policies).add_stage_from_type(Sleeper).run()
except FactoryTimeoutError as error:
    took = time.perf_counter() - started
    print(json.dumps({"error": type(error).__name__, "took": took,
                      "abandoned": error.abandoned, "hint": error.hint}))
"""


class Spin(Factory[int]):
    """Spins in pure Python until interrupted."""

    def read(self) -> Self:
        return self

    def process(self) -> Self:
        while True:
            pass

    def write(self) -> Self:
        return self

    def get(self) -> int:
        return 0


class TestRetryPolicy:
    def test_waits_grow_exponentially_up_to_the_cap(self):
        policy = RetryPolicy(
            max_attempts=10, delay=1.0, backoff=2.0, max_delay=5.0, jitter=0
        )
        assert [policy.delay_before(n) for n in range(2, 7)] == [1, 2, 4, 5, 5]

    def test_jitter_stays_within_its_share_and_under_the_cap(self):
        policy = RetryPolicy(max_attempts=10, delay=1.0, max_delay=3.0, jitter=0.5)
        rng = random.Random(7)  # noqa: S311 - jitter, not secrets
        for n in range(2, 50):
            base = min(3.0, 2.0 ** (n - 2))
            assert base * 0.5 <= policy.delay_before(n, rng) <= base

    def test_a_seed_makes_the_waits_reproducible_per_factory(self):
        policy = RetryPolicy(max_attempts=5, jitter=0.9, seed=3)
        first = [policy.delay_before(n, policy.rng("Load")) for n in range(2, 5)]
        again = [policy.delay_before(n, policy.rng("Load")) for n in range(2, 5)]
        other = [policy.delay_before(n, policy.rng("Other")) for n in range(2, 5)]
        assert first == again
        assert first != other

    def test_retries_what_retry_on_names_while_attempts_remain(self):
        policy = RetryPolicy(max_attempts=3, retry_on=(ConnectionError, "KeyError"))
        assert policy.retries(ConnectionRefusedError("x"), 1)
        assert policy.retries(KeyError("x"), 2)
        assert not policy.retries(KeyError("x"), 3)  # the last attempt
        assert not policy.retries(ValueError("x"), 1)

    def test_never_retries_a_wrong_output_type(self):
        assert not RetryPolicy().retries(FactoryOutputError("x"), 1)

    def test_retries_timeouts_only_when_asked(self):
        timeout = FactoryTimeoutError("x", timeout=1, elapsed=1)
        assert not RetryPolicy().retries(timeout, 1)
        assert RetryPolicy(retry_timeouts=True).retries(timeout, 1)

    def test_names_match_qualified_names_and_spark_error_classes(self):
        error = FactoryError("x", error_class="CANNOT_READ.FILE")
        assert error_matches(error, ["pysetl.errors.FactoryError"])
        assert error_matches(error, ["CANNOT_READ"])
        assert error_matches(error, ["CANNOT_READ.FILE"])
        assert not error_matches(error, ["CANNOT"])

    @pytest.mark.parametrize(
        ("options", "named"),
        [
            ({"max_attempts": 0}, "max_attempts=0"),
            ({"backoff": 0.5}, "backoff=0.5"),
            ({"jitter": 2}, "jitter=2"),
            ({"delay": -1}, "delay"),
            ({"retry_on": ("no spaces",)}, "'no spaces'"),
            ({"retry_on": (int,)}, "'int' is not an exception"),
        ],
    )
    def test_bad_values_are_named_with_a_hint(self, options, named):
        with pytest.raises(ConfigError, match="Invalid RetryPolicy") as info:
            RetryPolicy(**options)
        assert named in str(info.value)
        assert info.value.hint


class TestSmallPieces:
    def test_a_spark_error_class_is_read_from_getErrorClass(self):
        class CapturedError(Exception):
            def getErrorClass(self) -> str:
                return "SPARK_JOB_CANCELLED"

        class BrokenError(Exception):
            def getErrorClass(self) -> str:
                raise RuntimeError

        assert error_matches(CapturedError(), ["SPARK_JOB_CANCELLED"])
        assert not error_matches(BrokenError(), ["SPARK_JOB_CANCELLED"])

    def test_a_negative_timeout_or_grace_is_refused(self):
        with pytest.raises(ConfigError, match="timeout=-1"):
            FactoryPolicy(timeout=-1)
        with pytest.raises(ConfigError, match="grace=-2"):
            FactoryPolicy(grace=-2)

    def test_a_policy_for_a_name_the_run_lacks_is_logged(self, caplog):
        flaky, _ = _flaky(0)
        policies = {"Flakey": RetryPolicy(max_attempts=2)}
        with caplog.at_level("WARNING", logger="pysetl.workflow.retry"):
            Pipeline(hooks=HookManager(), policies=policies).add_stage_from_type(
                flaky
            ).run()
        assert "no factory of this run is named Flakey" in caplog.text
        assert "Flaky" in caplog.text


class TestPrecedence:
    def test_the_factory_entry_wins_then_the_class_then_the_default(self):
        config = FactoryPolicies(
            {"Flaky": FactoryPolicy(timeout=5)}, FactoryPolicy(timeout=9, grace=1)
        )
        code = FactoryPolicies(
            {"Flaky": FactoryPolicy(timeout=7, retry=RetryPolicy(max_attempts=4))}
        )
        merged = config.over(code)
        entry = merged.factories["Flaky"]
        assert entry.timeout == 5  # the config's
        assert entry.retry == RetryPolicy(max_attempts=4)  # the code's, not overridden
        assert merged.default == FactoryPolicy(timeout=9, grace=1)

    def test_pipeline_arguments_become_policies(self):
        assert as_policies(None) is None
        made = as_policies({"Load": RetryPolicy(max_attempts=2)}, timeout=30)
        assert made is not None
        assert made.factories["Load"].retry == RetryPolicy(max_attempts=2)
        assert made.default.timeout == 30


class TestRetries:
    def test_a_flaky_factory_fails_twice_then_succeeds_with_numbered_attempts(self):
        flaky, _ = _flaky(2, retry=RetryPolicy(max_attempts=3, **FAST))
        events = Events()
        pipeline = Pipeline(hooks=HookManager(observers=[events]))
        pipeline.add_stage_from_type(flaky).run()
        assert pipeline.get_last_output() == 3
        assert events.seen == [
            ("start", "Flaky", 1),
            ("failed", "Flaky", 1, "FactoryError"),
            ("retried", "Flaky", 1, 2),
            ("start", "Flaky", 2),
            ("failed", "Flaky", 2, "FactoryError"),
            ("retried", "Flaky", 2, 3),
            ("start", "Flaky", 3),
            ("ok", "Flaky", 3),
        ]

    def test_an_unobserved_run_retries_too(self):
        flaky, calls = _flaky(1, retry=RetryPolicy(max_attempts=2, **FAST))
        pipeline = Pipeline(hooks=HookManager()).add_stage_from_type(flaky).run()
        assert pipeline.get_last_output() == 2
        assert len(calls) == 2

    def test_gives_up_after_max_attempts_with_the_last_attempt_number(self):
        flaky, calls = _flaky(5, retry=RetryPolicy(max_attempts=3, **FAST))
        with pytest.raises(FactoryError) as info:
            Pipeline(hooks=HookManager()).add_stage_from_type(flaky).run()
        assert len(calls) == 3
        assert info.value.attempt == 3
        assert "gave up after 3 attempts" in info.value.__notes__
        assert isinstance(info.value.__cause__, ConnectionError)

    def test_an_error_not_named_in_retry_on_is_not_retried(self):
        policy = RetryPolicy(max_attempts=3, retry_on=(ConnectionError,), **FAST)
        flaky, calls = _flaky(1, ValueError, retry=policy)
        events = Events()
        with pytest.raises(FactoryError):
            Pipeline(hooks=HookManager(observers=[events])).add_stage_from_type(
                flaky
            ).run()
        assert len(calls) == 1
        assert [e[0] for e in events.seen] == ["start", "failed"]

    def test_the_pipeline_policy_applies_by_name_and_the_wait_is_the_policys(self):
        flaky, calls = _flaky(2)
        policy = RetryPolicy(max_attempts=3, delay=0.05, backoff=2, jitter=0)
        started = time.perf_counter()
        Pipeline(hooks=HookManager(), policies={"Flaky": policy}).add_stage_from_type(
            flaky
        ).run()
        waited = time.perf_counter() - started
        assert len(calls) == 3
        assert waited >= 0.05 + 0.1  # the two waits: 0.05 s, then 0.1 s

    def test_a_parallel_stage_retries_each_factory_on_its_own(self):
        first, first_calls = _flaky(1)
        second, second_calls = _flaky(2)
        stage = Stage(parallel=True).add_factory(first()).add_factory(second())
        events = Events()
        pipeline = Pipeline(
            hooks=HookManager(observers=[events]),
            retry=RetryPolicy(max_attempts=3, **FAST),
        )
        pipeline.add_stage(stage).run()
        assert (len(first_calls), len(second_calls)) == (2, 3)
        retried = sorted(e[1:] for e in events.seen if e[0] == "retried")
        assert retried == [("Flaky", 1, 2), ("Flaky#2", 1, 2), ("Flaky#2", 2, 3)]

    def test_a_class_keyword_is_inherited_and_checked(self):
        flaky, _ = _flaky(0, retry=RetryPolicy(max_attempts=2), timeout=3)

        class Child(flaky):  # type: ignore[misc, valid-type]
            pass

        assert Child.retry_policy == RetryPolicy(max_attempts=2)
        assert Child.timeout_seconds == 3.0
        with pytest.raises(ConfigError, match="not a RetryPolicy"):
            _flaky(0, retry=3)
        with pytest.raises(ConfigError, match="not a number of seconds"):
            _flaky(0, timeout=-1)


class TestTimeouts:
    def test_a_pure_python_loop_is_interrupted_and_the_run_fails_clearly(self):
        events = Events()
        pipeline = Pipeline(
            hooks=HookManager(observers=[events]),
            policies={"Spin": FactoryPolicy(timeout=0.3)},
        )
        started = time.perf_counter()
        with pytest.raises(FactoryTimeoutError) as info:
            pipeline.add_stage_from_type(Spin).run()
        took = time.perf_counter() - started
        error = info.value
        assert 0.3 <= took < 0.3 + 2.0
        assert (error.factory, error.phase, error.timeout) == ("Spin", "process", 0.3)
        assert error.elapsed >= 0.3
        assert not error.abandoned
        assert "timed out in 'process'" in error.message
        assert "raise the timeout of Spin" in (error.hint or "")
        assert error.context["timeout"] == 0.3
        assert events.seen == [
            ("start", "Spin", 1),
            ("failed", "Spin", 1, "FactoryTimeoutError"),
        ]
        # The attempt ran on its own thread, not the caller's.
        assert threading.get_ident() not in events.threads[1]

    def test_a_timed_out_attempt_is_retried_when_the_policy_says_so(self):
        calls: list[float] = []

        class SlowThenFast(Factory[int]):
            def read(self) -> Self:
                return self

            def process(self) -> Self:
                calls.append(time.perf_counter())
                while len(calls) == 1:
                    pass
                return self

            def write(self) -> Self:
                return self

            def get(self) -> int:
                return len(calls)

        retry = RetryPolicy(max_attempts=2, retry_timeouts=True, **FAST)
        events = Events()
        pipeline = Pipeline(
            hooks=HookManager(observers=[events]),
            policies={"SlowThenFast": FactoryPolicy(retry=retry, timeout=0.2)},
        )
        pipeline.add_stage_from_type(SlowThenFast).run()
        assert pipeline.get_last_output() == 2
        assert [e[0] for e in events.seen] == [
            "start",
            "failed",
            "retried",
            "start",
            "ok",
        ]

    def test_a_finished_factory_under_a_timeout_keeps_its_output(self):
        flaky, _ = _flaky(0, timeout=5)
        pipeline = Pipeline(hooks=HookManager()).add_stage_from_type(flaky).run()
        assert pipeline.get_last_output() == 1

    def test_code_stuck_in_a_c_call_is_abandoned_after_the_grace(self, tmp_path):
        """In a process of its own: a tracer (coverage) makes CPython wait there."""
        script = tmp_path / "stuck.py"
        script.write_text(STUCK)
        done = subprocess.run(  # noqa: S603 - our interpreter, our script
            [sys.executable, str(script)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout.strip().splitlines()[-1])
        assert result["error"] == "FactoryTimeoutError"
        assert result["took"] < 2.0  # the sleep takes 5 s
        assert result["abandoned"] is True
        assert "abandoned" in result["hint"]

    def test_a_zero_timeout_turns_a_class_timeout_off(self):
        flaky, _ = _flaky(0, timeout=0.001)
        pipeline = Pipeline(
            hooks=HookManager(), policies={"Flaky": FactoryPolicy(timeout=0)}
        )
        pipeline.add_stage_from_type(flaky).run()
        assert pipeline.get_last_output() == 1
