"""The OpenLineage exporter over the client's real HTTP transport (no Spark).

Pipelines of plain factories run with the exporter registered; a loopback
server receives the events, and each one is validated against the spec.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time
import uuid
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import pytest
from openlineage.client.transport import Transport
from typing_extensions import Self

from pysetl.config import load_config
from pysetl.config.jdbc_config import JdbcConfig
from pysetl.errors import ConfigError, FactoryError
from pysetl.monitoring.lineage import OpenLineageExporter, OpenLineageOptions, run_uuid
from pysetl.runtime import Session
from pysetl.utils.dataset_access import (
    add_access_listener,
    record_access,
    remove_access_listener,
)
from pysetl.utils.redaction import MASK, redact_text, reset_default_redactor
from pysetl.workflow import Delivery, Factory, Pipeline
from pysetl.workflow.hooks import HookManager

ORDERS_URL = "jdbc:postgresql://etl:hunter22@db.internal:5433/shop?password=hunter22"


def _repository(url: str, table: str) -> Any:
    """What the exporter sees of a repository: its connector's config."""
    config = JdbcConfig(url=url, table=table).config
    return SimpleNamespace(connector=SimpleNamespace(config=config))


ORDERS = _repository(ORDERS_URL, "orders")
TOTALS = _repository("jdbc:mysql://mart:3306/sales", "totals")


class LoadOrders(Factory[int]):
    """Reads the orders table (as a repository would report it)."""

    def read(self) -> Self:
        record_access(ORDERS, "read")
        return self

    def process(self) -> Self:
        return self

    def write(self) -> Self:
        return self

    def get(self) -> int:
        return 3


class SaveTotals(Factory[str]):
    """Takes the count, reads the orders again and writes the totals."""

    count = Delivery[int](producer=LoadOrders)

    def read(self) -> Self:
        self.n = self.count.get()
        record_access(ORDERS, "read")
        return self

    def process(self) -> Self:
        return self

    def write(self) -> Self:
        record_access(TOTALS, "write")
        return self

    def get(self) -> str:
        return f"{self.n} orders"


class Broken(Factory[int]):
    """Reads the orders, then fails."""

    def read(self) -> Self:
        record_access(ORDERS, "read")
        msg = "the disk is full (password=hunter22)"
        raise OSError(msg)

    def process(self) -> Self:
        return self

    def write(self) -> Self:
        return self

    def get(self) -> int:
        return 0


def run(exporter: OpenLineageExporter, writer, *factories: type[Factory[Any]]):
    hooks = HookManager(observers=[exporter], writer=writer, drain_timeout=20)
    pipeline = Pipeline(name="shop", hooks=hooks)
    for factory in factories:
        pipeline.add_stage_from_type(factory)
    try:
        pipeline.run()
    finally:
        writer.drain(20)
    return pipeline


def by_job(bodies):
    return {(b["job"]["name"], b["eventType"]): b for b in bodies}


