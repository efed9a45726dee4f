"""OTLP over HTTP to a real receiver on loopback: spans, logs, headers, outages."""

from __future__ import annotations

import io
import logging
import time
import uuid

import pytest

from pysetl.config import load_config
from pysetl.logs import configure_logging, reset_logging
from pysetl.runtime import Session
from pysetl.utils.redaction import MASK, register_secret
from pysetl.workflow import Factory, HookManager, Pipeline

TRACING_LOGGER = "pysetl.monitoring.tracing"


@pytest.fixture(autouse=True)
def _no_traceparent(monkeypatch):
    monkeypatch.delenv("TRACEPARENT", raising=False)


def _attributes(message) -> dict[str, object]:
    values = {}
    for kv in message.attributes:
        which = kv.value.WhichOneof("value")
        value = getattr(kv.value, which)
        if which == "array_value":
            value = [getattr(v, v.WhichOneof("value")) for v in value.values]
        values[kv.key] = value
    return values


class Shout(Factory[int]):
    secret = ""

    def read(self) -> Shout:
        return self

    def process(self) -> Shout:
        logging.getLogger("user.shout").warning(
            "loaded with %s", Shout.secret, extra={"rows": 3}
        )
        try:
            {}[Shout.secret]
        except KeyError:
            logging.getLogger("user.shout").exception("lookup failed")
        return self

    def write(self) -> Shout:
        return self

    def get(self) -> int:
        return 1


class TestTraces:
    def test_the_receiver_decodes_the_run_tree(self, make_exporter, otlp, three_stages):
        exporter = make_exporter(
            endpoint=otlp.url,
            headers={"x-api-key": "k3y-for-the-backend"},
            service_name="shop-etl",
        )
        pipeline = three_stages(exporter)
        pipeline.run()
        exporter.close()
        spans = otlp.spans()
        assert len(spans) == 1 + 3 + 3 * 5
        by_name = {span.name: span for span in spans}
        run = by_name["run shop"]
        assert run.parent_span_id == b""
        assert _attributes(run)["pysetl.run_id"] == pipeline.run_id
        stage = by_name["stage 1"]
        factory = by_name["factory Clean"]
        assert stage.parent_span_id == run.span_id
        assert factory.parent_span_id == stage.span_id
        assert by_name["process"].trace_id == run.trace_id
        assert _attributes(factory) == {
            "pysetl.run_id": pipeline.run_id,
            "pysetl.pipeline": "shop",
            "pysetl.stage_id": 1,
            "pysetl.factory": "Clean",
            "pysetl.attempt": 1,
            "pysetl.status": "succeeded",
        }
        request = otlp.requests("/v1/traces")[0]
        resource = _attributes(request.resource_spans[0].resource)
        assert resource["service.name"] == "shop-etl"
        scope = request.resource_spans[0].scope_spans[0].scope
        assert scope.name == "pysetl"
        assert otlp.headers("/v1/traces")[0]["x-api-key"] == "k3y-for-the-backend"
        assert exporter.span_guard.exported == len(spans)
        assert exporter.span_guard.failed_exports == 0

    def test_gzip(self, make_exporter, otlp, three_stages):
        exporter = make_exporter(endpoint=otlp.url, compression="gzip")
        three_stages(exporter).run()
        exporter.close()
        assert otlp.headers("/v1/traces")[0]["content-encoding"] == "gzip"
        assert len(otlp.spans()) == 19


