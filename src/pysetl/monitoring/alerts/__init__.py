"""Alerting: rules evaluated on runs, and notifications of their alerts."""

from __future__ import annotations

from pysetl.monitoring.alerts._notify import (
    NOTIFIER_TYPES,
    AlertMessage,
    AlertState,
    Notifier,
)

__all__ = ["NOTIFIER_TYPES", "AlertMessage", "AlertState", "Notifier"]
