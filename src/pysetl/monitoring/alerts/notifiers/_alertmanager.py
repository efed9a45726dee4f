"""``AlertmanagerNotifier``: alerts pushed to Prometheus Alertmanager's API.

Each batch is one ``POST <url>/api/v2/alerts`` with one Alertmanager alert
per message:

* ``labels``, which identify the alert in Alertmanager (they must be the
  same when it fires and when it resolves): ``alertname`` (the rule),
  ``severity``, ``pipeline`` and ``factory`` when known, the message's own
  labels, then the ``labels`` option. Names are made valid label names
  (``[a-zA-Z_][a-zA-Z0-9_]*``); empty values are left out. The run id is
  never a label: labels stay bounded.
* ``annotations``: ``summary``, ``description``, ``run_id``,
  ``error_class``, ``hint``, ``dashboard_url`` and ``alert_key``, when known.
* ``startsAt``; ``endsAt``: for a resolved alert the time it resolved (that
  is how Alertmanager learns it is resolved); for a firing one ``firing_ttl``
  seconds from now, so that an alert pysetl stops refreshing does not stay
  active forever (none: Alertmanager's ``resolve_timeout``).
* ``generatorURL``: the link to the run in the dashboard.

Added in 0.5.
"""

from __future__ import annotations

import base64
import re
import time
from typing import TYPE_CHECKING, Any

from pydantic import Field, SecretStr, field_validator, model_validator
from typing_extensions import Self

from pysetl.monitoring.alerts.notifiers._http import (
    BaseHttpNotifier,
    HttpNotifierOptions,
)
from pysetl.monitoring.alerts.notifiers._render import iso_time

if TYPE_CHECKING:
    from pysetl.monitoring.alerts._notify import AlertMessage

__all__ = ["ALERTMANAGER_API_PATH", "AlertmanagerNotifier", "AlertmanagerOptions"]

ALERTMANAGER_API_PATH = "/api/v2/alerts"
"""Where alerts are posted, after the ``url`` option's path."""

_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_NOT_NAME = re.compile(r"[^a-zA-Z0-9_]")


def _label_name(name: str) -> str:
    """``name`` made a valid label name (``pipeline.id`` -> ``pipeline_id``)."""
    cleaned = _NOT_NAME.sub("_", name)
    return f"_{cleaned}" if not cleaned or cleaned[0].isdigit() else cleaned


class AlertmanagerOptions(HttpNotifierOptions):
    """The options of ``AlertmanagerNotifier``.

    Attributes:
        url: Alertmanager's base URL (``http://alertmanager:9093``, with its
            route prefix if it has one); ``/api/v2/alerts`` is added.
        token: Sent as ``Authorization: Bearer <token>`` (a proxy in front).
        username: Basic authentication user (with ``password``).
        password: Basic authentication password.
        labels: Labels added to every alert (``team: data``).
        firing_ttl: Seconds a firing alert stays active in Alertmanager
            unless pysetl notifies it again (none: Alertmanager's
            ``resolve_timeout``, 5 minutes by default). Keep it above the
            pipeline's schedule interval.
    """

    token: SecretStr | None = None
    username: str | None = Field(default=None, min_length=1)
    password: SecretStr | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    firing_ttl: float | None = Field(default=7 * 24 * 3600.0, ge=60)

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not _LABEL_NAME.match(name):
                msg = f"{name!r} is not a label name ([a-zA-Z_][a-zA-Z0-9_]*)"
                raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _auth(self) -> Self:
        if (self.username is None) != (self.password is None):
            msg = "username and password go together"
            raise ValueError(msg)
        if self.token is not None and self.username is not None:
            msg = "give either token or username and password, not both"
            raise ValueError(msg)
        return self


class AlertmanagerNotifier(BaseHttpNotifier[AlertmanagerOptions]):
    """Pushes alerts to Alertmanager's v2 API (module docstring).

    Example config (``alerts:`` section):

    ```yaml
    notifiers:
      - type: alertmanager
        url: ${secret:env:ALERTMANAGER_URL}
        labels: {team: data}
    ```

    Args:
        **options: ``AlertmanagerOptions``: ``url`` (required), ``token``,
            ``username`` and ``password``, ``labels``, ``firing_ttl``,
            ``ca_file``, ``verify``, ``name``.

    Raises:
        ConfigError: An option is unknown or invalid; the message names it.
    """

    type_name = "alertmanager"
    api_path = ALERTMANAGER_API_PATH

    def __init__(self, **options: Any) -> None:
        """Validate the options; nothing is sent yet."""
        super().__init__(AlertmanagerOptions, options)

    def _payload(self, batch: list[AlertMessage]) -> Any:
        now = time.time()
        return [self._alert(message, now) for message in batch]

    def _alert(self, message: AlertMessage, now: float) -> dict[str, Any]:
        labels = {_label_name(k): v for k, v in message.labels.items()}
        for name, value in (
            ("severity", message.severity),
            ("pipeline", message.pipeline),
            ("factory", message.factory),
        ):
            if value:
                labels.setdefault(name, value)
        labels["alertname"] = message.rule
        labels.update(self.options.labels)
        annotations = {
            "summary": message.summary,
            "description": message.description,
            "run_id": message.run_id,
            "error_class": message.error_class,
            "hint": message.hint,
            "dashboard_url": message.url,
            "alert_key": message.key,
        }
        alert: dict[str, Any] = {
            "labels": {k: v for k, v in labels.items() if v},
            "annotations": {k: v for k, v in annotations.items() if v},
            "startsAt": iso_time(message.started_at),
        }
        ttl = self.options.firing_ttl
        if message.state == "resolved":
            alert["endsAt"] = iso_time(
                now if message.ended_at is None else message.ended_at
            )
        elif ttl is not None:
            alert["endsAt"] = iso_time(now + ttl)
        if message.url and message.url.startswith(("http://", "https://")):
            alert["generatorURL"] = message.url
        return alert

    def _headers(self, body: bytes) -> dict[str, str]:  # noqa: ARG002 - same for every body
        options = self.options
        if options.token is not None:
            return {"Authorization": f"Bearer {options.token.get_secret_value()}"}
        if options.username is not None and options.password is not None:
            pair = f"{options.username}:{options.password.get_secret_value()}"
            return {
                "Authorization": f"Basic {base64.b64encode(pair.encode()).decode()}"
            }
        return {}