class TestEvents:
    def test_a_run_sends_start_and_complete_for_the_run_and_each_factory(
        self, receiver, writer, validate_event
    ):
        exporter = OpenLineageExporter(url=receiver.url, namespace="team")
        pipeline = run(exporter, writer, LoadOrders, SaveTotals)
        bodies = receiver.wait_for(6)
        assert [(b["job"]["name"], b["eventType"]) for b in bodies] == [
            ("shop", "START"),
            ("shop.LoadOrders", "START"),
            ("shop.LoadOrders", "COMPLETE"),
            ("shop.SaveTotals", "START"),
            ("shop.SaveTotals", "COMPLETE"),
            ("shop", "COMPLETE"),
        ]
        for body in bodies:
            validate_event(body)
            assert body["job"]["namespace"] == "team"
            datetime.fromisoformat(body["eventTime"])
        assert {r.path for r in receiver.events} == {"/api/v1/lineage"}
        assert exporter.sent == 6
        assert exporter.failed == exporter.dropped == 0
        events = by_job(bodies)
        run_id = run_uuid(pipeline.run_id)
        assert events["shop", "START"]["run"]["runId"] == run_id
        child = events["shop.SaveTotals", "COMPLETE"]
        assert child["run"]["facets"]["parent"]["run"]["runId"] == run_id
        assert child["run"]["facets"]["parent"]["job"]["name"] == "shop"
        start = events["shop.SaveTotals", "START"]
        assert start["run"]["runId"] == child["run"]["runId"] != run_id
        assert child["job"]["facets"]["jobType"]["jobType"] == "FACTORY"
        assert events["shop", "START"]["job"]["facets"]["jobType"]["jobType"] == (
            "PIPELINE"
        )

    def test_datasets_are_what_each_factory_read_and_wrote(self, receiver, writer):
        run(OpenLineageExporter(url=receiver.url), writer, LoadOrders, SaveTotals)
        events = by_job(receiver.wait_for(6))
        orders = {
            "namespace": "postgres://db.internal:5433",
            "name": "shop.public.orders",
        }
        totals = {"namespace": "mysql://mart:3306", "name": "sales.totals"}

        def names(datasets):
            return [{k: d[k] for k in ("namespace", "name")} for d in datasets]

        load = events["shop.LoadOrders", "COMPLETE"]
        assert (names(load["inputs"]), names(load["outputs"])) == ([orders], [])
        save = events["shop.SaveTotals", "COMPLETE"]
        assert (names(save["inputs"]), names(save["outputs"])) == ([orders], [totals])
        assert events["shop.SaveTotals", "START"]["inputs"] == []
        whole = events["shop", "COMPLETE"]
        assert (names(whole["inputs"]), names(whole["outputs"])) == ([orders], [totals])

    def test_no_credential_of_a_jdbc_url_reaches_the_backend(self, receiver, writer):
        run(OpenLineageExporter(url=receiver.url), writer, LoadOrders)
        sent = str(receiver.wait_for(4))
        assert "hunter22" not in sent
        assert "etl@" not in sent

    def test_a_failed_factory_sends_fail_with_its_error_redacted(
        self, receiver, writer, validate_event
    ):
        with pytest.raises(FactoryError):
            run(OpenLineageExporter(url=receiver.url), writer, Broken)
        bodies = receiver.wait_for(4)
        for body in bodies:
            validate_event(body)
        events = by_job(bodies)
        failed = events["shop.Broken", "FAIL"]
        error = failed["run"]["facets"]["errorMessage"]
        assert "the disk is full" in error["message"]
        assert "hunter22" not in error["message"]
        assert error["programmingLanguage"] == "PYTHON"
        assert [d["name"] for d in failed["inputs"]] == ["shop.public.orders"]
        assert "errorMessage" in events["shop", "FAIL"]["run"]["facets"]

    def test_an_attempt_that_touches_nothing_has_no_datasets(self, receiver, writer):
        class Quiet(LoadOrders):
            def read(self) -> Self:
                return self

        run(OpenLineageExporter(url=receiver.url), writer, Quiet)
        done = by_job(receiver.wait_for(4))["shop.Quiet", "COMPLETE"]
        assert done["inputs"] == done["outputs"] == []


class TestSecrets:
    def test_the_api_key_is_sent_as_a_bearer_token_and_masked_in_outputs(
        self, receiver, writer
    ):
        reset_default_redactor()
        key = "lineage-key-7d41c0ffee"
        exporter = OpenLineageExporter(url=receiver.url, api_key=key)
        run(exporter, writer, LoadOrders)
        receiver.wait_for(4)
        headers = {r.headers["Authorization"] for r in receiver.events}
        assert headers == {f"Bearer {key}"}
        assert redact_text(f"key is {key}") == f"key is {MASK}"
        assert key not in repr(exporter)
        assert key not in repr(exporter.options)
        reset_default_redactor()

    def test_credentials_in_the_url_are_masked_in_the_endpoint(self):
        exporter = OpenLineageExporter(url="http://user:s3cret-pw@127.0.0.1:9/")
        assert "s3cret-pw" not in exporter.endpoint
        assert "s3cret-pw" not in repr(exporter)
        exporter.close()


