"""Structured logging: run context on every record, JSON and console, secrets masked."""

from __future__ import annotations

import io
import json
import logging
import logging.config
import subprocess
import sys
import uuid
from typing import Any

import pytest

from pysetl import logs
from pysetl.errors import ConfigError
from pysetl.logs import (
    ConsoleFormatter,
    ContextFilter,
    JsonFormatter,
    RedactFilter,
    configure_logging,
    debug_enabled,
    reset_logging,
)
from pysetl.settings import reset_settings
from pysetl.utils.redaction import MASK, register_secret
from pysetl.utils.run_scope import RunScope, bind_scope, reset_scope


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _clean(monkeypatch):
    for name in (logs.FORMAT_ENV, logs.LEVEL_ENV, logs.DEBUG_ENV):
        monkeypatch.delenv(name, raising=False)
    # The root conftest's reset_state() undoes configure_logging after each test.


@pytest.fixture
def scope():
    bound = RunScope("01RUN", "shop", 2, "Clean", 1, "process")
    token = bind_scope(bound)
    yield bound
    reset_scope(token)


def _record(msg="hello %s", args=("world",), **extra) -> logging.LogRecord:
    record = logging.LogRecord("user.module", logging.INFO, "f.py", 1, msg, args, None)
    record.__dict__.update(extra)
    return record


def _exc_info(error: Exception) -> Any:
    try:
        raise error
    except type(error):
        return sys.exc_info()


def _canary() -> str:
    secret = f"canary-{uuid.uuid4().hex}"
    register_secret(secret)
    return secret


class TestContextFilter:
    @pytest.mark.usefixtures("scope")
    def test_adds_the_bound_scope(self):
        record = _record()
        assert ContextFilter().filter(record)
        assert (record.run_id, record.pipeline, record.stage) == ("01RUN", "shop", 2)
        assert (record.factory, record.attempt, record.phase) == ("Clean", 1, "process")

    @pytest.mark.usefixtures("scope")
    def test_extra_wins(self):
        record = _record(factory="Explicit")
        ContextFilter().filter(record)
        assert record.factory == "Explicit"

    def test_outside_a_run_the_fields_are_none(self):
        record = _record()
        ContextFilter().filter(record)
        assert record.run_id is None
        assert record.phase is None


class TestRedactFilter:
    def test_masks_message_traceback_and_stack(self):
        secret = _canary()
        exc_info = _exc_info(ValueError(secret))
        record = _record("pw %s", (secret,))
        record.exc_info = exc_info
        record.stack_info = f"stack {secret}"
        assert RedactFilter().filter(record)
        assert record.getMessage() == f"pw {MASK}"
        assert secret not in record.exc_text
        assert secret not in record.stack_info
        assert secret not in logging.Formatter().format(record)

    def test_leaves_clean_records_alone(self):
        record = _record("plain", None)
        RedactFilter().filter(record)
        assert record.msg == "plain"
        assert record.exc_text is None


class TestJsonFormatter:
    @pytest.mark.usefixtures("scope")
    def test_one_object_per_line_with_context_and_extras(self):
        record = _record(rows=3, tags={"a", "b"}, obj=object(), nested={"k": [1]})
        line = JsonFormatter().format(record)
        data = json.loads(line)
        assert "\n" not in line
        assert data["message"] == "hello world"
        assert data["level"] == "INFO"
        assert data["logger"] == "user.module"
        assert data["ts"].endswith("Z")
        assert data["run_id"] == "01RUN"
        assert data["factory"] == "Clean"
        assert data["rows"] == 3
        assert sorted(data["tags"]) == ["a", "b"]
        assert data["obj"].startswith("<object")
        assert data["nested"] == {"k": [1]}

    def test_outside_a_run(self):
        data = json.loads(JsonFormatter().format(_record()))
        assert data["run_id"] is None

    def test_secrets_are_masked(self):
        secret = _canary()
        exc_info = _exc_info(RuntimeError(f"boom {secret}"))
        record = _record(
            "config %s",
            ({"password": "x"},),
            note=f"n {secret}",
            password="pw",  # noqa: S106 - a planted fake
        )
        record.exc_info = exc_info
        record.stack_info = f"stack {secret}"
        line = JsonFormatter().format(record)
        data = json.loads(line)
        assert secret not in line
        assert data["password"] == MASK
        assert "'password': '**********'" in data["message"]
        assert "RuntimeError" in data["exc_info"]
        assert data["stack_info"] == f"stack {MASK}"


