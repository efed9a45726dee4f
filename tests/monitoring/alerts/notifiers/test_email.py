"""``EmailNotifier`` against aiosmtpd on loopback: STARTTLS, TLS, AUTH, refusals."""

from __future__ import annotations

import pytest

from pysetl.errors import ConfigError, NotificationError
from pysetl.monitoring.alerts.notifiers import EmailNotifier

ADDRESSES = {"sender": "pysetl@example.com", "to": ["oncall@example.com"]}


def _notifier(server, **options):
    return EmailNotifier(host=server.host, port=server.port, **{**ADDRESSES, **options})


def _secure(server, tls_files, **options):
    login = {"username": server.user, "password": server.password}
    return _notifier(server, ca_file=tls_files.ca, **{**login, **options})


class TestDelivery:
    def test_starttls_and_auth_deliver_one_email(
        self, smtp_starttls, tls_files, firing, canary
    ):
        notifier = _secure(smtp_starttls, tls_files)
        notifier.send([firing()], timeout=5)
        (envelope,) = smtp_starttls.inbox.envelopes
        assert envelope.mail_from == "pysetl@example.com"
        assert envelope.rcpt_tos == ["oncall@example.com"]
        (email,) = smtp_starttls.received()
        assert email["Subject"] == (
            "[pysetl] [FIRING] CleanOrders failed in pipeline orders"
        )
        assert email["From"] == "pysetl@example.com"
        assert email["To"] == "oncall@example.com"
        assert email["Message-ID"].endswith("@example.com>")
        assert email.get_content_type() == "multipart/alternative"
        assert canary not in envelope.content.decode()

    def test_implicit_tls_and_auth(self, smtp_tls, tls_files, firing):
        notifier = _secure(smtp_tls, tls_files, security="tls")
        assert notifier.endpoint == f"smtps://127.0.0.1:{smtp_tls.port}"
        notifier.send([firing()], timeout=5)
        assert len(smtp_tls.inbox.envelopes) == 1

    def test_a_plain_relay_without_auth(self, smtp_plain, firing):
        _notifier(smtp_plain, security="none").send([firing()], timeout=5)
        assert len(smtp_plain.inbox.envelopes) == 1

    def test_one_email_per_batch_to_every_recipient(self, smtp_plain, firing):
        notifier = _notifier(
            smtp_plain, security="none", to=["a@example.com", "b@example.com"]
        )
        notifier.send([firing(), firing(key="2")], timeout=5)
        (envelope,) = smtp_plain.inbox.envelopes
        assert envelope.rcpt_tos == ["a@example.com", "b@example.com"]
        (email,) = smtp_plain.received()
        assert email["Subject"].endswith("(+1 more)")

    def test_the_text_and_html_say_the_same(self, smtp_plain, firing):
        _notifier(smtp_plain, security="none").send([firing()], timeout=5)
        (email,) = smtp_plain.received()
        text = email.get_body(("plain",)).get_content()
        html = email.get_body(("html",)).get_content()
        assert text.splitlines() == [
            "[FIRING] CleanOrders failed in pipeline orders",
            "",
            "FIRING \u00b7 critical \u00b7 CleanOrders failed in pipeline orders",
            "",
            "CleanOrders raised FactoryError after 3 attempts.",
            "",
            "  Rule:     factory_failed",
            "  Pipeline: orders",
            "  Factory:  CleanOrders",
            "  Run:      01JEXAMPLE0RUN0ID",
            "  Error:    FactoryError",
            "  Hint:     check the schema of raw.orders",
            "  Started:  2025-12-03T10:00:00.250Z",
            "  Open run: http://127.0.0.1:8050/runs/01JEXAMPLE0RUN0ID",
        ]
        for fragment in (
            "<h2>[FIRING] CleanOrders failed in pipeline orders</h2>",
            '<th align="left" valign="top">Run</th><td>01JEXAMPLE0RUN0ID</td>',
            '<a href="http://127.0.0.1:8050/runs/01JEXAMPLE0RUN0ID">Open run</a>',
        ):
            assert fragment in html

    def test_html_is_escaped(self, smtp_plain, firing):
        _notifier(smtp_plain, security="none").send(
            [firing(description="<script>x()</script>", url='http://h/"x')],
            timeout=5,
        )
        html = smtp_plain.received()[0].get_body(("html",)).get_content()
        assert "<script>" not in html
        assert "&lt;script&gt;x()&lt;/script&gt;" in html
        assert 'href="http://h/&quot;x"' in html

    def test_a_summary_with_line_breaks_makes_a_one_line_subject(
        self, smtp_plain, firing
    ):
        _notifier(smtp_plain, security="none", subject_prefix="").send(
            [firing(summary="two\nlines\r\nBcc: x@example.com")], timeout=5
        )
        (email,) = smtp_plain.received()
        assert email["Subject"] == "[FIRING] two lines Bcc: x@example.com"
        assert email["Bcc"] is None

    def test_the_default_ports(self):
        build = lambda **o: EmailNotifier(host="mail", **ADDRESSES, **o)  # noqa: E731
        assert build().endpoint == "smtp://mail:587"
        assert build(security="tls").endpoint == "smtps://mail:465"
        assert build(security="none").endpoint == "smtp://mail:25"


