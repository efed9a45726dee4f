"""Liveness and readiness probes for ``pysetl ui`` run as a service.

* ``GET /healthz`` (liveness): ``200`` while the process answers; it reads
  nothing, so a slow or unreachable history never gets a worker restarted.
* ``GET /readyz`` (readiness): ``200`` when the history opens and answers
  (its schema version and newest run are read), else ``503``: a load
  balancer sends no users to a worker that cannot show them anything.

Both answer without the dashboard's token (a probe rarely carries one) and
say nothing about the history: why it is not ready, and where it lives, is
told by the token-guarded ``/api/health``.

Added in 0.6.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from pysetl.errors import RunHistoryError

if TYPE_CHECKING:
    from pysetl.monitoring.history import BaseRunHistory

__all__ = ["PROBE_PATHS", "router"]

PROBE_PATHS = frozenset({"/healthz", "/readyz"})
"""The routes that answer without the token (see ``_security.Guard``)."""

router = APIRouter()
_NO_STORE = {"cache-control": "no-store"}


@router.get("/healthz", tags=["meta"])
def healthz() -> Any:
    """Liveness: ``{"status": "alive"}`` while the process answers."""
    return JSONResponse({"status": "alive"}, headers=_NO_STORE)


@router.get(
    "/readyz",
    tags=["meta"],
    responses={503: {"description": "The history cannot be read"}},
)
def readyz(request: Request) -> Any:
    """Readiness: ``200`` when the history can be read, else ``503``."""
    history: BaseRunHistory = request.app.state.history
    try:
        _ = history.schema_version
        history.list_runs(limit=1)
    except RunHistoryError:
        return JSONResponse({"status": "not_ready"}, status_code=503, headers=_NO_STORE)
    return JSONResponse({"status": "ready"}, headers=_NO_STORE)
