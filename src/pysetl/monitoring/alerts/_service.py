"""What ``pysetl alerts`` and ``pysetl ui --alerts`` call: history, alert, silences.

* ``open_alert_history``: the history alerts are kept in: the URL given,
  else the config's ``monitoring.history``, else the project's;
* ``project_alerts``: the engine of a project's ``alerts:`` config over
  that history (``pysetl alerts test|check|watch``);
* ``alert_timeline``: an alert and what happened to it, oldest first;
* ``silence``: hold the notifications of a rule and/or a pipeline;
* ``AlertWatcher``: checks the absence rules every ``interval`` seconds on
  a thread of its own, with its own writable handle on the history (what
  the dashboard runs beside its read-only one).

Added in 0.7 (the logic of ``pysetl.cli.alerts_cmd`` and ``ui_cmd``).
"""

from __future__ import annotations

import contextlib
import getpass
import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pysetl.monitoring.alerts._watch import alert_engine

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path

    from pysetl.monitoring.alerts._engine import AlertEngine
    from pysetl.monitoring.history import BaseRunHistory
    from pysetl.monitoring.history.alert_store import (
        AlertEventRecord,
        AlertRecord,
        SilenceRecord,
    )

__all__ = [
    "AlertTimeline",
    "AlertWatcher",
    "alert_timeline",
    "open_alert_history",
    "project_alerts",
    "silence",
]

_LOGGER = logging.getLogger(__name__)


def open_alert_history(
    history_url: str | None = None, config: Any = None
) -> BaseRunHistory:
    """The run history alerts live in (the caller closes it).

    Args:
        history_url: Its URL, if given (``--history``).
        config: A loaded config (``ResolvedConfig``); its
            ``monitoring.history`` is used when no URL is given.

    The default is what a run uses (``PYSETL_HISTORY_URL``, else the
    project's ``.pysetl/history.db``).
    """
    from pysetl.monitoring.history import open_history  # noqa: PLC0415 - lazy

    url = history_url
    if url is None and config is not None:
        url = (config.get("monitoring") or {}).get("history")
    return open_history(url)


@contextlib.contextmanager
def project_alerts(
    root: str | Path, env: str | None = None, *, history_url: str | None = None
) -> Iterator[AlertEngine]:
    """The engine of the ``alerts:`` of the config at ``root``, for ``env``.

    Its history is ``open_alert_history(history_url, config)``, closed when
    the block ends.

    Raises:
        ConfigError: The config does not load, has no ``alerts:`` section,
            or a bad one.
    """
    from pysetl.config import load_config  # noqa: PLC0415 - lazy

    config = load_config(root, env)  # env None: PYSETL_ENV, through the settings
    history = open_alert_history(history_url, config)
    try:
        yield alert_engine(config, history)
    finally:
        history.close()


@dataclass(frozen=True, slots=True)
class AlertTimeline:
    """One alert and what happened to it.

    Attributes:
        alert: The alert.
        events: Fired, notified, failed deliveries, resolved: oldest first.
    """

    alert: AlertRecord
    events: Sequence[AlertEventRecord]


def alert_timeline(
    history: BaseRunHistory, alert_id: int, *, limit: int = 50
) -> AlertTimeline:
    """The alert ``alert_id`` with its latest ``limit`` events, oldest first.

    Raises:
        RunHistoryError: No such alert.
    """
    from pysetl.monitoring.history.alert_store import AlertStore  # noqa: PLC0415

    store = AlertStore(history)
    alert = store.get(alert_id)
    events = store.list_events(alert_id=alert_id, limit=limit).items
    return AlertTimeline(alert, tuple(reversed(events)))


def silence(
    history: BaseRunHistory,
    *,
    seconds: float,
    rule: str | None = None,
    pipeline: str | None = None,
    comment: str | None = None,
    now: float | None = None,
    author: str | None = None,
) -> SilenceRecord:
    """Hold the notifications of ``rule`` and/or ``pipeline`` for ``seconds``.

    Args:
        history: The run history.
        seconds: How long, from ``now``.
        rule: The rule to silence.
        pipeline: The pipeline whose alerts to silence.
        comment: Why.
        now: When it starts (default: now).
        author: Who (default: the user running this).
    """
    from pysetl.monitoring.history.alert_store import AlertStore  # noqa: PLC0415

    now = time.time() if now is None else now
    return AlertStore(history).add_silence(
        created_at=now,
        ends_at=now + seconds,
        rule=rule,
        pipeline=pipeline,
        author=getpass.getuser() if author is None else author,
        comment=comment,
    )


class AlertWatcher:
    """Checks the absence rules every ``interval`` s on a thread of its own.

    The config and the engine are built when it is made (``open``), so a bad
    ``alerts:`` section fails before anything else starts; checking starts
    with ``start``. A failing check is logged and the next one comes as
    planned: whatever runs beside it keeps running.
    """

    def __init__(
        self, engine: Any, history: BaseRunHistory, *, interval: float
    ) -> None:
        """Check with ``engine``; ``history`` is closed by ``close``."""
        self.engine = engine
        self.history = history
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, name="pysetl-ui-alerts", daemon=True
        )

    @classmethod
    def open(
        cls,
        root: str | Path,
        env: str | None = None,
        *,
        history_url: str | None = None,
        interval: float = 60.0,
    ) -> AlertWatcher:
        """A watcher of the ``alerts:`` of the config at ``root`` for ``env``.

        The history (``history_url``, else what a run uses) is opened
        writable: alerts are written.

        Raises:
            ConfigError: The config has no ``alerts:`` section, or a bad one.
        """
        from pysetl.config import load_config  # noqa: PLC0415 - lazy
        from pysetl.monitoring.history import open_history  # noqa: PLC0415 - lazy

        config = load_config(root, env)
        history = open_history(history_url, create=True)
        try:
            engine = alert_engine(config, history)
        except BaseException:
            history.close()
            raise
        return cls(engine, history, interval=interval)

    def start(self) -> None:
        """Start checking (now, then every ``interval`` seconds)."""
        self._thread.start()

    def _loop(self) -> None:
        while True:
            try:
                outcome: Any = self.engine.check()
                for alert in outcome.fired:
                    _LOGGER.warning("alert fired: %s", alert.summary)
            except Exception:
                _LOGGER.exception("pysetl ui: checking the absence rules failed")
            if self._stop.wait(self.interval):
                return

    def close(self) -> None:
        """Stop checking and close the history handle."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.interval + 5)
        self.history.close()
