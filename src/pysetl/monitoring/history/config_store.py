"""``ConfigStore``: config versions, rollback and the config audit in the run history.

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

It works on every store: the SQL stores (SQLite, PostgreSQL) through their
engine and the tables of schema migration 4, the in-memory store in memory.

Usage::

    store = ConfigStore(open_history())
    resolved = load_config("conf", "prod")
    recorder = recorder_for_config(store.history, resolved)  # runs record it
    store.list_versions(env="prod").items

Added in 0.3.
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa

from pysetl.config.diff import ConfigChange, diff_configs, mask_config_value
from pysetl.errors import RunHistoryError
from pysetl.monitoring.history import _schema as s
from pysetl.monitoring.history._base import DEFAULT_LIMIT
from pysetl.monitoring.history._checks import check_cursor, check_limit
from pysetl.monitoring.history._config_files import (
    RestoredFiles,
    mask_source,
    read_sources,
    restore_sources,
)
from pysetl.monitoring.history._config_records import (
    ConfigAuditRecord,
    ConfigVersionRecord,
    ResolvedConfigLike,
    audit_record,
    default_actor,
)
from pysetl.monitoring.history._config_rollback import RollbackResult, rollback_config
from pysetl.monitoring.history._memory import InMemoryRunHistory
from pysetl.monitoring.history._recorder import HistoryRecorder
from pysetl.monitoring.history._records import Page
from pysetl.monitoring.history._sql import SqlRunHistory
from pysetl.utils.redaction import redact_text, redact_value

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence

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

_HASH = re.compile(r"^[0-9a-f]{4,64}$")


# ------------------------------------------------------------ memory tables
@dataclass
class _MemoryTables:
    """The config tables of one in-memory store."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    versions: list[dict[str, Any]] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)


_MEMORY: weakref.WeakKeyDictionary[InMemoryRunHistory, _MemoryTables] = (
    weakref.WeakKeyDictionary()
)
_MEMORY_LOCK = threading.Lock()


def _memory_tables(history: InMemoryRunHistory) -> _MemoryTables:
    with _MEMORY_LOCK:
        tables = _MEMORY.get(history)
        if tables is None:
            tables = _MEMORY[history] = _MemoryTables()
        return tables


