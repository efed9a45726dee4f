"""The JSON API's routes (``/api/...``), the page (``/``) and its files.

Every route is read-only and synchronous (FastAPI runs it on its thread
pool, so a slow store never blocks the live stream). Errors answer with an
``ErrorBody``: ``{"error", "message", "hint"}``.

Added in 0.3.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import unquote_to_bytes

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

from pysetl import __version__
from pysetl.dashboard import _reads as reads
from pysetl.dashboard._convert import event_out, log_out, page_out
from pysetl.dashboard._models import (
    ErrorBody,
    ErrorGroupsOut,
    EventPage,
    FactoryCharts,
    Health,
    LogPage,
    PipelineCharts,
    PipelinesOut,
    RunDetail,
    RunPage,
    SparkOut,
)
from pysetl.dashboard._static import CONTENT_TYPES, PLACEHOLDER, resolve_static
from pysetl.errors import RunHistoryError
from pysetl.monitoring.errors import ErrorGroup, error_groups
from pysetl.monitoring.history import redact_url
from pysetl.monitoring.history.records import LEVELS, STATUSES
from pysetl.utils.redaction import redact_text

if TYPE_CHECKING:
    from pathlib import Path

    from pysetl.dashboard._shared import SharedReads
    from pysetl.monitoring.history import BaseRunHistory
    from pysetl.monitoring.history.records import RunRecord

__all__ = ["API_LIMIT", "MAX_ROW_ID", "ApiProblem", "no_nul", "no_run", "router"]

API_LIMIT = 500
"""The largest page the API returns."""
MAX_ROW_ID = 2**63 - 1
"""The largest row id a cursor may name (a signed 64-bit SQL integer)."""
_EXPOSITION = "text/plain; version=0.0.4; charset=utf-8"
"""Prometheus's text format, which every Prometheus 2 and 3 scrapes."""
_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No such run"},
    422: {"model": ErrorBody, "description": "A bad parameter"},
}
Limit = Annotated[int, Query(ge=1, le=API_LIMIT, description="Page size")]
Cursor = Annotated[
    str | None, Query(description="next_cursor of the previous page", max_length=64)
]


class ApiProblem(Exception):  # noqa: N818 - an HTTP answer, not an error of ours
    """An answer with an ``ErrorBody`` (raised by routes, rendered by the app)."""

    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        hint: str,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Keep the status, the body's fields and extra headers."""
        super().__init__(message)
        self.status = status
        self.body = {"error": error, "message": message, "hint": hint}
        self.headers = headers or {}


def no_nul(request: Request) -> None:
    """Refuse a query or path parameter that holds a NUL byte (422).

    No history holds one (PostgreSQL cannot even be asked about one), so
    such a parameter is a mistake or a probe, never a lookup.

    Raises:
        ApiProblem: 422 naming the parameter.
    """
    given = [*request.query_params.multi_items(), *request.path_params.items()]
    for name, value in given:
        if "\x00" in name or "\x00" in str(value):
            msg = (
                f"Invalid parameter {redact_text(name)!r}: it holds a NUL byte "
                "(%00), which no run, pipeline or text can contain"
            )
            raise ApiProblem(422, "invalid_parameter", msg, "remove the %00 from it")


router = APIRouter(dependencies=[Depends(no_nul)])


def _history(request: Request) -> BaseRunHistory:
    history: BaseRunHistory = request.app.state.history
    return history


def no_run(run_id: str) -> ApiProblem:
    """The 404 answer for a run the history does not hold."""
    msg = f"No run {redact_text(run_id)!r} in the run history"
    return ApiProblem(404, "not_found", msg, "pick a run from /api/runs")


def _run(history: BaseRunHistory, run_id: str) -> RunRecord:
    run = history.find_run(run_id)
    if run is None:
        raise no_run(run_id)
    return run


