"""``WebhookNotifier``: the versioned JSON body, the HMAC signature, HTTP and TLS."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import jsonschema
import pytest

from pysetl.config.secrets import LazySecret
from pysetl.errors import ConfigError, NotificationError, SecretBackendError
from pysetl.monitoring.alerts.notifiers import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WEBHOOK_PAYLOAD_SCHEMA,
    WEBHOOK_SCHEMA_VERSION,
    WebhookNotifier,
    sign_payload,
    verify_signature,
)
from pysetl.utils.redaction import MASK

KEY = "hmac-key-for-tests-0123"


class TestBody:
    def test_one_alert_is_the_documented_document(self, receiver, firing):
        WebhookNotifier(url=f"{receiver.url}/hook", name="ops").send(
            [firing()], timeout=5
        )
        request = receiver.last
        assert (request.method, request.path) == ("POST", "/hook")
        assert request.headers["content-type"] == "application/json; charset=utf-8"
        assert request.headers["user-agent"].startswith("pysetl/")
        body = request.json()
        jsonschema.validate(body, WEBHOOK_PAYLOAD_SCHEMA)
        assert len(body.pop("id")) == 32
        sent_at = body.pop("sent_at")
        assert sent_at.endswith("Z")
        assert body == {
            "schema": "pysetl.alerts",
            "version": WEBHOOK_SCHEMA_VERSION,
            "notifier": "ops",
            "status": "firing",
            "alerts": [
                {
                    "key": "factory_failed|pipeline=orders|factory=CleanOrders",
                    "rule": "factory_failed",
                    "state": "firing",
                    "severity": "critical",
                    "summary": "CleanOrders failed in pipeline orders",
                    "description": "CleanOrders raised FactoryError after 3 attempts.",
                    "labels": {"pipeline": "orders", "factory": "CleanOrders"},
                    "started_at": "2025-12-03T10:00:00.250Z",
                    "ended_at": None,
                    "run_id": "01JEXAMPLE0RUN0ID",
                    "pipeline": "orders",
                    "factory": "CleanOrders",
                    "error_class": "FactoryError",
                    "hint": "check the schema of raw.orders",
                    "url": "http://127.0.0.1:8050/runs/01JEXAMPLE0RUN0ID",
                }
            ],
        }

    def test_a_batch_fires_while_any_alert_fires(self, receiver, firing, resolving):
        notifier = WebhookNotifier(url=receiver.url)
        notifier.send([resolving(), firing(key="other")], timeout=5)
        assert receiver.last.json()["status"] == "firing"
        notifier.send([resolving()], timeout=5)
        body = receiver.last.json()
        jsonschema.validate(body, WEBHOOK_PAYLOAD_SCHEMA)
        assert body["status"] == "resolved"
        assert body["alerts"][0]["ended_at"] == "2025-12-03T11:00:00.250Z"

    def test_every_request_has_its_own_id(self, receiver, firing):
        notifier = WebhookNotifier(url=receiver.url)
        notifier.send([firing()], timeout=5)
        notifier.send([firing()], timeout=5)
        first, second = (r.json()["id"] for r in receiver.requests)
        assert first != second

    def test_unknown_fields_are_null(self, receiver):
        from pysetl.monitoring.alerts import AlertMessage

        bare = AlertMessage(
            key="k", rule="r", state="firing", severity="info", summary="s",
            description="d", started_at=0,
        )  # fmt: skip
        WebhookNotifier(url=receiver.url).send([bare], timeout=5)
        (alert,) = receiver.last.json()["alerts"]
        jsonschema.validate(receiver.last.json(), WEBHOOK_PAYLOAD_SCHEMA)
        assert alert["run_id"] is alert["url"] is alert["hint"] is None
        assert alert["labels"] == {}


class TestSignature:
    def test_the_signature_is_hmac_sha256_of_timestamp_dot_body(self, receiver, firing):
        before = int(time.time())
        WebhookNotifier(url=receiver.url, secret=KEY).send([firing()], timeout=5)
        request = receiver.last
        timestamp = request.headers[TIMESTAMP_HEADER.lower()]
        assert before <= int(timestamp) <= time.time()
        # Computed here independently of sign_payload.
        expected = hmac.new(
            KEY.encode(), timestamp.encode() + b"." + request.body, hashlib.sha256
        ).hexdigest()
        assert request.headers[SIGNATURE_HEADER.lower()] == f"v1={expected}"

    def test_a_receiver_verifies_it(self, receiver, firing):
        WebhookNotifier(url=receiver.url, secret=KEY).send([firing()], timeout=5)
        request = receiver.last
        headers = {
            "timestamp": request.headers["x-pysetl-timestamp"],
            "signature": request.headers["x-pysetl-signature"],
        }
        assert verify_signature(KEY, request.body, **headers)
        assert not verify_signature("another-key", request.body, **headers)
        assert not verify_signature(KEY, request.body + b" ", **headers)

    def test_a_replayed_request_is_refused_after_the_tolerance(self):
        body = b'{"version":1}'
        signature = sign_payload(KEY, 1_700_000_000, body)
        ok = {"timestamp": "1700000000", "signature": signature}
        assert verify_signature(KEY, body, **ok, now=1_700_000_299)
        assert verify_signature(KEY, body, **ok, now=1_699_999_701)
        assert not verify_signature(KEY, body, **ok, now=1_700_000_301)
        assert not verify_signature(KEY, body, **ok, now=1_700_000_301, tolerance=300)
        assert verify_signature(KEY, body, **ok, now=1_700_000_301, tolerance=600)

    def test_a_request_without_the_headers_is_refused(self):
        body = b"{}"
        signature = sign_payload(KEY, 1_700_000_000, body)
        now = 1_700_000_000
        assert not verify_signature(KEY, body, timestamp=None, signature=signature)
        assert not verify_signature(KEY, body, timestamp="1700000000", signature=None)
        assert not verify_signature(
            KEY, body, timestamp="17e8", signature=signature, now=now
        )
        other_time = sign_payload(KEY, 1_700_000_001, body)
        assert not verify_signature(
            KEY, body, timestamp="1700000000", signature=other_time, now=now
        )

    def test_bytes_keys_sign_alike(self):
        assert sign_payload(KEY.encode(), 1, b"x") == sign_payload(KEY, 1, b"x")

    def test_without_a_secret_nothing_is_signed(self, receiver, firing):
        WebhookNotifier(url=receiver.url).send([firing()], timeout=5)
        assert SIGNATURE_HEADER.lower() not in receiver.last.headers
        assert TIMESTAMP_HEADER.lower() not in receiver.last.headers


class TestOptions:
    def test_token_and_headers_are_sent(self, receiver, firing, canary):
        WebhookNotifier(
            url=receiver.url, token=canary, headers={"X-Api-Key": f"{canary}-h"}
        ).send([firing()], timeout=5)
        assert receiver.last.headers["authorization"] == f"Bearer {canary}"
        assert receiver.last.headers["x-api-key"] == f"{canary}-h"

    def test_header_values_are_secrets(self, canary):
        notifier = WebhookNotifier(url="http://h/x", headers={"X-Key": canary})
        assert canary not in repr(notifier.options)

    @pytest.mark.parametrize(
        ("headers", "problem"),
        [
            ({"Authorization": "x"}, "set by the notifier"),
            ({"X-Pysetl-Signature": "x"}, "set by the notifier"),
            ({"Bad Name": "x"}, "not a valid header name"),
            ({"X-Key": "a\r\nInjected: 1"}, "must be one line"),
        ],
    )
    def test_bad_headers_are_refused(self, headers, problem):
        with pytest.raises(ConfigError, match=problem) as info:
            WebhookNotifier(url="http://h/x", headers=headers)
        assert "Injected" not in str(info.value)

    @pytest.mark.parametrize(
        ("url", "problem"),
        [
            ("hooks.example.com/x", "http:// or https://"),
            ("http://user:pw-secret@h/x", "must not carry credentials"),
            ("http://h:99999/x", "invalid port"),
            ("http:///x", "must name a host"),
            ("http://h/x y", "spaces"),
        ],
    )
    def test_bad_urls_are_refused_without_showing_them(self, url, problem):
        with pytest.raises(ConfigError, match=problem) as info:
            WebhookNotifier(url=url)
        assert url not in str(info.value)
        assert "pw-secret" not in str(info.value)

    def test_the_endpoint_masks_the_path_and_query(self):
        assert WebhookNotifier(url="https://h:8443/a/b?c=d").endpoint == (
            f"https://h:8443/{MASK}"
        )
        assert WebhookNotifier(url="http://h?t=1").endpoint == f"http://h/{MASK}"
        assert WebhookNotifier(url="http://h/").endpoint == "http://h"


class TestLazyUrl:
    def test_a_secret_url_is_resolved_on_the_first_send(self, receiver, firing):
        calls = []

        def resolve() -> str:
            calls.append(1)
            return f"{receiver.url}/lazy"

        url = LazySecret(resolve, reference="env:HOOK", entry="alerts.webhook.url")
        notifier = WebhookNotifier(url=url)
        assert notifier.endpoint == MASK
        assert calls == []
        notifier.send([firing()], timeout=5)
        notifier.send([firing()], timeout=5)
        assert [r.path for r in receiver.requests] == ["/lazy", "/lazy"]
        assert calls == [1]
        assert notifier.endpoint == f"{receiver.url}/{MASK}"

    def test_a_secret_that_cannot_be_read_is_a_notification_error(self, firing):
        def resolve() -> str:
            raise SecretBackendError("vault down", hint="start vault")

        notifier = WebhookNotifier(
            url=LazySecret(resolve, reference="vault:x", entry="e")
        )
        with pytest.raises(NotificationError, match="cannot read its url") as info:
            notifier.send([firing()], timeout=5)
        assert info.value.hint == "start vault"
        assert info.value.endpoint == MASK

    def test_a_secret_that_is_no_url_is_refused_for_good(self, firing, canary):
        url = LazySecret(lambda: f"ftp://{canary}", reference="env:X", entry="e")
        notifier = WebhookNotifier(url=url)
        with pytest.raises(NotificationError, match="http:// or https://") as info:
            notifier.send([firing()], timeout=5)
        assert not info.value.retryable
        assert canary not in str(info.value)
        assert notifier.endpoint == MASK


class TestAnswers:
    @pytest.mark.parametrize(
        ("status", "hint", "retryable"),
        [
            (500, "retries with backoff", True),
            (503, "retries with backoff", True),
            (429, "limits the rate", True),
            (408, "busy", True),
            (401, "credentials", False),
            (403, "credentials", False),
            (404, "deleted webhook", False),
            (400, "refused the payload", False),
            (302, "redirects", False),
        ],
    )
    def test_a_refusal_names_the_status_and_hints(
        self, receiver, firing, status, hint, retryable
    ):
        receiver.reply(status, b"no_service\n  (details)")
        notifier = WebhookNotifier(url=f"{receiver.url}/x")
        with pytest.raises(NotificationError) as info:
            notifier.send([firing()], timeout=5)
        error = info.value
        assert f"answered HTTP {status}" in str(error)
        assert str(error).endswith("no_service (details)")
        assert hint in (error.hint or "")
        assert error.status == status
        assert error.retryable is retryable

    def test_an_empty_refusal_has_no_dangling_colon(self, receiver, firing):
        receiver.reply(500, b"")
        with pytest.raises(NotificationError) as info:
            WebhookNotifier(url=receiver.url).send([firing()], timeout=5)
        assert str(info.value).endswith("HTTP 500 Internal Server Error")

    def test_an_answer_that_is_not_http_is_named(self, firing):
        import socket
        import threading

        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)

        def garbage() -> None:
            conn, _ = listener.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(b"SSH-2.0-OpenSSH\r\n\r\n")

        thread = threading.Thread(target=garbage, daemon=True)
        thread.start()
        try:
            url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
            with pytest.raises(NotificationError, match="no valid HTTP answer"):
                WebhookNotifier(url=url).send([firing()], timeout=5)
        finally:
            thread.join(5)
            listener.close()

    def test_a_closed_connection_is_named(self, firing):
        import socket
        import threading

        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)

        def hang_up() -> None:
            conn, _ = listener.accept()
            conn.recv(65536)
            conn.close()

        thread = threading.Thread(target=hang_up, daemon=True)
        thread.start()
        try:
            url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
            with pytest.raises(NotificationError) as info:
                WebhookNotifier(url=url).send([firing()], timeout=5)
            assert "RemoteDisconnected" in str(info.value)
        finally:
            thread.join(5)
            listener.close()

    def test_an_unknown_host_is_named(self, firing):
        notifier = WebhookNotifier(url="http://no-such-host.invalid/x")
        with pytest.raises(NotificationError, match="cannot resolve the host") as info:
            notifier.send([firing()], timeout=5)
        assert "DNS" in (info.value.hint or "")


class TestTls:
    def test_https_with_the_servers_ca(self, tls_receiver, tls_files, firing):
        WebhookNotifier(url=f"{tls_receiver.url}/h", ca_file=tls_files.ca).send(
            [firing()], timeout=5
        )
        assert tls_receiver.last.path == "/h"

    def test_an_untrusted_certificate_is_refused_for_good(self, tls_receiver, firing):
        with pytest.raises(NotificationError, match="does not trust") as info:
            WebhookNotifier(url=tls_receiver.url).send([firing()], timeout=5)
        assert "ca_file" in (info.value.hint or "")
        assert not info.value.retryable
        assert tls_receiver.requests == []

    def test_verify_off_accepts_any_certificate(self, tls_receiver, firing):
        WebhookNotifier(url=tls_receiver.url, verify=False).send([firing()], timeout=5)
        assert len(tls_receiver.requests) == 1

    def test_https_to_a_plain_server_is_a_tls_error(self, receiver, firing):
        url = receiver.url.replace("http://", "https://")
        with pytest.raises(NotificationError, match=r"TLS with .* failed"):
            WebhookNotifier(url=url).send([firing()], timeout=5)

    def test_a_ca_file_that_is_no_pem_is_a_config_error(self, tmp_path):
        bad = tmp_path / "ca.pem"
        bad.write_text("not a certificate")
        with pytest.raises(ConfigError, match="'ca_file' is not a PEM file"):
            WebhookNotifier(url="https://h/x", ca_file=bad)

    def test_a_missing_ca_file_is_named(self, tmp_path):
        with pytest.raises(ConfigError, match="'ca_file'"):
            WebhookNotifier(url="https://h/x", ca_file=tmp_path / "none.pem")


def test_the_schema_is_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(WEBHOOK_PAYLOAD_SCHEMA)
    assert json.dumps(WEBHOOK_PAYLOAD_SCHEMA)
