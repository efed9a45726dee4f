"""The web dashboard: a read-only ASGI app over the run history (``pysetl ui``)."""

from __future__ import annotations

from pysetl.dashboard.app import create_app
from pysetl.dashboard.server import serve

__all__ = ["create_app", "serve"]
