"""Config versions in the run history: ``recorder_for_config`` and re-exports.

The config versions themselves (``ConfigStore``, records, masking of source
files, rollback) belong to ``pysetl.config.versions``; the SQL and
in-memory stores of this package keep their rows (they implement
``ConfigVersionStorage``). What stays here binds them to runs:
``recorder_for_config`` makes a ``HistoryRecorder`` whose runs record the
config version they use.

Usage::

    store = ConfigStore(open_history())
    resolved = load_config("conf", "prod")
    recorder = recorder_for_config(store.history, resolved)  # runs record it
    store.list_versions(env="prod").items

Added in 0.3. Changed in 0.7: the config versions moved to
``pysetl.config.versions``; their names are still exported here.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from pysetl.config.versions import (
    ConfigAuditRecord,
    ConfigAuditSubscriber,
    ConfigStore,
    ConfigVersionRecord,
    ResolvedConfigLike,
    RestoredFiles,
    RollbackResult,
    default_actor,
    mask_source,
    restore_sources,
    rollback_config,
)
from pysetl.monitoring.history._recorder import HistoryRecorder

if TYPE_CHECKING:
    from pysetl.monitoring.history._base import BaseRunHistory

__all__ = [
    "ConfigAuditRecord",
    "ConfigAuditSubscriber",
    "ConfigStore",
    "ConfigVersionRecord",
    "ResolvedConfigLike",
    "RestoredFiles",
    "RollbackResult",
    "default_actor",
    "mask_source",
    "recorder_for_config",
    "restore_sources",
    "rollback_config",
]


def recorder_for_config(
    history: BaseRunHistory,
    resolved: ResolvedConfigLike,
    *,
    actor: str | None = None,
    background: bool = False,
    **options: Any,
) -> HistoryRecorder:
    """A ``HistoryRecorder`` whose runs record the version of ``resolved``.

    The version is stored first (``ConfigStore.record_version``), so every
    run row's ``config_version`` names a version ``pysetl config history``
    and ``diff`` can show.

    Args:
        history: The run history.
        resolved: The loaded config the runs use.
        actor: Who records the version; default ``user@host``.
        background: Store the version on the recorder's writer thread, ahead
            of everything the recorder queues (a ``Session`` starts without
            waiting for it); a failure is then logged and counted by the
            writer, and the runs are recorded all the same.
        **options: More ``HistoryRecorder`` options (``heartbeat_interval``...).

    Changed in 0.4: ``background``.
    """
    if not background:
        digest = ConfigStore(history).record_version(resolved, actor=actor)
        return HistoryRecorder(history, config_version=digest, **options)
    recorder = HistoryRecorder(history, config_version=resolved.version, **options)
    store = ConfigStore(history)
    recorder.writer.call(
        functools.partial(store.record_version, resolved, actor=actor),
        key="pysetl-config-version",
    )
    return recorder
