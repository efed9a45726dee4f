"""``/api/alerts``: the alerts of the run history, and each one's events.

What ``pysetl alerts list`` shows, read through ``AlertStore``: firing and
resolved alerts newest first, paged by alert id, and one alert with what
happened to it (fired, notified, delivery failed, silenced, rate limited,
resolved). Every text goes through ``redact_text`` on its way out, and a
history written before the alert tables existed answers an empty list.

Added in 0.5.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Path, Query, Request

from pysetl.dashboard._api import API_LIMIT, MAX_ROW_ID, ApiProblem, no_nul
from pysetl.dashboard._models import AlertDetail, AlertPage, ErrorBody
from pysetl.errors import RunHistoryError
from pysetl.monitoring.history import SqlRunHistory
from pysetl.monitoring.history.alert_store import AlertStore
from pysetl.utils.redaction import redact_text, redact_value

if TYPE_CHECKING:
    from pysetl.monitoring.history import BaseRunHistory
    from pysetl.monitoring.history.alert_store import AlertEventRecord, AlertRecord

__all__ = ["ALERT_STATES", "router"]

ALERT_STATES = ("firing", "resolved")
"""The states an alert is in."""
_ALERTS_TABLE = "pysetl_alerts"
"""Where the alerts are (a history of an older schema has no such table)."""
_EVENTS_SHOWN = 500
"""The most events one alert answers with (the latest ones)."""
_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No such alert"},
    422: {"model": ErrorBody, "description": "A bad parameter"},
}

router = APIRouter(dependencies=[Depends(no_nul)])


def _store(request: Request) -> AlertStore | None:
    """The history's alerts; ``None`` if it has no alert tables (older schema)."""
    history: BaseRunHistory = request.app.state.history
    try:
        store = AlertStore(history)
    except RunHistoryError:
        return None
    if isinstance(history, SqlRunHistory):
        try:
            with history.engine.connect() as conn:
                if not sa.inspect(conn).has_table(_ALERTS_TABLE):
                    return None
        except sa.exc.SQLAlchemyError as exc:
            msg = f"Cannot read the alerts of {redact_text(history.url)!r}: {exc}"
            raise RunHistoryError(redact_text(msg)) from exc
    return store


def _alert_out(alert: AlertRecord) -> dict[str, Any]:
    """An alert with every text through the redaction point."""
    return {
        "id": alert.id,
        "rule": redact_text(alert.rule),
        "state": alert.state,
        "severity": redact_text(alert.severity),
        "summary": redact_text(alert.summary),
        "description": redact_text(alert.description),
        "labels": {redact_text(k): redact_text(v) for k, v in alert.labels.items()},
        "details": redact_value(dict(alert.details)),
        "pipeline": _text(alert.pipeline),
        "factory": _text(alert.factory),
        "run_id": _text(alert.run_id),
        "started_at": alert.started_at,
        "updated_at": alert.updated_at,
        "ended_at": alert.ended_at,
        "last_notified_at": alert.last_notified_at,
    }


def _event_out(event: AlertEventRecord) -> dict[str, Any]:
    return {
        "id": event.id,
        "ts": event.ts,
        "kind": event.kind,
        "notifier": _text(event.notifier),
        "run_id": _text(event.run_id),
        "detail": _text(event.detail),
    }


def _text(value: str | None) -> str | None:
    return None if value is None else redact_text(value)


def _cursor(value: str | None) -> str | None:
    if value is None:
        return None
    if not (value.isascii() and value.isdigit()) or int(value) > MAX_ROW_ID:
        msg = (
            f"Invalid query parameter 'cursor': {redact_text(value)!r} is not a "
            f"cursor (expected an alert id from 0 to {MAX_ROW_ID})"
        )
        raise ApiProblem(422, "invalid_parameter", msg, "pass the next_cursor")
    return value


@router.get("/api/alerts", response_model=AlertPage, responses=_ERRORS, tags=["alerts"])
def alerts(
    request: Request,
    *,
    state: Annotated[str | None, Query(description=", ".join(ALERT_STATES))] = None,
    limit: Annotated[int, Query(ge=1, le=API_LIMIT, description="Page size")] = 50,
    cursor: Annotated[
        str | None, Query(description="next_cursor of the previous page", max_length=64)
    ] = None,
) -> dict[str, Any]:
    """Alerts, newest first, optionally only firing or only resolved ones.

    Added in 0.5.
    """
    if state is not None and state not in ALERT_STATES:
        msg = f"Invalid query parameter 'state': {redact_text(state)!r} is not a state"
        raise ApiProblem(
            422, "invalid_parameter", msg, f"use one of {', '.join(ALERT_STATES)}"
        )
    cursor = _cursor(cursor)
    store = _store(request)
    if store is None:
        return {"items": [], "next_cursor": None}
    page = store.list_alerts(state=state, limit=limit, cursor=cursor)
    return {
        "items": [_alert_out(a) for a in page.items],
        "next_cursor": page.next_cursor,
    }


@router.get(
    "/api/alerts/{alert_id}",
    response_model=AlertDetail,
    responses=_ERRORS,
    tags=["alerts"],
)
def alert_detail(
    request: Request,
    alert_id: Annotated[int, Path(ge=1, le=MAX_ROW_ID - 1)],
) -> dict[str, Any]:
    """An alert and its events, oldest first (its latest 500).

    Added in 0.5.
    """
    store = _store(request)
    # The newest alert below ``alert_id + 1`` is ``alert_id`` when it exists.
    found = store.list_alerts(limit=1, cursor=str(alert_id + 1)).items if store else ()
    if store is None or not found or found[0].id != alert_id:
        msg = f"No alert {alert_id} in the run history"
        raise ApiProblem(404, "not_found", msg, "pick an alert from /api/alerts")
    events = store.list_events(alert_id=alert_id, limit=_EVENTS_SHOWN).items
    return {
        **_alert_out(found[0]),
        "events": [_event_out(e) for e in reversed(events)],
    }
