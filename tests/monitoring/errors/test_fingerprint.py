"""Normalising messages and fingerprinting failures (pure functions)."""

from __future__ import annotations

import pytest

from pysetl.monitoring.errors import (
    FINGERPRINT_LENGTH,
    TITLE_LENGTH,
    fingerprint,
    normalise_message,
    signature_of,
)
from pysetl.monitoring.history import FailureRecord
from pysetl.monitoring.history.ops import error_to_dict
from pysetl.utils.redaction import MASK


def failure(**fields) -> FailureRecord:
    base = {
        "run_id": "R1",
        "started_at": 1.0,
        "pipeline": "p",
        "factory": "Load",
        "attempt": 1,
        "status": "failed",
        "ts": 2.0,
    }
    return FailureRecord(**{**base, **fields})


class TestNormaliseMessage:
    @pytest.mark.parametrize(
        ("message", "normalised"),
        [
            ("row 42 is bad", "row <n> is bad"),
            ("took 3.5 s, 1,000 rows", "took <n> s, <n> rows"),
            ("calling o123.parquet", "calling o<n>.parquet"),
            ("Column 'amount2' not found", "Column 'amount<n>' not found"),
            ("in /data/in/part-0001.csv.", "in <path>."),
            ("see ./out/x, ~/y and /a", "see <path>, ... and <path>"),
            ("read data/in/day-1.csv", "read <path>"),
            (r"C:\data\in.csv not found", "<path> not found"),
            ("Path does not exist: file:/tmp/x/in.csv.", "Path does not exist: <url>."),
            ("GET https://h:8080/x?a=1 failed", "GET <url> failed"),
            ("s3a://bucket/in/2024/01", "<url>"),
            ("id 123e4567-e89b-12d3-a456-426614174000", "id <uuid>"),
            ("at 2026-12-03T22:20:05.123Z", "at <ts>"),
            ("at 2026-12-03 22:20:05+01:00 or 22:20:05", "at <ts> or <ts>"),
            ("on 2026-12-03", "on <ts>"),
            ("<object at 0x7f3a9c>", "<object at <addr>>"),
            ("run 01M8YZXAGED01SYYGV9V2NR118 died", "run <id> died"),
            ("sha 9f86d081884c7d65a", "sha <hex>"),
            ("ids [1, 2, 3] and [4]", "ids [<n>, ...] and [<n>]"),
            ("a  b\n\tc ", "a b c"),
            # kept: words, short hex-looking words, ratios, read/write
            ("deadbeef accepted read/write", "deadbeef accepted read/write"),
            ("ratio 1/2", "ratio <n>/<n>"),
            (f"password={MASK} refused", f"password={MASK} refused"),
            ("", ""),
        ],
    )
    def test_replaces_what_varies(self, message, normalised):
        assert normalise_message(message) == normalised

    def test_occurrences_of_one_error_normalise_alike(self):
        first = "row 1001 of /in/day-1.csv failed at 2026-01-01T00:00:00 (0x7f01)"
        second = "row 17 of /in/day-22.csv failed at 2026-02-03T10:11:12 (0x9a)"
        assert normalise_message(first) == normalise_message(second)


class TestFingerprint:
    def test_is_short_lower_hex_and_stable(self):
        found = fingerprint("ValueError", "Load", "row <n>")
        assert len(found) == FINGERPRINT_LENGTH
        assert int(found, 16) >= 0
        assert found == found.lower()
        assert found == fingerprint("ValueError", "Load", "row <n>")

    @pytest.mark.parametrize(
        "other",
        [
            ("KeyError", "Load", "row <n>"),
            ("ValueError", "Clean", "row <n>"),
            ("ValueError", None, "row <n>"),
            ("ValueError", "Load", "column <n>"),
        ],
    )
    def test_class_factory_and_message_each_count(self, other):
        assert fingerprint(*other) != fingerprint("ValueError", "Load", "row <n>")

    def test_a_long_tail_does_not_split_a_group(self):
        head = "x" * 2000
        assert fingerprint("E", None, head + "a") == fingerprint("E", None, head + "b")


def _chain(message: str) -> BaseException:
    def lookup() -> None:
        raise KeyError(message)

    try:
        try:
            lookup()
        except KeyError as exc:
            raise ValueError(f"outer {message}") from exc
    except ValueError as exc:
        return exc
    raise AssertionError  # pragma: no cover - the block above always returns


class TestSignatureOf:
    def test_the_root_cause_gives_the_class_and_the_message(self):
        error = error_to_dict(_chain("row 5"))
        found = signature_of(
            failure(
                error_type=error["error_type"],
                message=error["message"],
                causes=tuple(error["causes"]),
            )
        )
        assert found.error_class == "KeyError"
        assert found.message == "'row 5'"
        assert found.title == "'row <n>'"
        assert found.factory == "Load"
        assert found.fingerprint == fingerprint("KeyError", "Load", "'row <n>'")

    def test_the_spark_error_class_wins(self):
        found = signature_of(
            failure(
                error_type="AnalysisException",
                message="[TABLE_OR_VIEW_NOT_FOUND] `t1` cannot be found",
                error_class="TABLE_OR_VIEW_NOT_FOUND",
            )
        )
        assert found.error_class == "TABLE_OR_VIEW_NOT_FOUND"
        assert found.title == "[TABLE_OR_VIEW_NOT_FOUND] `t<n>` cannot be found"

    def test_without_causes_the_error_itself(self):
        found = signature_of(failure(error_type="Crashed", message="no beat for 75 s"))
        assert (found.error_class, found.title) == ("Crashed", "no beat for <n> s")

    def test_an_empty_message_has_a_title(self):
        assert signature_of(failure()).title == "(no message)"

    def test_a_long_title_is_cut(self):
        found = signature_of(failure(message="word " * 100))
        assert len(found.title) == TITLE_LENGTH
        assert found.title.endswith("...")

    def test_the_deepest_hint_wins_over_the_wrappers(self):
        causes = (
            {"error_type": "ConnectorError", "message": "m", "hint": "check the path"},
            {"error_type": "OSError", "message": "m"},
        )
        found = signature_of(failure(hint="see the cause", causes=causes))
        assert found.hint == "check the path"
        assert signature_of(failure(hint="see the cause")).hint == "see the cause"
        assert signature_of(failure()).hint is None

    def test_a_masked_secret_stays_masked(self):
        error = error_to_dict(ValueError("login failed: password=hunter22 for 'etl'"))
        found = signature_of(failure(message=error["message"]))
        assert "hunter" not in found.title
        assert "hunter" not in found.message
        assert MASK in found.title
