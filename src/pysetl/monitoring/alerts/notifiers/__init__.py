"""Alert notifiers: webhook, Slack, Teams, email and Alertmanager."""

from __future__ import annotations

from pysetl.monitoring.alerts.notifiers._alertmanager import (
    AlertmanagerNotifier,
    AlertmanagerOptions,
)
from pysetl.monitoring.alerts.notifiers._base import BaseNotifier, NotifierOptions
from pysetl.monitoring.alerts.notifiers._email import EmailNotifier, EmailOptions
from pysetl.monitoring.alerts.notifiers._http import (
    BaseHttpNotifier,
    HttpNotifierOptions,
)
from pysetl.monitoring.alerts.notifiers._slack import SlackNotifier, SlackOptions
from pysetl.monitoring.alerts.notifiers._teams import TeamsNotifier, TeamsOptions
from pysetl.monitoring.alerts.notifiers._webhook import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WEBHOOK_PAYLOAD_SCHEMA,
    WEBHOOK_SCHEMA_VERSION,
    WebhookNotifier,
    WebhookOptions,
    sign_payload,
    verify_signature,
)

__all__ = [
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "WEBHOOK_PAYLOAD_SCHEMA",
    "WEBHOOK_SCHEMA_VERSION",
    "AlertmanagerNotifier",
    "AlertmanagerOptions",
    "BaseHttpNotifier",
    "BaseNotifier",
    "EmailNotifier",
    "EmailOptions",
    "HttpNotifierOptions",
    "NotifierOptions",
    "SlackNotifier",
    "SlackOptions",
    "TeamsNotifier",
    "TeamsOptions",
    "WebhookNotifier",
    "WebhookOptions",
    "sign_payload",
    "verify_signature",
]
