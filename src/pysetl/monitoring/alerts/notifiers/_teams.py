"""``TeamsNotifier``: a Microsoft Teams message with an Adaptive Card.

The body is what a Teams *Workflows* "post to a channel when a webhook
request is received" flow (and the older incoming-webhook connector)
accepts: a ``message`` with one attachment, an Adaptive Card (version 1.4,
full width). The card has the batch's title, then for each alert a
container with its headline, description, a fact set (rule, pipeline,
factory, run, error class, hint, times) and an "Open run" button to the
dashboard. At most ``max_alerts`` alerts are drawn, then a line says how
many more there are (Teams refuses cards over about 28 KB).

Added in 0.5.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from pysetl.monitoring.alerts.notifiers._http import (
    BaseHttpNotifier,
    HttpNotifierOptions,
)
from pysetl.monitoring.alerts.notifiers._render import (
    batch_status,
    facts,
    headline,
    shorten,
    title,
)

if TYPE_CHECKING:
    from pysetl.monitoring.alerts._notify import AlertMessage

__all__ = ["CARD_VERSION", "TeamsNotifier", "TeamsOptions"]

CARD_VERSION = "1.4"
"""The Adaptive Card version of the messages (the newest Teams renders everywhere)."""

_DESCRIPTION_LIMIT = 2000
_COLOR = {"firing": "Attention", "resolved": "Good"}


class TeamsOptions(HttpNotifierOptions):
    """The options of ``TeamsNotifier``.

    Attributes:
        max_alerts: Alerts drawn in full in one card (1 to 20); the others
            are counted in a last line.
    """

    max_alerts: int = Field(default=10, ge=1, le=20)


def _container(message: AlertMessage) -> dict[str, Any]:
    items: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": headline(message),
            "weight": "Bolder",
            "color": _COLOR[message.state],
            "wrap": True,
        },
        {
            "type": "TextBlock",
            "text": shorten(message.description, _DESCRIPTION_LIMIT),
            "wrap": True,
        },
        {
            "type": "FactSet",
            "facts": [
                {"title": label, "value": value} for label, value in facts(message)
            ],
        },
    ]
    if message.url:
        items.append(
            {
                "type": "ActionSet",
                "actions": [
                    {"type": "Action.OpenUrl", "title": "Open run", "url": message.url}
                ],
            }
        )
    return {"type": "Container", "separator": True, "spacing": "Medium", "items": items}


class TeamsNotifier(BaseHttpNotifier[TeamsOptions]):
    """Posts an Adaptive Card per batch to a Teams webhook (module docstring).

    Example config (``alerts:`` section):

    ```yaml
    notifiers:
      - type: teams
        url: ${secret:env:TEAMS_WORKFLOW_URL}
    ```

    Args:
        **options: ``TeamsOptions``: ``url`` (required, the workflow's or
            webhook's URL), ``max_alerts``, ``ca_file``, ``verify``, ``name``.

    Raises:
        ConfigError: An option is unknown or invalid; the message names it.
    """

    type_name = "teams"

    def __init__(self, **options: Any) -> None:
        """Validate the options; nothing is sent yet."""
        super().__init__(TeamsOptions, options)

    def _payload(self, batch: list[AlertMessage]) -> Any:
        shown = batch[: self.options.max_alerts]
        body: list[dict[str, Any]] = [
            {
                "type": "TextBlock",
                "text": title(batch),
                "size": "Large",
                "weight": "Bolder",
                "color": _COLOR[batch_status(batch)],
                "wrap": True,
            },
            *(_container(message) for message in shown),
        ]
        if len(batch) > len(shown):
            body.append(
                {
                    "type": "TextBlock",
                    "text": (
                        f"and {len(batch) - len(shown)} more alert(s) in this group"
                    ),
                    "isSubtle": True,
                    "wrap": True,
                }
            )
        card = {
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": CARD_VERSION,
            "msteams": {"width": "Full"},
            "body": body,
        }
        return {
            "type": "message",
            "summary": title(batch),
            "attachments": [
                {
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "contentUrl": None,
                    "content": card,
                }
            ],
        }
