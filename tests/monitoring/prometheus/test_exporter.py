"""``PrometheusExporter`` against real Pushgateway and Prometheus servers."""

from __future__ import annotations

import base64
import http.server
import logging
import re
import shutil
import ssl
import subprocess
import threading
import time
import urllib.request
import uuid

import pytest

from pysetl.config import load_config
from pysetl.errors import ConfigError, FactoryError
from pysetl.monitoring.history import InMemoryRunHistory
from pysetl.monitoring.prometheus import PrometheusExporter, PrometheusOptions
from pysetl.runtime import Session
from pysetl.utils.writer import BackgroundWriter, shared_writer
from pysetl.workflow import Delivery, Factory, HookManager, Pipeline
from pysetl.workflow.hooks import EVENTS

from .conftest import Numbers

LOGGER = "pysetl.monitoring.prometheus"


class Broken(Factory[int]):
    """Fails in ``process``."""

    n = Delivery[int]()

    def read(self) -> Broken:
        return self

    def process(self) -> Broken:
        msg = "the numbers are wrong"
        raise ValueError(msg)

    def write(self) -> Broken:
        return self

    def get(self) -> int:
        return 0


GATE = threading.Event()


class Slow(Factory[int]):
    """Waits (at most 30 s) until the test opens ``GATE``."""

    def read(self) -> Slow:
        return self

    def process(self) -> Slow:
        assert GATE.wait(30), "the test never opened the gate"
        return self

    def write(self) -> Slow:
        return self

    def get(self) -> int:
        return 1


def session(tmp_path, *observers: object, **options) -> Session:
    url = f"sqlite:///{tmp_path / 'history.db'}"
    return Session(history=url, observe=True, observers=observers, **options)


def run(s: Session, name: str, *factories: type[Factory[int]]) -> None:
    pipeline = s.pipeline(name)
    for factory in factories:
        pipeline.add_stage_from_type(factory)
    if Broken in factories:
        with pytest.raises(FactoryError):
            pipeline.run()
    else:
        pipeline.run()


def warnings_of(caplog) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == LOGGER and r.levelno >= logging.WARNING
    ]


