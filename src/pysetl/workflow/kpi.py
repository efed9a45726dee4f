"""Custom metrics (KPIs) that users record inside their factories.

Usage, in any method of a factory:

```python
from pysetl.workflow import kpi

class CleanOrders(Factory[DataFrame]):
    def process(self) -> Self:
        rejected = self.orders.filter("id IS NULL").count()
        kpi.counter("orders_rejected").inc(rejected)
        kpi.gauge("late_ratio", labels={"region": "eu"}).set(0.1)
        kpi.histogram("batch_size").observe(12)
        ...
```

A value is attributed to the run, stage, factory and attempt that is running
in the current thread (``pysetl.utils.run_scope.current_scope()``) and is
published to the run's observers as an ``on_metric_recorded`` event; the
``MetricsCollector`` aggregates it per factory attempt and writes it to the
run history. Outside a run (a unit test calling ``process()`` directly, code
on Spark executors), recording does nothing and never fails.

Names follow Prometheus rules (``[a-zA-Z_:][a-zA-Z0-9_:]*``), labels map
strings to strings. This module imports neither pyspark nor any store, so
recording a KPI needs no extra (``pysetl.monitoring.kpi`` is the same module
under its 0.2 name, which needs the ``monitoring`` extra).

Added in 0.2. Changed in 0.3: lives in ``pysetl.workflow``.
"""

from __future__ import annotations

import math
import re
import time
from typing import TYPE_CHECKING

from pysetl.utils.run_scope import current_scope

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "EVENT",
    "KINDS",
    "Counter",
    "Gauge",
    "Histogram",
    "counter",
    "gauge",
    "histogram",
]

EVENT = "on_metric_recorded"
KINDS = ("counter", "gauge", "histogram")
_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_VALID: set[str] = set()  # names already checked: a factory makes its KPI per run
_VALID_KEPT = 4096


def _check_name(name: object) -> None:
    """Raise unless ``name`` is a valid metric name; remember it if it is."""
    if not isinstance(name, str) or _NAME.fullmatch(name) is None:
        msg = (
            f"Invalid metric name {name!r}: expected letters, digits, '_' or ':' "
            f"not starting with a digit, such as 'rows_rejected'"
        )
        raise ValueError(msg)
    if name.__class__ is str:  # a str subclass may compare as it likes
        if len(_VALID) >= _VALID_KEPT:
            _VALID.clear()
        _VALID.add(name)


class _Metric:
    """A named, labelled metric that records into the current run."""

    __slots__ = ("labels", "name")
    kind = ""

    def __init__(self, name: str, labels: Mapping[str, str] | None = None) -> None:
        if name.__class__ is not str or name not in _VALID:
            _check_name(name)
        self.name = name
        self.labels = (
            {str(key): str(value) for key, value in labels.items()} if labels else {}
        )

    def _record(self, value: float) -> None:
        if not math.isfinite(value):
            msg = f"Metric {self.name!r} got {value!r}: expected a finite number"
            raise ValueError(msg)
        scope = current_scope()
        if scope is None or scope.emit is None:
            return
        scope.emit(
            EVENT,
            run_id=scope.run_id,
            pipeline_name=scope.pipeline,
            stage_id=scope.stage,
            factory_name=scope.factory,
            attempt=scope.attempt,
            timestamp=time.time(),
            name=self.name,
            kind=self.kind,
            value=float(value),
            labels=dict(self.labels) if self.labels else {},
        )

    def __repr__(self) -> str:
        """``Counter('rows_rejected', {'reason': 'null id'})``."""
        return f"{type(self).__name__}({self.name!r}, {self.labels!r})"


class Counter(_Metric):
    """A count that only goes up (rows rejected, files skipped).

    Args:
        name: The metric's name.
        labels: Labels that tell its series apart.
    """

    __slots__ = ()
    kind = "counter"

    def inc(self, amount: float = 1.0) -> None:
        """Add ``amount`` (default 1).

        Raises:
            ValueError: ``amount`` is negative or not finite.
        """
        if amount < 0:
            msg = f"Counter {self.name!r} can only go up; got {amount!r}"
            raise ValueError(msg)
        self._record(amount)


class Gauge(_Metric):
    """A value that goes up and down (a ratio, a lag); the last one set counts.

    Args:
        name: The metric's name.
        labels: Labels that tell its series apart.
    """

    __slots__ = ()
    kind = "gauge"

    def set(self, value: float) -> None:
        """Set the value.

        Raises:
            ValueError: ``value`` is not finite.
        """
        self._record(value)


class Histogram(_Metric):
    """A distribution of observations (batch sizes, latencies).

    Args:
        name: The metric's name.
        labels: Labels that tell its series apart.
    """

    __slots__ = ()
    kind = "histogram"

    def observe(self, value: float) -> None:
        """Record one observation.

        Raises:
            ValueError: ``value`` is not finite.
        """
        self._record(value)


def counter(name: str, labels: Mapping[str, str] | None = None) -> Counter:
    """A counter of the current run (see ``Counter``)."""
    return Counter(name, labels)


def gauge(name: str, labels: Mapping[str, str] | None = None) -> Gauge:
    """A gauge of the current run (see ``Gauge``)."""
    return Gauge(name, labels)


def histogram(name: str, labels: Mapping[str, str] | None = None) -> Histogram:
    """A histogram of the current run (see ``Histogram``)."""
    return Histogram(name, labels)
