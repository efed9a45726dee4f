"""``pysetl config``: explain, show, validate and version a project's config.

Added in 0.3.
"""

from __future__ import annotations

import typer

__all__ = ["config_app"]

config_app = typer.Typer(
    help="Explain, show, validate, encrypt and version the project's config.",
    no_args_is_help=True,
)