class TestConsoleFormatter:
    @pytest.mark.usefixtures("scope")
    def test_readable_line(self):
        line = ConsoleFormatter().format(_record(rows=3))
        assert "INFO" in line
        assert "user.module  hello world" in line
        assert "run=01RUN" in line
        assert "factory=Clean" in line
        assert line.endswith("rows=3")

    def test_colors_and_no_time_or_level(self):
        colored = ConsoleFormatter(colors=True).format(_record())
        assert "\x1b[32m" in colored
        bare = ConsoleFormatter(show_time=False, show_level=False).format(_record())
        assert bare == "user.module  hello world"

    def test_secrets_are_masked(self):
        secret = _canary()
        exc_info = _exc_info(RuntimeError(secret))
        record = _record(
            "x %s",
            (secret,),
            note=secret,
            token="abc",  # noqa: S106 - a planted fake
        )
        record.exc_info = exc_info
        record.stack_info = secret
        line = ConsoleFormatter().format(record)
        assert secret not in line
        assert f"token={MASK}" in line
        assert "Traceback" in line


class TestConfigureLogging:
    @pytest.mark.usefixtures("scope")
    def test_json_with_context_for_any_logger(self):
        out = io.StringIO()
        configure_logging("json", stream=out)
        logging.getLogger("third.party").warning("careful %d", 1)
        data = json.loads(out.getvalue().splitlines()[-1])
        assert data["message"] == "careful 1"
        assert data["run_id"] == "01RUN"
        assert data["factory"] == "Clean"

    @pytest.mark.usefixtures("scope")
    def test_console(self):
        out = io.StringIO()
        configure_logging("console", "DEBUG", stream=out)
        logging.getLogger("user").debug("hi")
        assert "hi" in out.getvalue()
        assert "factory=Clean" in out.getvalue()

    def test_auto_is_json_off_a_terminal_and_console_on_one(self):
        out = io.StringIO()
        (handler,) = configure_logging(stream=out)
        assert isinstance(handler.formatter, JsonFormatter)
        tty = _Tty()
        (handler,) = configure_logging(stream=tty)
        assert isinstance(handler.formatter, ConsoleFormatter)
        logging.getLogger("user").warning("on a tty")
        assert "on a tty" in tty.getvalue()

    def test_environment(self, monkeypatch):
        monkeypatch.setenv(logs.FORMAT_ENV, "console")
        monkeypatch.setenv(logs.LEVEL_ENV, "warning")
        (handler,) = configure_logging(stream=io.StringIO())
        assert isinstance(handler.formatter, ConsoleFormatter)
        assert logging.getLogger().level == logging.WARNING

    def test_default_stream_is_stderr(self):
        (handler,) = configure_logging("json")
        assert isinstance(handler, logging.StreamHandler)
        assert handler.stream is sys.stderr

    @pytest.mark.parametrize(
        ("fmt", "level"), [("xml", None), ("json", "LOUD"), ("json", " ")]
    )
    def test_bad_values(self, fmt, level):
        with pytest.raises(ValueError, match="Unknown log"):
            configure_logging(fmt, level, stream=io.StringIO())

    def test_levels_handlers_and_reset(self):
        extra = logging.StreamHandler(io.StringIO())
        before = logging.getLogger("noisy").level
        installed = configure_logging(
            "json",
            10,
            levels={"noisy": "ERROR"},
            handlers=[extra],
            stream=io.StringIO(),
        )
        assert installed[1] is extra
        assert any(isinstance(f, ContextFilter) for f in extra.filters)
        assert logging.getLogger("noisy").level == logging.ERROR
        configure_logging("json", stream=io.StringIO())  # replaces, never stacks
        root = logging.getLogger()
        assert extra not in root.handlers
        assert sum(isinstance(h.formatter, JsonFormatter) for h in root.handlers) == 1
        reset_logging()
        assert logging.getLogger("noisy").level == before

    def test_reset_restores_the_root_level(self):
        # The root's level outlived the reset: a later warning elsewhere in
        # the process (a test in the same worker) was dropped at ERROR.
        root = logging.getLogger()
        before = root.level
        configure_logging("json", "ERROR", stream=io.StringIO())
        configure_logging("json", "CRITICAL", stream=io.StringIO())
        assert root.level == logging.CRITICAL
        reset_logging()
        assert root.level == before
        configure_logging("json", "ERROR", levels={"": "DEBUG"}, stream=io.StringIO())
        assert root.level == logging.DEBUG  # the levels given win, as before
        reset_logging()
        assert root.level == before

    def test_debug_mode(self):
        assert not debug_enabled()
        configure_logging("json", debug=True, stream=io.StringIO())
        assert debug_enabled()
        assert logging.getLogger("pysetl").level == logging.DEBUG
        assert logging.getLogger("py4j").level == logging.INFO
        assert logging.getLogger().level == logging.DEBUG
        reset_logging()
        assert not debug_enabled()

    @pytest.mark.parametrize(
        ("value", "on"),
        [
            ("1", True),
            ("TRUE", True),
            (" on ", True),
            ("0", False),
            ("false", False),
            ("off", False),
            ("no", False),
            ("", False),
        ],
    )
    def test_debug_variable(self, monkeypatch, value, on):
        """``PYSETL_DEBUG=0`` is off: the variable is parsed by ``pysetl.settings``."""
        monkeypatch.setenv(logs.DEBUG_ENV, value)
        assert debug_enabled() is on

    def test_a_bad_debug_variable_is_a_config_error(self, monkeypatch):
        monkeypatch.setenv(logs.DEBUG_ENV, "maybe")
        with pytest.raises(ConfigError, match="PYSETL_DEBUG"):
            debug_enabled()

    def test_the_variables_are_read_once(self, monkeypatch):
        """Settings are cached: a change is seen after ``reset_settings()``."""
        assert not debug_enabled()
        monkeypatch.setenv(logs.DEBUG_ENV, "1")
        assert not debug_enabled()
        reset_settings()
        assert debug_enabled()

    @pytest.mark.parametrize(
        ("name", "value", "match"),
        [
            (logs.FORMAT_ENV, "xml", r"'xml' \(from PYSETL_LOG_FORMAT\)"),
            (logs.LEVEL_ENV, "LOUD", r"'LOUD' \(from PYSETL_LOG_LEVEL\)"),
        ],
    )
    def test_a_bad_variable_is_named(self, monkeypatch, name, value, match):
        monkeypatch.setenv(name, value)
        with pytest.raises(ValueError, match=match):
            configure_logging(stream=io.StringIO())

    def test_arguments_win_over_the_variables(self, monkeypatch):
        monkeypatch.setenv(logs.FORMAT_ENV, "xml")
        monkeypatch.setenv(logs.LEVEL_ENV, "LOUD")
        (handler,) = configure_logging("json", "error", stream=io.StringIO())
        assert isinstance(handler.formatter, JsonFormatter)
        assert logging.getLogger().level == logging.ERROR

    @pytest.mark.usefixtures("scope")
    def test_dict_config(self):
        """The dictConfig example of the module docstring works as written."""
        out = io.StringIO()
        secret = _canary()
        logging.config.dictConfig(
            {
                "version": 1,
                "disable_existing_loggers": False,
                "filters": {
                    "context": {"()": "pysetl.logs.ContextFilter"},
                    "redact": {"()": "pysetl.logs.RedactFilter"},
                },
                "formatters": {
                    "json": {"()": "pysetl.logs.JsonFormatter"},
                    "plain": {"format": "%(run_id)s %(factory)s %(message)s"},
                },
                "handlers": {
                    "json": {
                        "class": "logging.StreamHandler",
                        "stream": out,
                        "formatter": "json",
                        "filters": ["context", "redact"],
                    },
                    "plain": {
                        "class": "logging.StreamHandler",
                        "stream": out,
                        "formatter": "plain",
                        "filters": ["context", "redact"],
                    },
                },
                "loggers": {
                    "dict.configured": {
                        "level": "INFO",
                        "handlers": ["json", "plain"],
                        "propagate": False,
                    }
                },
            }
        )
        logging.getLogger("dict.configured").info("pw is %s", secret)
        json_line, plain_line = out.getvalue().splitlines()
        assert json.loads(json_line)["run_id"] == "01RUN"
        assert plain_line == f"01RUN Clean pw is {MASK}"
        assert secret not in out.getvalue()
        logging.getLogger("dict.configured").handlers.clear()