class TestLogShipping:
    def test_log_records_carry_the_run_the_span_and_no_secret(
        self, make_exporter, otlp
    ):
        secret = f"canary-{uuid.uuid4().hex}"
        register_secret(secret)
        Shout.secret = secret
        exporter = make_exporter(endpoint=otlp.url, logs=True, log_level="WARNING")
        pipeline = Pipeline(name="talk", hooks=HookManager(observers=[exporter]))
        root = logging.getLogger()
        level, root.level = root.level, logging.INFO
        try:
            pipeline.add_stage_from_type(Shout).run()
            logging.getLogger("user.shout").info("below the level: not shipped")
        finally:
            root.setLevel(level)
        exporter.close()
        assert exporter._log_handler not in root.handlers
        records = [
            r
            for r in otlp.log_records()
            if r.attributes and _attributes(r).get("factory") == "Shout"
        ]
        assert [r.body.string_value for r in records] == [
            f"loaded with {MASK}",
            "lookup failed",
        ]
        warned, failed = records
        attributes = _attributes(warned)
        assert attributes["run_id"] == pipeline.run_id
        assert attributes["pipeline"] == "talk"
        assert attributes["rows"] == 3
        assert warned.severity_text == "WARN"
        assert failed.severity_text == "ERROR"
        error = _attributes(failed)
        assert error["exception.type"] == "KeyError"
        assert secret not in str(error)
        assert "Traceback" in error["exception.stacktrace"]
        factory = next(s for s in otlp.spans() if s.name == "factory Shout")
        assert warned.trace_id == factory.trace_id
        assert warned.span_id == factory.span_id
        payload = b"".join(m.SerializeToString() for m in otlp.requests("/v1/logs"))
        assert secret.encode() not in payload
        assert not any("below the level" in r.body.string_value for r in records)


class TestOutages:
    """A backend that is down never holds a run up, and is reported once."""

    TIMEOUT = 1.0

    def _outage(self, make_exporter, three_stages, caplog, endpoint):
        caplog.set_level(logging.WARNING)
        exporter = make_exporter(
            endpoint=endpoint, export_timeout=self.TIMEOUT, schedule_delay=0.05
        )
        pipeline = three_stages(exporter)
        started = time.monotonic()
        for _ in range(3):
            pipeline.run()
            time.sleep(0.2)  # let a batch fail while the runs go on
        ran = time.monotonic() - started
        closing = time.monotonic()
        exporter.close()
        closed = time.monotonic() - closing
        print(f"runs {ran:.3f} s, close {closed:.3f} s")  # noqa: T201 - shown with -s
        return exporter, ran, closed

    def _check(self, exporter, ran, closed, caplog):
        assert ran < 0.6 + 2.0  # three runs and their pauses: no export waited
        assert closed <= 2 * self.TIMEOUT + 0.5  # the stated bound
        ours = [r for r in caplog.records if r.name == TRACING_LOGGER]
        assert len(ours) == 1
        assert "reported once" in ours[0].getMessage()
        theirs = [r for r in caplog.records if r.name.startswith("opentelemetry")]
        assert theirs == []
        guard = exporter.span_guard
        assert guard.failed_exports >= 1
        assert guard.exported == 0
        assert guard.dropped == 3 * 19

    def test_a_closed_port(self, make_exporter, three_stages, caplog, closed_port):
        url = f"http://127.0.0.1:{closed_port}"
        exporter, ran, closed = self._outage(make_exporter, three_stages, caplog, url)
        self._check(exporter, ran, closed, caplog)
        assert f"127.0.0.1:{closed_port}" in caplog.records[-1].getMessage()

    def test_a_server_that_never_answers(
        self, make_exporter, three_stages, caplog, silent_port
    ):
        url = f"http://127.0.0.1:{silent_port}"
        exporter, ran, closed = self._outage(make_exporter, three_stages, caplog, url)
        self._check(exporter, ran, closed, caplog)

    def test_closing_right_after_a_run_stays_within_the_bound(
        self, make_exporter, three_stages, caplog, silent_port
    ):
        """No failure known yet: close() tries the last batch, then gives up."""
        exporter = make_exporter(
            endpoint=f"http://127.0.0.1:{silent_port}", export_timeout=self.TIMEOUT
        )
        three_stages(exporter).run()
        started = time.monotonic()
        exporter.close()
        assert time.monotonic() - started <= 2 * self.TIMEOUT + 0.5
        assert exporter.span_guard.dropped == 19
        assert [r.name for r in caplog.records].count(TRACING_LOGGER) == 1

    def test_closing_cuts_the_retries_of_a_refused_endpoint_short(
        self, make_exporter, three_stages, caplog, closed_port
    ):
        """The SDK would wait about 1 s, then 2 s, to try again: close does not."""
        caplog.set_level(logging.WARNING)
        exporter = make_exporter(
            endpoint=f"http://127.0.0.1:{closed_port}", export_timeout=3.0
        )
        three_stages(exporter).run()
        started = time.monotonic()
        exporter.close()
        closed = time.monotonic() - started
        assert closed < 0.7, closed  # the first wait alone is 0.8 to 1.2 s
        guard = exporter.span_guard
        assert (guard.exported, guard.dropped, guard.failed_exports) == (0, 19, 1)
        ours = [r for r in caplog.records if r.name == TRACING_LOGGER]
        assert len(ours) == 1
        assert [r for r in caplog.records if r.name.startswith("opentelemetry")] == []

    def test_closing_ends_the_wait_of_an_export_that_failed_before(
        self, make_exporter, three_stages, caplog, closed_port
    ):
        """An export under way, asleep before its next try, ends at close."""
        caplog.set_level(logging.WARNING)
        exporter = make_exporter(
            endpoint=f"http://127.0.0.1:{closed_port}",
            export_timeout=10.0,
            schedule_delay=0.05,
        )
        three_stages(exporter).run()
        time.sleep(0.25)  # a batch went out, failed, and waits 0.8 to 1.2 s
        started = time.monotonic()
        exporter.close()
        closed = time.monotonic() - started
        assert closed < 0.4, closed
        guard = exporter.span_guard
        assert guard.exported == 0
        assert guard.dropped == 19
        assert len([r for r in caplog.records if r.name == TRACING_LOGGER]) == 1

    def test_a_full_queue_drops_spans_without_holding_the_run(
        self, make_exporter, three_stages, caplog, silent_port
    ):
        """The SDK warns about a full queue at most once per 20 s (its own filter)."""
        caplog.set_level(logging.WARNING)
        exporter = make_exporter(
            endpoint=f"http://127.0.0.1:{silent_port}",
            export_timeout=self.TIMEOUT,
            max_queue_size=4,
        )
        started = time.monotonic()
        three_stages(exporter).run()
        assert time.monotonic() - started < self.TIMEOUT
        exporter.close()
        full = [r for r in caplog.records if "Queue full" in r.getMessage()]
        assert len(full) <= 1
        assert exporter.span_guard.exported == 0


