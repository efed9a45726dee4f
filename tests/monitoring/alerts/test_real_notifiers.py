"""The demo scenario with the shipped notifiers: webhook, email and Alertmanager.

A failing run fires one alert to a loopback webhook receiver, a loopback
SMTP server and a loopback Alertmanager API, once; the next good run
resolves it; a failure inside a silence is not sent. The webhook URL and
its HMAC key come from ``${secret:env:...}`` and appear in no alert record.
"""

from __future__ import annotations

import json
import socket
import time
from typing import TYPE_CHECKING, Any

import pytest

from pysetl.monitoring.history import SqliteRunHistory
from pysetl.monitoring.history.alert_store import AlertStore

from .test_session_alerts import _config, _run

if TYPE_CHECKING:
    from collections.abc import Iterator

aiosmtpd = pytest.importorskip("aiosmtpd.controller")

CONFIG = """
alerts:
  dashboard_url: http://dash.example:8765
  delivery: {{timeout: 1.0, retries: 1, backoff: 0.05, deadline: 2.0}}
  notifiers:
    ops-hook:
      type: webhook
      url: "${{secret:env:ALERT_HOOK_URL}}"
      secret: "${{secret:env:ALERT_HOOK_KEY}}"
    mail:
      type: email
      host: 127.0.0.1
      port: {smtp_port}
      security: none
      sender: pysetl@example.com
      to: [ops@example.com]
    am:
      type: alertmanager
      url: "{url}/am"
  rules:
    - {{name: failed, kind: run_failed, notify: [ops-hook, mail, am]}}
"""


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[int, _Inbox]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = _Inbox()
    controller = aiosmtpd.Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, inbox
    controller.stop()


def test_fires_once_to_each_resolves_and_respects_a_silence(
    tmp_path, receiver, smtp, monkeypatch
):
    port, inbox = smtp
    hook_key = "hook-key-4f1c9a7e5b"
    monkeypatch.setenv("ALERT_HOOK_URL", f"{receiver.url}/hook?token=t0k3n-9d8e7f")
    monkeypatch.setenv("ALERT_HOOK_KEY", hook_key)
    config = _config(tmp_path, CONFIG.format(smtp_port=port, url=receiver.url))
    url = f"sqlite:///{tmp_path / 'h.db'}"

    failed = _run(config, url, broken=True)
    hooks = [b for p, b in receiver.posts if p.startswith("/hook")]
    managers = [b for p, b in receiver.posts if p.startswith("/am")]
    assert len(hooks) == len(managers) == len(inbox.messages) == 1
    assert failed in json.dumps(hooks[0])
    assert failed in json.dumps(managers[0])
    assert failed.encode() in inbox.messages[0]

    _run(config, url, broken=True)  # deduplicated
    assert len(receiver.posts) == 2
    assert len(inbox.messages) == 1

    _run(config, url, broken=False)  # resolved, sent to each
    assert len(receiver.posts) == 4
    assert len(inbox.messages) == 2
    last_hook = [b for p, b in receiver.posts if p.startswith("/hook")][-1]
    assert '"resolved"' in json.dumps(last_hook)
    last_am = [b for p, b in receiver.posts if p.startswith("/am")][-1]
    # Alertmanager: resolved by an end time now, not a week ahead.
    assert last_am[0]["endsAt"] < managers[0][0]["endsAt"]

    history = SqliteRunHistory(tmp_path / "h.db")
    store = AlertStore(history)
    now = time.time()
    store.add_silence(created_at=now - 1, ends_at=now + 600, rule="failed")
    _run(config, url, broken=True)
    assert len(receiver.posts) == 4
    assert len(inbox.messages) == 2

    recorded = json.dumps(
        [
            [a.summary, a.description, a.details, a.labels]
            for a in store.list_alerts().items
        ]
        + [e.detail for e in store.list_events(limit=100).items]
    )
    assert "t0k3n-9d8e7f" not in recorded
    assert hook_key not in recorded
    history.close()
