"""Config versions: record, diff, audit and roll back a project's config files."""

from __future__ import annotations

from pysetl.config.versions._diff import VersionDiff, diff_versions
from pysetl.config.versions._records import (
    ConfigAuditRecord,
    ConfigVersionRecord,
    ResolvedConfigLike,
    default_actor,
)
from pysetl.config.versions._rollback import RollbackResult, rollback_config
from pysetl.config.versions._sources import (
    RestoredFiles,
    literal_secrets,
    mask_source,
    read_sources,
    restore_sources,
)
from pysetl.config.versions._storage import ConfigVersionStorage
from pysetl.config.versions._store import ConfigAuditSubscriber, ConfigStore

__all__ = [
    "ConfigAuditRecord",
    "ConfigAuditSubscriber",
    "ConfigStore",
    "ConfigVersionRecord",
    "ConfigVersionStorage",
    "ResolvedConfigLike",
    "RestoredFiles",
    "RollbackResult",
    "VersionDiff",
    "default_actor",
    "diff_versions",
    "literal_secrets",
    "mask_source",
    "read_sources",
    "restore_sources",
    "rollback_config",
]
