"""``SlackNotifier`` and ``TeamsNotifier``: the payloads a loopback receiver gets."""

from __future__ import annotations

import pytest

from pysetl.errors import ConfigError
from pysetl.monitoring.alerts.notifiers import SlackNotifier, TeamsNotifier


class TestSlack:
    def test_one_alert_is_text_and_blocks(self, receiver, firing):
        SlackNotifier(url=f"{receiver.url}/services/T0/B0/x").send(
            [firing()], timeout=5
        )
        assert receiver.last.path == "/services/T0/B0/x"
        body = receiver.last.json()
        assert body["text"] == "[FIRING] CleanOrders failed in pipeline orders"
        header, section, actions = body["blocks"]
        assert header == {
            "type": "header",
            "text": {"type": "plain_text", "text": body["text"]},
        }
        assert section["text"]["type"] == "mrkdwn"
        assert section["text"]["text"].splitlines() == [
            (
                ":rotating_light: *FIRING \u00b7 critical \u00b7 "
                "CleanOrders failed in pipeline orders*"
            ),
            "CleanOrders raised FactoryError after 3 attempts.",
            "*Hint:* check the schema of raw.orders",
            "_rule factory_failed_",
        ]
        assert [f["text"] for f in section["fields"]] == [
            "*Pipeline*\norders",
            "*Factory*\nCleanOrders",
            "*Run*\n01JEXAMPLE0RUN0ID",
            "*Error*\nFactoryError",
            "*Started*\n2025-12-03T10:00:00.250Z",
        ]
        assert actions["elements"] == [
            {
                "type": "button",
                "text": {"type": "plain_text", "text": "Open run"},
                "url": "http://127.0.0.1:8050/runs/01JEXAMPLE0RUN0ID",
            }
        ]

    def test_a_resolved_alert_is_drawn_as_such(self, receiver, resolving):
        SlackNotifier(url=receiver.url).send([resolving()], timeout=5)
        body = receiver.last.json()
        assert body["text"].startswith("[RESOLVED] ")
        section = body["blocks"][1]
        assert section["text"]["text"].startswith(":white_check_mark: *RESOLVED")
        assert "*Resolved*\n2025-12-03T11:00:00.250Z" in [
            f["text"] for f in section["fields"]
        ]

    def test_markup_in_texts_is_escaped(self, receiver, firing):
        SlackNotifier(url=receiver.url).send(
            [firing(summary="<!channel> a & b", description="<http://evil|click>")],
            timeout=5,
        )
        body = receiver.last.json()
        assert body["text"] == "[FIRING] &lt;!channel&gt; a &amp; b"
        text = body["blocks"][1]["text"]["text"]
        assert "&lt;http://evil|click&gt;" in text
        assert "<!channel>" not in text
        # A header block is plain text: Slack shows it as it is.
        assert body["blocks"][0]["text"]["text"] == "[FIRING] <!channel> a & b"

    def test_a_batch_is_one_message_with_dividers(self, receiver, firing, resolving):
        SlackNotifier(url=receiver.url).send([firing(), resolving(url=None)], timeout=5)
        body = receiver.last.json()
        assert body["text"] == (
            "[FIRING:1 RESOLVED:1] CleanOrders failed in pipeline orders (+1 more)"
        )
        types = [block["type"] for block in body["blocks"]]
        assert types == ["header", "section", "actions", "divider", "section"]

    def test_a_large_batch_is_cut_to_max_alerts(self, receiver, firing):
        batch = [firing(key=str(i), summary=f"s{i}") for i in range(7)]
        SlackNotifier(url=receiver.url, max_alerts=3).send(batch, timeout=5)
        blocks = receiver.last.json()["blocks"]
        assert sum(b["type"] == "section" for b in blocks) == 3
        assert blocks[-1] == {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": "and 4 more alert(s) in this group"}
            ],
        }

    def test_the_default_stays_within_slacks_50_blocks(self, receiver, firing):
        batch = [firing(key=str(i)) for i in range(40)]
        SlackNotifier(url=receiver.url).send(batch, timeout=5)
        assert len(receiver.last.json()["blocks"]) <= 50

    def test_long_texts_are_cut_to_slacks_limits(self, receiver, firing):
        SlackNotifier(url=receiver.url).send(
            [firing(summary="x" * 400, description="y" * 5000, factory="f" * 2500)],
            timeout=5,
        )
        header, section, _ = receiver.last.json()["blocks"]
        assert len(header["text"]["text"]) == 150
        assert header["text"]["text"].endswith("\u2026")
        assert len(section["text"]["text"]) == 3000
        assert max(len(f["text"]) for f in section["fields"]) == 2000

    def test_a_too_long_link_gets_no_button(self, receiver, firing):
        SlackNotifier(url=receiver.url).send(
            [firing(url="http://h/" + "r" * 3000)], timeout=5
        )
        assert [b["type"] for b in receiver.last.json()["blocks"]] == [
            "header",
            "section",
        ]

    @pytest.mark.parametrize("max_alerts", [0, 11])
    def test_max_alerts_is_bounded(self, max_alerts):
        with pytest.raises(ConfigError, match="'max_alerts'"):
            SlackNotifier(url="https://hooks.example.com/x", max_alerts=max_alerts)


