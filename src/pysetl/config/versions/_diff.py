"""``diff_versions()``: what changed from one config version to another, or to now.

Added in 0.7 (the logic was in ``pysetl config diff``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pysetl.config.diff import ConfigChange, diff_configs

if TYPE_CHECKING:
    from collections.abc import Callable

    from pysetl.config.versions._records import (
        ConfigVersionRecord,
        ResolvedConfigLike,
    )
    from pysetl.config.versions._store import ConfigStore

__all__ = ["VersionDiff", "diff_versions"]


@dataclass(frozen=True, slots=True)
class VersionDiff:
    """The changes from a version to another one or to the current files.

    Attributes:
        old: The version compared from.
        new_name: The short hash of the other version, or ``current files``.
        changes: The key-by-key changes (secret values masked).
    """

    old: ConfigVersionRecord
    new_name: str
    changes: tuple[ConfigChange, ...]


def diff_versions(
    store: ConfigStore,
    a: str,
    b: str | None = None,
    *,
    current: Callable[[str | None], ResolvedConfigLike],
) -> VersionDiff:
    """What changed from version ``a`` to version ``b`` (or to the current files).

    A hash is the same config in every environment, so the versions are
    looked up in any environment.

    Args:
        store: The config store.
        a: A version (hash or unique prefix).
        b: Another version; ``None``: the current files.
        current: Loads the current config; it is given the environment
            ``a`` was recorded for (``None`` for base).

    Raises:
        RunHistoryError: No such version, or an ambiguous prefix.
        ConfigError: The current files do not load.
    """
    old = store.get_version(a)
    if b is None:
        resolved = current(old.env or None)
        new_name, new_config = "current files", resolved.as_dict(masked=True)
    else:
        other = store.get_version(b)
        new_name, new_config = other.short, other.config
    return VersionDiff(old, new_name, tuple(diff_configs(old.config, new_config)))
