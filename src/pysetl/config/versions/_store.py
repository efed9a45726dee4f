"""``ConfigStore``: config versions and the config audit trail, on a storage.

What is stored (every value secret-masked, nothing here can leak a secret):

* a **version** per environment and content hash (``ResolvedConfig.version``):
  the resolved config as JSON with its secrets masked, and the raw source
  files of its layers (paths relative to the config root) so that a
  rollback can write them back. In those files, ``${secret:...}``
  references, ``${env:VAR}`` and ``enc:`` tokens are kept (they hold no
  secret); a *literal* secret-looking value (``password: hunter2``, the
  password of a URL, a registered secret) is masked, and the version is
  marked ``masked``: it can be diffed but not restored;
* an **audit entry** per change: who (``user@host``), when, which
  environment, what action (``record``, ``reload``, ``rollback``,
  ``encrypt``...), the hashes before and after, and the key-by-key changes
  (``diff_configs``) with secret values masked.

The rows live in a ``ConfigVersionStorage``: the run history's SQL stores
(SQLite, PostgreSQL; the tables of schema migration 4) and its in-memory
store implement it.

Usage::

    store = ConfigStore(open_history())
    resolved = load_config("conf", "prod")
    store.record_version(resolved)
    store.list_versions(env="prod").items

Added in 0.3. Changed in 0.7: moved from ``pysetl.monitoring.history``
(which still exports it); the stores are reached through
``ConfigVersionStorage``.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pysetl.config.diff import diff_configs, mask_config_value
from pysetl.config.versions._records import (
    ConfigAuditRecord,
    ConfigVersionRecord,
    ResolvedConfigLike,
    audit_record,
    default_actor,
    version_record,
)
from pysetl.config.versions._sources import read_sources
from pysetl.config.versions._storage import ConfigVersionStorage
from pysetl.errors import RunHistoryError
from pysetl.utils.paging import DEFAULT_LIMIT, Page
from pysetl.utils.redaction import redact_text, redact_value

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from pysetl.config.diff import ConfigChange

__all__ = ["ConfigAuditSubscriber", "ConfigStore"]

_HASH = re.compile(r"^[0-9a-f]{4,64}$")


class ConfigStore:
    """Config versions and the config audit trail of a storage.

    Args:
        history: Where the rows live: a ``ConfigVersionStorage``, such as
            the SQL and in-memory stores of ``pysetl.monitoring.history``.

    Raises:
        RunHistoryError: The store is of a kind that keeps no config tables.
    """

    history: ConfigVersionStorage
    """The storage the versions and the audit live in."""

    def __init__(self, history: object) -> None:
        """Wrap ``history``."""
        if not isinstance(history, ConfigVersionStorage):
            msg = f"The run history {history!r} cannot store config versions"
            raise RunHistoryError(
                msg, hint="use a SQLite, PostgreSQL or in-memory run history"
            )
        self.history = history

    def __repr__(self) -> str:
        """The class and the store."""
        return f"ConfigStore({self.history!r})"

    # ----------------------------------------------------------- versions
    def record_version(
        self, resolved: ResolvedConfigLike, *, actor: str | None = None
    ) -> str:
        """Store ``resolved`` as a version of its environment; return its hash.

        Recording the same hash for the same environment again keeps the
        first record (when, who), but restorable sources replace the stored
        ones: the same masked config, hence the same hash, can come from
        other files, e.g. after ``pysetl config encrypt --in-place`` turned a
        literal secret into an ``enc:`` value, or after a key rotation
        re-encrypted the ``enc:`` values; a rollback then writes the newest.

        A version this process recorded from files with the same contents
        is only looked up (a session records its config at each start):
        when the store still holds it, nothing is masked or written again.

        Args:
            resolved: A loaded config (``load_config(...)``).
            actor: Who records it; default: ``user@host`` of this process.

        Raises:
            ConfigError: A source file cannot be read.
            RunHistoryError: The store cannot be written.
        """
        digest = resolved.version
        seen = _files_seen(self.history, resolved)
        if seen is not None and self._stored_as_seen(seen, resolved.env or "", digest):
            return digest
        config = redact_value(resolved.as_dict(masked=True))
        sources, masked = read_sources(resolved)
        row = {
            "env": resolved.env or "",
            "hash": digest,
            "recorded_at": time.time(),
            "actor": redact_text(actor or default_actor()),
            "root": str(resolved.root),
            "sources": sources,
            "masked": masked,
        }
        content = json.dumps(config, sort_keys=True, separators=(",", ":"))
        self.history.save_config_version(row, content)
        if seen is not None:
            _remember(seen, masked=masked)
        return digest

    def _stored_as_seen(self, seen: _Seen, env: str, digest: str) -> bool:
        """Whether this process stored the version from these very files.

        The files have the same contents as then and the store still holds
        the version: recording it again would mask them to write nothing
        new. A store that lost the row, or holds masked sources where this
        process read restorable ones, is written again.
        """
        with _SEEN_LOCK:
            masked = _SEEN.get(seen)
        if masked is None:
            return False
        rows = self.history.find_config_versions(digest, env)
        row = next((r for r in rows if r["hash"] == digest), None)
        return row is not None and (masked or not row["masked"])

    def record_change(
        self,
        resolved: ResolvedConfigLike,
        *,
        action: str = "record",
        actor: str | None = None,
    ) -> str:
        """Record ``resolved`` as a version; audit it when its environment changed.

        The change is audited from the environment's latest version (if any
        and if another) to ``resolved`` (what ``pysetl config record`` does).

        Args:
            resolved: A loaded config.
            action: The audit action.
            actor: Who; default: ``user@host`` of this process.

        Returns:
            The version's hash.
        """
        name = resolved.env or ""
        latest = self.list_versions(env=name, limit=1).items
        digest = self.record_version(resolved, actor=actor)
        if latest and latest[0].hash != digest:
            self.record_audit(
                name,
                action,
                old_hash=latest[0].hash,
                new_hash=digest,
                changes=diff_configs(latest[0].config, resolved.as_dict(masked=True)),
                actor=actor,
            )
        return digest

    def get_version(self, ref: str, *, env: str | None = None) -> ConfigVersionRecord:
        """The version whose hash is ``ref`` or starts with it (at least 4 hex digits).

        Args:
            ref: A hash or a unique prefix of one.
            env: Only versions recorded for this environment; when ``None``
                and the hash was recorded for several, the latest record.

        Raises:
            RunHistoryError: No such version, or the prefix is ambiguous.
        """
        prefix = ref.strip().lower()
        if not _HASH.match(prefix):
            msg = f"{ref!r} is not a config version (a hash or a prefix of one)"
            raise RunHistoryError(
                msg,
                hint="give 4 or more hex digits; see 'pysetl config history'",
            )
        rows = self.history.find_config_versions(prefix, env)
        hashes = sorted({r["hash"] for r in rows})
        where = f" for the environment {env!r}" if env is not None else ""
        if not hashes:
            msg = (
                f"No config version {ref!r}{where} in the run history "
                f"{self.history.url!r}"
            )
            raise RunHistoryError(msg, hint="list them with 'pysetl config history'")
        if len(hashes) > 1:
            shown = ", ".join(h[:12] for h in hashes[:5])
            msg = f"The config version {ref!r} is ambiguous{where}: {shown}"
            raise RunHistoryError(msg, hint="give more digits of the hash")
        latest = max(rows, key=lambda r: r["id"])
        return self._version(latest)

    def _version(self, row: Mapping[str, Any]) -> ConfigVersionRecord:
        return version_record(row, self.history.config_version_content(row["hash"]))

    def list_versions(
        self,
        *,
        env: str | None = None,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> Page[ConfigVersionRecord]:
        """Recorded versions, newest first, optionally of one environment."""
        page = self.history.list_config_versions(env=env, limit=limit, cursor=cursor)
        return Page(tuple(self._version(r) for r in page.items), page.next_cursor)

    # -------------------------------------------------------------- audit
    def record_audit(
        self,
        env: str,
        action: str,
        *,
        old_hash: str | None = None,
        new_hash: str | None = None,
        changes: Sequence[ConfigChange] = (),
        actor: str | None = None,
        note: str | None = None,
    ) -> ConfigAuditRecord:
        """Record one change of ``env``'s config; return the entry.

        Args:
            env: The environment changed.
            action: What changed it (``rollback``, ``reload``, ``encrypt``...).
            old_hash: The version before, when known.
            new_hash: The version after, when known.
            changes: The key-by-key changes (masked again here).
            actor: Who; default: ``user@host`` of this process.
            note: A free text (masked).
        """
        row: dict[str, Any] = {
            "ts": time.time(),
            "env": env,
            "action": action,
            "old_hash": old_hash,
            "new_hash": new_hash,
            "actor": redact_text(actor or default_actor()),
            "changes": [
                {
                    "key": c.key,
                    "kind": c.kind,
                    "old": mask_config_value(c.key, c.old),
                    "new": mask_config_value(c.key, c.new),
                }
                for c in changes
            ],
            "note": redact_text(note) if note else None,
        }
        row["id"] = self.history.add_config_audit(row)
        return audit_record(row)

    def list_audit(
        self,
        *,
        env: str | None = None,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> Page[ConfigAuditRecord]:
        """Audit entries, newest first, optionally of one environment."""
        page = self.history.list_config_audit(env=env, limit=limit, cursor=cursor)
        return Page(tuple(audit_record(r) for r in page.items), page.next_cursor)


class ConfigAuditSubscriber:
    """Records each reload of a ``ConfigWatcher`` as a version and an audit entry.

    Subscribe it: ``ConfigWatcher(root, env, on_change=ConfigAuditSubscriber(store))``.
    A reload that changes nothing (same hash) is not audited.

    Args:
        store: Where to record.
        actor: Who is recorded; default: ``user@host`` of this process.
        action: The audit action of a reload.
    """

    def __init__(
        self, store: ConfigStore, *, actor: str | None = None, action: str = "reload"
    ) -> None:
        """Keep the store."""
        self.store = store
        self.actor = actor
        self.action = action

    def __call__(self, old: ResolvedConfigLike, new: ResolvedConfigLike) -> None:
        """Record ``new`` and the changes from ``old``."""
        if old.version == new.version:
            return
        self.store.record_version(new, actor=self.actor)
        self.store.record_audit(
            new.env or "",
            self.action,
            old_hash=old.version,
            new_hash=new.version,
            changes=diff_configs(old.as_dict(masked=True), new.as_dict(masked=True)),
            actor=self.actor,
            note="detected on reload",
        )


# Versions this process recorded, by store, environment, hash and the
# files' paths and contents: a session records its config at every start,
# and a process often starts many on the same files.
_Seen = tuple[object, ...]
_SEEN: dict[_Seen, bool] = {}  # whether the sources read were masked
_SEEN_LOCK = threading.Lock()
_SEEN_KEPT = 64


def _files_seen(history: object, resolved: ResolvedConfigLike) -> _Seen | None:
    """The key of a recording (``None``: a file cannot be looked at)."""
    where = getattr(history, "url", None)
    files = []
    for _layer, path in resolved.files:
        try:
            text = Path(path).read_bytes()
        except OSError:
            return None  # recorded in full, which names the file
        files.append((str(path), hashlib.blake2b(text, digest_size=16).digest()))
    return (
        type(history).__qualname__,
        where if isinstance(where, str) else id(history),
        resolved.env or "",
        resolved.version,
        tuple(files),
    )


def _remember(seen: _Seen, *, masked: bool) -> None:
    with _SEEN_LOCK:
        _SEEN.pop(seen, None)
        _SEEN[seen] = masked
        if len(_SEEN) > _SEEN_KEPT:
            del _SEEN[next(iter(_SEEN))]
