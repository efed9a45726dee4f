"""``AuthThrottle``: a per-client budget of wrong tokens (a token bucket).

Each client (an IPv4 address, or an IPv6 /64 network, since one machine
holds a whole /64) has a bucket of ``burst`` wrong guesses that refills by
one every ``refill_seconds``. A client whose bucket is empty is answered
``429`` with ``Retry-After`` before its token is even compared, so guessing
costs ``refill_seconds`` a try instead of a millisecond. Nothing sleeps:
other clients, and the event loop, never wait for a guesser.

The throttle keeps at most ``max_clients`` buckets (a full bucket needs no
entry, and the least recently failed client is forgotten first), so many
addresses cannot grow it without bound. Behind a reverse proxy every client
has the proxy's address and shares one bucket.

Added in 0.4.
"""

from __future__ import annotations

import ipaddress
import math
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["AuthThrottle", "client_key"]

_IPV6_NETWORK = 64


def client_key(host: str | None) -> str:
    """The key of a client's bucket: its IPv4 address or its IPv6 /64.

    Args:
        host: The client's address as the server reports it (or ``None``).
    """
    if not host:
        return "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:  # a unix socket path or a name: as given
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/{_IPV6_NETWORK}", strict=False))
    return str(address)


class AuthThrottle:
    """How many wrong tokens each client may still try, and when again.

    Args:
        burst: Wrong tokens a client may send in a row before it must wait.
        refill_seconds: Seconds after which one more wrong token is allowed.
        max_clients: Buckets kept at most (the oldest is dropped first).
        clock: Monotonic seconds (injected by tests).

    Raises:
        ValueError: ``burst``, ``refill_seconds`` or ``max_clients`` is not
            positive.

    Added in 0.4.
    """

    def __init__(
        self,
        *,
        burst: int = 10,
        refill_seconds: float = 2.0,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Start with every client's bucket full."""
        if burst < 1 or refill_seconds <= 0 or max_clients < 1:
            msg = (
                f"AuthThrottle needs a positive burst, refill_seconds and "
                f"max_clients, got {burst!r}, {refill_seconds!r}, {max_clients!r}"
            )
            raise ValueError(msg)
        self.burst = burst
        self.refill_seconds = refill_seconds
        self.max_clients = max_clients
        self.clock = clock
        # client -> (wrong tokens still allowed, when that was computed);
        # ordered by last failure, oldest first.
        self._buckets: dict[str, tuple[float, float]] = {}

    def _level(self, client: str, now: float) -> float:
        allowed, at = self._buckets.get(client, (float(self.burst), now))
        return min(float(self.burst), allowed + (now - at) / self.refill_seconds)

    def retry_after(self, client: str) -> int:
        """Whole seconds ``client`` must wait before its next try (0: none)."""
        now = self.clock()
        level = self._level(client, now)
        if level >= 1:
            if level >= self.burst:  # refilled: forget it
                self._buckets.pop(client, None)
            return 0
        return max(1, math.ceil((1 - level) * self.refill_seconds))

    def failed(self, client: str) -> int:
        """Take one wrong token from ``client``'s bucket; the tries left now."""
        now = self.clock()
        level = self._level(client, now) - 1
        self._buckets.pop(client, None)  # re-inserted last: the newest
        self._buckets[client] = (level, now)
        while len(self._buckets) > self.max_clients:
            del self._buckets[next(iter(self._buckets))]
        return max(0, math.floor(level))

    def __len__(self) -> int:
        """How many clients have a bucket that is not full."""
        return len(self._buckets)