class TestTeams:
    def test_one_alert_is_an_adaptive_card(self, receiver, firing):
        TeamsNotifier(url=f"{receiver.url}/workflows/x").send([firing()], timeout=5)
        body = receiver.last.json()
        assert body["type"] == "message"
        assert body["summary"] == "[FIRING] CleanOrders failed in pipeline orders"
        (attachment,) = body["attachments"]
        assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
        assert attachment["contentUrl"] is None
        card = attachment["content"]
        assert card["type"] == "AdaptiveCard"
        assert card["version"] == "1.4"
        assert card["msteams"] == {"width": "Full"}
        title, container = card["body"]
        assert title["text"] == body["summary"]
        assert title["color"] == "Attention"
        headline, description, fact_set, action_set = container["items"]
        assert headline["text"] == (
            "FIRING \u00b7 critical \u00b7 CleanOrders failed in pipeline orders"
        )
        assert (
            description["text"] == "CleanOrders raised FactoryError after 3 attempts."
        )
        assert fact_set["facts"] == [
            {"title": "Rule", "value": "factory_failed"},
            {"title": "Pipeline", "value": "orders"},
            {"title": "Factory", "value": "CleanOrders"},
            {"title": "Run", "value": "01JEXAMPLE0RUN0ID"},
            {"title": "Error", "value": "FactoryError"},
            {"title": "Hint", "value": "check the schema of raw.orders"},
            {"title": "Started", "value": "2025-12-03T10:00:00.250Z"},
        ]
        assert action_set["actions"] == [
            {
                "type": "Action.OpenUrl",
                "title": "Open run",
                "url": "http://127.0.0.1:8050/runs/01JEXAMPLE0RUN0ID",
            }
        ]

    def test_a_resolved_batch_is_green(self, receiver, resolving):
        TeamsNotifier(url=receiver.url).send([resolving(url=None)], timeout=5)
        card = receiver.last.json()["attachments"][0]["content"]
        title, container = card["body"]
        assert title["color"] == "Good"
        assert [item["type"] for item in container["items"]] == [
            "TextBlock",
            "TextBlock",
            "FactSet",
        ]
        assert {"title": "Resolved", "value": "2025-12-03T11:00:00.250Z"} in (
            container["items"][2]["facts"]
        )

    def test_a_large_batch_is_cut_to_max_alerts(self, receiver, firing):
        batch = [firing(key=str(i)) for i in range(5)]
        TeamsNotifier(url=receiver.url, max_alerts=2).send(batch, timeout=5)
        card = receiver.last.json()["attachments"][0]["content"]
        assert [item["type"] for item in card["body"]] == [
            "TextBlock",
            "Container",
            "Container",
            "TextBlock",
        ]
        assert card["body"][-1]["text"] == "and 3 more alert(s) in this group"

    def test_a_workflow_accepted_answer_is_success(self, receiver, firing):
        """Teams workflows answer 202 Accepted with an empty body."""
        receiver.reply(202, b"")
        TeamsNotifier(url=receiver.url).send([firing()], timeout=5)
        assert len(receiver.requests) == 1
