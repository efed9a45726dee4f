"""Run ids: ULIDs, so that sorting ids as strings sorts runs by start time."""

from __future__ import annotations

import os
import threading
import time

__all__ = ["new_run_id"]

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base32
_RANDOM_BITS = 80
_LOCK = threading.Lock()
_last: list[int] = [0, 0]  # last millisecond, last random part


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, rem = divmod(value, 32)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


def new_run_id() -> str:
    """A new 26-character ULID: 48 bits of milliseconds, 80 random bits.

    Ids made in the same millisecond by this process increase monotonically,
    so they also sort in creation order.
    """
    with _LOCK:
        ms = time.time_ns() // 1_000_000
        if ms <= _last[0]:
            ms = _last[0]
            rand = (_last[1] + 1) % (1 << _RANDOM_BITS)
        else:
            rand = int.from_bytes(os.urandom(10), "big")
        _last[0], _last[1] = ms, rand
    return _encode(ms, 10) + _encode(rand, 16)
