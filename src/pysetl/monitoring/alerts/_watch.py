"""What ``pysetl alerts check|watch`` do: evaluate absence rules when no pipeline runs.

``alert_engine(config)`` builds an engine from a loaded config (its
``alerts:`` section, its run history); ``watch`` calls ``engine.check()``
every ``interval`` seconds (the absence rules fire when a pipeline has not
succeeded in time, and resolve once it has). Time and sleep are injectable.

Added in 0.5.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from pysetl.errors import ConfigError
from pysetl.monitoring.alerts._config import AlertsSection
from pysetl.monitoring.alerts._engine import AlertEngine

if TYPE_CHECKING:
    from collections.abc import Callable

    from pysetl.monitoring.alerts._engine import Outcome
    from pysetl.monitoring.history import BaseRunHistory

__all__ = ["ALERTS_KEY", "alert_engine", "alerts_section", "watch"]

ALERTS_KEY = "alerts"


def alerts_section(config: Any) -> AlertsSection:
    """The validated ``alerts:`` section of ``config`` (a ``ResolvedConfig``).

    Raises:
        ConfigError: The config has no ``alerts:`` section.
        ConfigLoadError: The section is invalid (file, line and key).
    """
    if config.get(ALERTS_KEY) is None:
        msg = f"The config {str(config.root)!r} has no 'alerts:' section"
        raise ConfigError(msg, hint="add one; see docs/alerting.md")
    section: AlertsSection = config.section(ALERTS_KEY, AlertsSection)
    return section


def alert_engine(
    config: Any,
    history: BaseRunHistory,
    *,
    clock: Callable[[], float] = time.time,
) -> AlertEngine:
    """An ``AlertEngine`` over ``history`` from the ``alerts:`` of ``config``."""
    return AlertEngine(alerts_section(config), history, clock=clock)


def watch(
    engine: AlertEngine,
    *,
    interval: float = 60.0,
    times: int = 0,
    sleep: Callable[[float], object] = time.sleep,
    on_check: Callable[[Outcome], object] = lambda _outcome: None,
) -> int:
    """Check every ``interval`` seconds, ``times`` times (0: until interrupted).

    Returns:
        How many checks ran.
    """
    done = 0
    while True:
        on_check(engine.check())
        done += 1
        if times and done >= times:
            return done
        sleep(interval)
