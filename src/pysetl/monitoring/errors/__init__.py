"""Error analytics: failures grouped by fingerprint, with counts and trends."""

from __future__ import annotations

from pysetl.monitoring.errors._fingerprint import (
    FINGERPRINT_LENGTH,
    TITLE_LENGTH,
    ErrorSignature,
    fingerprint,
    normalise_message,
    signature_of,
)
from pysetl.monitoring.errors._groups import (
    DEFAULT_GROUPS,
    MAX_TREND_DAYS,
    DailyCount,
    ErrorGroup,
    ErrorOccurrence,
    error_groups,
    error_occurrences,
    errors_of_run,
    is_new_fingerprint,
)
from pysetl.monitoring.errors._report import (
    ErrorReport,
    error_report,
    group_failures,
    window_start,
)

__all__ = [
    "DEFAULT_GROUPS",
    "FINGERPRINT_LENGTH",
    "MAX_TREND_DAYS",
    "TITLE_LENGTH",
    "DailyCount",
    "ErrorGroup",
    "ErrorOccurrence",
    "ErrorReport",
    "ErrorSignature",
    "error_groups",
    "error_occurrences",
    "error_report",
    "errors_of_run",
    "fingerprint",
    "group_failures",
    "is_new_fingerprint",
    "normalise_message",
    "signature_of",
    "window_start",
]
