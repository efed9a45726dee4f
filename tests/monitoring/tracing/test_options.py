"""OpenTelemetryOptions: validation that names the option, secrets that stay secret."""

from __future__ import annotations

import logging
import time
import uuid

import pytest

from pysetl.errors import ConfigError
from pysetl.monitoring.tracing import (
    ExportGuard,
    OpenTelemetryExporter,
    OpenTelemetryOptions,
)
from pysetl.utils.redaction import MASK, redact_text


class TestValidation:
    def test_defaults(self):
        options = OpenTelemetryOptions()
        assert options.traces_url == "http://localhost:4318/v1/traces"
        assert options.logs_url == "http://localhost:4318/v1/logs"
        assert options.export_timeout == 3.0
        assert options.log_levelno == logging.INFO
        assert not options.logs

    def test_the_endpoint_is_a_base_url(self):
        options = OpenTelemetryOptions(endpoint=" https://otel.example.com:4318/ ")
        assert options.traces_url == "https://otel.example.com:4318/v1/traces"

    @pytest.mark.parametrize(
        ("options", "named"),
        [
            ({"endpont": "http://x"}, "endpont"),
            ({"export_timeout": 0}, "export_timeout"),
            ({"export_timeout": 600}, "export_timeout"),
            ({"endpoint": "otel.example.com:4317"}, "endpoint"),
            ({"log_level": "LOUD"}, "log_level"),
            ({"compression": "zstd"}, "compression"),
            ({"max_queue_size": 0}, "max_queue_size"),
        ],
    )
    def test_a_bad_option_is_named(self, options, named):
        with pytest.raises(ConfigError, match=f"option '{named}'") as caught:
            OpenTelemetryExporter(**options)
        assert caught.value.errors[0]["loc"] == named
        assert "export_timeout" in caught.value.hint

    def test_a_bad_value_is_not_echoed(self):
        """A value in the wrong place may be a secret: errors never repeat values."""
        secret = f"s3cr3t-{uuid.uuid4().hex}"
        with pytest.raises(ConfigError) as caught:
            OpenTelemetryExporter(api_key=secret, export_timeout=secret)
        assert "option 'api_key'" in str(caught.value)
        assert "option 'export_timeout'" in str(caught.value)
        assert secret not in str(caught.value)
        assert secret not in repr(caught.value.errors)


class TestSecrets:
    def test_headers_are_secret_and_registered(self, make_exporter, memory):
        key = f"k-{uuid.uuid4().hex}"
        exporter = make_exporter(span_exporter=memory, headers={"x-api-key": key})
        assert key not in repr(exporter.options)
        assert key not in str(exporter.options.model_dump())
        assert exporter.options.header_values() == {"x-api-key": key}
        assert redact_text(f"sent {key}") == f"sent {MASK}"


class TestExportGuard:
    def test_a_raising_export_is_reported_once_with_its_reason(self, caplog):
        guard = ExportGuard("spans", "http://u:pw@collector:4318/v1/traces")

        def boom() -> bool:
            msg = "socket closed"
            raise OSError(msg)

        try:
            assert not guard.export(boom, 2)
            assert not guard.export(boom, 3)
        finally:
            guard.release()
        (record,) = [r for r in caplog.records if r.name.startswith("pysetl")]
        assert "OSError: socket closed" in record.getMessage()
        assert "pw@" not in record.getMessage()
        assert (guard.failed_exports, guard.dropped, guard.reported) == (2, 5, True)

    def test_after_the_deadline_nothing_is_sent(self):
        guard = ExportGuard("spans", "http://collector:4318/v1/traces")
        sent: list[int] = []
        try:
            assert guard.export(lambda: sent.append(1) is None, 4)
            guard.closing(time.monotonic() + 60)
            assert guard.export(lambda: sent.append(2) is None, 4)
            guard.closing(time.monotonic() - 1)
            assert not guard.export(lambda: sent.append(3) is None, 4)
        finally:
            guard.release()
        assert sent == [1, 2]
        assert (guard.exported, guard.dropped, guard.failed_exports) == (8, 4, 0)
        assert not guard.reported

    def test_a_failing_endpoint_is_not_retried_at_close(self):
        guard = ExportGuard("spans", "http://collector:4318/v1/traces")
        calls: list[int] = []
        try:
            guard.export(lambda: calls.append(1) is not None, 1)  # fails
            guard.closing(time.monotonic() + 60)
            assert not guard.export(lambda: calls.append(2) is None, 1)
        finally:
            guard.release()
        assert calls == [1]

    def test_other_exporters_logs_are_left_alone(self, caplog):
        guard = ExportGuard("spans", "http://collector:4318/v1/traces")
        try:
            name = "opentelemetry.exporter.otlp.proto.http.trace_exporter"
            logging.getLogger(name).warning("another exporter's failure")
        finally:
            guard.release()
        assert "another exporter's failure" in caplog.text
