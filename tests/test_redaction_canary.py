"""A planted canary secret appears in no output of a run (ARCHITECTURE section 6).

The canary is the JDBC password of a config and a connector (embedded
Derby). The factory logs the config, its params, the secret itself and an
``extra=`` with it, writes and reads through the connector (Py4J logs every
JVM command at DEBUG, password included), records a metric with the secret
in its labels, and fails with a ``KeyError`` that holds the secret (so the
message and the hint quote it in its ``repr()`` form). Then: JSON logs,
console logs, the history database (file bytes and every table), the
error's str/repr/context and the ``pysetl runs show`` / ``pysetl logs``
output are all searched for it, in every form it can take there: plain,
``repr()``, JSON-escaped and URL-encoded. The canary comes in several
shapes: plain, and with a backslash, quotes, a tab, a newline and
non-ASCII characters, each of which has forms that differ from the plain.
"""

from __future__ import annotations

import io
import json
import logging
import sqlite3
import time
import urllib.parse
import uuid
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pysetl.cli.__main__ import app
from pysetl.config import JdbcConfig
from pysetl.enums import SaveMode
from pysetl.errors import FactoryError
from pysetl.logs import ConsoleFormatter, configure_logging, reset_logging
from pysetl.monitoring.history import (
    AddMetric,
    HistoryLogHandler,
    HistoryRecorder,
    SqliteRunHistory,
    error_to_dict,
)
from pysetl.storage.connector import JdbcConnector
from pysetl.utils.redaction import MASK
from pysetl.utils.run_scope import current_scope
from pysetl.workflow import Factory, Pipeline
from pysetl.workflow._debug import DebugTracer
from pysetl.workflow.hooks import HookManager

pytestmark = pytest.mark.spark

_LOGGER = logging.getLogger("shop.factories")


def _leaky_factory(
    config: JdbcConfig, recorder: HistoryRecorder, canary: str, spark: Any
) -> type[Factory[int]]:
    class Leaky(Factory[int]):
        """A factory that does everything it should not with a secret."""

        def read(self) -> Leaky:
            self.connector = JdbcConnector(config)
            frame = spark.createDataFrame([(1, "a"), (2, "b")], "id int, name string")
            self.connector.write(frame)
            self.rows = self.connector.read().count()
            return self

        def process(self) -> Leaky:
            _LOGGER.info("config is %s", config)
            _LOGGER.info("params are %s", config.params)
            _LOGGER.warning("connecting with %s", canary)
            _LOGGER.info("connected", extra={"password": canary, "conn": canary})
            scope = current_scope()
            assert scope is not None
            recorder.submit(
                AddMetric(
                    scope.run_id,
                    "rows",
                    float(self.rows),
                    time.time(),
                    "Leaky",
                    {"note": f"db {canary}", "password": canary},
                )
            )
            # A KeyError's str() is the repr() of its key: what a factory that
            # looks the password up in a mapping raises.
            msg = f"login failed for user etl with password {canary}"
            raise KeyError(msg)

        def write(self) -> Leaky:
            return self  # pragma: no cover - process() fails first

        def get(self) -> int:
            return self.rows  # pragma: no cover - process() fails first

    return Leaky


def _database_texts(db: Path) -> list[bytes]:
    files = [p for p in db.parent.iterdir() if p.name.startswith(db.name)]
    texts = [p.read_bytes() for p in files]
    with sqlite3.connect(db) as conn:
        tables = [
            row[0]
            for row in conn.execute("select name from sqlite_master where type='table'")
        ]
        for table in tables:
            rows = conn.execute(f'select * from "{table}"').fetchall()  # noqa: S608 - our own table names
            texts.append(repr(rows).encode())
    return texts


def _repr_bodies(text: str) -> set[str]:
    """The inside of ``repr(text)``, between single and between double quotes."""
    body = repr(text)[1:-1]
    if repr(text).startswith('"'):  # text has a ' and no "
        return {body, body.replace("'", "\\'")}
    return {body, body.replace("\\'", "'").replace('"', '\\"')}


def _forms(canary: str) -> set[str]:
    """Every way the canary can be written in an output: the leaks to look for."""
    return {
        canary,
        *_repr_bodies(canary),
        json.dumps(canary)[1:-1],
        json.dumps(canary, ensure_ascii=False)[1:-1],
        urllib.parse.quote(canary, safe=""),
        urllib.parse.quote_plus(canary),
    }


