"""What the ``pysetl config`` commands share: options, output, loading, confirmation.

Added in 0.7 (split from ``pysetl.cli.config_cmd``).
"""

from __future__ import annotations

import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pysetl.cli._state import open_history_of
from pysetl.errors import ConfigError
from pysetl.settings import settings
from pysetl.utils.redaction import redact_text

if TYPE_CHECKING:
    import os
    from collections.abc import Sequence

    from pysetl.config.crypto import ConfigCipher
    from pysetl.config.diff import ConfigChange
    from pysetl.config.profiles import ResolvedConfig
    from pysetl.config.versions import ConfigStore

__all__ = [
    "EXIT_CONFIG",
    "Cursor",
    "Env",
    "Limit",
    "Root",
    "Schema",
    "Yes",
    "cipher_of",
    "confirm_protected",
    "import_schema",
    "load",
    "print_changes",
    "protected_envs",
    "say",
    "store_of",
    "when",
]

EXIT_CONFIG = 3
"""The exit code of a config error (as ``pysetl.cli.commands.EXIT_CONFIG``)."""


def _env_or_setting(value: str | None) -> str | None:
    # The one parse of PYSETL_ENV (pysetl.settings), not a second one by click.
    return value if value is not None else settings().env


Env = Annotated[
    str | None,
    typer.Option(
        "--env",
        "-e",
        callback=_env_or_setting,
        help="The environment (default: PYSETL_ENV).",
    ),
]
Root = Annotated[
    Path, typer.Option("--root", help="The config folder (base/, <env>/ inside).")
]
Limit = Annotated[int, typer.Option(min=1, max=1000, help="Rows per page.")]
Cursor = Annotated[
    str | None, typer.Option(help="Start after this cursor (printed under a page).")
]
Schema = Annotated[
    str | None,
    typer.Option(
        "--schema",
        help="The pydantic model of the whole config, as 'module:Class' "
        "(default: pysetl.config.models:ProjectConfigModel).",
    ),
]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


def say(text: str = "", *, err: bool = False) -> None:
    """Print ``text`` through the redaction point."""
    typer.echo(redact_text(text), err=err)


def protected_envs(project_dir: str | os.PathLike[str] | None = None) -> frozenset[str]:
    """The environments whose changes need confirmation, for the project here.

    See ``pysetl.config.protect``; the project is the nearest folder from
    ``project_dir`` (default: the working folder) up that looks like one.
    """
    from pysetl.config.protect import protected_envs as of_project  # noqa: PLC0415
    from pysetl.monitoring.history import find_project_dir  # noqa: PLC0415 - lazy

    return of_project(find_project_dir(project_dir))


def confirm_protected(
    env: str, action: str, *, yes: bool, root: Path | None = None
) -> None:
    """Ask before changing a protected ``env`` (unless ``yes``); abort on no.

    ``root`` is given when ``conf/base`` changes, which changes every
    environment of ``root``: then the protected ones among them ask too.
    """
    from pysetl.config.protect import protection_prompt  # noqa: PLC0415 - lazy

    prompt = protection_prompt(env, action, protected=protected_envs(), root=root)
    if prompt is not None and not yes:
        typer.confirm(prompt, abort=True, err=True)


def import_schema(spec: str | None) -> Any:
    """The model class named by ``--schema`` (default ``ProjectConfigModel``)."""
    if spec is None:
        from pysetl.config.models import ProjectConfigModel  # noqa: PLC0415 - lazy

        return ProjectConfigModel
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        msg = f"--schema {spec!r} is not 'module:Class'"
        raise typer.BadParameter(msg)
    import importlib  # noqa: PLC0415 - only with --schema

    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        msg = f"Cannot import the schema {spec!r}: {exc}"
        raise ConfigError(
            msg, hint="check the module path and the class name"
        ) from None


def load(root: Path, env: str | None, *, schema: Any = None) -> ResolvedConfig:
    """The config of ``env`` under ``root``."""
    from pysetl.config.loader import load_config  # noqa: PLC0415 - lazy

    resolved: ResolvedConfig = load_config(root, env, schema=schema)
    return resolved


def store_of(ctx: typer.Context) -> ConfigStore:
    """The config versions of the run history of the command line."""
    from pysetl.config.versions import ConfigStore  # noqa: PLC0415 - lazy

    return ConfigStore(open_history_of(ctx))


def cipher_of(key_file: Path | None) -> ConfigCipher:
    """The cipher of ``--key-file`` (else of the settings); warns of its problems."""
    from pysetl.config.crypto import KEY_FILE_ENV, ConfigCipher  # noqa: PLC0415

    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        cipher = (
            ConfigCipher.from_env({KEY_FILE_ENV: str(key_file)})
            if key_file is not None
            else ConfigCipher.from_env()
        )
    for problem in cipher.problems:
        say(f"warning: {problem}", err=True)
    return cipher


def when(ts: float) -> str:
    """``ts`` as ``YYYY-MM-DD HH:MM:SS`` in UTC."""
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def print_changes(changes: Sequence[ConfigChange], indent: str = "") -> None:
    """One line a change; ``No differences.`` when there is none."""
    if not changes:
        say(f"{indent}No differences.")
    for change in changes:
        say(f"{indent}{change}")
