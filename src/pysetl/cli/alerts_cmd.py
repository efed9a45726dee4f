"""``pysetl alerts``: list, test, check, watch and silence the project's alerts.

* ``list``: the alerts of the alert history, newest first (``--state``);
  ``--id N`` shows what happened to one (fired, notified where, delivery
  failures, resolved);
* ``test [NOTIFIER...]``: send a test alert through the config's notifiers;
* ``check``: evaluate the absence rules now, send what is due, print the
  firing alerts; exit code 0 when none fires, 1 when some do (for cron);
* ``watch``: ``check`` every ``--interval`` seconds until interrupted;
* ``silence``: hold the notifications of a rule and/or a pipeline for a
  while (``--for 2h``); ``--list`` and ``--end ID``.

The logic lives in ``pysetl.monitoring.alerts`` (``project_alerts``,
``open_alert_history``, ``alert_timeline``, ``silence``); the history is the root
``--history``, else the config's ``monitoring.history``, else the project's.

Added in 0.5.
"""

from __future__ import annotations

import contextlib
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pysetl.cli._state import CliState
from pysetl.utils.redaction import redact_text

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pysetl.monitoring.alerts import Outcome
    from pysetl.monitoring.history import BaseRunHistory
    from pysetl.monitoring.history.alert_store import AlertRecord

__all__ = ["alerts_app"]

alerts_app = typer.Typer(
    help="List, test, check, watch and silence alerts.", no_args_is_help=True
)

_Root = Annotated[
    Path, typer.Option("--root", help="The config folder (base/, <env>/ inside).")
]
_Env = Annotated[
    str | None,
    typer.Option("--env", "-e", help="The environment (default: PYSETL_ENV)."),
]
EXIT_FIRING = 1


def _say(text: str = "") -> None:
    typer.echo(redact_text(text))


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _history_url(ctx: typer.Context) -> str | None:
    state = ctx.find_object(CliState)
    return state.history_url if state else None


@contextlib.contextmanager
def _history(ctx: typer.Context) -> Iterator[BaseRunHistory]:
    from pysetl.monitoring.alerts import open_alert_history  # noqa: PLC0415 - lazy

    history = open_alert_history(_history_url(ctx))
    try:
        yield history
    finally:
        history.close()


def _line(alert: AlertRecord) -> str:
    ended = f" -> {_when(alert.ended_at)}" if alert.ended_at else ""
    return (
        f"{alert.id:>5}  {alert.state:<8} {alert.severity:<8} {alert.rule:<20} "
        f"{_when(alert.started_at)}{ended}  {alert.summary}"
    )


def _print_outcome(outcome: Outcome) -> None:
    for alert in outcome.fired:
        _say(f"fired: {alert.summary}")
    for alert in outcome.resolved:
        _say(f"resolved: {alert.summary}")
    for delivery in outcome.deliveries:
        if not delivery.ok:
            _say(f"delivery to {delivery.notifier} failed: {delivery.error}")
    for alert in outcome.firing.values():
        _say(f"firing: [{alert.rule}] {alert.summary}")
    if not outcome.firing:
        _say("no alert is firing")


@alerts_app.command("list")
def list_alerts(
    ctx: typer.Context,
    *,
    state: Annotated[
        str | None, typer.Option(help="Only alerts in this state: firing, resolved.")
    ] = None,
    alert_id: Annotated[
        int | None, typer.Option("--id", help="Show what happened to this alert.")
    ] = None,
    limit: Annotated[
        int,
        typer.Option(
            min=1, max=1000, help="At most this many alerts (with --id: events)."
        ),
    ] = 50,
) -> None:
    """List alerts, newest first, or the history of one (--id)."""
    from pysetl.monitoring.alerts import alert_timeline  # noqa: PLC0415 - lazy
    from pysetl.monitoring.history.alert_store import AlertStore  # noqa: PLC0415

    with _history(ctx) as history:
        if alert_id is not None:
            timeline = alert_timeline(history, alert_id, limit=limit)
            alert = timeline.alert
            _say(_line(alert))
            _say(f"       {alert.description}")
            for event in timeline.events:
                where = f" via {event.notifier}" if event.notifier else ""
                detail = f": {event.detail}" if event.detail else ""
                run = f" (run {event.run_id})" if event.run_id else ""
                _say(f"  {_when(event.ts)}  {event.kind}{where}{run}{detail}")
            return
        alerts = AlertStore(history).list_alerts(state=state, limit=limit).items
        if not alerts:
            _say("no alerts")
        for alert in alerts:
            _say(_line(alert))


