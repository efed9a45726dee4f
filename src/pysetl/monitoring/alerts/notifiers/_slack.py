"""``SlackNotifier``: a Slack incoming-webhook message (text and Block Kit blocks).

The message's ``text`` is the batch's title (what notifications and
screen readers show); its ``blocks`` are a header, then for each alert a
section (headline, description, hint) with fields (pipeline, factory,
run, error class, times), and a button to the run in the dashboard. At
most ``max_alerts`` alerts are drawn, then a line says how many more there
are, so the message stays within Slack's 50 blocks. Texts are escaped for
Slack's ``mrkdwn`` (``&``, ``<``, ``>``) and cut to Slack's limits.

Added in 0.5.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from pysetl.monitoring.alerts.notifiers._http import (
    BaseHttpNotifier,
    HttpNotifierOptions,
)
from pysetl.monitoring.alerts.notifiers._render import facts, headline, shorten, title

if TYPE_CHECKING:
    from pysetl.monitoring.alerts._notify import AlertMessage

__all__ = ["SlackNotifier", "SlackOptions"]

_HEADER_LIMIT = 150
_TEXT_LIMIT = 3000
_FIELD_LIMIT = 2000
_URL_LIMIT = 3000
_STATE_EMOJI = {"firing": ":rotating_light:", "resolved": ":white_check_mark:"}
# Shown as fields; the others (rule, hint) are in the section's text.
_FIELDS = ("Pipeline", "Factory", "Run", "Error", "Started", "Resolved")


class SlackOptions(HttpNotifierOptions):
    """The options of ``SlackNotifier``.

    Attributes:
        max_alerts: Alerts drawn in full in one message (1 to 10); the
            others are counted in a last line.
    """

    max_alerts: int = Field(default=10, ge=1, le=10)


def _escape(text: str) -> str:
    """``text`` safe in Slack ``mrkdwn``: no link, mention or markup from it."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _blocks(message: AlertMessage) -> list[dict[str, Any]]:
    known = dict(facts(message))
    lines = [
        f"{_STATE_EMOJI[message.state]} *{_escape(headline(message))}*",
        _escape(message.description),
    ]
    if message.hint:
        lines.append(f"*Hint:* {_escape(message.hint)}")
    lines.append(f"_rule {_escape(message.rule)}_")
    section: dict[str, Any] = {
        "type": "section",
        "text": {"type": "mrkdwn", "text": shorten("\n".join(lines), _TEXT_LIMIT)},
    }
    # Never empty: every alert has its start time.
    section["fields"] = [
        {
            "type": "mrkdwn",
            "text": shorten(f"*{label}*\n{_escape(known[label])}", _FIELD_LIMIT),
        }
        for label in _FIELDS
        if label in known
    ]
    blocks = [section]
    if message.url and len(message.url) <= _URL_LIMIT:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open run"},
                        "url": message.url,
                    }
                ],
            }
        )
    return blocks


class SlackNotifier(BaseHttpNotifier[SlackOptions]):
    """Posts a Slack message per batch to an incoming webhook (module docstring).

    Example config (``alerts:`` section):

    ```yaml
    notifiers:
      - type: slack
        url: ${secret:env:SLACK_WEBHOOK_URL}
    ```

    Args:
        **options: ``SlackOptions``: ``url`` (required, the webhook URL),
            ``max_alerts``, ``ca_file``, ``verify``, ``name``.

    Raises:
        ConfigError: An option is unknown or invalid; the message names it.
    """

    type_name = "slack"

    def __init__(self, **options: Any) -> None:
        """Validate the options; nothing is sent yet."""
        super().__init__(SlackOptions, options)

    def _payload(self, batch: list[AlertMessage]) -> Any:
        text = title(batch)
        blocks: list[dict[str, Any]] = [
            {
                "type": "header",
                "text": {"type": "plain_text", "text": shorten(text, _HEADER_LIMIT)},
            }
        ]
        shown = batch[: self.options.max_alerts]
        for index, message in enumerate(shown):
            if index:
                blocks.append({"type": "divider"})
            blocks.extend(_blocks(message))
        if len(batch) > len(shown):
            more = f"and {len(batch) - len(shown)} more alert(s) in this group"
            blocks.append(
                {"type": "context", "elements": [{"type": "mrkdwn", "text": more}]}
            )
        return {"text": _escape(text), "blocks": blocks}
