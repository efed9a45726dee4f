"""``pysetl ui``: serve the web dashboard over the run history.

The dashboard binds 127.0.0.1 by default. Binding any other address needs a
strong token (``--token`` or ``PYSETL_UI_TOKEN``, at least 16 characters, or
``--generate-token`` for a random one, printed once): without one the
command refuses to start. Without the ``dashboard`` extra it says which
extra to install. The variable is read through ``pysetl.settings`` (never
shown in ``--help``).

Added in 0.3. Changed in 0.4: ``PYSETL_UI_TOKEN`` comes from ``pysetl.settings``;
a non-loopback bind needs a strong token; ``--generate-token``.
"""

from __future__ import annotations

import importlib.util
import webbrowser
from typing import Annotated
from urllib.parse import quote

import typer

from pysetl.cli._state import open_history_of
from pysetl.errors import DashboardError
from pysetl.settings import settings

__all__ = ["TOKEN_ENV", "require_extra", "ui"]

TOKEN_ENV = "PYSETL_UI_TOKEN"  # noqa: S105 - a variable name, not a token
_EXTRA = ("fastapi", "uvicorn")


def _token_or_setting(value: str | None) -> str | None:
    # The one parse of PYSETL_UI_TOKEN (pysetl.settings), not a second by click.
    return value if value is not None else settings().ui_token


def require_extra() -> None:
    """Check that the ``dashboard`` extra is installed.

    Raises:
        DashboardError: fastapi or uvicorn is missing, naming the extra.
    """
    for module in _EXTRA:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):  # a module set to None in sys.modules
            found = False
        if not found:
            msg = f"pysetl ui needs the dashboard extra ({module!r} is not installed)"
            raise DashboardError(msg, hint="pip install 'pysetl[dashboard]'")


def ui(
    ctx: typer.Context,
    *,
    host: Annotated[
        str, typer.Option("--host", help="Address to bind (loopback by default).")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port to bind.")
    ] = 8765,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            callback=_token_or_setting,
            show_default=False,
            help="Token every request must carry; required off loopback "
            "(default: PYSETL_UI_TOKEN).",
        ),
    ] = None,
    open_browser: Annotated[
        bool, typer.Option("--open", help="Open the dashboard in a browser.")
    ] = False,
    generate: Annotated[
        bool,
        typer.Option(
            "--generate-token",
            help="Generate a random token for this session and print it once.",
        ),
    ] = False,
) -> None:
    """Serve the web dashboard over the run history (read-only)."""
    require_extra()
    from pysetl.dashboard.server import (  # noqa: PLC0415 - needs the extra
        check_bind,
        generate_token,
        serve,
    )

    if generate:
        if token:
            msg = "pysetl ui got both a token and --generate-token"
            raise DashboardError(
                msg, hint="drop --generate-token, or --token and PYSETL_UI_TOKEN"
            )
        token = generate_token()
    check_bind(host, token)
    history = open_history_of(ctx)

    def ready(url: str) -> None:
        typer.echo(f"pysetl dashboard: {url} (history {history.url})")
        if generate:  # the one place it is shown: the user needs it to sign in
            typer.echo(f"generated token (shown once, not logged): {token}")
        if token:
            typer.echo(f"open {url}?token=<token> once to sign in (Ctrl+C to stop)")
        else:
            typer.echo("Ctrl+C to stop")
        if open_browser:
            # quoted: a '+' in the address would arrive as a space
            webbrowser.open(f"{url}?token={quote(token, safe='')}" if token else url)

    try:
        serve(history, host=host, port=port, token=token, on_ready=ready)
    finally:
        history.close()
