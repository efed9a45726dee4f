"""``rollback_config()``: restore an environment's files from a stored version.

Added in 0.3. Changed in 0.7: moved from ``pysetl.monitoring.history``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pysetl.config.diff import ConfigChange, diff_configs
from pysetl.config.layers import environments
from pysetl.config.versions._sources import RestoredFiles, restore_sources
from pysetl.errors import ConfigError

if TYPE_CHECKING:
    import os
    from collections.abc import Callable

    from pysetl.config.versions._records import (
        ConfigAuditRecord,
        ConfigVersionRecord,
        ResolvedConfigLike,
    )
    from pysetl.config.versions._store import ConfigStore

__all__ = ["RollbackResult", "rollback_config"]


@dataclass(frozen=True, slots=True)
class RollbackResult:
    """What a rollback did.

    Attributes:
        target: The version rolled back to.
        old_hash: The version before (``None`` if the files did not load).
        new_hash: The version the restored files load to.
        files: What was written and removed.
        changes: The changes from before to after (masked).
        audit: The audit entry recorded.
    """

    target: ConfigVersionRecord
    old_hash: str | None
    new_hash: str
    files: RestoredFiles
    changes: tuple[ConfigChange, ...]
    audit: ConfigAuditRecord

    @property
    def exact(self) -> bool:
        """Whether the restored files load to the target version exactly."""
        return self.new_hash == self.target.hash


def rollback_config(
    store: ConfigStore,
    ref: str,
    *,
    root: str | os.PathLike[str],
    env: str,
    load: Callable[[], ResolvedConfigLike],
    with_base: bool = False,
    actor: str | None = None,
    confirm: Callable[[ConfigVersionRecord], None] | None = None,
) -> RollbackResult:
    """Restore ``env``'s layer files as they were in version ``ref``; audit it.

    The version must have been recorded for ``env``; the config as it was
    before the rollback is recorded too. Only the ``env`` layer
    (``conf/<env>/``) is written, unless ``with_base`` (then ``conf/base/``
    too, which changes every environment: each other environment gets a
    ``rollback-base`` audit entry when base changed). The restored files are loaded
    (``load``), recorded as a version, and the rollback is audited. When the
    base layer or the environment variables changed since, the restored
    config can differ from the target: ``RollbackResult.exact`` says so.

    Args:
        store: The config store.
        ref: The version's hash or a unique prefix.
        root: The config root.
        env: The environment to roll back.
        load: Loads the config of ``env`` from ``root`` (``load_config``).
        with_base: Restore the base layer too.
        actor: Who; default ``user@host``.
        confirm: Called with the target version before anything changes
            (ask the user there; raise to stop).

    Raises:
        RunHistoryError: No such version for ``env``.
        ConfigError: The version's files had literal secrets (masked), or
            the restored files do not load.

    Changed in 0.7: ``confirm``.
    """
    target = store.get_version(ref, env=env)
    if confirm is not None:
        confirm(target)
    try:
        before: ResolvedConfigLike | None = load()
    except ConfigError:  # rolling back a broken config is the point
        before = None
    if before is not None:  # kept, so that one can roll forward again
        store.record_version(before, actor=actor)
    layers = ("base", env) if with_base else (env,)
    files = restore_sources(target.sources, root, layers, label=target.short)
    try:
        after = load()
    except ConfigError:  # the files were written: that change is audited too
        store.record_audit(
            env,
            "rollback",
            old_hash=before.version if before else None,
            new_hash=None,
            changes=(),
            actor=actor,
            note=f"rollback to {target.short}: the restored files do not load",
        )
        raise
    store.record_version(after, actor=actor)
    changes = tuple(
        diff_configs(before.as_dict(masked=True) if before else {}, after.as_dict())
    )
    if any(rel.startswith("base/") for rel in files.written + files.removed):
        _audit_base_change(store, root, env, target.short, actor)
    entry = store.record_audit(
        env,
        "rollback",
        old_hash=before.version if before else None,
        new_hash=after.version,
        changes=changes,
        actor=actor,
        note=f"rollback to {target.short}",
    )
    return RollbackResult(
        target, before.version if before else None, after.version, files, changes, entry
    )


def _audit_base_change(
    store: ConfigStore,
    root: str | os.PathLike[str],
    env: str,
    short: str,
    actor: str | None,
) -> None:
    """One entry per other environment: ``conf/base`` changed under it too."""
    others = [name for name in environments(root) if name != env]
    for other in others:
        store.record_audit(
            other,
            "rollback-base",
            old_hash=None,
            new_hash=None,
            changes=(),
            actor=actor,
            note=f"conf/base restored to {short} by the rollback of {env!r}",
        )