class TestEnvironment:
    def test_proxies_and_the_ca_bundle_are_read_once_from_the_environment(
        self, monkeypatch, receiver
    ):
        # requests would read them at every send; the exporter reads them
        # when it is built, with the same rules (NO_PROXY included).
        monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
        remote = OpenLineageExporter(url="https://lineage.example.com")
        local = OpenLineageExporter(url=receiver.url)
        unchecked = OpenLineageExporter(url="https://lineage.example.com", verify=False)
        try:
            remote_transport = remote._client.transport
            proxies = remote_transport.session.proxies
            assert proxies.get("https") == "http://proxy.invalid:3128"
            assert remote_transport.verify == "/etc/ssl/certs/ca-certificates.crt"
            assert unchecked._client.transport.verify is False
            assert local._client.transport.session.proxies == {}  # NO_PROXY
            monkeypatch.setenv("HTTP_PROXY", "http://proxy.invalid:3128")
            monkeypatch.delenv("NO_PROXY")
            # read once: what changes later does not reach a built exporter
            local.before_pipeline_run(run_id="r1", pipeline_name="p", timestamp=1.0)
            assert receiver.wait_for(1)
            assert local.sent == 1
        finally:
            for exporter in (remote, local, unchecked):
                exporter.close()


class TestOptions:
    def test_an_unknown_option_is_named(self):
        with pytest.raises(ConfigError, match="'colour'"):
            OpenLineageExporter(url="http://127.0.0.1:9", colour="blue")

    def test_a_bad_value_is_named_without_echoing_it(self):
        with pytest.raises(ConfigError) as caught:
            OpenLineageExporter(url="http://127.0.0.1:9", timeout=-1, api_key=["k-9x"])
        message = str(caught.value)
        assert "'timeout'" in message
        assert "'api_key'" in message
        assert "k-9x" not in message

    def test_the_url_is_required_and_must_be_http(self):
        with pytest.raises(ConfigError, match="'url'"):
            OpenLineageExporter(namespace="x")
        with pytest.raises(ConfigError, match="'url'"):
            OpenLineageExporter(url="ftp://host")

    def test_the_options_model_is_exported_and_frozen(self):
        options = OpenLineageOptions(url="https://lineage.example", api_key="")
        assert options.api_key is None
        assert options.timeout == 0.75
        with pytest.raises(ValueError, match="frozen"):
            options.timeout = 3  # type: ignore[misc]


class TestUnreachable:
    """A backend that is down delays a run by a bounded time and is reported once."""

    @pytest.mark.parametrize("kind", ["closed", "silent"])
    def test_a_run_is_delayed_at_most_twice_the_timeout_and_reported_once(
        self, kind, closed_port, silent_port, writer, caplog
    ):
        port = closed_port if kind == "closed" else silent_port
        exporter = OpenLineageExporter(url=f"http://127.0.0.1:{port}", timeout=0.5)
        caplog.set_level(logging.DEBUG, logger="pysetl.monitoring.lineage")
        started = time.monotonic()
        run(exporter, writer, LoadOrders, SaveTotals)
        elapsed = time.monotonic() - started
        assert elapsed < 2 * 0.5 + 1.5  # one send's bound, plus the run itself
        assert exporter.failed == 1
        assert exporter.sent == 0
        assert exporter.dropped == 5
        # The exporter's own reports: a send may take up to twice 0.5 s, which
        # can reach the hook manager's 1 s slow-call threshold on a loaded
        # machine, and that warning is the hook manager's, not a second report
        # (the next test pins that the default timeout stays under it).
        warnings = [
            r
            for r in caplog.records
            if r.levelno >= logging.WARNING
            and r.name.startswith("pysetl.monitoring.lineage")
        ]
        assert len(warnings) == 1
        assert f"127.0.0.1:{port}" in warnings[0].getMessage()
        assert "reported once" in warnings[0].getMessage()

    def test_a_silent_backend_with_the_defaults_is_one_warning_in_all(
        self, silent_port, writer, caplog
    ):
        """The default timeout stays under the writer's slow-call threshold."""
        exporter = OpenLineageExporter(url=f"http://127.0.0.1:{silent_port}")
        caplog.set_level(logging.WARNING)
        started = time.monotonic()
        run(exporter, writer, LoadOrders)
        assert time.monotonic() - started < 2 * 0.75 + 1.5
        assert (exporter.failed, exporter.dropped) == (1, 3)
        warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert [r.name for r in warnings] == ["pysetl.monitoring.lineage._exporter"]

    def test_after_retry_after_it_tries_again_and_reports_no_more(
        self, receiver, closed_port, writer, caplog
    ):
        now = [0.0]
        exporter = OpenLineageExporter(
            url=f"http://127.0.0.1:{closed_port}", retry_after=60, clock=lambda: now[0]
        )
        caplog.set_level(logging.DEBUG, logger="pysetl.monitoring.lineage")
        run(exporter, writer, LoadOrders)
        assert (exporter.failed, exporter.dropped) == (1, 3)
        now[0] = 61.0
        run(exporter, writer, LoadOrders)
        assert (exporter.failed, exporter.dropped) == (2, 6)
        warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(warnings) == 1

    def test_an_error_status_counts_as_a_failure(self, receiver, writer):
        receiver.status = 503
        exporter = OpenLineageExporter(url=receiver.url)
        run(exporter, writer, LoadOrders)
        assert len(receiver.wait_for(1)) == 1  # sent once, never retried
        assert (exporter.sent, exporter.failed, exporter.dropped) == (0, 1, 3)