class TestRefusals:
    def test_a_wrong_password_is_refused_for_good(
        self, smtp_starttls, tls_files, firing, canary
    ):
        notifier = _secure(smtp_starttls, tls_files, password=f"{canary}-wrong")
        with pytest.raises(
            NotificationError, match="refused the login of 'alerts'"
        ) as info:
            notifier.send([firing()], timeout=5)
        error = info.value
        assert error.status == 535
        assert not error.retryable
        assert "password" in (error.hint or "")
        assert canary not in str(error)
        assert smtp_starttls.inbox.envelopes == []

    def test_no_login_where_the_server_requires_one(
        self, smtp_starttls, tls_files, firing
    ):
        notifier = _notifier(smtp_starttls, ca_file=tls_files.ca)
        with pytest.raises(NotificationError, match="requires a login: 530") as info:
            notifier.send([firing()], timeout=5)
        assert info.value.status == 530
        assert "username and password" in (info.value.hint or "")
        assert not info.value.retryable

    def test_starttls_is_never_skipped(self, smtp_plain, firing):
        notifier = _notifier(smtp_plain)  # security: starttls (the default)
        with pytest.raises(NotificationError, match="does not offer STARTTLS") as info:
            notifier.send([firing()], timeout=5)
        assert "security: tls" in (info.value.hint or "")
        assert not info.value.retryable
        assert smtp_plain.inbox.envelopes == []

    def test_a_login_where_the_server_offers_no_auth(
        self, smtp_starttls_no_auth, tls_files, firing
    ):
        notifier = _secure(smtp_starttls_no_auth, tls_files)
        with pytest.raises(NotificationError, match="offers no login") as info:
            notifier.send([firing()], timeout=5)
        assert "leave username and password out" in (info.value.hint or "")
        assert not info.value.retryable

    def test_an_untrusted_certificate_is_refused(self, smtp_starttls, firing):
        notifier = _notifier(
            smtp_starttls, username=smtp_starttls.user, password=smtp_starttls.password
        )
        with pytest.raises(NotificationError, match="does not trust") as info:
            notifier.send([firing()], timeout=5)
        assert "ca_file" in (info.value.hint or "")

    def test_verify_off_accepts_the_certificate(self, smtp_starttls, firing):
        notifier = _notifier(
            smtp_starttls,
            username=smtp_starttls.user,
            password=smtp_starttls.password,
            verify=False,
        )
        notifier.send([firing()], timeout=5)
        assert len(smtp_starttls.inbox.envelopes) == 1

    def test_every_recipient_refused(self, smtp_plain, firing):
        notifier = _notifier(smtp_plain, security="none", to=["nobody@example.com"])
        with pytest.raises(NotificationError, match="refused every recipient") as info:
            notifier.send([firing()], timeout=5)
        assert "nobody@example.com" in str(info.value)
        assert not info.value.retryable

    def test_some_recipients_refused(self, smtp_plain, firing):
        notifier = _notifier(
            smtp_plain, security="none", to=["a@example.com", "nobody@example.com"]
        )
        with pytest.raises(NotificationError, match="refused 1 of 2 recipients"):
            notifier.send([firing()], timeout=5)
        assert smtp_plain.inbox.envelopes[0].rcpt_tos == ["a@example.com"]

    def test_implicit_tls_against_a_plain_server(self, smtp_plain, firing):
        notifier = _notifier(smtp_plain, security="tls")
        with pytest.raises(NotificationError, match=r"TLS with .* failed"):
            notifier.send([firing()], timeout=5)


