"""``AuthThrottle``: the per-client budget of wrong tokens, on a fake clock."""

from __future__ import annotations

import pytest

from pysetl.dashboard._throttle import AuthThrottle, client_key


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class TestAuthThrottle:
    def test_a_burst_then_one_try_per_refill(self):
        clock = Clock()
        throttle = AuthThrottle(burst=3, refill_seconds=2.0, clock=clock)
        assert [throttle.failed("a") for _ in range(3)] == [2, 1, 0]
        assert throttle.retry_after("a") == 2
        assert throttle.retry_after("b") == 0  # per client
        clock.now += 1.5
        assert throttle.retry_after("a") == 1  # 0.5 s to go, rounded up
        clock.now += 0.5
        assert throttle.retry_after("a") == 0
        assert throttle.failed("a") == 0
        assert throttle.retry_after("a") == 2

    def test_a_refilled_bucket_is_forgotten(self):
        clock = Clock()
        throttle = AuthThrottle(burst=2, refill_seconds=1.0, clock=clock)
        throttle.failed("a")
        assert len(throttle) == 1
        clock.now += 0.5
        assert throttle.retry_after("a") == 0
        assert len(throttle) == 1  # not full yet
        clock.now += 0.5
        assert throttle.retry_after("a") == 0
        assert len(throttle) == 0

    def test_at_most_max_clients_the_oldest_dropped(self):
        throttle = AuthThrottle(burst=1, max_clients=2, clock=Clock())
        for client in ["a", "b", "c"]:
            throttle.failed(client)
        assert len(throttle) == 2
        assert throttle.retry_after("a") == 0  # forgotten
        assert throttle.retry_after("c") > 0

    @pytest.mark.parametrize(
        ("burst", "refill", "clients"), [(0, 1.0, 1), (1, 0.0, 1), (1, 1.0, 0)]
    )
    def test_a_non_positive_setting_is_refused(self, burst, refill, clients):
        with pytest.raises(ValueError, match="positive"):
            AuthThrottle(burst=burst, refill_seconds=refill, max_clients=clients)


class TestClientKey:
    @pytest.mark.parametrize(
        ("host", "key"),
        [
            ("192.0.2.7", "192.0.2.7"),
            ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),  # one machine's /64
            ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),
            ("::ffff:192.0.2.7", "192.0.2.7"),
            ("/run/pysetl.sock", "/run/pysetl.sock"),
            (None, "unknown"),
            ("", "unknown"),
        ],
    )
    def test_keys(self, host, key):
        assert client_key(host) == key
