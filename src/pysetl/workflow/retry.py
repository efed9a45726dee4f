"""Retry policies and timeouts of factories.

A factory that fails for a transient reason (a flaky source, a lost
executor, a lock) can be run again; one that hangs can be stopped. Each
factory gets at most one ``RetryPolicy`` and one timeout, from code or from
the project config:

```python
class LoadOrders(
    Factory[DataFrame],
    retry=RetryPolicy(max_attempts=3, delay=2.0, retry_on=(ConnectionError,)),
    timeout=600,
): ...

Pipeline(retry=RetryPolicy(max_attempts=2), timeout=3600)  # every factory
```

```yaml
# conf/base/execution.yaml
execution:
  timeout: 3600                 # every factory
  factories:
    LoadOrders:
      timeout: 600
      retry: {max_attempts: 3, delay: 2, retry_on: [ConnectionError]}
```

Where several say something, for the retry policy and the timeout each, the
first that is set wins: the config's entry of the factory, the pipeline's
entry of the factory (``Pipeline(policies={...})``), the factory class's
keyword, the config's default, the pipeline's default.

What an attempt does: the factory runs (deliveries filled again, ``read``,
``process``, ``write``, ``get``); when it raises, the policy decides
(``RetryPolicy.retries``) whether to run it again after ``delay_before(n)``
seconds, and ``on_factory_retried`` tells the observers (with the error,
the attempt and the delay). Every attempt has its own ``attempt`` number
(1, 2, 3...) in its events, its errors, its run-history row and its Spark
job group.

Timeouts: with a timeout the attempt runs on a thread of its own while the
factory's thread waits at most ``timeout`` seconds. When it expires, the
factory's Spark job group is cancelled (``SparkContext.cancelJobGroup``;
on Spark Connect ``SparkSession.interruptTag`` of its operation tag:
running Spark jobs fail at once) and a ``FactoryTimeoutError`` is raised in
the attempt's thread, at its next Python instruction. A pure-Python loop is
stopped there; code blocked in a C call (``time.sleep``, a socket read) is
stopped when the call returns. An attempt that is still running
``grace`` seconds later is abandoned: its thread (a daemon) is left behind,
the attempt is recorded as timed out, and the run goes on (or fails). See
docs/retries.md.

Added in 0.6.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pysetl.errors import ConfigError, FactoryOutputError, FactoryTimeoutError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = [
    "FactoryPolicies",
    "FactoryPolicy",
    "RetryPolicy",
    "as_policies",
    "error_matches",
]

_NAME = re.compile(r"^[A-Za-z_][\w.]*$")
_MAX_ATTEMPTS = 100


def error_matches(error: BaseException, names: Iterable[type | str]) -> bool:
    """Whether ``error`` is one of ``names``: classes, or names of classes.

    A name matches a class of the error's MRO by its name (``ConnectionError``)
    or its qualified name (``pyspark.errors.exceptions.captured.AnalysisException``),
    or Spark's error class when the error carries one (``error_class`` of a
    ``FactoryError``, ``getErrorClass()`` of a Spark error) by that error
    class or its prefix up to a dot (``SPARK_JOB_CANCELLED``, ``CANNOT_READ``).
    """
    mro = type(error).__mro__
    spark_class = _spark_error_class(error)
    for name in names:
        if isinstance(name, type):
            if isinstance(error, name):
                return True
            continue
        for klass in mro:
            if name in {klass.__name__, f"{klass.__module__}.{klass.__qualname__}"}:
                return True
        if spark_class and (spark_class == name or spark_class.startswith(f"{name}.")):
            return True
    return False


def _spark_error_class(error: BaseException) -> str | None:
    found = getattr(error, "error_class", None)
    if isinstance(found, str):
        return found
    getter = getattr(error, "getErrorClass", None)
    if callable(getter):
        try:
            value = getter()
        except Exception:  # noqa: BLE001 - a Py4J error without a JVM behind it
            return None
        return value if isinstance(value, str) else None
    return None


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often, how late and on what a failed factory attempt is run again.

    The wait before attempt ``n + 1`` is ``delay * backoff ** (n - 1)``,
    capped at ``max_delay``, then shortened by up to ``jitter`` of itself at
    random: it lies in ``[d * (1 - jitter), d]`` for the capped ``d``, so it
    never exceeds ``max_delay``. With ``seed`` the random part is the same
    on every run (per factory: the seed is mixed with the factory's name).

    Args:
        max_attempts: Attempts in all, the first one included (1: no retry).
        delay: Seconds before the first retry.
        backoff: Factor of each further wait (1: a constant wait).
        max_delay: The longest wait, in seconds.
        jitter: The random share taken off each wait, from 0 to 1.
        retry_on: The errors retried: classes, or class names (``OSError``,
            ``pyspark.errors.PySparkException``), or Spark error classes
            (``SPARK_JOB_CANCELLED``); matched against the factory's own
            exception and its classes. Default: every ``Exception``.
        retry_timeouts: Whether an attempt that timed out is retried.
        seed: Makes the jitter reproducible (tests).

    A wrong output type (``FactoryOutputError``) is never retried: running
    the same code again gives the same type.

    Raises:
        ConfigError: A value is out of range.

    Added in 0.6.
    """

    max_attempts: int = 3
    delay: float = 1.0
    backoff: float = 2.0
    max_delay: float = 60.0
    jitter: float = 0.1
    retry_on: tuple[type | str, ...] = (Exception,)
    retry_timeouts: bool = False
    seed: int | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        """Check the ranges; ``retry_on`` becomes a tuple."""
        object.__setattr__(self, "retry_on", tuple(self.retry_on))
        problems = []
        if not 1 <= self.max_attempts <= _MAX_ATTEMPTS:
            problems.append(f"max_attempts={self.max_attempts!r} (1 to 100)")
        if self.delay < 0 or self.max_delay < 0:
            problems.append("delay and max_delay must be 0 or more seconds")
        if self.backoff < 1:
            problems.append(f"backoff={self.backoff!r} (1 or more)")
        if not 0 <= self.jitter <= 1:
            problems.append(f"jitter={self.jitter!r} (0 to 1)")
        for item in self.retry_on:
            if isinstance(item, type):
                if not issubclass(item, BaseException):
                    problems.append(f"retry_on {item.__name__!r} is not an exception")
            elif not (isinstance(item, str) and _NAME.match(item)):
                problems.append(f"retry_on {item!r} is not a class or a class name")
        if problems:
            msg = f"Invalid RetryPolicy: {'; '.join(problems)}"
            raise ConfigError(
                msg, hint="see RetryPolicy's arguments in docs/retries.md"
            )

    def delay_before(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before ``attempt`` (2 or more), jitter included."""
        base = min(self.max_delay, self.delay * self.backoff ** max(0, attempt - 2))
        if not self.jitter or not base:
            return base
        draw = (rng or random).random()
        return base * (1 - self.jitter * draw)

    def rng(self, name: str) -> random.Random:
        """The random source of one factory's waits (seeded when ``seed`` is)."""
        if self.seed is None:
            return random.Random()  # noqa: S311 - jitter, not cryptography
        return random.Random(f"{self.seed}:{name}")  # noqa: S311

    def retries(self, error: BaseException, attempt: int) -> bool:
        """Whether the attempt ``attempt`` that failed with ``error`` is retried.

        ``error`` is the factory's own exception (the cause of its
        ``FactoryError``), or the ``FactoryTimeoutError`` of a timed-out
        attempt.
        """
        if attempt >= self.max_attempts:
            return False
        if isinstance(error, FactoryTimeoutError):
            return self.retry_timeouts
        if isinstance(error, FactoryOutputError):
            return False
        return error_matches(error, self.retry_on)


@dataclass(frozen=True, slots=True)
class FactoryPolicy:
    """The retry policy and timeout of one factory (``None``: not set here).

    Args:
        retry: The retry policy.
        timeout: Seconds an attempt may take; ``0`` turns off a timeout set
            at a lower level of precedence.
        grace: Seconds to wait, after a timeout, for the attempt to stop
            before it is abandoned.

    Added in 0.6.
    """

    retry: RetryPolicy | None = None
    timeout: float | None = None
    grace: float | None = None

    def __post_init__(self) -> None:
        """Check that the timeout and grace are not negative."""
        for name in ("timeout", "grace"):
            value = getattr(self, name)
            if value is not None and value < 0:
                msg = f"Invalid FactoryPolicy: {name}={value!r} (0 or more seconds)"
                raise ConfigError(msg, hint=f"give {name} in seconds, or None")

    def over(self, other: FactoryPolicy | None) -> FactoryPolicy:
        """This policy, with what it leaves unset taken from ``other``."""
        if other is None:
            return self
        return FactoryPolicy(
            self.retry if self.retry is not None else other.retry,
            self.timeout if self.timeout is not None else other.timeout,
            self.grace if self.grace is not None else other.grace,
        )

    @property
    def empty(self) -> bool:
        """Whether nothing is set."""
        return self.retry is None and self.timeout is None and self.grace is None


@dataclass(frozen=True, slots=True)
class FactoryPolicies:
    """Policies of a pipeline's factories: one per factory name, and a default.

    Args:
        factories: By factory name as the run names it (``LoadOrders``,
            ``Fan#2``) or by its class name.
        default: For the factories without their own (and whose class
            declares none).

    Added in 0.6.
    """

    factories: Mapping[str, FactoryPolicy] = field(default_factory=dict)
    default: FactoryPolicy = FactoryPolicy()

    @property
    def empty(self) -> bool:
        """Whether no factory gets anything from here."""
        return self.default.empty and all(p.empty for p in self.factories.values())

    def over(self, other: FactoryPolicies | None) -> FactoryPolicies:
        """These policies, with what they leave unset taken from ``other``.

        Per factory and per field: the config's policies ``over`` the code's.
        """
        if other is None:
            return self
        names = {*other.factories, *self.factories}
        empty = FactoryPolicy()
        return FactoryPolicies(
            {
                name: self.factories.get(name, empty).over(other.factories.get(name))
                for name in sorted(names)
            },
            self.default.over(other.default),
        )

    def entry(self, name: str, class_name: str) -> FactoryPolicy | None:
        """The factory's own entry, by run name, else by class name."""
        found = self.factories.get(name)
        if found is None and class_name != name:
            found = self.factories.get(class_name)
        return found

    def unknown(self, names: Iterable[str]) -> list[str]:
        """The factory names of these policies that none of ``names`` matches."""
        known = set(names)
        return sorted(n for n in self.factories if n not in known)


def as_policies(
    policies: FactoryPolicies | Mapping[str, FactoryPolicy | RetryPolicy] | None,
    retry: RetryPolicy | None = None,
    timeout: float | None = None,
) -> FactoryPolicies | None:
    """One ``FactoryPolicies`` of a pipeline's arguments (``None``: nothing set)."""
    if isinstance(policies, FactoryPolicies):
        found = policies
    else:
        entries: dict[str, FactoryPolicy] = {}
        for name, value in (policies or {}).items():
            entries[name] = (
                FactoryPolicy(retry=value) if isinstance(value, RetryPolicy) else value
            )
        found = FactoryPolicies(entries)
    if retry is not None or timeout is not None:
        found = FactoryPolicies(
            found.factories, FactoryPolicy(retry, timeout).over(found.default)
        )
    return None if found.empty else found