@alerts_app.command("test")
def send_test(
    ctx: typer.Context,
    notifiers: Annotated[
        list[str] | None,
        typer.Argument(metavar="[NOTIFIER]...", help="Default: every notifier."),
    ] = None,
    *,
    root: _Root = Path("conf"),
    env: _Env = None,
) -> None:
    """Send a test alert through the config's notifiers; exit 1 if one fails."""
    from pysetl.monitoring.alerts import project_alerts  # noqa: PLC0415 - lazy

    with project_alerts(root, env, history_url=_history_url(ctx)) as engine:
        deliveries = engine.test(notifiers or ())
    failed = False
    for delivery in deliveries:
        if delivery.ok:
            _say(f"{delivery.notifier}: sent ({delivery.tries} tries)")
        else:
            failed = True
            _say(f"{delivery.notifier}: failed: {delivery.error}")
    if failed:
        raise typer.Exit(EXIT_FIRING)


@alerts_app.command("check")
def check(
    ctx: typer.Context,
    *,
    root: _Root = Path("conf"),
    env: _Env = None,
) -> None:
    """Evaluate absence rules now and send what is due; exit 1 while alerts fire."""
    from pysetl.monitoring.alerts import project_alerts  # noqa: PLC0415 - lazy

    with project_alerts(root, env, history_url=_history_url(ctx)) as engine:
        outcome = engine.check()
    _print_outcome(outcome)
    if outcome.firing:
        raise typer.Exit(EXIT_FIRING)


@alerts_app.command("watch")
def watch_alerts(
    ctx: typer.Context,
    *,
    root: _Root = Path("conf"),
    env: _Env = None,
    interval: Annotated[
        float, typer.Option(min=1, help="Seconds between two checks.")
    ] = 60.0,
    times: Annotated[
        int, typer.Option(min=0, help="Stop after this many checks (0: never).")
    ] = 0,
) -> None:
    """Check the absence rules every --interval seconds (until Ctrl-C)."""
    from pysetl.monitoring.alerts import project_alerts, watch  # noqa: PLC0415

    with project_alerts(root, env, history_url=_history_url(ctx)) as engine:
        watch(engine, interval=interval, times=times, on_check=_print_outcome)


@alerts_app.command("silence")
def silence(
    ctx: typer.Context,
    *,
    rule: Annotated[str | None, typer.Option(help="Silence this rule.")] = None,
    pipeline: Annotated[
        str | None, typer.Option(help="Silence the alerts of this pipeline.")
    ] = None,
    duration: Annotated[
        str, typer.Option("--for", help="How long: 90s, 15m, 4h, 2d.")
    ] = "1h",
    comment: Annotated[str | None, typer.Option(help="Why.")] = None,
    show: Annotated[
        bool, typer.Option("--list", help="List the active silences.")
    ] = False,
    end: Annotated[
        int | None, typer.Option(help="End the silence with this id.")
    ] = None,
) -> None:
    """Hold the notifications of a rule and/or a pipeline; list or end silences."""
    from pysetl.monitoring import alerts  # noqa: PLC0415 - lazy
    from pysetl.monitoring.history.alert_store import AlertStore  # noqa: PLC0415

    now = time.time()
    with _history(ctx) as history:
        store = AlertStore(history)
        if show:
            active = store.silences(active_at=now)
            if not active:
                _say("no active silence")
            for s in active:
                what = " ".join(
                    f"{k}={v}"
                    for k, v in (("rule", s.rule), ("pipeline", s.pipeline))
                    if v
                )
                _say(f"{s.id:>5}  until {_when(s.ends_at)}  {what}  {s.comment or ''}")
            return
        if end is not None:
            ended = store.end_silence(end, at=now)
            _say(f"silence {end} ended" if ended else f"silence {end} was not active")
            return
        if rule is None and pipeline is None:
            msg = "give --rule and/or --pipeline (or --list, --end)"
            raise typer.BadParameter(msg, param_hint="--rule")
        try:
            seconds = alerts.parse_duration(duration)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--for") from None
        created = alerts.silence(
            history,
            seconds=seconds,
            rule=rule,
            pipeline=pipeline,
            comment=comment,
            now=now,
        )
    _say(f"silence {created.id} until {_when(created.ends_at)}")
