"""The run history's tables and their ordered, idempotent migrations.

The tables below describe the *current* schema; queries use them. The
``schema_version`` table records every migration applied. ``migrate()``
applies the missing ones, in order, in one transaction taken with the
store's write lock, so that concurrent openers never race.

How to change the schema: never edit a table that a released migration
created; append a migration to ``MIGRATIONS`` (its ``version`` is the next
number) that alters the existing schema, then update the table definitions
below to match. ``tests/monitoring/history/test_schema.py`` migrates a store
built by the older migrations and checks that its data survives.

Added in 0.2.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pysetl.errors import RunHistoryError

try:
    import sqlalchemy as sa
except ImportError as exc:  # pragma: no cover - exercised without the extra
    msg = "The run history needs SQLAlchemy: pip install 'pysetl[monitoring]'"
    raise ImportError(msg) from exc

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "ALERTS",
    "ALERT_EVENTS",
    "ALERT_SILENCES",
    "ATTEMPTS",
    "CONFIG_AUDIT",
    "CONFIG_ENV_VERSIONS",
    "CONFIG_VERSIONS",
    "CROSS_RUN_INDEXES",
    "EVENTS",
    "HOST_INDEX",
    "LATEST_VERSION",
    "LOGS",
    "LOGS_FTS",
    "LOGS_FTS_VOCAB",
    "LOGS_TRIGRAM_INDEX",
    "METADATA",
    "METRICS",
    "MIGRATIONS",
    "RUNS",
    "SCHEMA_VERSION",
    "STAGES",
    "Migration",
    "check_not_newer",
    "current_version",
    "migrate",
]

METADATA = sa.MetaData()
_LOGGER = logging.getLogger(__name__)

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite rowid alias
_RUN_ID = sa.String(32)
_NAME = sa.String(200)

SCHEMA_VERSION = sa.Table(
    "pysetl_schema_version",
    METADATA,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("description", sa.String(200), nullable=False),
    sa.Column("applied_at", sa.Double, nullable=False),
)

RUNS = sa.Table(
    "pysetl_runs",
    METADATA,
    sa.Column("run_id", _RUN_ID, primary_key=True),
    sa.Column("pipeline", _NAME, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("started_at", sa.Double, nullable=False),
    sa.Column("finished_at", sa.Double),
    sa.Column("heartbeat_at", sa.Double),
    sa.Column("pid", sa.Integer),
    sa.Column("host", sa.String(255)),
    sa.Column("error", sa.JSON),
    sa.Column("config_version", sa.String(64)),  # added by migration 2
    sa.Column("resumed_from", _RUN_ID),  # added by migration 6
    sa.Index("ix_pysetl_runs_pipeline", "pipeline", "run_id"),
    sa.Index("ix_pysetl_runs_status", "status", "run_id"),
    sa.Index("ix_pysetl_runs_started_at", "started_at"),
)

STAGES = sa.Table(
    "pysetl_stage_runs",
    METADATA,
    sa.Column("run_id", _RUN_ID, primary_key=True),
    sa.Column("stage_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("started_at", sa.Double),
    sa.Column("finished_at", sa.Double),
    sa.Column("duration", sa.Double),
    sa.Column("error", sa.JSON),
)

ATTEMPTS = sa.Table(
    "pysetl_factory_attempts",
    METADATA,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("run_id", _RUN_ID, nullable=False),
    sa.Column("stage_id", sa.Integer, nullable=False),
    sa.Column("factory", _NAME, nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("started_at", sa.Double),
    sa.Column("finished_at", sa.Double),
    sa.Column("duration", sa.Double),
    sa.Column("phases", sa.JSON, nullable=False),
    sa.Column("phase", sa.String(16)),
    sa.Column("error", sa.JSON),
    sa.UniqueConstraint(
        "run_id", "stage_id", "factory", "attempt", name="uq_pysetl_attempt"
    ),
)

EVENTS = sa.Table(
    "pysetl_events",
    METADATA,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("run_id", _RUN_ID, nullable=False),
    sa.Column("ts", sa.Double, nullable=False),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("stage_id", sa.Integer),
    sa.Column("factory", _NAME),
    sa.Column("attempt", sa.Integer),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Index("ix_pysetl_events_run", "run_id", "id"),
)

METRICS = sa.Table(
    "pysetl_metrics",
    METADATA,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("run_id", _RUN_ID, nullable=False),
    sa.Column("factory", _NAME),
    sa.Column("name", _NAME, nullable=False),
    sa.Column("value", sa.Double, nullable=False),
    sa.Column("labels", sa.JSON, nullable=False),
    sa.Column("ts", sa.Double, nullable=False),
    sa.Index("ix_pysetl_metrics_run", "run_id", "name", "id"),
)

LOGS = sa.Table(
    "pysetl_logs",
    METADATA,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("ts", sa.Double, nullable=False),
    sa.Column("level", sa.String(16), nullable=False),
    sa.Column("levelno", sa.Integer, nullable=False),
    sa.Column("logger", _NAME),
    sa.Column("run_id", _RUN_ID),
    sa.Column("factory", _NAME),
    sa.Column("message", sa.Text, nullable=False),
    sa.Index("ix_pysetl_logs_run", "run_id", "id"),
    sa.Index("ix_pysetl_logs_run_factory", "run_id", "factory", "id"),
    sa.Index("ix_pysetl_logs_run_level", "run_id", "levelno", "id"),
    sa.Index("ix_pysetl_logs_ts", "ts"),
)

CONFIG_VERSIONS = sa.Table(
    "pysetl_config_versions",
    METADATA,
    sa.Column("hash", sa.String(64), primary_key=True),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("content", sa.Text, nullable=False),
)

# Which config version each environment used, and when it was recorded
# (one row per environment and hash); ``sources`` holds the env's layer files
# as written (literal secrets masked) so that a rollback can restore them.
CONFIG_ENV_VERSIONS = sa.Table(
    "pysetl_config_env_versions",
    METADATA,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("env", _NAME, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("recorded_at", sa.Double, nullable=False),
    sa.Column("actor", sa.String(255)),
    sa.Column("root", sa.Text),
    sa.Column("sources", sa.JSON, nullable=False),
    sa.Column("masked", sa.Boolean, nullable=False),
    sa.UniqueConstraint("env", "hash", name="uq_pysetl_config_env_version"),
    sa.Index("ix_pysetl_config_env_versions_env", "env", "id"),
    sa.Index("ix_pysetl_config_env_versions_hash", "hash"),
)

# Every change of a config: who, when, what (masked), through what.
CONFIG_AUDIT = sa.Table(
    "pysetl_config_audit",
    METADATA,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("ts", sa.Double, nullable=False),
    sa.Column("env", _NAME, nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("old_hash", sa.String(64)),
    sa.Column("new_hash", sa.String(64)),
    sa.Column("actor", sa.String(255)),
    sa.Column("changes", sa.JSON, nullable=False),
    sa.Column("note", sa.Text),
    sa.Index("ix_pysetl_config_audit_env", "env", "id"),
)

# Alerts (migration 5): one row per firing episode of an alert (its key is the
# rule and the group's labels); what happened to it (fired, notified,
# delivery failed, resolved...) in ``ALERT_EVENTS``; silences apart.
ALERTS = sa.Table(
    "pysetl_alerts",
    METADATA,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(400), nullable=False),
    sa.Column("rule", _NAME, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("pipeline", _NAME),
    sa.Column("factory", _NAME),
    sa.Column("run_id", _RUN_ID),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("labels", sa.JSON, nullable=False),
    sa.Column("details", sa.JSON, nullable=False),
    sa.Column("started_at", sa.Double, nullable=False),
    sa.Column("ended_at", sa.Double),
    sa.Column("last_notified_at", sa.Double),
    sa.Column("updated_at", sa.Double, nullable=False),
    sa.Index("ix_pysetl_alerts_key", "key", "state"),
    sa.Index("ix_pysetl_alerts_state", "state", "id"),
)

ALERT_EVENTS = sa.Table(
    "pysetl_alert_events",
    METADATA,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("alert_id", sa.BigInteger, nullable=False),
    sa.Column("ts", sa.Double, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("notifier", _NAME),
    sa.Column("run_id", _RUN_ID),
    sa.Column("detail", sa.Text),
    sa.Index("ix_pysetl_alert_events_alert", "alert_id", "id"),
    sa.Index("ix_pysetl_alert_events_notifier", "notifier", "kind", "ts"),
)

ALERT_SILENCES = sa.Table(
    "pysetl_alert_silences",
    METADATA,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("ends_at", sa.Double, nullable=False),
    sa.Column("rule", _NAME),
    sa.Column("pipeline", _NAME),
    sa.Column("author", sa.String(255)),
    sa.Column("comment", sa.Text),
    sa.Index("ix_pysetl_alert_silences_ends", "ends_at"),
)


# ------------------------------------------------------------- migrations
def _v1_runs(metadata: sa.MetaData) -> sa.Table:
    """``runs`` as migration 1 created it (frozen: never edit)."""
    return sa.Table(
        RUNS.name,
        metadata,
        sa.Column("run_id", _RUN_ID, primary_key=True),
        sa.Column("pipeline", _NAME, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", sa.Double, nullable=False),
        sa.Column("finished_at", sa.Double),
        sa.Column("heartbeat_at", sa.Double),
        sa.Column("pid", sa.Integer),
        sa.Column("host", sa.String(255)),
        sa.Column("error", sa.JSON),
        sa.Index("ix_pysetl_runs_pipeline", "pipeline", "run_id"),
        sa.Index("ix_pysetl_runs_status", "status", "run_id"),
        sa.Index("ix_pysetl_runs_started_at", "started_at"),
    )


def _migration_1(conn: sa.Connection) -> None:
    v1 = sa.MetaData()
    _v1_runs(v1).create(conn)
    # Unchanged since version 1: created from the current definitions.
    for table in (STAGES, ATTEMPTS, EVENTS):
        table.create(conn)


def _v2_config_versions(metadata: sa.MetaData) -> sa.Table:
    """``config_versions`` as migration 2 created it (frozen: never edit)."""
    return sa.Table(
        CONFIG_VERSIONS.name,
        metadata,
        sa.Column("hash", sa.String(64), primary_key=True),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("content", sa.Text, nullable=False),
    )


def _migration_2(conn: sa.Connection) -> None:
    conn.execute(
        sa.text(f"ALTER TABLE {RUNS.name} ADD COLUMN config_version VARCHAR(64)")
    )
    _v2_config_versions(sa.MetaData()).create(conn)
    # Unchanged since version 2: created from the current definitions.
    for table in (METRICS, LOGS):
        table.create(conn)


# Indexes for queries across runs (the dashboard's charts: one factory's or
# one metric's values over the runs of a pipeline). Defined apart from the
# tables so that the older migrations, which create tables from the current
# definitions, do not create them too.
CROSS_RUN_INDEXES = (
    sa.Index("ix_pysetl_attempts_factory", ATTEMPTS.c.factory, ATTEMPTS.c.run_id),
    sa.Index("ix_pysetl_metrics_name", METRICS.c.name, METRICS.c.run_id),
    sa.Index("ix_pysetl_runs_pipeline_started", RUNS.c.pipeline, RUNS.c.started_at),
)


def _migration_3(conn: sa.Connection) -> None:
    for index in CROSS_RUN_INDEXES:
        index.create(conn, checkfirst=True)


def _migration_4(conn: sa.Connection) -> None:
    for table in (CONFIG_ENV_VERSIONS, CONFIG_AUDIT):
        table.create(conn)


def _migration_5(conn: sa.Connection) -> None:
    for table in (ALERTS, ALERT_EVENTS, ALERT_SILENCES):
        table.create(conn)


# Runs of one host, newest first (``pysetl runs list --host``, the dashboard's
# host filter); defined apart like ``CROSS_RUN_INDEXES``.
HOST_INDEX = sa.Index("ix_pysetl_runs_host", RUNS.c.host, RUNS.c.run_id)


def _migration_6(conn: sa.Connection) -> None:
    # ``resumed_from``: the run a ``pysetl run --resume`` run continues.
    conn.execute(
        sa.text(f"ALTER TABLE {RUNS.name} ADD COLUMN resumed_from VARCHAR(32)")
    )
    HOST_INDEX.create(conn, checkfirst=True)


# Full-text search of log lines (migration 7), so that a search for a rare
# text in a run of 200,000 lines reads the few lines that hold it instead of
# scanning them all. SQLite: an FTS5 table of trigrams over the log lines
# (external content: the text is not stored twice), kept up to date by
# triggers, and its vocabulary (how many lines hold each trigram: how rare a
# search is). PostgreSQL: a GIN trigram index (pg_trgm) that ILIKE uses.
# Where FTS5 or pg_trgm is missing, the migration leaves them out and the
# search scans, as before.
LOGS_FTS = "pysetl_logs_fts"
LOGS_FTS_VOCAB = "pysetl_logs_fts_vocab"
LOGS_TRIGRAM_INDEX = "ix_pysetl_logs_message_trgm"

# Frozen with migration 7 (literal names: never edit).
_SQLITE_FTS = (
    (
        "CREATE VIRTUAL TABLE pysetl_logs_fts USING fts5(message, "
        "content='pysetl_logs', content_rowid='id', tokenize='trigram')"
    ),
    "CREATE VIRTUAL TABLE pysetl_logs_fts_vocab USING fts5vocab(pysetl_logs_fts, row)",
    (
        "CREATE TRIGGER pysetl_logs_fts_insert AFTER INSERT ON pysetl_logs BEGIN "
        "INSERT INTO pysetl_logs_fts(rowid, message) VALUES (new.id, new.message); "
        "END"
    ),
    (
        "CREATE TRIGGER pysetl_logs_fts_delete AFTER DELETE ON pysetl_logs BEGIN "
        "INSERT INTO pysetl_logs_fts(pysetl_logs_fts, rowid, message) "
        "VALUES ('delete', old.id, old.message); END"
    ),
    (
        "CREATE TRIGGER pysetl_logs_fts_update AFTER UPDATE OF message ON "
        "pysetl_logs BEGIN "
        "INSERT INTO pysetl_logs_fts(pysetl_logs_fts, rowid, message) "
        "VALUES ('delete', old.id, old.message); "
        "INSERT INTO pysetl_logs_fts(rowid, message) VALUES (new.id, new.message); "
        "END"
    ),
    "INSERT INTO pysetl_logs_fts(pysetl_logs_fts) VALUES ('rebuild')",
)


_PG_TRGM = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public",
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
)


def _sqlite_log_search(conn: sa.Connection) -> None:
    try:
        with conn.begin_nested():
            for statement in _SQLITE_FTS:
                conn.exec_driver_sql(statement)
    except sa.exc.OperationalError as exc:  # built without FTS5 or trigrams
        _LOGGER.warning("pysetl history: no full-text log search (%s)", exc)


def _postgres_log_search(conn: sa.Connection) -> None:
    # pg_trgm is a trusted extension (PostgreSQL 13+): a database owner may
    # create it. In ``public`` when allowed, so that every schema finds it.
    for statement in _PG_TRGM:
        try:
            with conn.begin_nested():
                conn.exec_driver_sql(statement)
            break
        except sa.exc.DBAPIError as exc:
            problem = exc
    else:
        _LOGGER.warning(
            "pysetl history: no trigram index of log lines, searches scan "
            "(pg_trgm cannot be created: %s)",
            str(problem.orig).strip(),
        )
        return
    schema = conn.exec_driver_sql(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n "
        "ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"
    ).scalar_one()
    ops = '"' + schema.replace('"', '""') + '".gin_trgm_ops'
    conn.exec_driver_sql(
        "CREATE INDEX IF NOT EXISTS ix_pysetl_logs_message_trgm "
        f"ON pysetl_logs USING gin (message {ops})"
    )


def _migration_7(conn: sa.Connection) -> None:
    if conn.dialect.name == "sqlite":
        _sqlite_log_search(conn)
    elif conn.dialect.name == "postgresql":
        _postgres_log_search(conn)


@dataclass(frozen=True, slots=True)
class Migration:
    """One step of the schema: its version, what it does, and how."""

    version: int
    description: str
    apply: Callable[[sa.Connection], None]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "runs, stage runs, factory attempts, events", _migration_1),
    Migration(2, "metrics, logs, config versions; runs.config_version", _migration_2),
    Migration(3, "indexes for queries across runs", _migration_3),
    Migration(4, "config versions per environment, config audit", _migration_4),
    Migration(5, "alerts, alert events, alert silences", _migration_5),
    Migration(6, "runs.resumed_from; an index of runs by host", _migration_6),
    Migration(7, "full-text search of log lines (FTS5, pg_trgm)", _migration_7),
)
LATEST_VERSION = MIGRATIONS[-1].version


def current_version(conn: sa.Connection) -> int:
    """The schema version of the store on ``conn`` (0 when it is empty)."""
    if not sa.inspect(conn).has_table(SCHEMA_VERSION.name):
        return 0
    found = conn.execute(sa.select(sa.func.max(SCHEMA_VERSION.c.version))).scalar()
    return int(found or 0)


def check_not_newer(version: int, where: str = "") -> None:
    """Refuse a schema newer than this pysetl knows (it could not read it safely).

    Args:
        version: The store's schema version.
        where: The store's (redacted) URL, named in the message.

    Raises:
        RunHistoryError: ``version`` is above ``LATEST_VERSION``.
    """
    if version > LATEST_VERSION:
        shown = f" {where!r}" if where else ""
        msg = (
            f"The run history{shown} has schema version {version!r}; this pysetl "
            f"knows versions up to {LATEST_VERSION!r}"
        )
        raise RunHistoryError(msg, hint="upgrade pysetl to read this history")


def migrate(conn: sa.Connection, *, target: int = LATEST_VERSION) -> int:
    """Apply the missing migrations up to ``target`` on ``conn``; return the version.

    Call it inside a transaction that holds the store's write lock.

    Raises:
        RunHistoryError: The store's schema is newer than this pysetl knows.
    """
    SCHEMA_VERSION.create(conn, checkfirst=True)
    version = current_version(conn)
    check_not_newer(version)
    for migration in MIGRATIONS[version:target]:
        migration.apply(conn)
        conn.execute(
            SCHEMA_VERSION.insert().values(
                version=migration.version,
                description=migration.description,
                applied_at=time.time(),
            )
        )
        version = migration.version
    return version
