"""``create_app``: the dashboard's ASGI app (FastAPI) over a run history.

Usage:

```python
from pysetl.dashboard import create_app
from pysetl.monitoring.history import open_history

app = create_app(open_history(), token="s3cret-token")
# uvicorn.run(app, host="127.0.0.1", port=8765), or ``pysetl ui``
```

The app only reads the history. Its routes are the JSON API under ``/api``
(documented at ``/openapi.json``; the ``/docs`` and ``/redoc`` pages are off
because they load scripts from a CDN), the page at ``/`` and its files
under ``/static/``. See ``_security`` for the rules every request passes.

Added in 0.3. Changed in 0.4: ``throttle``, ``max_streams``,
``max_streams_per_client``, ``shared_reads``.
"""

from __future__ import annotations

import re
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from pysetl import __version__
from pysetl.dashboard import _alerts, _api, _live, _probes, _project
from pysetl.dashboard._security import Guard
from pysetl.dashboard._shared import SharedReads
from pysetl.dashboard._static import STATIC_DIR
from pysetl.errors import DashboardError, RunHistoryError
from pysetl.utils.redaction import redact_text

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Collection

    from fastapi import Request

    from pysetl.dashboard._throttle import AuthThrottle
    from pysetl.monitoring.history import BaseRunHistory

__all__ = ["TOKEN_PATTERN", "create_app"]

TOKEN_PATTERN = re.compile(r"[A-Za-z0-9._~+/=-]+")
"""The characters a token may hold (it travels in a header and a cookie)."""


def create_app(
    history: BaseRunHistory,
    *,
    token: str | None = None,
    poll_interval: float = 0.25,
    keepalive: float = 15.0,
    allowed_hosts: Collection[str] | None = None,
    static_dir: str | Path | None = None,
    throttle: AuthThrottle | None = None,
    max_streams: int = _live.MAX_STREAMS,
    max_streams_per_client: int = _live.MAX_STREAMS_PER_CLIENT,
    shared_reads: SharedReads | None = None,
) -> FastAPI:
    """The dashboard app over ``history``.

    Args:
        history: The run history to show (only read).
        token: When set, every request needs it (see ``_security``).
        poll_interval: Seconds between two polls of a watched run (live feed).
        keepalive: Seconds of silence before the live feed sends a comment.
        allowed_hosts: Host names the ``Host`` header may name (``None``: any).
        static_dir: The page's folder (default: the one shipped in the package).
        throttle: The budget of wrong tokens per client (default:
            ``AuthThrottle()``, 10 in a row then one every 2 s).
        max_streams: Live streams open at once, at most (then ``429``).
        max_streams_per_client: Live streams one client may hold open.
        shared_reads: Where identical run-list and pipeline requests share
            one read (default: ``SharedReads(ttl=1.0)``: answers at most 1 s
            old).

    Raises:
        DashboardError: The token holds characters a cookie cannot carry.
    """
    if token is not None and TOKEN_PATTERN.fullmatch(token) is None:
        msg = "The dashboard token holds characters a header or cookie cannot carry"
        raise DashboardError(
            msg,
            hint="use letters, digits and ._~+/=- only, e.g. "
            "python -c 'import secrets; print(secrets.token_urlsafe())'",
        )
    hub = _live.LiveHub(
        history,
        poll_interval=poll_interval,
        keepalive=keepalive,
        max_streams=max_streams,
        max_streams_per_client=max_streams_per_client,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        """Stop the live feed's poller when the server stops."""
        yield
        await hub.close()

    app = FastAPI(
        title="pysetl dashboard",
        version=__version__,
        description="Read-only JSON API over the pysetl run history.",
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        openapi_url="/openapi.json",
        lifespan=lifespan,
    )
    app.state.history = history
    app.state.live = hub
    app.state.shared_reads = SharedReads() if shared_reads is None else shared_reads
    app.state.static_dir = Path(static_dir) if static_dir is not None else STATIC_DIR
    app.include_router(_api.router)
    app.include_router(_live.router)
    app.include_router(_alerts.router)
    app.include_router(_probes.router)
    app.include_router(_project.router)
    app.add_exception_handler(_api.ApiProblem, _problem)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RunHistoryError, _history_error)
    app.add_middleware(
        Guard, token=token, allowed_hosts=allowed_hosts, throttle=throttle
    )
    return app


def _json(status: int, error: str, message: str, hint: str | None) -> JSONResponse:
    body = {"error": error, "message": message, "hint": hint}
    return JSONResponse(body, status_code=status, headers={"cache-control": "no-store"})


async def _problem(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, _api.ApiProblem)  # noqa: S101 - registered for it
    return JSONResponse(
        exc.body,
        status_code=exc.status,
        headers={"cache-control": "no-store", **exc.headers},
    )


async def _invalid(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # noqa: S101 - registered for it
    problems = []
    for error in exc.errors():
        where = [str(p) for p in error.get("loc", ()) if p not in {"query", "path"}]
        problems.append(f"{'.'.join(where) or 'request'!r}: {error.get('msg', '')}")
    message = redact_text("Invalid query parameter " + "; ".join(problems))
    return _json(422, "invalid_parameter", message, "see /openapi.json for the ranges")


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101 - registered for it
    if exc.status_code == 404:  # noqa: PLR2004 - HTTP status
        message = f"No route {redact_text(request.url.path)!r}"
        return _json(404, "not_found", message, "the API lives under /api")
    return _json(exc.status_code, "http_error", redact_text(str(exc.detail)), None)


async def _history_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RunHistoryError)  # noqa: S101 - registered for it
    return _json(503, "history_unavailable", redact_text(exc.message), exc.hint)