def _id_cursor(name: str, value: str | None) -> str | None:
    """``value`` if it is a row id cursor: ASCII digits up to ``MAX_ROW_ID``.

    (``str.isdigit`` alone lets through ``'²'`` and other Unicode digits.)
    """
    if value is None:
        return None
    if not (value.isascii() and value.isdigit()) or int(value) > MAX_ROW_ID:
        shown = redact_text(value)
        msg = (
            f"Invalid query parameter {name!r}: {shown!r} is not a cursor "
            f"(expected a row id from 0 to {MAX_ROW_ID})"
        )
        raise ApiProblem(422, "invalid_parameter", msg, "pass the next_cursor or id")
    return value


def _raw_names(request: Request, prefix: str, given: tuple[str, ...]) -> list[str]:
    """The path's names after ``prefix``, each ``%2F`` kept inside its name.

    The server decodes ``%2F`` before routing, so ``team%2Fdaily`` arrives
    as two segments; the raw path still tells them apart. Falls back to
    ``given`` (the routed values) when the raw path does not split into
    as many names.
    """
    raw: bytes = request.scope.get("raw_path") or b""
    head, _, tail = raw.partition(b"?")[0].partition(prefix.encode())
    parts = tail.split(b"/")
    if head or len(parts) != len(given):
        return list(given)
    return [unquote_to_bytes(part).decode("utf-8", "replace") for part in parts]


# ------------------------------------------------------------------ page
@router.get("/", include_in_schema=False)
def index(request: Request) -> Response:
    """The page (``static/index.html``), or a placeholder without it."""
    static_dir: Path = request.app.state.static_dir
    page = static_dir / "index.html"
    headers = {"cache-control": "no-cache"}
    if page.is_file():
        return Response(
            page.read_bytes(), media_type=CONTENT_TYPES[".html"], headers=headers
        )
    return HTMLResponse(PLACEHOLDER, headers=headers)


@router.get("/static/{path:path}", include_in_schema=False)
def static(request: Request, path: str) -> Response:
    """A file of the static folder; 404 for anything outside it."""
    found = resolve_static(request.app.state.static_dir, path)
    if found is None:
        msg = f"No file {redact_text(path)!r} among the dashboard's files"
        raise ApiProblem(404, "not_found", msg, "the page's files are under /static/")
    media = CONTENT_TYPES.get(found.suffix.lower(), "application/octet-stream")
    return FileResponse(found, media_type=media, headers={"cache-control": "no-cache"})


# ------------------------------------------------------------------- api
@router.get(
    "/api/health",
    response_model=Health,
    responses={503: {"model": Health, "description": "The history cannot be read"}},
    tags=["meta"],
)
def health(request: Request) -> Any:
    """Whether the history can be read: status, pysetl version, (redacted) URL.

    It reads the schema version and the newest run, so a store that is
    corrupt, gone or locked answers ``503`` with ``"status": "unhealthy"``
    and why, and a load balancer stops sending users to it.
    """
    history = _history(request)
    url = redact_text(redact_url(history.url))
    body: dict[str, Any] = {"status": "ok", "version": __version__, "history": url}
    try:
        _ = history.schema_version
        history.list_runs(limit=1)
    except RunHistoryError as exc:
        body |= {
            "status": "unhealthy",
            "problem": redact_text(exc.message),
            "hint": exc.hint,
        }
        return JSONResponse(
            body, status_code=503, headers={"cache-control": "no-store"}
        )
    return body


