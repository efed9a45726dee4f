"""How ``SqlRunHistory`` writes: batches of packed rows, in one transaction each.

The writer thread hands a store batches of operations, most of them packed
into rows where they were recorded (``_sql_rows.pack``). A batch becomes one
bulk insert per table and the updates in order, in one transaction; a batch
the database rejects for some of its values is cleaned and written again,
then in halves, and only the rows that still fail are dropped (``_salvage``).

Added in 0.2 (in ``_sql``).
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from pysetl.monitoring.history import _schema as s
from pysetl.monitoring.history._salvage import REJECTED, clean_item, clean_row
from pysetl.monitoring.history._sql_rows import (
    FINISH_KEYS,
    FINISH_VALUES,
    INSERTS,
    coalesce,
    encode_json,
    finish_params,
    last_seen,
    pack,
)
from pysetl.monitoring.history.ops import (
    FinishRun,
    Heartbeat,
    MarkCrashed,
    SaveConfigVersion,
)
from pysetl.monitoring.history.records import RunStatus

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from pysetl.monitoring.history._salvage import Rejections
    from pysetl.monitoring.history.ops import Op

__all__ = ["SqlWrites"]

# Statements compiled once a process per dialect and paramstyle: a Session
# opens a new engine (with an empty compiled cache) for every run, and
# compiling an INSERT or an UPDATE costs more than executing it. Each entry:
# the SQL text and how to order a row's values for it (``_prepared``).
_COMPILED: dict[tuple[str, str, str], tuple[str, Any, Any]] = {}
_FINISH_TABLES = {"A": s.ATTEMPTS, "S": s.STAGES}

# Values per multi-row INSERT on SQLite: every build takes 999 (before 3.32
# the default limit), and 999 leave 90 rows of the widest table a statement.
_SQLITE_VARIABLES = 999


def _insert_chunks(conn: sa.Connection, code: str, rows: list[Sequence[Any]]) -> None:
    """Insert packed ``rows`` into SQLite with multi-row INSERTs.

    ``executemany`` steps the statement once a row, and Python's sqlite3
    lets go of the GIL around every step: with a run's thread waiting for
    the GIL, every row of a batch handed the GIL over and back (two thread
    switches a row), which cost a run more than writing the rows. One
    statement of many rows is one step: one hand-over a chunk.
    """
    table, names = INSERTS[code]
    width = len(names)
    per = max(1, _SQLITE_VARIABLES // width)
    group = "(" + ",".join("?" * width) + ")"
    columns = ", ".join(f'"{name}"' for name in names)
    head = f'INSERT INTO "{table.name}" ({columns}) VALUES '  # noqa: S608 - our schema's names
    full = head + ",".join([group] * per)
    for start in range(0, len(rows), per):
        chunk = rows[start : start + per]
        sql = full if len(chunk) == per else head + ",".join([group] * len(chunk))
        conn.exec_driver_sql(sql, tuple(itertools.chain.from_iterable(chunk)))


class SqlWrites:
    """The write primitives of ``SqlRunHistory`` (a mixin of it)."""

    if TYPE_CHECKING:  # what SqlRunHistory brings
        url: str
        _prepared: dict[str, Any]
        _rejections: Rejections

        def _begin_write(self) -> Any: ...

    pack = staticmethod(pack)
    """``op`` as the writer should queue it: a packed row (see ``_sql_rows``).

    Called on the thread that records (``BackgroundWriter.put``); the batch
    of packed rows and operations comes back to ``write_batch``.
    """

    def _apply(self, ops: Sequence[object]) -> None:
        self._write(*coalesce(ops))

    def _write_batch(self, ops: Sequence[object]) -> None:
        """Write the batch; if its values are rejected, salvage what can be stored.

        See ``_salvage``: the batch again with its texts cleaned, then
        halves down to single rows; a row that still fails is dropped and
        counted in ``rejected``. Errors of an unreachable or locked store
        are raised (the writer retries the batch).
        """
        inserts, later = coalesce(ops)
        try:
            self._write(inserts, later)
        except REJECTED as error:
            first = error
        else:
            return
        inserts = {
            code: [clean_row(code, row) for row in rows]
            for code, rows in inserts.items()
        }
        later = [clean_item(item) for item in later]
        try:
            self._write(inserts, later)
        except REJECTED:
            lost = sum(self._write_apart(code, rows) for code, rows in inserts.items())
            lost += sum(self._write_apart("", [item]) for item in later)
        else:
            lost = 0
        self._rejections.report(first, lost, self.url)

    def _write_apart(self, code: str, rows: list[Any]) -> int:
        """Write ``rows`` of insert ``code`` ("": updates) in halves; count the lost."""
        try:
            if code:
                self._write({code: rows}, [])
            else:
                self._write({}, rows)
        except REJECTED:
            if len(rows) == 1:
                return 1
            half = len(rows) // 2
            return self._write_apart(code, rows[:half]) + self._write_apart(
                code, rows[half:]
            )
        return 0

    def _write(self, inserts: Mapping[str, list[Any]], later: Sequence[object]) -> None:
        with self._begin_write() as conn:
            # One executemany per table (no table refers to another, so the
            # order between tables does not matter), then the updates in order.
            for code, rows in inserts.items():
                self._insert_many(conn, code, rows)
            for item in later:
                if item.__class__ is tuple:  # a finish of an earlier batch's row
                    self._finish(conn, item)
                else:
                    self._apply_one(conn, item)  # type: ignore[arg-type]

    def _insert_many(
        self, conn: sa.Connection, code: str, rows: list[Sequence[Any]]
    ) -> None:
        """Insert packed ``rows`` of one insert ``code`` in one DBAPI ``executemany``.

        The statement is compiled once per code; the values are plain (JSON
        is text already). This skips SQLAlchemy's per-row parameter
        processing, which cost about 20 us a row.
        """
        table, names = INSERTS[code]
        prepared = _insert(conn, "insert:" + code, table, names)
        sql, named, order = prepared
        if named is None and order is None and conn.dialect.name == "sqlite":
            _insert_chunks(conn, code, rows)
            return
        conn.exec_driver_sql(sql, [_params(prepared, row) for row in rows])

    def _apply_one(self, conn: sa.Connection, op: Op) -> None:
        # Finishes of stages and attempts come packed (``_finish``); a run's
        # finish and heartbeats are compiled once (building and caching an
        # UPDATE cost more than running it: 0.4 ms of a run's 3 ms of writes).
        if isinstance(op, FinishRun):
            _update_run(
                conn,
                "finish-run",
                ("status", "finished_at", "error"),
                (op.status, op.finished_at, encode_json(op.error), op.run_id),
            )
        elif isinstance(op, Heartbeat):
            _update_run(
                conn,
                "heartbeat",
                ("heartbeat_at",),
                (op.at, op.run_id, RunStatus.RUNNING),
                while_running=True,
            )
        elif isinstance(op, MarkCrashed):
            self._mark_crashed(conn, op)
        elif isinstance(op, SaveConfigVersion):
            self._save_config(conn, op)

    @staticmethod
    def _save_config(conn: sa.Connection, op: SaveConfigVersion) -> None:
        table = s.CONFIG_VERSIONS
        found = conn.execute(
            sa.select(table.c.hash).where(table.c.hash == op.hash)
        ).first()
        if found is None:
            conn.execute(
                table.insert().values(
                    hash=op.hash, content=op.content, created_at=op.created_at
                )
            )

    @staticmethod
    def _finish(conn: sa.Connection, item: Sequence[Any]) -> None:
        """Update the row a packed finish names, or insert it (its start was lost)."""
        kind = item[0]
        table, keys, sets = _FINISH_TABLES[kind], FINISH_KEYS[kind], FINISH_VALUES[kind]
        key, values = finish_params(item)
        names = keys + sets
        update = _prepared(
            conn.dialect,
            "finish:" + kind,
            lambda: (
                table.update()
                .where(*(table.c[name] == sa.bindparam(name) for name in keys))
                .values({name: sa.bindparam(name) for name in sets})
                .compile(dialect=conn.dialect)
            ),
            names,
        )
        row = (*key, *values)
        if conn.exec_driver_sql(update[0], _params(update, row)).rowcount == 0:
            insert = _insert(conn, "insert-finish:" + kind, table, names)
            conn.exec_driver_sql(insert[0], _params(insert, row))

    @staticmethod
    def _mark_crashed(conn: sa.Connection, op: MarkCrashed) -> None:
        # It ended when it was last seen alive: a heartbeat, or anything it
        # recorded later (a run killed before its first heartbeat is not 0 s).
        at = max(op.at, last_seen(conn, op.run_id) or op.at)
        result = conn.execute(
            s.RUNS.update()
            .where(s.RUNS.c.run_id == op.run_id, s.RUNS.c.status == RunStatus.RUNNING)
            .values(status=RunStatus.CRASHED, finished_at=at, error=op.error())
        )
        if result.rowcount == 0:
            return
        for table in (s.STAGES, s.ATTEMPTS):
            conn.execute(
                table.update()
                .where(table.c.run_id == op.run_id, table.c.status == RunStatus.RUNNING)
                .values(
                    status=RunStatus.CRASHED,
                    finished_at=at,
                    duration=sa.literal(at, sa.Double) - table.c.started_at,
                )
            )


def _prepared(
    dialect: sa.Dialect,
    name: str,
    compile_once: Callable[[], sa.engine.interfaces.Compiled],
    names: tuple[str, ...],
) -> tuple[str, Any, Any]:
    """Statement ``name``'s SQL, compiled once a process for ``dialect``.

    Returns the SQL text, and how a tuple of values in ``names`` order is
    passed: positional paramstyles (SQLite's qmark) take tuples in the
    statement's order (``(sql, None, None)`` when it is ``names``' order,
    else ``(sql, None, indexes)``); named ones (psycopg's pyformat) take
    dicts (``(sql, names, None)``).
    """
    key = (dialect.name, dialect.paramstyle, name)
    found = _COMPILED.get(key)
    if found is None:
        compiled = compile_once()
        positions = compiled.positiontup  # type: ignore[attr-defined]
        if positions is None:
            found = (str(compiled), names, None)
        elif tuple(positions) == names:
            found = (str(compiled), None, None)
        else:
            found = (str(compiled), None, [names.index(n) for n in positions])
        _COMPILED[key] = found
    return found


def _update_run(
    conn: sa.Connection,
    name: str,
    sets: tuple[str, ...],
    row: tuple[Any, ...],
    *,
    while_running: bool = False,
) -> None:
    """Set ``sets`` of one run (``row``: their values, the run id, its status).

    ``while_running``: only while the run is running (a heartbeat late
    for a run that ended changes nothing).
    """
    table = s.RUNS
    keys = ("run_id", "status") if while_running else ("run_id",)
    update = _prepared(
        conn.dialect,
        name,
        lambda: (
            table.update()
            .where(*(table.c[key] == sa.bindparam("key_" + key) for key in keys))
            .values({column: sa.bindparam(column) for column in sets})
            .compile(dialect=conn.dialect)
        ),
        sets + tuple("key_" + key for key in keys),
    )
    conn.exec_driver_sql(update[0], _params(update, row))


def _insert(
    conn: sa.Connection, name: str, table: sa.Table, names: tuple[str, ...]
) -> tuple[str, Any, Any]:
    """The ``_prepared`` INSERT of ``names`` into ``table``."""
    return _prepared(
        conn.dialect,
        name,
        lambda: table.insert().compile(dialect=conn.dialect, column_keys=list(names)),
        names,
    )


def _params(prepared: tuple[str, Any, Any], row: Sequence[Any]) -> Any:
    """One row of values in ``names`` order, as a ``_prepared`` statement takes it."""
    _, named, order = prepared
    if named is not None:
        return dict(zip(named, row, strict=True))
    if order is not None:
        return tuple(row[i] for i in order)
    # the DBAPI takes tuples; attempts and stages were lists
    return row if row.__class__ is tuple else tuple(row)