def _page(
    rows: list[dict[str, Any]], limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (str(rows[-1]["id"]) if more else None)


# -------------------------------------------------------------------- store
class ConfigStore:
    """Config versions and the config audit trail of a run history.

    Args:
        history: The run history (any store of ``pysetl.monitoring.history``).

    Raises:
        RunHistoryError: The store is of a kind that keeps no config tables.
    """

    def __init__(self, history: BaseRunHistory) -> None:
        """Wrap ``history``."""
        if not isinstance(history, SqlRunHistory | InMemoryRunHistory):
            msg = f"The run history {history!r} cannot store config versions"
            raise RunHistoryError(
                msg, hint="use a SQLite, PostgreSQL or in-memory run history"
            )
        self.history = history

    def __repr__(self) -> str:
        """The class and the store."""
        return f"ConfigStore({self.history!r})"

    # ---------------------------------------------------------- plumbing
    def _sql(self) -> SqlRunHistory | None:
        return self.history if isinstance(self.history, SqlRunHistory) else None

    def _engine(self) -> sa.Engine:
        sql = self._sql()
        assert sql is not None  # noqa: S101 - only called on SQL stores
        return sql.engine

    def _memory(self) -> _MemoryTables:
        assert isinstance(self.history, InMemoryRunHistory)  # noqa: S101 - narrowing
        return _memory_tables(self.history)

    def _run(self, action: str, function: Callable[..., Any], *args: Any) -> Any:
        # The store's own wrapper: migrates a lazy store first and turns the
        # backend's errors into RunHistoryError.
        return self.history._call(action, function, *args)  # noqa: SLF001 - same package

    @contextlib.contextmanager
    def _write(self, sql: SqlRunHistory) -> Iterator[sa.Connection]:
        # The store's write transaction (BEGIN IMMEDIATE on SQLite).
        with sql._begin_write() as conn:  # noqa: SLF001 - same package
            yield conn

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

        Args:
            resolved: A loaded config (``load_config(...)``).
            actor: Who records it; default: ``user@host`` of this process.

        Raises:
            ConfigError: A source file cannot be read.
            RunHistoryError: The store cannot be written.
        """
        digest = resolved.version
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
        sql = self._sql()
        if sql is None:
            self._record_memory(row, content)
        else:
            self._run("write to", self._record_sql, sql, row, content)
        return digest

    def _record_memory(self, row: dict[str, Any], content: str) -> None:
        assert isinstance(self.history, InMemoryRunHistory)  # noqa: S101 - narrowing
        tables = self._memory()
        with tables.lock:
            self.history.config_versions.setdefault(row["hash"], content)
            for version in tables.versions:
                if version["env"] == row["env"] and version["hash"] == row["hash"]:
                    if not row["masked"]:
                        version.update(sources=row["sources"], masked=False)
                    return
            tables.versions.append({**row, "id": len(tables.versions) + 1})

    def _record_sql(
        self, sql: SqlRunHistory, row: dict[str, Any], content: str
    ) -> None:
        versions, envs = s.CONFIG_VERSIONS, s.CONFIG_ENV_VERSIONS
        with self._write(sql) as conn:
            if (
                conn.execute(
                    sa.select(versions.c.hash).where(versions.c.hash == row["hash"])
                ).first()
                is None
            ):
                conn.execute(
                    versions.insert().values(
                        hash=row["hash"], content=content, created_at=row["recorded_at"]
                    )
                )
            found = conn.execute(
                sa.select(envs.c.id).where(
                    envs.c.env == row["env"], envs.c.hash == row["hash"]
                )
            ).first()
            if found is None:
                conn.execute(envs.insert().values(**row))
            elif not row["masked"]:
                conn.execute(
                    envs.update()
                    .where(envs.c.id == found.id)
                    .values(sources=row["sources"], masked=False)
                )

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
        sql = self._sql()
        if sql is None:
            tables = self._memory()
            with tables.lock:
                rows = [
                    v
                    for v in tables.versions
                    if v["hash"].startswith(prefix) and (env is None or v["env"] == env)
                ]
        else:
            rows = self._run("read from", self._find_sql_rows, prefix, env)
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
        content = self._content(row["hash"])
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

    def _content(self, digest: str) -> str | None:
        if isinstance(self.history, InMemoryRunHistory):
            return self.history.config_versions.get(digest)
        table = s.CONFIG_VERSIONS

        def read() -> str | None:
            with self._engine().connect() as conn:
                return conn.execute(
                    sa.select(table.c.content).where(table.c.hash == digest)
                ).scalar()

        result: str | None = self._run("read from", read)
        return result

    def list_versions(
        self,
        *,
        env: str | None = None,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> Page[ConfigVersionRecord]:
        """Recorded versions, newest first, optionally of one environment."""
        rows, next_cursor = self._newest_first(
            s.CONFIG_ENV_VERSIONS, "versions", env, limit, cursor
        )
        return Page(tuple(self._version(r) for r in rows), next_cursor)

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
        sql = self._sql()
        if sql is None:
            tables = self._memory()
            with tables.lock:
                row["id"] = len(tables.audit) + 1
                tables.audit.append(row)
        else:
            row["id"] = self._run("write to", self._audit_sql, sql, row)
        return audit_record(row)

    def _audit_sql(self, sql: SqlRunHistory, row: dict[str, Any]) -> int:
        with self._write(sql) as conn:
            result = conn.execute(s.CONFIG_AUDIT.insert().values(**row))
            key = result.inserted_primary_key
            return int(key[0]) if key is not None else 0

    def list_audit(
        self,
        *,
        env: str | None = None,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> Page[ConfigAuditRecord]:
        """Audit entries, newest first, optionally of one environment."""
        rows, next_cursor = self._newest_first(
            s.CONFIG_AUDIT, "audit", env, limit, cursor
        )
        return Page(tuple(audit_record(r) for r in rows), next_cursor)

    # ---------------------------------------------------------- SQL reads
    def _newest_first(
        self,
        table: sa.Table,
        memory: Literal["versions", "audit"],
        env: str | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of ``table`` (or its in-memory list), newest first."""
        limit, after = check_limit(limit), check_cursor(cursor)
        if self._sql() is None:
            tables = self._memory()
            with tables.lock:
                rows = [
                    row
                    for row in reversed(getattr(tables, memory))
                    if (env is None or row["env"] == env)
                    and (after is None or row["id"] < after)
                ][: limit + 1]
        else:
            rows = self._run("read from", self._list_sql, table, env, limit, after)
        return _page(rows, limit)

    def _list_sql(
        self, table: sa.Table, env: str | None, limit: int, after: int | None
    ) -> list[dict[str, Any]]:
        query = sa.select(table).order_by(table.c.id.desc()).limit(limit + 1)
        if env is not None:
            query = query.where(table.c.env == env)
        if after is not None:
            query = query.where(table.c.id < after)
        with self._engine().connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]  # noqa: SLF001

    def _find_sql_rows(self, prefix: str, env: str | None) -> list[dict[str, Any]]:
        table = s.CONFIG_ENV_VERSIONS
        query = sa.select(table).where(table.c.hash.startswith(prefix, autoescape=True))
        if env is not None:
            query = query.where(table.c.env == env)
        with self._engine().connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query.limit(50))]  # noqa: SLF001


# ------------------------------------------------------------------- glue
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