@router.get(
    "/metrics",
    response_class=Response,
    responses={501: {"model": ErrorBody, "description": "The extra is missing"}},
    tags=["meta"],
)
def metrics(request: Request) -> Response:
    """The history's figures in Prometheus's text format, for scraping.

    What the Prometheus exporter pushes (``render_metrics``: every
    pipeline's last run, live figures of running ones, factories and KPIs,
    labels of bounded cardinality). Scrapes that arrive together share one
    read (see ``SharedReads``). Needs the ``prometheus`` extra (``501``
    without it). Behind the dashboard's token like every route: give it to
    Prometheus as ``authorization: {credentials: ...}``.

    Added in 0.5.
    """
    try:
        from pysetl.monitoring.prometheus import (  # noqa: PLC0415 - the extra
            render_metrics,
        )
    except ImportError as exc:
        msg = f"/metrics needs the 'prometheus' extra: {exc}"
        raise ApiProblem(
            501, "extra_missing", msg, "pip install 'pysetl[prometheus]'"
        ) from exc
    history = _history(request)
    body = _shared(request).get(("metrics",), lambda: render_metrics(history))
    return Response(body, media_type=_EXPOSITION, headers={"cache-control": "no-store"})


def _shared(request: Request) -> SharedReads:
    shared: SharedReads = request.app.state.shared_reads
    return shared


@router.get("/api/pipelines", response_model=PipelinesOut, tags=["runs"])
def pipelines(request: Request) -> dict[str, Any]:
    """Every pipeline of the history with its run count and latest run.

    Polled by every open page: identical requests share one read (see
    ``SharedReads``).
    """
    history = _history(request)
    found = _shared(request).get(("pipelines",), history.list_pipelines)
    return {
        "items": [
            {
                "pipeline": redact_text(p.pipeline),
                "runs": p.runs,
                "last_run_id": p.last_run_id,
                "last_status": p.last_status,
                "last_started_at": p.last_started_at,
            }
            for p in found
        ]
    }


