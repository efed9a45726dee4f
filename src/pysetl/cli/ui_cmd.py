"""``pysetl ui``: serve the web dashboard over the run history.

Added in 0.3.
"""

from __future__ import annotations

import typer

__all__ = ["ui"]


def ui(ctx: typer.Context) -> None:  # noqa: ARG001 - filled in by the dashboard work
    """Serve the web dashboard over the run history."""
    typer.echo("pysetl ui is not built yet")
    raise typer.Exit(1)