def _cli_outputs(db: Path, run_id: str) -> dict[str, str]:
    """What ``pysetl runs show --traceback`` and ``pysetl logs`` print of the run."""
    runner = CliRunner()
    show = runner.invoke(
        app, ["--history", str(db), "runs", "show", run_id, "--traceback"]
    )
    logs = runner.invoke(app, ["--history", str(db), "logs", run_id])
    assert show.exit_code == 0, show.output
    assert logs.exit_code == 0, logs.output
    assert "login failed" in show.output
    assert "connecting with" in logs.output
    return {"pysetl runs show": show.output, "pysetl logs": logs.output}


def _assert_no_form_in(
    outputs: dict[str, str], blobs: list[bytes], forms: set[str]
) -> None:
    for name, text in outputs.items():
        for form in forms:
            assert form not in text, f"the canary leaked into the {name}: {form!r}"
    for blob in blobs:
        for form in forms:
            assert form.encode() not in blob, (
                f"the canary leaked into the history: {form!r}"
            )


_SHAPES = {
    "plain": "canary-{}",
    "backslash": "Canary\\Pw-{}",
    "quotes": "can'a\"ry-{}",
    "tab": "canary\tpw-{}",
    "newline": "canary\npw-{}",
    "non-ascii": "cänäry-pässwört-€-{}",
}


@pytest.mark.parametrize("shape", list(_SHAPES))
def test_a_canary_secret_appears_in_no_output(spark, tmp_path, shape):
    canary = _SHAPES[shape].format(uuid.uuid4().hex)
    forms = _forms(canary)
    if shape != "plain":
        assert len(forms) > 1  # the shape is one whose forms differ
    table = f"CANARY_{uuid.uuid4().hex[:8].upper()}"
    config = JdbcConfig(
        url=f"jdbc:derby:memory:canary_{uuid.uuid4().hex[:8]};create=true",
        table=table,
        user="etl",
        password=canary,
        savemode=SaveMode.OVERWRITE,
    )
    db = tmp_path / "history.db"
    history = SqliteRunHistory(db)
    recorder = HistoryRecorder(history)
    json_out, console_out = io.StringIO(), io.StringIO()
    console = logging.StreamHandler(console_out)
    console.setFormatter(ConsoleFormatter(colors=True))
    configure_logging(
        "json",
        "DEBUG",
        levels={"py4j": "DEBUG"},
        handlers=[console, HistoryLogHandler(recorder)],
        stream=json_out,
    )
    leaky = _leaky_factory(config, recorder, canary, spark)
    try:
        with HookManager(observers=[recorder, DebugTracer()]) as hooks:
            pipeline = Pipeline(hooks=hooks, name="canary").add_stage_from_type(leaky)
            with pytest.raises(FactoryError) as info:
                pipeline.run()
    finally:
        reset_logging()
        recorder.close()
        history.close()
    error = info.value
    run_id = pipeline.run_id
    assert run_id is not None

    # The run did what it should: it logged, Py4J logged, the error is whole.
    json_text, console_text = json_out.getvalue(), console_out.getvalue()
    lines = [json.loads(line) for line in json_text.splitlines()]
    assert any(line["logger"].startswith("py4j") for line in lines)
    assert any(line["message"] == "factory_failed" for line in lines)
    assert any(line.get("password") == MASK for line in lines)
    assert "connecting with **********" in console_text
    assert error.factory == "Leaky"
    assert error.phase == "process"
    assert isinstance(error.__cause__, KeyError)
    assert canary in error.__cause__.args[0]  # the original is kept, unchanged
    assert error.hint is not None
    assert "is missing from a mapping" in error.hint

    # ... and the canary is in none of its outputs.
    outputs = {
        "json logs": json_text,
        "console logs": console_text,
        "error str": str(error),
        "error repr": repr(error),
        "error context": json.dumps(error.context),
        "error history dict": json.dumps(error_to_dict(error)),
    }
    outputs |= _cli_outputs(db, run_id)
    outputs["error hint"] = error.hint
    _assert_no_form_in(outputs, _database_texts(db), forms)
    with sqlite3.connect(db) as conn:
        (labels,) = conn.execute("select labels from pysetl_metrics").fetchone()
    assert MASK in labels
