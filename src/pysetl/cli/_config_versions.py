"""``pysetl config record|history|diff|rollback|audit``: the config's versions.

Versions and the audit trail live in the run history (``--history`` /
``PYSETL_HISTORY_URL``); the logic is ``pysetl.config.versions``.

Added in 0.7 (split from ``pysetl.cli.config_cmd``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pysetl.cli._config_common import (
    Cursor,
    Env,
    Limit,
    Root,
    Yes,
    confirm_protected,
    load,
    print_changes,
    say,
    store_of,
    when,
)

if TYPE_CHECKING:
    from pysetl.config.versions import ConfigVersionRecord

__all__ = ["audit", "diff", "history", "record", "rollback"]


def record(
    ctx: typer.Context,
    *,
    env: Env = None,
    root: Root = Path("conf"),
) -> None:
    """Record the current config of ENV as a version (audited when it changed)."""
    resolved = load(root, env)
    digest = store_of(ctx).record_change(resolved)
    say(f"Recorded {resolved.env or 'base'} version {digest[:12]}")


def history(
    ctx: typer.Context,
    *,
    env: Env = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> None:
    """List the recorded versions, newest first."""
    page = store_of(ctx).list_versions(env=env, limit=limit, cursor=cursor)
    if not page.items:
        say("No config versions.")
        return
    say(f"{'VERSION':<13} {'ENV':<12} {'RECORDED (UTC)':<20} {'BY':<24} RESTORABLE")
    for v in page.items:
        restorable = "yes" if v.restorable else "no (literal secrets)"
        actor = v.actor or "-"
        say(
            f"{v.short:<13} {v.env or '-':<12} {when(v.recorded_at):<20} "
            f"{actor:<24} {restorable}"
        )
    if page.next_cursor:
        say(f"More: --cursor {page.next_cursor}")


def diff(
    ctx: typer.Context,
    a: Annotated[str, typer.Argument(help="A version (hash prefix).")],
    b: Annotated[
        str | None,
        typer.Argument(help="Another version; default: the current files."),
    ] = None,
    *,
    env: Env = None,
    root: Root = Path("conf"),
) -> None:
    """Show what changed from version A to version B (or to the current files)."""
    from pysetl.config.versions import diff_versions  # noqa: PLC0415 - lazy

    found = diff_versions(
        store_of(ctx),
        a,
        b,
        current=lambda old_env: load(root, env if env is not None else old_env),
    )
    old = found.old
    say(f"--- {old.short} ({old.env or 'base'}, {when(old.recorded_at)})")
    say(f"+++ {found.new_name}")
    print_changes(found.changes)


def rollback(
    ctx: typer.Context,
    version: Annotated[str, typer.Argument(help="The version (hash prefix).")],
    *,
    env: Env = None,
    root: Root = Path("conf"),
    with_base: Annotated[
        bool, typer.Option(help="Restore conf/base too (changes every environment).")
    ] = False,
    yes: Yes = False,
) -> None:
    """Restore ENV's files as they were in VERSION (audited)."""
    from pysetl.config.versions import rollback_config  # noqa: PLC0415 - lazy

    if not env:
        msg = "rollback needs the environment: --env or PYSETL_ENV"
        raise typer.BadParameter(msg)
    where: str = env  # narrowed, for the closures

    def confirm(target: ConfigVersionRecord) -> None:
        confirm_protected(
            where,
            f"Roll it back to {target.short}",
            yes=yes,
            root=root if with_base else None,  # base changes every environment
        )

    result = rollback_config(
        store_of(ctx),
        version,
        root=root,
        env=where,
        load=lambda: load(root, where),
        with_base=with_base,
        confirm=confirm,
    )
    say(f"Rolled {env} back to {result.target.short} (now {result.new_hash[:12]}).")
    for rel in result.files.written:
        say(f"  wrote   {root / rel}")
    for rel in result.files.removed:
        say(f"  removed {root / rel}")
    print_changes(result.changes, "  ")
    if not result.exact:
        say(
            "warning: the restored files load to another version (the base layer "
            "or environment variables changed since); --with-base restores base too",
            err=True,
        )


def audit(
    ctx: typer.Context,
    *,
    env: Env = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> None:
    """List the config changes (who, when, what), newest first."""
    page = store_of(ctx).list_audit(env=env, limit=limit, cursor=cursor)
    if not page.items:
        say("No config changes audited.")
        return
    for entry in page.items:
        hashes = f"{(entry.old_hash or '-')[:12]} -> {(entry.new_hash or '-')[:12]}"
        say(
            f"#{entry.id} {when(entry.ts)} {entry.env} {entry.action} "
            f"by {entry.actor or '-'}: {hashes}"
        )
        if entry.note:
            say(f"    {entry.note}")
        for change in entry.changes:
            say(f"    {change}")
    if page.next_cursor:
        say(f"More: --cursor {page.next_cursor}")
