from __future__ import annotations

import re
import time

from hypothesis import given
from hypothesis import strategies as st

from pysetl.workflow import _run_id
from pysetl.workflow._run_id import new_run_id

ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


class TestRunId:
    def test_is_a_ulid(self):
        assert ULID.match(new_run_id())

    def test_ids_sort_in_creation_order(self):
        ids = [new_run_id() for _ in range(200)]
        assert ids == sorted(ids)
        assert len(set(ids)) == 200

    def test_later_millisecond_sorts_later(self):
        first = new_run_id()
        time.sleep(0.002)
        assert new_run_id()[:10] > first[:10]

    def test_time_prefix_encodes_milliseconds(self):
        before = time.time_ns() // 1_000_000
        run_id = new_run_id()
        decoded = 0
        for char in run_id[:10]:
            decoded = decoded * 32 + _run_id._ALPHABET.index(char)
        assert decoded >= before

    @given(
        st.integers(min_value=0, max_value=2**48 - 1),
        st.integers(min_value=0, max_value=2**48 - 1),
    )
    def test_encoding_preserves_order(self, a, b):
        assert (a < b) == (_run_id._encode(a, 10) < _run_id._encode(b, 10))