class TestPushgatewayAndPrometheus:
    def test_a_run_is_pushed_scraped_and_queried_with_promql(
        self, tmp_path, pushgateway, prometheus, pipeline_name
    ):
        exporter = PrometheusExporter(pushgateway=pushgateway.url, instance="host-a")
        with session(tmp_path, exporter) as s:
            run(s, pipeline_name, Numbers)
        assert exporter.pusher is not None
        assert exporter.pusher.pushes == 1
        assert exporter.pusher.failures == 0
        selector = f'pipeline="{pipeline_name}"'
        status = prometheus.wait_for(
            f'pysetl_pipeline_last_run_status{{{selector},status="succeeded"}} == 1'
        )
        assert status[0]["metric"]["job"] == "pysetl"
        assert status[0]["metric"]["instance"] == "host-a"
        durations = prometheus.wait_for(
            f'pysetl_factory_duration_seconds{{{selector},factory="Numbers"}}'
        )
        assert float(durations[0]["value"][1]) > 0
        success = prometheus.wait_for(
            f"time() - pysetl_pipeline_last_success_timestamp_seconds{{{selector}}}"
        )
        assert 0 <= float(success[0]["value"][1]) < 120
        labels = set().union(
            *(r["metric"] for r in prometheus.query(f"{{{selector}}}"))
        )
        assert labels <= {
            "__name__",
            "job",
            "instance",
            "pipeline",
            "factory",
            "status",
            "phase",
        }

    def test_a_failed_run_is_pushed_as_failed(
        self, tmp_path, pushgateway, prometheus, pipeline_name
    ):
        exporter = PrometheusExporter(pushgateway=pushgateway.url, push_interval=None)
        with session(tmp_path, exporter) as s:
            run(s, pipeline_name, Numbers, Broken)
        result = prometheus.wait_for(
            f'pysetl_pipeline_last_run_status{{pipeline="{pipeline_name}",'
            'status="failed"} == 1'
        )
        assert result
        failed = prometheus.wait_for(
            f'pysetl_factory_last_status{{pipeline="{pipeline_name}",'
            'factory="Broken",status="failed"}'
        )
        assert failed[0]["value"][1] == "1"

    def test_a_long_run_is_pushed_while_it_runs(
        self, tmp_path, pushgateway, pipeline_name
    ):
        GATE.clear()
        exporter = PrometheusExporter(pushgateway=pushgateway.url, push_interval=0.2)
        running = re.compile(
            rf'^pysetl_pipeline_running\{{[^}}]*pipeline="{pipeline_name}"[^}}]*\}} 1$',
            re.MULTILINE,
        )
        with session(tmp_path, exporter) as s:
            worker = threading.Thread(target=run, args=(s, pipeline_name, Slow))
            worker.start()
            try:
                deadline = time.monotonic() + 20
                while not running.search(pushgateway.get("/metrics").decode()):
                    assert time.monotonic() < deadline, "no live push within 20 s"
                    time.sleep(0.1)
            finally:
                GATE.set()
                worker.join(30)
        assert exporter.pusher is not None
        assert exporter.pusher.pushes >= 2  # at least one live push and the final one
        # every push of the session went over one connection, kept open
        assert exporter.pusher._session.get_adapter(pushgateway.url).opened == 1
        final = pushgateway.get("/metrics").decode()
        assert not running.search(final)
        assert f'pipeline="{pipeline_name}"' in final

    def test_promtool_accepts_what_is_pushed(
        self, tmp_path, pushgateway, pipeline_name
    ):
        exporter = PrometheusExporter(pushgateway=pushgateway.url)
        with session(tmp_path, exporter) as s:
            run(s, pipeline_name, Numbers)
        pushed = pushgateway.get("/api/v1/metrics")
        assert pipeline_name.encode() in pushed
        ours = [
            line
            for line in pushgateway.get("/metrics").decode().splitlines(keepends=True)
            if "pysetl_" in line
        ]
        promtool = shutil.which("promtool") or "/usr/bin/promtool"
        checked = subprocess.run(  # noqa: S603 - our own binaries, fixed arguments
            [promtool, "check", "metrics"],
            input="".join(ours).encode(),
            capture_output=True,
            check=False,
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr


class TestAuthAndTls:
    def _pushed(self, gateway) -> str:
        token = base64.b64encode(
            f"{gateway.username}:{gateway.password}".encode()
        ).decode()
        request = urllib.request.Request(  # noqa: S310 - our own loopback server
            f"{gateway.server.url}/metrics",
            headers={"Authorization": f"Basic {token}"},
        )
        context = ssl.create_default_context(cafile=str(gateway.ca_file))
        with urllib.request.urlopen(request, timeout=5, context=context) as answer:  # noqa: S310 - our own loopback server
            return answer.read().decode()

    def test_the_password_comes_from_a_secret_and_is_never_shown(
        self, tmp_path, secure_gateway, pipeline_name, monkeypatch, caplog
    ):
        monkeypatch.setenv("PGW_PASSWORD", secure_gateway.password)
        conf = tmp_path / "conf" / "base"
        conf.mkdir(parents=True)
        (conf / "monitoring.yaml").write_text(
            "monitoring:\n  observers:\n"
            "    - class: pysetl.monitoring.prometheus:PrometheusExporter\n"
            "      options:\n"
            f"        pushgateway: {secure_gateway.server.url}\n"
            "        username: pysetl\n"
            "        password: ${secret:env:PGW_PASSWORD}\n"
            f"        ca_file: {secure_gateway.ca_file}\n"
            "        push_interval: null\n"
        )
        config = load_config(tmp_path / "conf", None)
        url = f"sqlite:///{tmp_path / 'history.db'}"
        caplog.set_level(logging.DEBUG)
        with Session(config=config, history=url, observe=True) as s:
            exporter = next(
                p for p in s.hooks.observers if isinstance(p, PrometheusExporter)
            )
            run(s, pipeline_name, Numbers)
            assert secure_gateway.password not in repr(exporter)
            assert secure_gateway.password not in repr(exporter.options)
        assert exporter.pusher is not None
        assert exporter.pusher.pushes == 1
        assert f'pipeline="{pipeline_name}"' in self._pushed(secure_gateway)
        assert secure_gateway.password not in caplog.text

    def test_a_wrong_password_is_reported_once_and_redacted(
        self, tmp_path, secure_gateway, pipeline_name, caplog
    ):
        wrong = "not-the-password-9f3a"
        exporter = PrometheusExporter(
            pushgateway=secure_gateway.server.url,
            username="pysetl",
            password=wrong,
            ca_file=str(secure_gateway.ca_file),
            push_interval=None,
        )
        caplog.set_level(logging.DEBUG)
        with session(tmp_path, exporter) as s:
            run(s, pipeline_name, Numbers)
            run(s, pipeline_name, Numbers)
        assert exporter.pusher is not None
        assert exporter.pusher.failures == 2
        warned = warnings_of(caplog)
        assert len(warned) == 1
        assert "401" in warned[0]
        assert wrong not in caplog.text
        assert base64.b64encode(f"pysetl:{wrong}".encode()).decode() not in caplog.text

    def test_a_plain_http_refusal_is_reported_once_with_its_status(
        self, tmp_path, pipeline_name, caplog
    ):
        class Refusing(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_PUT(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                seen.append(self.headers["Authorization"])
                answer = b"wrong user or password"
                self.send_response(401)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                """Quiet."""

        seen: list[str] = []
        wrong = "not-the-password-7c1e"
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Refusing)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        try:
            exporter = PrometheusExporter(
                pushgateway=f"http://127.0.0.1:{server.server_address[1]}",
                username="pysetl",
                password=wrong,
                push_interval=None,
            )
            caplog.set_level(logging.DEBUG)
            with session(tmp_path, exporter) as s:
                run(s, pipeline_name, Numbers)
                run(s, pipeline_name, Numbers)
        finally:
            server.shutdown()
            server.server_close()
        token = base64.b64encode(f"pysetl:{wrong}".encode()).decode()
        assert seen == [f"Basic {token}"] * 2
        assert exporter.pusher is not None
        assert exporter.pusher.failures == 2
        warned = warnings_of(caplog)
        assert len(warned) == 1
        assert "401" in warned[0]
        assert "wrong user or password" in warned[0]
        assert wrong not in caplog.text
        assert token not in caplog.text

    def test_an_unknown_certificate_is_refused(
        self, tmp_path, secure_gateway, pipeline_name, caplog
    ):
        exporter = PrometheusExporter(
            pushgateway=secure_gateway.server.url, push_interval=None
        )
        with session(tmp_path, exporter) as s:
            run(s, pipeline_name, Numbers)
        assert exporter.pusher is not None
        assert exporter.pusher.failures == 1
        assert "CERTIFICATE_VERIFY_FAILED" in warnings_of(caplog)[0]

    def test_insecure_skip_verify_pushes_to_a_self_signed_gateway(
        self, tmp_path, secure_gateway, pipeline_name
    ):
        exporter = PrometheusExporter(
            pushgateway=secure_gateway.server.url,
            username=secure_gateway.username,
            password=secure_gateway.password,
            insecure_skip_verify=True,
            push_interval=None,
        )
        with session(tmp_path, exporter) as s:
            run(s, pipeline_name, Numbers)
        assert f'pipeline="{pipeline_name}"' in self._pushed(secure_gateway)


class TestUnreachable:
    BOUND = 2.0  # slack for a loaded machine, beyond the 2 x timeout stated

    def test_a_closed_port_costs_nothing_and_is_reported_once(
        self, tmp_path, closed_port, pipeline_name, caplog
    ):
        exporter = PrometheusExporter(pushgateway=closed_port, push_interval=None)
        start = time.monotonic()
        with session(tmp_path, exporter) as s:
            run(s, pipeline_name, Numbers)
            run(s, pipeline_name, Numbers, Broken)
        assert time.monotonic() - start < 10  # two runs and a session, no wait
        assert exporter.pusher is not None
        assert exporter.pusher.failures == 2
        assert (
            exporter.registry.get_sample_value("pysetl_exporter_push_failures_total")
            == 2
        )
        warned = warnings_of(caplog)
        assert len(warned) == 1
        assert closed_port in warned[0]

    def test_a_server_that_never_answers_delays_a_run_by_at_most_the_timeout(
        self, tmp_path, silent_server, pipeline_name, caplog
    ):
        timeout = 0.5
        exporter = PrometheusExporter(
            pushgateway=silent_server, timeout=timeout, push_interval=None
        )
        with session(tmp_path, exporter) as s:
            run(s, pipeline_name, Numbers)  # the history is warm
            start = time.monotonic()
            run(s, pipeline_name, Numbers)
            s.close()
            elapsed = time.monotonic() - start
        assert elapsed < 2 * timeout + self.BOUND
        assert elapsed >= timeout * 0.9  # the push did wait for the silent server
        assert exporter.pusher is not None
        assert exporter.pusher.failures == 2
        assert len(warnings_of(caplog)) == 1
        assert "timed out" in warnings_of(caplog)[0]

    def test_with_the_default_timeout_a_silent_server_is_reported_once_in_all(
        self, tmp_path, silent_server, pipeline_name, caplog
    ):
        """No other WARNING either: not the writer's slow-call one, per push."""
        exporter = PrometheusExporter(pushgateway=silent_server, push_interval=None)
        with session(tmp_path, exporter) as s:
            run(s, pipeline_name, Numbers)
            run(s, pipeline_name, Numbers)
        assert exporter.pusher is not None
        assert exporter.pusher.failures == 2
        everything = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert [r.name for r in everything] == [LOGGER]

    def test_a_push_that_works_again_is_logged(
        self, tmp_path, pushgateway, closed_port, pipeline_name, caplog
    ):
        exporter = PrometheusExporter(pushgateway=closed_port, push_interval=None)
        caplog.set_level(logging.INFO, logger=LOGGER)
        with session(tmp_path, exporter) as s:
            run(s, pipeline_name, Numbers)
            assert exporter.pusher is not None
            exporter.pusher.url = pushgateway.url  # the gateway comes back
            run(s, pipeline_name, Numbers)
        assert exporter.pusher.failures == 1
        assert exporter.pusher.pushes == 1
        assert any("work again" in r.getMessage() for r in caplog.records)
        assert f'pipeline="{pipeline_name}"' in pushgateway.get("/metrics").decode()


class TestTextfile:
    def test_every_pipeline_is_written_and_promtool_accepts_it(self, tmp_path):
        path = tmp_path / "out" / "pysetl.prom"
        path.parent.mkdir()
        exporter = PrometheusExporter(textfile=str(path))
        with session(tmp_path, exporter) as s:
            run(s, "first", Numbers)
            run(s, "second", Numbers, Broken)
        text = path.read_text()
        assert 'pipeline="first"' in text
        assert 'pipeline="second"' in text
        assert exporter.pusher is None
        promtool = shutil.which("promtool") or "/usr/bin/promtool"
        checked = subprocess.run(  # noqa: S603 - our own binaries, fixed arguments
            [promtool, "check", "metrics"],
            input=text.encode(),
            capture_output=True,
            check=False,
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr

    def test_a_textfile_that_cannot_be_written_is_reported_once(self, tmp_path, caplog):
        exporter = PrometheusExporter(textfile=str(tmp_path / "nowhere" / "m.prom"))
        with session(tmp_path, exporter) as s:
            run(s, "p", Numbers)
            run(s, "p", Numbers)
        assert exporter.textfile_failures == 2
        assert len(warnings_of(caplog)) == 1


class TestWithoutHistory:
    def test_nothing_is_exported_and_it_is_said_once(
        self, tmp_path, pushgateway, pipeline_name, caplog
    ):
        exporter = PrometheusExporter(pushgateway=pushgateway.url)
        with Session(observe=False, observers=[exporter]) as s:
            run(s, pipeline_name, Numbers)
            run(s, pipeline_name, Numbers)
        assert exporter.pusher is not None
        assert exporter.pusher.pushes == 0
        warned = warnings_of(caplog)
        assert len(warned) == 1
        assert "not recorded" in warned[0]


class TestOptions:
    @pytest.mark.parametrize(
        ("options", "named"),
        [
            ({"pushgatway": "http://x"}, "pushgatway"),
            ({}, "pushgateway"),
            ({"pushgateway": "ftp://x"}, "http://"),
            ({"pushgateway": "http://x", "ca_file": "/ca.pem"}, "https://"),
            ({"pushgateway": "http://x", "password": "s3cret-pw"}, "username"),
            ({"pushgateway": "https://x", "cert_file": "/c.pem"}, "key_file"),
            ({"pushgateway": "http://x", "grouping_key": {"job": "j"}}, "job"),
            ({"textfile": "m.txt"}, ".prom"),
            ({"pushgateway": "http://x", "timeout": 0}, "timeout"),
            ({"pushgateway": "http://x", "timeout": 600}, "timeout"),
            ({"pushgateway": "http://x", "push_interval": -1}, "push_interval"),
        ],
    )
    def test_a_bad_option_is_named(self, options, named):
        with pytest.raises(ConfigError, match=re.escape(named)) as caught:
            PrometheusExporter(**options)
        assert "PrometheusExporter" in caught.value.message
        assert "s3cret-pw" not in str(caught.value)

    def test_the_model_is_exported_with_its_defaults(self):
        options = PrometheusOptions(pushgateway="http://127.0.0.1:9091")
        assert options.job == "pysetl"
        assert options.push_interval == 30.0
        assert options.timeout == 0.75

    def test_an_exporter_is_built_from_a_validated_model(self, tmp_path):
        secret = f"pw-{uuid.uuid4().hex}"
        options = PrometheusOptions(
            pushgateway="https://127.0.0.1:1",
            username="u",
            password=secret,
            textfile=tmp_path / "m.prom",
            push_interval=None,
        )
        exporter = PrometheusExporter.from_options(options)
        assert exporter.options == options
        assert exporter.options.password is not None
        assert exporter.options.password.get_secret_value() == secret

    def test_a_plain_http_gateway_loads_no_tls_context(self, monkeypatch):
        # Loading the system's CA store took tens of milliseconds at every
        # session; a plain-HTTP Pushgateway needs none.
        def refuse(*args, **kwargs):
            raise AssertionError("an SSL context was made for an http URL")

        monkeypatch.setattr(ssl, "create_default_context", refuse)
        exporter = PrometheusExporter(pushgateway="http://127.0.0.1:1")
        exporter.close()
        with pytest.raises(AssertionError, match="SSL context"):
            PrometheusExporter(pushgateway="https://127.0.0.1:1")

    def test_a_missing_ca_file_fails_when_the_exporter_is_built(self, tmp_path):
        missing = str(tmp_path / "no.pem")
        with pytest.raises(ConfigError, match="ca_file") as caught:
            PrometheusExporter(pushgateway="https://127.0.0.1:1", ca_file=missing)
        assert missing in caught.value.message
        assert "PEM" in caught.value.hint

    def test_a_user_without_a_password_sends_an_empty_one(
        self, tmp_path, secure_gateway, pipeline_name, caplog
    ):
        exporter = PrometheusExporter(
            pushgateway=secure_gateway.server.url,
            username="pysetl",
            ca_file=str(secure_gateway.ca_file),
            push_interval=None,
        )
        with session(tmp_path, exporter) as s:
            run(s, pipeline_name, Numbers)
        assert exporter.pusher is not None
        assert exporter.pusher.failures == 1
        assert "401" in warnings_of(caplog)[0]

    def test_repr_shows_where_it_exports(self, tmp_path):
        exporter = PrometheusExporter(pushgateway="http://u:pw-xyz1@127.0.0.1:1")
        assert "pw-xyz1" not in repr(exporter)
        assert "127.0.0.1:1" in repr(exporter)


def settle(writer: BackgroundWriter) -> None:
    """Wait until the writer ran a pass, and so its due one-shot tasks."""
    writer.call(lambda: None)
    assert writer.drain(10)


class TestLifecycle:
    def test_overlapping_runs_of_one_pipeline_keep_it_running(
        self, tmp_path, pushgateway, pipeline_name
    ):
        """The live push covers a pipeline until its last concurrent run ends."""
        writer = BackgroundWriter()
        exporter = PrometheusExporter(
            pushgateway=pushgateway.url, push_interval=3600, writer=writer
        )
        with session(tmp_path, writer=writer) as s:
            exporter.pysetl_attach(s)
            run(s, pipeline_name, Numbers)  # something to push
            exporter.before_pipeline_run(pipeline_name=pipeline_name)
            exporter.before_pipeline_run(pipeline_name=pipeline_name)
            exporter.after_pipeline_run(pipeline_name=pipeline_name)
            settle(writer)
            assert exporter.pusher is not None
            pushes = exporter.pusher.pushes
            exporter._push_running()
            assert exporter.pusher.pushes == pushes + 1  # still running
            exporter.on_pipeline_run_failed(pipeline_name=pipeline_name)
            settle(writer)
            pushes = exporter.pusher.pushes
            exporter._push_running()
            assert exporter.pusher.pushes == pushes  # nothing runs: no push
            exporter.close()
            exporter.after_pipeline_run(pipeline_name=pipeline_name)
            settle(writer)
            assert exporter.pusher.pushes == pushes  # closed: nothing scheduled
        writer.close()

    def test_without_a_session_it_works_on_the_process_wide_writer(
        self, tmp_path, pipeline_name
    ):
        with session(tmp_path) as s:
            run(s, pipeline_name, Numbers)
            history = s.history
            path = tmp_path / "m.prom"
            exporter = PrometheusExporter(textfile=str(path), history=history)
            hooks = HookManager()
            hooks.register(exporter)
            Pipeline(name=pipeline_name, hooks=hooks).add_stage_from_type(Numbers).run()
            exporter.close()
            hooks.close()
            assert exporter.writer is shared_writer()
            assert f'pipeline="{pipeline_name}"' in path.read_text()

    def test_a_history_given_is_kept_when_a_session_attaches(self, tmp_path):
        mine = InMemoryRunHistory()
        exporter = PrometheusExporter(textfile=str(tmp_path / "m.prom"), history=mine)
        with session(tmp_path, exporter):
            assert exporter.history is mine

    def test_a_client_certificate_is_sent_for_mutual_tls(
        self, tmp_path, secure_gateway, pipeline_name
    ):
        key = secure_gateway.ca_file.with_name("key.pem")
        exporter = PrometheusExporter(
            pushgateway=secure_gateway.server.url,
            username=secure_gateway.username,
            password=secure_gateway.password,
            ca_file=str(secure_gateway.ca_file),
            cert_file=str(secure_gateway.ca_file),
            key_file=str(key),
            push_interval=None,
        )
        with session(tmp_path, exporter) as s:
            run(s, pipeline_name, Numbers)
        assert exporter.pusher is not None
        assert exporter.pusher.pushes == 1


class TestCost:
    def test_it_listens_to_pipeline_events_only(self):
        """Nothing runs per factory: the observer budget stays untouched."""
        events = {name for name in dir(PrometheusExporter) if name in EVENTS}
        assert events == {
            "before_pipeline_run",
            "after_pipeline_run",
            "on_pipeline_run_failed",
        }
