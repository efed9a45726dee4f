"""Fixtures of the loader tests: a config directory in tmp_path and a fresh Redactor."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from pysetl.config.loader import load_config
from pysetl.config.profiles import ResolvedConfig
from pysetl.utils import redaction


class ConfDir:
    """A ``conf/`` directory with ``base/``; writes files and loads them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "base").mkdir(parents=True)

    def write(self, rel: str, text: str) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    def load(self, env: str | None = None, **kwargs: Any) -> ResolvedConfig:
        kwargs.setdefault("environ", {})
        return load_config(self.root, env, **kwargs)


@pytest.fixture
def conf(tmp_path: Path) -> ConfDir:
    return ConfDir(tmp_path / "conf")


@pytest.fixture
def redactor() -> redaction.Redactor:
    """The process-wide Redactor: a fresh one per test (the root conftest's reset)."""
    return redaction.default_redactor()
