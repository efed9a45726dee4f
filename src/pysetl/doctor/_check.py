"""``Check``: one line of ``pysetl doctor``'s report, and the report itself."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pysetl.utils.redaction import redact_text

__all__ = ["FAIL", "OK", "WARN", "Check", "DoctorReport", "Status"]

Status = Literal["ok", "warn", "fail"]
OK: Status = "ok"
WARN: Status = "warn"
FAIL: Status = "fail"


@dataclass(frozen=True, slots=True)
class Check:
    """The outcome of one check.

    Attributes:
        name: What was checked (``java``, ``extra: otel``, ``config``).
        status: ``ok``, ``warn`` (works, but should be fixed) or ``fail``
            (pipelines will not run, or not as configured).
        detail: What was found, naming the file, path or version.
        fix: What to do about it (a command where there is one).
    """

    name: str
    status: Status
    detail: str
    fix: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The check as JSON-ready data, every text through the redaction point."""
        return {
            "name": self.name,
            "status": self.status,
            "detail": redact_text(self.detail),
            "fix": None if self.fix is None else redact_text(self.fix),
        }


@dataclass(frozen=True, slots=True)
class DoctorReport:
    """Every check of one ``pysetl doctor`` run, in order.

    Attributes:
        checks: The checks.
        env: The config environment checked (``None``: base only).
        project: The project folder.
    """

    checks: tuple[Check, ...]
    env: str | None = None
    project: str | None = None

    @property
    def ok(self) -> bool:
        """No check failed (warnings allowed)."""
        return all(check.status != FAIL for check in self.checks)

    def count(self, status: Status) -> int:
        """How many checks have ``status``."""
        return sum(check.status == status for check in self.checks)

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (what ``pysetl doctor --json`` prints)."""
        return {
            "ok": self.ok,
            "project": self.project,
            "env": self.env,
            "summary": {status: self.count(status) for status in (OK, WARN, FAIL)},
            "checks": [check.as_dict() for check in self.checks],
        }
