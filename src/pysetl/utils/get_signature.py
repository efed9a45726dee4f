"""``get_signature``: the parameter names of a callable."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["get_signature"]


def get_signature(fn: Callable[..., Any]) -> list[str]:
    """Return the names of ``fn``'s parameters, in order.

    Args:
        fn: Any callable.

    Returns:
        The parameter names.
    """
    return list(inspect.signature(fn).parameters)
