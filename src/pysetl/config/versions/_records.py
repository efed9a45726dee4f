"""Records of the config versions: a stored version, an audit entry; who is acting.

Added in 0.3. Changed in 0.7: moved from ``pysetl.monitoring.history``.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from pysetl.config.diff import ConfigChange

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from pathlib import Path

__all__ = [
    "ConfigAuditRecord",
    "ConfigVersionRecord",
    "ResolvedConfigLike",
    "audit_record",
    "default_actor",
    "version_record",
]


class ResolvedConfigLike(Protocol):
    """What the versions read of a ``pysetl.config.profiles.ResolvedConfig``."""

    @property
    def env(self) -> str | None:
        """The environment the config was resolved for."""

    @property
    def root(self) -> Path:
        """The config root folder (``conf``)."""

    @property
    def files(self) -> Sequence[tuple[str, Path]]:
        """The source files, ``(layer, path)`` in load order."""

    @property
    def version(self) -> str:
        """The content hash of the masked resolved config."""

    def as_dict(self, *, masked: bool = True) -> dict[str, Any]:
        """The resolved config as JSON-able data."""

    def items(self) -> Iterable[tuple[str, Any]]:
        """The top-level keys and their (unmasked, lazy) values."""


def default_actor() -> str:
    """Who is acting: ``user@host`` of this process."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name (some containers)
        user = f"uid{os.getuid()}" if hasattr(os, "getuid") else "unknown"
    return f"{user}@{socket.gethostname()}"


@dataclass(frozen=True, slots=True)
class ConfigVersionRecord:
    """One config version as recorded for one environment.

    Attributes:
        hash: The content hash (``ResolvedConfig.version``).
        env: The environment it was recorded for.
        recorded_at: When it was first recorded for ``env``.
        actor: Who recorded it (``user@host``).
        root: The config root it was loaded from.
        config: The resolved config, secrets masked.
        sources: The layer files, ``{path relative to the root: text}``,
            literal secrets masked.
        masked: Whether a literal secret was masked in ``sources`` (then the
            files cannot be restored as they were).
    """

    hash: str
    env: str
    recorded_at: float
    actor: str | None
    root: str | None
    config: dict[str, Any]
    sources: dict[str, str] = field(default_factory=dict)
    masked: bool = False

    @property
    def short(self) -> str:
        """The first 12 characters of the hash."""
        return self.hash[:12]

    @property
    def restorable(self) -> bool:
        """Whether a rollback can write these sources back."""
        return not self.masked


@dataclass(frozen=True, slots=True)
class ConfigAuditRecord:
    """One change of a config: who, when, what.

    Attributes:
        id: The entry's id (increasing).
        ts: When it happened.
        env: The environment changed.
        action: ``record``, ``reload``, ``rollback``, ``encrypt``...
        old_hash: The version before, when known.
        new_hash: The version after, when known.
        actor: Who did it (``user@host``).
        changes: The key-by-key changes, secret values masked.
        note: A free text, masked.
    """

    id: int
    ts: float
    env: str
    action: str
    old_hash: str | None
    new_hash: str | None
    actor: str | None
    changes: tuple[ConfigChange, ...]
    note: str | None = None


def audit_record(row: Mapping[str, Any]) -> ConfigAuditRecord:
    """The audit entry of a stored row."""
    return ConfigAuditRecord(
        id=int(row["id"]),
        ts=float(row["ts"]),
        env=row["env"],
        action=row["action"],
        old_hash=row["old_hash"],
        new_hash=row["new_hash"],
        actor=row["actor"],
        changes=tuple(ConfigChange.from_dict(c) for c in row["changes"] or ()),
        note=row["note"],
    )


def version_record(row: Mapping[str, Any], content: str | None) -> ConfigVersionRecord:
    """The version of a stored row, with ``content`` (the masked config as JSON)."""
    return ConfigVersionRecord(
        hash=row["hash"],
        env=row["env"],
        recorded_at=float(row["recorded_at"]),
        actor=row["actor"],
        root=row["root"],
        config=json.loads(content) if content else {},
        sources=dict(row["sources"] or {}),
        masked=bool(row["masked"]),
    )
