"""Per-method timing of factories (``Pipeline(benchmark=True)``)."""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["BenchmarkModifier", "BenchmarkResult"]

T = TypeVar("T")


@dataclass
class BenchmarkResult:
    """Elapsed seconds of one factory's phases.

    Attributes:
        cls: The factory's name.
        read: Seconds in ``read``.
        process: Seconds in ``process``.
        write: Seconds in ``write`` (0 when writing is disabled).
        total: Seconds in every timed method together.
    """

    cls: str
    read: float
    process: float
    write: float
    total: float

    def __str__(self) -> str:
        """Render one line per figure, in the old API's layout."""
        return "\n".join(
            [
                f"Benchmark class: {self.cls}",
                f"Total elapsed time: {self.total} s",
                f"read: {self.read} s",
                f"process: {self.process} s",
                f"write: {self.write} s",
                "=================",
            ]
        )


class BenchmarkModifier(Generic[T]):
    """Wraps every public method of one instance with a timer.

    Each call records ``obj.times[method_name] = elapsed seconds``; the last
    call of a method wins. The change is made on the instance only, and stays.

    Args:
        obj: The instance to time.
    """

    def __init__(self, obj: T) -> None:
        """Replace the instance's methods with timed wrappers."""
        self.obj = obj
        obj.times = {}  # type: ignore[attr-defined]
        for name in _public_method_names(type(obj)):
            setattr(obj, name, self._timed(name, getattr(obj, name)))

    def _timed(self, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        obj = self.obj

        @functools.wraps(method)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                times = getattr(obj, "times", None) or {}
                times[name] = time.perf_counter() - start
                obj.times = times  # type: ignore[attr-defined]

        return wrapper

    def get(self) -> T:
        """Return the (now timed) instance."""
        return self.obj


def _public_method_names(cls: type) -> list[str]:
    """Names of plain methods defined on ``cls`` or its bases (no properties)."""
    seen: set[str] = set()
    names: list[str] = []
    for klass in cls.__mro__[:-1]:  # every class but ``object``
        for name, value in vars(klass).items():
            if name.startswith("_") or name in seen:
                continue
            seen.add(name)
            plain = not isinstance(value, (type, classmethod, staticmethod))
            if callable(value) and plain:
                names.append(name)
    return names
