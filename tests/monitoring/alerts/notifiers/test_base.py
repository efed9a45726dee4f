"""``BaseNotifier``: how a new notifier plugs in, and what the base guarantees."""

from __future__ import annotations

import http.client
import smtplib

import pytest

from pysetl.errors import NotificationError
from pysetl.monitoring.alerts.notifiers import BaseNotifier, NotifierOptions
from pysetl.monitoring.alerts.notifiers._base import run_bounded
from pysetl.monitoring.alerts.notifiers._email import _shutdown as smtp_shutdown
from pysetl.monitoring.alerts.notifiers._http import _shutdown as http_shutdown


class BrokenOptions(NotifierOptions):
    """A notifier with no option of its own."""


class BrokenNotifier(BaseNotifier[BrokenOptions]):
    """A notifier whose delivery has a bug."""

    type_name = "broken"

    def __init__(self, **options):
        super().__init__(BrokenOptions, options)

    @property
    def endpoint(self):
        return "broken://here"

    def _deliver(self, batch, timeout, aborts):
        raise RuntimeError("a bug")


class TestBaseNotifier:
    def test_an_unforeseen_failure_is_still_a_notification_error(self, firing):
        notifier = BrokenNotifier(name="b")
        with pytest.raises(NotificationError, match="failed to deliver") as info:
            notifier.send([firing()], timeout=1)
        assert isinstance(info.value.__cause__, RuntimeError)
        assert info.value.notifier == "b"
        assert info.value.endpoint == "broken://here"
        assert repr(notifier) == "BrokenNotifier(name='b', endpoint='broken://here')"


class TestRunBounded:
    def test_the_result_comes_back(self):
        assert run_bounded(lambda _: 42, 1, name="t") == 42

    def test_what_the_work_raises_is_raised(self):
        def work(aborts):
            raise KeyError("x")

        with pytest.raises(KeyError):
            run_bounded(work, 1, name="t")

    def test_aborts_that_fail_do_not_hide_the_timeout(self):
        import threading

        release = threading.Event()

        def work(aborts):
            def abort():
                release.set()
                raise OSError("already closed")

            aborts.append(abort)
            release.wait(5)

        with pytest.raises(TimeoutError, match=r"no answer within 0\.1 s"):
            run_bounded(work, 0.1, name="t")
        assert release.is_set()


class TestShutdowns:
    def test_an_http_connection_without_a_socket_is_left_alone(self):
        connection = http.client.HTTPConnection("127.0.0.1", 9)
        http_shutdown(connection)
        assert connection.sock is None

    def test_an_smtp_client_without_a_socket_is_left_alone(self):
        client = smtplib.SMTP()
        smtp_shutdown(client)
        assert getattr(client, "sock", None) is None