class TestAccesses:
    def test_close_stops_noting_accesses(self, receiver):
        exporter = OpenLineageExporter(url=receiver.url)
        exporter.close()
        exporter.close()
        scope = SimpleNamespace(run_id="r", stage=0, factory="F", attempt=1)
        record_access(ORDERS, "read")
        assert exporter._accesses == {}
        exporter._on_access(None, ORDERS, "read")
        exporter._on_access(SimpleNamespace(factory=None), ORDERS, "read")
        assert exporter._accesses == {}
        exporter._on_access(scope, ORDERS, "read")
        assert list(exporter._accesses) == [("r", 0, "F", 1)]

    def test_accesses_of_runs_it_never_sees_end_are_bounded(
        self, receiver, monkeypatch
    ):
        from pysetl.monitoring.lineage import _exporter

        monkeypatch.setattr(_exporter, "_MAX_OPEN", 3)
        exporter = OpenLineageExporter(url=receiver.url)
        for n in range(5):
            scope = SimpleNamespace(run_id=f"r{n}", stage=0, factory="F", attempt=1)
            exporter._on_access(scope, ORDERS, "read")
        assert [key[0] for key in exporter._accesses] == ["r2", "r3", "r4"]
        exporter._accesses.clear()
        exporter._forget_oldest()  # nothing left: nothing happens
        exporter.close()


class TestRunIds:
    def test_a_ulid_keeps_its_bits_as_a_uuid(self):
        ulid = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
        value = uuid.UUID(run_uuid(ulid))
        digits = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
        stamp = 0
        for char in ulid[:10]:
            stamp = stamp * 32 + digits.index(char)
        assert value.int >> 80 == stamp  # the 48-bit time comes first, as in UUIDv7
        assert run_uuid(ulid.lower()) == str(value)

    @pytest.mark.parametrize(
        "run_id", ["not-a-ulid", "8" * 26, "01ARZ3NDEKTSV4RRFFQ69G5FA!"]
    )
    def test_other_ids_get_a_stable_uuid5(self, run_id):
        value = uuid.UUID(run_uuid(run_id))
        assert value.version == 5
        assert run_uuid(run_id) == str(value)