class TestOptions:
    @pytest.mark.parametrize(
        ("options", "problem"),
        [
            ({"username": "u"}, "username and password go together"),
            ({"password": "p-secret-1"}, "username and password go together"),
            (
                {"username": "u", "password": "p-secret-1", "security": "none"},
                "not sent over a plain connection",
            ),
            ({"to": []}, "'to'"),
            ({"to": ["ok@example.com", "not-an-address"]}, r"to\[1\] is not an email"),
            ({"sender": "nobody"}, "'sender'"),
            ({"security": "ssl"}, "'security'"),
            ({"host": "mail host"}, "'host'"),
            ({"subject_prefix": "a\nb"}, "'subject_prefix'"),
        ],
    )
    def test_bad_options_are_named(self, options, problem):
        with pytest.raises(ConfigError, match=problem) as info:
            EmailNotifier(**{"host": "mail", **ADDRESSES, **options})
        assert "p-secret-1" not in str(info.value)
        assert "not-an-address" not in str(info.value)

    def test_the_password_is_a_secret(self, canary):
        notifier = EmailNotifier(
            host="mail", username="u", password=canary, **ADDRESSES
        )
        assert canary not in repr(notifier.options)
        assert canary not in repr(notifier)


class TestReplies:
    def test_a_temporary_refusal_may_be_retried(self, smtp_plain, firing):
        notifier = _notifier(smtp_plain, security="none")
        with pytest.raises(NotificationError, match=r"answered 451 4\.3\.0") as info:
            notifier.send([firing(summary="TEMPFAIL")], timeout=5)
        assert info.value.status == 451
        assert info.value.retryable

    def test_a_permanent_refusal_is_not_retried(self, smtp_plain, firing):
        notifier = _notifier(smtp_plain, security="none")
        with pytest.raises(NotificationError, match=r"answered 554 5\.6\.0") as info:
            notifier.send([firing(summary="REJECT")], timeout=5)
        assert not info.value.retryable

    def test_a_server_that_hangs_up_is_named(self, firing):
        import socket
        import threading

        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)

        def greet_and_hang_up() -> None:
            conn, _ = listener.accept()
            with conn:
                conn.sendall(b"220 mail ESMTP\r\n")
                conn.recv(1024)

        thread = threading.Thread(target=greet_and_hang_up, daemon=True)
        thread.start()
        try:
            notifier = EmailNotifier(
                host="127.0.0.1",
                port=listener.getsockname()[1],
                security="none",
                **ADDRESSES,
            )
            with pytest.raises(NotificationError, match="SMTPServerDisconnected"):
                notifier.send([firing()], timeout=5)
        finally:
            thread.join(5)
            listener.close()

    def test_a_refused_sender_is_named(self, smtp_plain, firing):
        notifier = _notifier(smtp_plain, security="none", sender="spoofed@example.com")
        with pytest.raises(NotificationError, match="refused the sender") as info:
            notifier.send([firing()], timeout=5)
        assert info.value.status == 553
        assert "check sender" in (info.value.hint or "")
        assert not info.value.retryable
