"""The config version rows of the stores: ``ConfigVersionStorage`` on SQL and memory.

``pysetl.config.versions.ConfigStore`` keeps the logic of config versions and
talks to a store through the ``ConfigVersionStorage`` protocol (defined in
``pysetl.config``, below this layer). These mixins are that protocol's
primitives: ``SqlConfigRows`` for the SQL stores (the tables of schema
migration 4, each call one transaction) and ``MemoryConfigRows`` for the
in-memory store (lists guarded by the store's lock).

Added in 0.7 (the rows were written by ``ConfigStore`` itself before).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa

from pysetl.monitoring.history import _schema as s
from pysetl.monitoring.history._checks import check_cursor, check_limit
from pysetl.utils.paging import Page

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = ["MemoryConfigRows", "SqlConfigRows"]

_R = TypeVar("_R")
_FIND_AT_MOST = 50  # rows a prefix lookup reads from SQL: enough to say "ambiguous"


def _page(rows: list[dict[str, Any]], limit: int) -> Page[dict[str, Any]]:
    """``rows`` (up to ``limit + 1``) as a page: one more than asked means more."""
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(tuple(rows), str(rows[-1]["id"]) if more else None)


class SqlConfigRows:
    """``ConfigVersionStorage`` on a SQL store (a mixin of ``SqlRunHistory``)."""

    if TYPE_CHECKING:  # what SqlRunHistory brings

        @property
        def engine(self) -> sa.Engine:
            """The store's engine."""

        def _call(
            self, action: str, function: Callable[..., _R], *args: Any, **kwargs: Any
        ) -> _R: ...

        def _begin_write(self) -> Any: ...

    def save_config_version(self, row: Mapping[str, Any], content: str) -> None:
        """Store a version row and its content, in one transaction.

        See ``pysetl.config.versions.ConfigVersionStorage``.
        """
        self._call("write to", self._save_config_version, row, content)

    def _save_config_version(self, row: Mapping[str, Any], content: str) -> None:
        versions, envs = s.CONFIG_VERSIONS, s.CONFIG_ENV_VERSIONS
        with self._begin_write() as conn:  # BEGIN IMMEDIATE on SQLite
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

    def find_config_versions(
        self, prefix: str, env: str | None
    ) -> list[dict[str, Any]]:
        """The version rows whose hash starts with ``prefix`` (at most 50)."""
        table = s.CONFIG_ENV_VERSIONS
        query = sa.select(table).where(table.c.hash.startswith(prefix, autoescape=True))
        if env is not None:
            query = query.where(table.c.env == env)
        return self._config_query(query.limit(_FIND_AT_MOST))

    def config_version_content(self, digest: str) -> str | None:
        """The content stored for the hash ``digest``, if any."""
        table = s.CONFIG_VERSIONS

        def read() -> str | None:
            with self.engine.connect() as conn:
                return conn.execute(
                    sa.select(table.c.content).where(table.c.hash == digest)
                ).scalar()

        return self._call("read from", read)

    def add_config_audit(self, row: Mapping[str, Any]) -> int:
        """Store an audit row; return its id."""

        def write() -> int:
            with self._begin_write() as conn:
                result = conn.execute(s.CONFIG_AUDIT.insert().values(**row))
                key = result.inserted_primary_key
                return int(key[0]) if key is not None else 0

        return self._call("write to", write)

    def list_config_versions(
        self, *, env: str | None, limit: int, cursor: str | None
    ) -> Page[dict[str, Any]]:
        """One page of version rows, newest first (of ``env`` if given)."""
        return self._config_page(s.CONFIG_ENV_VERSIONS, env, limit, cursor)

    def list_config_audit(
        self, *, env: str | None, limit: int, cursor: str | None
    ) -> Page[dict[str, Any]]:
        """One page of audit rows, newest first (of ``env`` if given)."""
        return self._config_page(s.CONFIG_AUDIT, env, limit, cursor)

    def _config_page(
        self, table: sa.Table, env: str | None, limit: int, cursor: str | None
    ) -> Page[dict[str, Any]]:
        limit, after = check_limit(limit), check_cursor(cursor)
        query = sa.select(table).order_by(table.c.id.desc()).limit(limit + 1)
        if env is not None:
            query = query.where(table.c.env == env)
        if after is not None:
            query = query.where(table.c.id < after)
        return _page(self._config_query(query), limit)

    def _config_query(self, query: sa.Select[Any]) -> list[dict[str, Any]]:
        def read() -> list[dict[str, Any]]:
            with self.engine.connect() as conn:
                return [dict(r._mapping) for r in conn.execute(query)]  # noqa: SLF001

        return self._call("read from", read)


class MemoryConfigRows:
    """``ConfigVersionStorage`` in memory (a mixin of ``InMemoryRunHistory``).

    The store's ``config_versions`` maps each hash to its content (runs
    save it too); the version and audit rows are lists of this object.
    """

    config_versions: dict[str, str]

    def __init__(self) -> None:
        """Empty tables."""
        self._config_lock = threading.Lock()
        self._config_version_rows: list[dict[str, Any]] = []
        self._config_audit_rows: list[dict[str, Any]] = []

    def save_config_version(self, row: Mapping[str, Any], content: str) -> None:
        """Store a version row and its content, at once.

        See ``pysetl.config.versions.ConfigVersionStorage``.
        """
        with self._config_lock:
            self.config_versions.setdefault(row["hash"], content)
            for version in self._config_version_rows:
                if version["env"] == row["env"] and version["hash"] == row["hash"]:
                    if not row["masked"]:
                        version.update(sources=row["sources"], masked=False)
                    return
            self._config_version_rows.append(
                {**row, "id": len(self._config_version_rows) + 1}
            )

    def find_config_versions(
        self, prefix: str, env: str | None
    ) -> list[dict[str, Any]]:
        """The version rows whose hash starts with ``prefix`` (of ``env`` if given)."""
        with self._config_lock:
            return [
                v
                for v in self._config_version_rows
                if v["hash"].startswith(prefix) and (env is None or v["env"] == env)
            ]

    def config_version_content(self, digest: str) -> str | None:
        """The content stored for the hash ``digest``, if any."""
        return self.config_versions.get(digest)

    def add_config_audit(self, row: Mapping[str, Any]) -> int:
        """Store an audit row; return its id."""
        with self._config_lock:
            number = len(self._config_audit_rows) + 1
            self._config_audit_rows.append({**row, "id": number})
            return number

    def list_config_versions(
        self, *, env: str | None, limit: int, cursor: str | None
    ) -> Page[dict[str, Any]]:
        """One page of version rows, newest first (of ``env`` if given)."""
        return self._config_page(self._config_version_rows, env, limit, cursor)

    def list_config_audit(
        self, *, env: str | None, limit: int, cursor: str | None
    ) -> Page[dict[str, Any]]:
        """One page of audit rows, newest first (of ``env`` if given)."""
        return self._config_page(self._config_audit_rows, env, limit, cursor)

    def _config_page(
        self,
        table: list[dict[str, Any]],
        env: str | None,
        limit: int,
        cursor: str | None,
    ) -> Page[dict[str, Any]]:
        limit, after = check_limit(limit), check_cursor(cursor)
        with self._config_lock:
            rows = [
                row
                for row in reversed(table)
                if (env is None or row["env"] == env)
                and (after is None or row["id"] < after)
            ][: limit + 1]
        return _page(rows, limit)
