"""Checking a project's config at once, for ``pysetl config validate`` and CI.

Two steps, so that a caller can report the first before the second runs:

1. ``permission_problems(root, env)``: the config folders, files and the
   key file that other users can read or write;
2. ``check_config(root, env, ...)``: load and validate the config, decrypt
   nothing but check that every ``enc:`` value opens, and collect the
   insecure files the load warned about and the unknown connector options.

Added in 0.7 (the logic was in ``pysetl.cli.config_cmd``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pysetl.config._precedence import BASE
from pysetl.config.layers import config_files
from pysetl.errors import ConfigLoadError
from pysetl.settings import settings

if TYPE_CHECKING:
    import os
    from collections.abc import Iterable

    from pysetl.config.profiles import ResolvedConfig

__all__ = ["ConfigCheck", "check_config", "permission_problems"]


def permission_problems(root: str | os.PathLike[str], env: str | None) -> list[str]:
    """What other users may read or write: config folders, files, the key file.

    Nothing is warned: the problems are returned, one message each.

    Args:
        root: The config root.
        env: The environment (``None``: the base layer only).
    """
    from pysetl.config.permissions import (  # noqa: PLC0415 - lazy
        check_dir_permissions,
        check_file_permissions,
    )

    base = Path(root)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # returned, not warned
        folders = [base, base / BASE, *([base / env] if env else [])]
        found = [str(p) for folder in folders for p in check_dir_permissions(folder)]
        found += [
            str(p)
            for path in config_files(base, env)
            for p in check_file_permissions(path)
        ]
        key_file = settings().config_key_file
        if key_file:
            found += [str(p) for p in check_file_permissions(key_file, secret=True)]
    return found


@dataclass
class ConfigCheck:
    """What ``check_config`` found.

    Attributes:
        resolved: The config, when it loaded.
        failure: Why it did not load (every problem at once), else ``None``.
        insecure: The insecure files the load warned about, not reported yet.
        unknown_options: The unknown connector options, described.
    """

    resolved: ResolvedConfig | None
    failure: ConfigLoadError | None = None
    insecure: list[str] = field(default_factory=list)
    unknown_options: list[str] = field(default_factory=list)


def _insecure_files(
    caught: Iterable[warnings.WarningMessage], reported: Iterable[str]
) -> list[str]:
    """The ``InsecureFileWarning`` messages of a load not reported yet.

    Loading warns about secret files, the key file and config directories
    other users can read or write; the other warnings are warned again.
    """
    from pysetl.config.permissions import InsecureFileWarning  # noqa: PLC0415

    seen = set(reported)
    found: list[str] = []
    for caught_warning in caught:
        text = str(caught_warning.message)
        if not issubclass(caught_warning.category, InsecureFileWarning):
            warnings.warn_explicit(
                caught_warning.message,
                caught_warning.category,
                caught_warning.filename,
                caught_warning.lineno,
            )
        elif text not in seen:
            seen.add(text)
            found.append(text)
    return found


def check_config(
    root: str | os.PathLike[str],
    env: str | None,
    *,
    schema: Any = None,
    reported: Iterable[str] = (),
) -> ConfigCheck:
    """Load and validate the config of ``env``; collect what is wrong with it.

    Args:
        root: The config root.
        env: The environment.
        schema: The model of the whole config (default ``ProjectConfigModel``).
        reported: Problems reported already (``permission_problems``): the
            load's warnings about the same files are not repeated.
    """
    from pysetl.config.loader import load_config  # noqa: PLC0415 - lazy
    from pysetl.config.models import unknown_options  # noqa: PLC0415 - lazy

    resolved: ResolvedConfig | None = None
    failure: ConfigLoadError | None = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            resolved = load_config(root, env, schema=schema)
            resolved.check_encrypted()  # loading alone never decrypts
        except ConfigLoadError as error:
            failure = error
    insecure = _insecure_files(caught, reported)  # secret files, mostly
    if failure is not None:
        return ConfigCheck(None, failure, insecure)
    assert resolved is not None  # noqa: S101 - loaded when nothing failed
    options = [problem.describe() for problem in unknown_options(resolved)]
    return ConfigCheck(resolved, None, insecure, options)