class TestTraceIds:
    """JSON lines carry the current OpenTelemetry span's ids, and a schema version."""

    @pytest.fixture
    def tracer(self):
        sdk_trace = pytest.importorskip("opentelemetry.sdk.trace")
        provider = sdk_trace.TracerProvider(shutdown_on_exit=False)
        yield provider.get_tracer("test")
        provider.shutdown()

    def test_every_line_has_the_schema_version_and_null_ids_without_a_span(self):
        data = json.loads(JsonFormatter().format(_record()))
        assert data["schema_version"] == logs.LOG_SCHEMA_VERSION == 1
        assert data["trace_id"] is None
        assert data["span_id"] is None

    def test_the_fields_always_present_and_their_types(self):
        """The documented schema, version 1 (docs/logging.md)."""
        data = json.loads(JsonFormatter().format(_record()))
        assert set(data) == {
            "schema_version",
            "ts",
            "level",
            "logger",
            "message",
            *logs.CONTEXT_FIELDS,
            *logs.TRACE_FIELDS,
        }
        assert isinstance(data["schema_version"], int)
        assert all(isinstance(data[k], str) for k in ("ts", "level", "logger"))
        assert all(data[k] is None for k in (*logs.CONTEXT_FIELDS, *logs.TRACE_FIELDS))

    def test_the_current_span_ids_are_on_the_line(self, tracer):
        with tracer.start_as_current_span("work") as span:
            line = JsonFormatter().format(_record())
        context = span.get_span_context()
        data = json.loads(line)
        assert data["trace_id"] == f"{context.trace_id:032x}"
        assert data["span_id"] == f"{context.span_id:016x}"
        assert len(data["trace_id"]) == 32
        assert len(data["span_id"]) == 16

    def test_the_filter_keeps_the_ids_for_a_formatter_on_another_thread(self, tracer):
        record = _record()
        with tracer.start_as_current_span("work") as span:
            ContextFilter().filter(record)
        data = json.loads(JsonFormatter().format(record))  # the span is over
        assert data["span_id"] == f"{span.get_span_context().span_id:016x}"

    def test_extra_ids_win(self, tracer):
        record = _record(trace_id="given", span_id="also")
        with tracer.start_as_current_span("work"):
            ContextFilter().filter(record)
            data = json.loads(JsonFormatter().format(record))
        assert (data["trace_id"], data["span_id"]) == ("given", "also")

    def test_the_ids_are_not_extras_of_a_console_line(self, tracer):
        record = _record()
        with tracer.start_as_current_span("work"):
            ContextFilter().filter(record)
        assert "trace_id" not in ConsoleFormatter().format(record)

    def test_nothing_is_asked_when_opentelemetry_is_not_loaded(
        self, tracer, monkeypatch
    ):
        with tracer.start_as_current_span("work"):
            assert logs.trace_ids() is not None
            monkeypatch.delitem(sys.modules, "opentelemetry.trace")
            assert logs.trace_ids() is None
            data = json.loads(JsonFormatter().format(_record()))
        assert data["trace_id"] is None

    def test_logs_never_imports_opentelemetry(self):
        """pysetl.logs sits below every layer: loading it loads no OpenTelemetry."""
        probe = (
            "import sys, pysetl.logs; "
            "print(any(m.startswith('opentelemetry') for m in sys.modules))"
        )
        out = subprocess.run(  # noqa: S603 - our own interpreter
            [sys.executable, "-c", probe], capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == "False"