class TestFromConfig:
    def test_the_config_turns_it_on_with_a_secret_key_and_no_code(
        self, receiver, tmp_path, monkeypatch, validate_event
    ):
        """``monitoring.observers`` builds the exporter; the key comes from a secret."""
        reset_default_redactor()
        key = "cfg-lineage-key-5be1d00d"
        monkeypatch.setenv("LINEAGE_KEY", key)
        conf = tmp_path / "conf"
        (conf / "base").mkdir(parents=True)
        (conf / "base" / "monitoring.yaml").write_text(
            "monitoring:\n  observers:\n"
            "    - class: pysetl.monitoring.lineage:OpenLineageExporter\n"
            f"      options: {{url: '{receiver.url}', namespace: from-config,\n"
            "                api_key: '${secret:env:LINEAGE_KEY}'}\n"
        )
        with Session(config=load_config(conf, None), observe=False) as session:
            (exporter,) = [
                p for p in session.hooks.observers if isinstance(p, OpenLineageExporter)
            ]
            session.pipeline("shop").add_stage_from_type(LoadOrders).run()
        bodies = receiver.wait_for(4)
        assert len(bodies) == 4
        for body in bodies:
            validate_event(body)
            assert body["job"]["namespace"] == "from-config"
        assert {r.headers["Authorization"] for r in receiver.events} == {
            f"Bearer {key}"
        }
        assert key not in repr(exporter.options)
        assert redact_text(key) == MASK
        reset_default_redactor()


class Exploding(Transport):
    """A transport whose every call fails (the exporter must shrug it off)."""

    kind = "exploding"

    def emit(self, event):
        raise RuntimeError("no")

    def close(self, timeout: float = -1) -> bool:
        raise RuntimeError("no")


class TestEdges:
    def test_a_jdbc_query_or_unknown_connector_is_no_dataset(self, receiver, writer):
        query = SimpleNamespace(
            connector=SimpleNamespace(
                config=JdbcConfig(url="jdbc:postgresql://db/s", query="select 1").config
            )
        )

        class Odd(LoadOrders):
            def read(self) -> Self:
                record_access(query, "read")
                record_access(SimpleNamespace(connector=object()), "write")
                return self

        run(OpenLineageExporter(url=receiver.url), writer, Odd)
        done = by_job(receiver.wait_for(4))["shop.Odd", "COMPLETE"]
        assert done["inputs"] == done["outputs"] == []

    def test_the_end_of_a_run_forgets_its_attempts_that_never_ended(self, receiver):
        exporter = OpenLineageExporter(url=receiver.url)
        scope = SimpleNamespace(run_id="r1", stage=0, factory="F", attempt=1)
        exporter._on_access(scope, ORDERS, "read")
        exporter.after_pipeline_run(run_id="r1", pipeline_name="p", timestamp=1.0)
        assert exporter._accesses == {}
        assert receiver.wait_for(1)[0]["eventType"] == "COMPLETE"
        exporter.close()

    def test_a_warehouse_that_cannot_be_read_leaves_the_default_name(self, receiver):
        class NoSpark:
            config = SimpleNamespace(full_name="`t`")

            @property
            def spark(self):
                raise RuntimeError("no session")

        exporter = OpenLineageExporter(url=receiver.url)
        assert exporter._warehouse_dir(NoSpark()) is None
        exporter.close()

    def test_a_failing_transport_never_raises(self):
        exporter = OpenLineageExporter(url="http://127.0.0.1:9", transport=Exploding())
        exporter.before_pipeline_run(run_id="r", pipeline_name="p", timestamp=1.0)
        assert exporter.failed == 1
        exporter.close()  # its close raises too: logged, not raised


class TestAccessListeners:
    def test_a_listener_is_added_once_and_one_that_raises_is_ignored(self):
        calls = []

        def broken(scope, dataset, mode):
            raise RuntimeError("listener bug")

        def noting(scope, dataset, mode):
            calls.append((scope, dataset, mode))

        add_access_listener(broken)
        add_access_listener(noting)
        add_access_listener(noting)
        record_access("orders", "write")
        assert calls == [(None, "orders", "write")]
        remove_access_listener(noting)
        remove_access_listener(noting)
        record_access("orders", "read")
        assert len(calls) == 1


def test_importing_the_exporter_imports_no_pyspark():
    """Turning lineage on in a Spark-free project loads no JVM library."""
    code = "import sys, pysetl.monitoring.lineage; print('pyspark' in sys.modules)"
    result = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
