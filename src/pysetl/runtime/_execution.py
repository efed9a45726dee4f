"""The ``execution:`` section of a project config: retries and timeouts, validated.

Every key is optional; without the section no factory is retried or timed
out (unless its code says so)::

    execution:
      timeout: 3600            # seconds, every factory (0: none)
      grace: 5                 # seconds a timed-out attempt gets to stop
      retry:                   # every factory
        max_attempts: 2
      factories:               # by factory name (as runs name them, or class name)
        LoadOrders:
          timeout: 600
          retry:
            max_attempts: 3    # attempts in all, the first included
            delay: 2.0         # seconds before the first retry
            backoff: 2.0       # each wait is this many times the one before
            max_delay: 60      # the longest wait
            jitter: 0.1        # up to this share of each wait taken off at random
            retry_on: [ConnectionError, Py4JNetworkError, SPARK_JOB_CANCELLED]
            retry_timeouts: false
            seed: null         # a number: the same jitter on every run (tests)

A factory's own entry wins over its class's keywords (``retry=``,
``timeout=``), which win over the section's defaults; see
``pysetl.workflow.retry`` for the whole order and what each field does.
``Session`` validates the section when it is built (a mistake raises
``ConfigLoadError`` with the file, line and key) and hands the policies to
the pipelines it runs.

Added in 0.6.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pysetl.workflow.retry import FactoryPolicies, FactoryPolicy, RetryPolicy

__all__ = ["EXECUTION_SECTION", "ExecutionSection", "FactorySection", "RetrySection"]

EXECUTION_SECTION = "execution"
_FROZEN = ConfigDict(extra="forbid", frozen=True)
_NAME = re.compile(r"^[A-Za-z_][\w.]*$")


class RetrySection(BaseModel):
    """A retry policy (``pysetl.workflow.retry.RetryPolicy``) in the config."""

    model_config = _FROZEN

    max_attempts: int = Field(default=3, ge=1, le=100)
    delay: float = Field(default=1.0, ge=0)
    backoff: float = Field(default=2.0, ge=1)
    max_delay: float = Field(default=60.0, ge=0)
    jitter: float = Field(default=0.1, ge=0, le=1)
    retry_on: list[str] = Field(default_factory=lambda: ["Exception"])
    retry_timeouts: bool = False
    seed: int | None = None

    @field_validator("retry_on")
    @classmethod
    def _class_names(cls, value: list[str]) -> list[str]:
        bad = [name for name in value if not _NAME.match(name)]
        if bad:
            msg = (
                f"not a class name: {', '.join(repr(b) for b in bad)}; expected "
                "names such as ConnectionError, pyspark.errors.PySparkException "
                "or a Spark error class such as SPARK_JOB_CANCELLED"
            )
            raise ValueError(msg)
        return value

    def policy(self) -> RetryPolicy:
        """The ``RetryPolicy`` this section describes."""
        return RetryPolicy(
            max_attempts=self.max_attempts,
            delay=self.delay,
            backoff=self.backoff,
            max_delay=self.max_delay,
            jitter=self.jitter,
            retry_on=tuple(self.retry_on),
            retry_timeouts=self.retry_timeouts,
            seed=self.seed,
        )


class FactorySection(BaseModel):
    """The retry policy and timeout of one factory (or of every factory)."""

    model_config = _FROZEN

    retry: RetrySection | None = None
    timeout: float | None = Field(default=None, ge=0)
    grace: float | None = Field(default=None, ge=0)

    def policy(self) -> FactoryPolicy:
        """The ``FactoryPolicy`` this section describes."""
        return FactoryPolicy(
            None if self.retry is None else self.retry.policy(),
            self.timeout,
            self.grace,
        )


class ExecutionSection(FactorySection):
    """The ``execution:`` section (see the module docstring)."""

    factories: dict[str, FactorySection] = Field(default_factory=dict)

    def policies(self) -> FactoryPolicies:
        """The ``FactoryPolicies`` this section describes."""
        return FactoryPolicies(
            {name: entry.policy() for name, entry in self.factories.items()},
            self.policy(),
        )
