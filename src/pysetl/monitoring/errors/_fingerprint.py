r"""Fingerprints of failures: one short id for "the same error", run after run.

A failure's fingerprint hashes three things: its error class, its factory
and its message *normalised*, that is with everything that changes from
one occurrence to the next replaced by a placeholder. The normalised
message is also the title of the failure's group.

The error class is the Spark error class when the failure has one
(``TABLE_OR_VIEW_NOT_FOUND``), else the type of its root cause, the
innermost error of its chain (``ValueError`` rather than the
``FactoryError`` that wraps it); the message is the root cause's too, so
the pipeline and run named by the wrapper do not split a group.

Normalisation, in one pass: where two rules match at the same place, the
one higher in this table wins:

=================  ===========================================  =============
what               example                                      becomes
=================  ===========================================  =============
URLs               ``s3a://bucket/in/2024``, ``file:/tmp/x``    ``<url>``
file paths         ``/data/in/part-0001.csv``, ``C:\in\x``,      ``<path>``
                   ``./out``, ``in/day-1.csv``
UUIDs              ``123e4567-e89b-12d3-a456-426614174000``     ``<uuid>``
timestamps, dates  ``2026-12-03T22:20:05.123Z``, ``22:20:05``   ``<ts>``
addresses          ``0x7f3a9c``                                 ``<addr>``
ULIDs (run ids)    ``01J9Z3K8Q4W6E2R5T7Y9U1I3O5``               ``<id>``
hex ids, hashes    ``9f86d081884c7d65``                          ``<hex>``
numbers            ``42``, ``3.5``, the 123 of ``o123``          ``<n>``
lists of those     ``<n>, <n>, <n>``                            ``<n>, ...``
white space        runs of spaces, tabs, new lines              one space
=================  ===========================================  =============

Quoted names are kept (a missing column ``'amount'`` is not a missing
column ``'price'``), but their digits go like any other. Messages come
from the run history, where secrets are already masked; normalising never
brings them back.

How to add a rule: add a ``(pattern, placeholder)`` pair to ``_RULES`` at
the right place in the order and a case to
``tests/monitoring/errors/test_fingerprint.py``. A new rule changes the
fingerprints of some existing groups: say so in the changelog.

Added in 0.5.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pysetl.monitoring.history import FailureRecord

__all__ = [
    "FINGERPRINT_LENGTH",
    "TITLE_LENGTH",
    "ErrorSignature",
    "fingerprint",
    "normalise_message",
    "signature_of",
]

FINGERPRINT_LENGTH = 12
"""Hex characters of a fingerprint (48 bits of SHA-256)."""
TITLE_LENGTH = 200
"""The longest title of a group, in characters; longer ones end with ``...``."""
_HASHED_LENGTH = 2000  # a long Java trace's tail does not split a group

# The rest of a path or URL: up to a space, quote or bracket, and never
# ending in the punctuation of the sentence around it.
_PATH_END = r"(?:[^\s'\"`<>()\[\]{},;]*[^\s'\"`<>()\[\]{},;:.])?"
_UUID = r"\b[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}\b"
_TIMESTAMP = (
    r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?"
    r"(?:Z|[+-]\d{2}:?\d{2})?)?\b|\b\d{2}:\d{2}:\d{2}(?:[.,]\d+)?\b"
)
# (name, pattern, placeholder), in order of priority: where several match
# at the same place, the first wins (a UUID is not a date and numbers).
_RULES: tuple[tuple[str, str, str], ...] = (
    # scheme://anything and scheme:/anything (Hadoop's file:/tmp/x)
    ("url", rf"\b[A-Za-z][A-Za-z0-9+.-]*:/{_PATH_END}", "<url>"),
    # Windows drive paths, absolute, home and explicitly relative POSIX
    # paths, and bare relative paths that end in a file extension
    ("windows", rf"\b[A-Za-z]:\\{_PATH_END}", "<path>"),
    ("posix", rf"(?<![\w/.~<>-])(?:~|\.{{1,2}})?/[\w.*$-]{_PATH_END}", "<path>"),
    ("relative", r"\b[\w.-]+(?:/[\w.*$-]+)+\.[A-Za-z]\w{0,7}\b", "<path>"),
    ("uuid", _UUID, "<uuid>"),
    ("ts", _TIMESTAMP, "<ts>"),
    ("addr", r"\b0[xX][0-9a-fA-F]+\b", "<addr>"),
    ("ulid", r"\b(?=[0-9A-Z]*\d)[0-9A-HJKMNP-TV-Z]{26}\b", "<id>"),
    ("hex", r"\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\b", "<hex>"),
    ("n", r"\d+(?:[.,]\d+)*", "<n>"),
)
# One pass over the message for all of them (a dozen passes cost five times
# more); then repeated placeholders fold, then white space.
_VARYING = re.compile("|".join(f"(?P<{name}>{pattern})" for name, pattern, _ in _RULES))
_PLACEHOLDERS = {name: placeholder for name, _, placeholder in _RULES}
_REPEATS = re.compile(r"(<(?:n|id|hex|uuid|addr|ts|path|url)>)(?:[,;]?\s*\1)+")


def _placeholder(match: re.Match[str]) -> str:
    return _PLACEHOLDERS[str(match.lastgroup)]


@functools.lru_cache(maxsize=4096)
def normalise_message(message: str) -> str:
    """``message`` with what varies between occurrences replaced (see the module).

    Examples:
        >>> normalise_message("row 42 of /data/in/part-0001.csv is bad")
        'row <n> of <path> is bad'
    """
    text = _VARYING.sub(_placeholder, message)
    text = _REPEATS.sub(r"\1, ...", text)
    return " ".join(text.split())


def fingerprint(error_class: str, factory: str | None, normalised: str) -> str:
    """The fingerprint of an error class, a factory and a normalised message.

    Args:
        error_class: The Spark error class, else the root cause's type.
        factory: The factory that failed (``None``: the run itself).
        normalised: The message, through ``normalise_message``.

    Returns:
        ``FINGERPRINT_LENGTH`` lower-case hex characters.
    """
    text = "\x1f".join((error_class, factory or "", normalised[:_HASHED_LENGTH]))
    return hashlib.sha256(text.encode()).hexdigest()[:FINGERPRINT_LENGTH]


@dataclass(frozen=True, slots=True)
class ErrorSignature:
    """What identifies a failure's group, and how the group is shown.

    Attributes:
        fingerprint: The group's id (``fingerprint()``).
        error_class: The Spark error class, else the root cause's type.
        factory: The factory that failed, ``None`` for a run's own failure.
        title: The normalised message, cut to ``TITLE_LENGTH``.
        message: The root cause's message as stored (secrets masked).
        hint: The hint of the deepest cause that has one, else the
            failure's own, if any.
    """

    fingerprint: str
    error_class: str
    factory: str | None
    title: str
    message: str
    hint: str | None


def signature_of(failure: FailureRecord) -> ErrorSignature:
    """The signature (fingerprint, class, title) of one failure of the history."""
    root: dict[str, Any] = failure.causes[-1] if failure.causes else {}
    error_class = str(
        failure.error_class or root.get("error_type") or failure.error_type
    )
    message = str(root.get("message", failure.message) if root else failure.message)
    normalised = normalise_message(message)
    # The deepest hint is the most specific (a connector's, not the
    # "see the chained exception" of the factory error that wraps it).
    hints = [*(c.get("hint") for c in reversed(failure.causes)), failure.hint]
    title = normalised
    if len(title) > TITLE_LENGTH:
        title = title[: TITLE_LENGTH - 3].rstrip() + "..."
    return ErrorSignature(
        fingerprint=fingerprint(error_class, failure.factory, normalised),
        error_class=error_class,
        factory=failure.factory,
        title=title or "(no message)",
        message=message,
        hint=next((str(h) for h in hints if h), None),
    )
