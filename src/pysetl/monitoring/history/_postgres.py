"""``PostgresRunHistory``: a run history shared by a team or a cluster.

Migrations take a transaction-scoped advisory lock, so many processes may
open a fresh database at once: one migrates, the others wait and find the
schema up to date. Connections are checked before use (``pool_pre_ping``)
because long pipelines outlive idle server connections.

Added in 0.2.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from pysetl.monitoring.history._sql import SqlRunHistory
from pysetl.monitoring.history._sql_rows import parse_url

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["MIGRATION_LOCK_KEY", "PostgresRunHistory"]

MIGRATION_LOCK_KEY = 0x7059_5345_544C  # "pySETL": one key for every pysetl store


class PostgresRunHistory(SqlRunHistory):
    """A run history in PostgreSQL.

    Args:
        url: ``postgresql://user:password@host:port/database``; the psycopg
            (version 3) driver is used unless the URL names another one.
        engine_options: Extra keyword arguments for ``sqlalchemy.create_engine``.
        migrate: Create or migrate the schema now (``False``: on first use).
        create: Create or migrate a missing or older schema (``False``: open
            a current pysetl history only; see ``SqlRunHistory``).

    Examples:
        >>> history = PostgresRunHistory("postgresql://etl:pw@db/etl")
    """

    def __init__(
        self,
        url: str | sa.URL,
        *,
        engine_options: Mapping[str, Any] | None = None,
        migrate: bool = True,
        create: bool = True,
    ) -> None:
        """Choose the driver, then open the store."""
        parsed = parse_url(url)
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        super().__init__(
            parsed, engine_options=engine_options, migrate=migrate, create=create
        )

    def _create_engine(self, url: sa.URL, options: dict[str, Any]) -> sa.Engine:
        return sa.create_engine(url, **{"pool_pre_ping": True, **options})

    def _write_lock(self, conn: sa.Connection) -> None:
        conn.execute(
            sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
        )

    def _hint(self, exc: Exception) -> str:
        text = str(exc)
        if "password authentication failed" in text or "no password" in text:
            return "check the user and password in PYSETL_HISTORY_URL (or --history)"
        if "Connection refused" in text or "could not translate host" in text:
            return (
                "check that the PostgreSQL server in the URL is running and reachable"
            )
        return super()._hint(exc)