class TestFromTheConfig:
    def test_an_observer_of_the_monitoring_section_with_a_secret_header(
        self, tmp_path, otlp, monkeypatch
    ):
        key = f"key-{uuid.uuid4().hex}"
        monkeypatch.setenv("OTEL_TEST_API_KEY", key)
        conf = tmp_path / "conf"
        (conf / "base").mkdir(parents=True)
        (conf / "base" / "monitoring.yaml").write_text(
            "monitoring:\n"
            "  observers:\n"
            "    - class: pysetl.monitoring.tracing:OpenTelemetryExporter\n"
            "      options:\n"
            f"        endpoint: {otlp.url}\n"
            "        headers: {x-api-key: '${secret:env:OTEL_TEST_API_KEY}'}\n"
            "        service_name: from-config\n"
        )
        out = io.StringIO()
        configure_logging("json", stream=out)
        try:
            with Session(config=load_config(conf, None), observe=False) as session:
                (exporter,) = [
                    p for p in session.hooks.observers if hasattr(p, "span_guard")
                ]
                assert exporter.writer is session.writer
                logging.getLogger("user").warning("the key is %s", key)
                session.pipeline("cfg").add_stage_from_type(Shout).run()
        finally:
            reset_logging()
        assert otlp.headers("/v1/traces")[0]["x-api-key"] == key
        assert {s.name for s in otlp.spans()} >= {"run cfg", "factory Shout"}
        assert key not in out.getvalue()
        assert key not in repr(exporter.options)
