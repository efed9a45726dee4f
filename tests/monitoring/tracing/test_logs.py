"""OtlpLogHandler on its own: severities, attributes, what it never ships."""

from __future__ import annotations

import logging

import pytest
from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor

from pysetl.monitoring.tracing._logs import OtlpLogHandler


@pytest.fixture
def shipped(memory_logs):
    provider = LoggerProvider(shutdown_on_exit=False)
    provider.add_log_record_processor(SimpleLogRecordProcessor(memory_logs))
    handler = OtlpLogHandler(provider, level=1)
    yield handler, memory_logs
    provider.shutdown()


def _record(name="user", level=logging.INFO, msg="hi %s", args=("there",), **extra):
    record = logging.LogRecord(name, level, "f.py", 7, msg, args, None)
    record.__dict__.update(extra)
    return record


class TestOtlpLogHandler:
    @pytest.mark.parametrize(
        ("level", "number", "text"),
        [
            (logging.CRITICAL, SeverityNumber.FATAL, "FATAL"),
            (logging.WARNING, SeverityNumber.WARN, "WARN"),
            (logging.DEBUG, SeverityNumber.DEBUG, "DEBUG"),
            (5, SeverityNumber.TRACE, None),  # its name: logging's, for now
        ],
    )
    def test_severities(self, shipped, level, number, text):
        handler, memory = shipped
        handler.handle(_record(level=level))
        (record,) = memory.get_finished_logs()
        assert record.log_record.severity_number is number
        # Level 5 has no standard name: "Level 5", or what a library named it
        # (logging.addLevelName is process-wide; Spark's stack names it TRACE).
        expected = logging.getLevelName(level) if text is None else text
        assert record.log_record.severity_text == expected
        assert record.log_record.body == "hi there"

    def test_extras_that_are_not_plain_values_are_shown_by_repr(self, shipped):
        handler, memory = shipped
        handler.handle(_record(rows=3, seen={1}, ok=True))
        attributes = memory.get_finished_logs()[0].log_record.attributes
        assert attributes["rows"] == 3
        assert attributes["seen"] == "{1}"
        assert attributes["ok"] is True
        assert attributes["code.line.number"] == 7
        assert "run_id" not in attributes  # outside a run: no context fields

    def test_opentelemetrys_own_records_are_never_shipped(self, shipped):
        handler, memory = shipped
        handler.handle(_record(name="opentelemetry.sdk._shared_internal"))
        assert memory.get_finished_logs() == ()

    def test_a_record_that_cannot_be_translated_is_reported_not_raised(
        self, shipped, capsys
    ):
        handler, memory = shipped
        handler.emit(_record(msg="%d rows", args=("many",)))
        assert memory.get_finished_logs() == ()
        assert "Logging error" in capsys.readouterr().err
