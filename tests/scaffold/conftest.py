"""Scaffolding tests keep copier's template repository in a temporary cache."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def template_cache(tmp_path_factory):
    """The ``pysetl`` cache folder of the tests (``$XDG_CACHE_HOME/pysetl``)."""
    return tmp_path_factory.mktemp("cache") / "pysetl"


@pytest.fixture(autouse=True)
def cache_and_git_identity(template_cache, monkeypatch):
    """``$XDG_CACHE_HOME`` in the temporary cache; git commits under a test identity."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(template_cache.parent))
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "pysetl tests")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "tests@pysetl.invalid")
