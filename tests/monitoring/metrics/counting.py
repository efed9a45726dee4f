"""A stand-in for a JVM object that notes which of its methods are asked for."""

from __future__ import annotations

from typing import Any


class Counting:
    """Wraps a JVM object (a Py4J proxy) and notes the names asked of it."""

    def __init__(self, target: Any) -> None:
        self.target = target
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        self.calls.append(name)
        return getattr(self.target, name)
