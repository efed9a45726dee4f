"""Protected environments: which config changes ask for confirmation first.

Changing a protected environment (a rollback, ``encrypt --in-place``, a key
rotation) asks first, unless told not to (``--yes``). The protected
environments are, first found:

1. those listed in ``PYSETL_PROTECTED_ENVS`` (comma-separated; empty: none),
   read once by ``pysetl.settings``;
2. ``protected_envs`` of ``[tool.pysetl.config]`` in the project's
   ``pyproject.toml``;
3. ``prod`` and ``production``.

A change of ``conf/base`` changes every environment: the protected ones
among them ask too.

Added in 0.7 (the logic was in ``pysetl.cli.config_cmd``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pysetl.config.layers import environments
from pysetl.settings import settings

if TYPE_CHECKING:
    import os
    from collections.abc import Iterable

__all__ = [
    "DEFAULT_PROTECTED_ENVS",
    "PROTECTED_ENVS_VAR",
    "protected_envs",
    "protection_prompt",
]

PROTECTED_ENVS_VAR = "PYSETL_PROTECTED_ENVS"
"""The variable that lists the protected environments."""

DEFAULT_PROTECTED_ENVS = ("prod", "production")
"""The protected environments when neither the variable nor the project says."""


def protected_envs(project_dir: str | os.PathLike[str]) -> frozenset[str]:
    """The environments whose changes need confirmation (see the module docstring).

    Args:
        project_dir: The project folder (where ``pyproject.toml`` is).
    """
    listed = settings().protected_envs
    if listed is not None:
        return frozenset(listed)
    pyproject = Path(project_dir) / "pyproject.toml"
    if pyproject.is_file():
        from pysetl.config.edit import toml_module  # noqa: PLC0415 - lazy

        try:
            data = toml_module().loads(pyproject.read_text(encoding="utf-8"))
        except Exception:  # noqa: BLE001 - an unreadable pyproject: the defaults
            data = {}
        found = data.get("tool", {}).get("pysetl", {}).get("config", {})
        envs = found.get("protected_envs")
        if isinstance(envs, list):
            return frozenset(str(e) for e in envs)
    return frozenset(DEFAULT_PROTECTED_ENVS)


def protection_prompt(
    env: str,
    action: str,
    *,
    protected: Iterable[str],
    root: str | os.PathLike[str] | None = None,
) -> str | None:
    """The question to ask before ``action`` changes ``env``; ``None``: none.

    Args:
        env: The environment changed.
        action: What is about to happen, as a question (``Roll it back to
            1a2b3c4d5e6f``).
        protected: The protected environments (``protected_envs``).
        root: The config root, given when ``conf/base`` changes (then every
            environment of ``root`` changes too).
    """
    affected = [env]
    if root is not None:
        affected += environments(root)
    names = set(protected)
    found = sorted({e for e in affected if e in names})
    if not found:
        return None
    shown = ", ".join(repr(e) for e in found)
    what = (
        f"{shown} is a protected environment"
        if found == [env]
        else f"this changes the protected environment(s) {shown}"
    )
    return f"{what}. {action}?"