@router.get("/api/runs", response_model=RunPage, responses=_ERRORS, tags=["runs"])
def runs(
    request: Request,
    *,
    pipeline: Annotated[str | None, Query(max_length=200)] = None,
    status: Annotated[str | None, Query(description=", ".join(STATUSES))] = None,
    since: Annotated[
        float | None, Query(description="started at or after", allow_inf_nan=False)
    ] = None,
    until: Annotated[
        float | None, Query(description="started before", allow_inf_nan=False)
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
    host: Annotated[
        str | None, Query(max_length=255, description="recorded on this host")
    ] = None,
) -> dict[str, Any]:
    """Runs, newest first, filtered by pipeline, status, start time and host.

    Polled by every open page: identical requests share one read (see
    ``SharedReads``). Changed in 0.6: ``host``.
    """
    if status is not None and status not in STATUSES:
        msg = f"Invalid query parameter 'status': {status!r} is not a run status"
        raise ApiProblem(
            422, "invalid_parameter", msg, f"use one of {', '.join(STATUSES)}"
        )
    history = _history(request)
    query = {
        "pipeline": pipeline,
        "status": status,
        "since": since,
        "until": until,
        "limit": limit,
        "cursor": cursor,
        "host": host,
    }
    page: dict[str, Any] = _shared(request).get(
        ("runs", *query.values()), lambda: reads.runs_page(history, **query)
    )
    return page


@router.get(
    "/api/runs/{run_id}", response_model=RunDetail, responses=_ERRORS, tags=["runs"]
)
def run_detail(request: Request, run_id: str) -> dict[str, Any]:
    """A run with its stages, factory attempts (in start order), graph, progress."""
    detail = reads.run_detail(_history(request), run_id)
    if detail is None:
        raise no_run(run_id)
    return detail


@router.get(
    "/api/runs/{run_id}/logs", response_model=LogPage, responses=_ERRORS, tags=["runs"]
)
def logs(
    request: Request,
    run_id: str,
    *,
    factory: Annotated[str | None, Query(max_length=200)] = None,
    level: Annotated[str | None, Query(description=", ".join(LEVELS))] = None,
    q: Annotated[str | None, Query(max_length=200, description="text search")] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """A run's log lines, oldest first; follow a run by passing the last cursor."""
    if level is not None and level.upper() not in LEVELS:
        msg = f"Invalid query parameter 'level': {level!r} is not a log level"
        raise ApiProblem(
            422, "invalid_parameter", msg, f"use one of {', '.join(LEVELS)}"
        )
    cursor = _id_cursor("cursor", cursor)
    history = _history(request)
    _run(history, run_id)
    page = history.search_logs(
        run_id, factory=factory, level=level, text=q, limit=limit, cursor=cursor
    )
    return page_out(page, log_out)


@router.get(
    "/api/runs/{run_id}/events",
    response_model=EventPage,
    responses=_ERRORS,
    tags=["runs"],
)
def events(
    request: Request,
    run_id: str,
    after: Cursor = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """A run's lifecycle events, oldest first, after the event id ``after``."""
    start = _id_cursor("cursor", cursor) or _id_cursor("after", after)
    history = _history(request)
    _run(history, run_id)
    page = history.list_events(run_id, limit=limit, cursor=start)
    return page_out(page, event_out)


@router.get(
    "/api/runs/{run_id}/spark",
    response_model=SparkOut,
    responses=_ERRORS,
    tags=["runs"],
)
def spark(request: Request, run_id: str) -> dict[str, Any]:
    """The Spark jobs of the run's factories running now (last sample)."""
    history = _history(request)
    return reads.spark_of(history, _run(history, run_id))


@router.get(
    "/api/charts/pipelines/{pipeline:path}",
    response_model=PipelineCharts,
    responses=_ERRORS,
    tags=["charts"],
)
def pipeline_charts(
    request: Request,
    pipeline: str,
    limit: Annotated[int, Query(ge=1, le=API_LIMIT)] = 100,
) -> dict[str, Any]:
    """A pipeline's last runs (oldest first): durations, failures, resources, KPIs.

    A name with a ``/`` travels as ``%2F`` (``team%2Fdaily``).
    """
    (pipeline,) = _raw_names(request, "/api/charts/pipelines/", (pipeline,))
    return reads.pipeline_charts(_history(request), pipeline, limit)


@router.get(
    "/api/charts/factories/{pipeline:path}/{factory}",
    response_model=FactoryCharts,
    responses=_ERRORS,
    tags=["charts"],
)
def factory_charts(
    request: Request,
    pipeline: str,
    factory: str,
    limit: Annotated[int, Query(ge=1, le=API_LIMIT)] = 100,
) -> dict[str, Any]:
    """One factory's duration and status over a pipeline's last runs.

    Names with a ``/`` travel as ``%2F`` (``team%2Fdaily/Extract``).
    """
    pipeline, factory = _raw_names(
        request, "/api/charts/factories/", (pipeline, factory)
    )
    return reads.factory_charts(_history(request), pipeline, factory, limit)


def _group_out(group: ErrorGroup) -> dict[str, Any]:
    """An error group with its texts through the redaction point."""
    out = group.to_dict()
    for key in ("error_class", "factory", "title", "hint"):
        if out[key] is not None:
            out[key] = redact_text(out[key])
    out["pipelines"] = [redact_text(p) for p in out["pipelines"]]
    return out


@router.get(
    "/api/errors", response_model=ErrorGroupsOut, responses=_ERRORS, tags=["errors"]
)
def errors(
    request: Request,
    *,
    days: Annotated[
        float, Query(gt=0, le=3650, description="The window: this many days back")
    ] = 7,
    pipeline: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=API_LIMIT)] = 50,
) -> dict[str, Any]:
    """Failures grouped by fingerprint, the latest first, each with a daily trend.

    What ``pysetl errors`` lists (see ``pysetl.monitoring.errors``), over
    the runs started in the last ``days`` days. Identical requests share
    one read (see ``SharedReads``).

    Added in 0.5.
    """
    history = _history(request)

    def read() -> dict[str, Any]:
        now = time.time()
        since = now - days * 86_400
        found = error_groups(
            history, since=since, pipeline=pipeline, limit=limit, now=now
        )
        return {"since": since, "items": [_group_out(g) for g in found]}

    answer: dict[str, Any] = _shared(request).get(
        ("errors", days, pipeline, limit), read
    )
    return answer
