"""``pysetl.config.protect``: which environments ask before they change."""

from __future__ import annotations

import pytest

from pysetl.config.protect import (
    DEFAULT_PROTECTED_ENVS,
    PROTECTED_ENVS_VAR,
    protected_envs,
    protection_prompt,
)
from pysetl.settings import reset_settings


@pytest.fixture(autouse=True)
def _fresh_settings(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(PROTECTED_ENVS_VAR, raising=False)
    reset_settings()
    yield
    reset_settings()


class TestProtectedEnvs:
    def test_the_default_is_prod_and_production(self, tmp_path):
        assert protected_envs(tmp_path) == set(DEFAULT_PROTECTED_ENVS)
        assert DEFAULT_PROTECTED_ENVS == ("prod", "production")

    def test_the_variable_wins_over_the_project(self, tmp_path, monkeypatch):
        (tmp_path / "pyproject.toml").write_text(
            '[tool.pysetl.config]\nprotected_envs = ["live"]\n'
        )
        monkeypatch.setenv(PROTECTED_ENVS_VAR, "qa")
        reset_settings()
        assert protected_envs(tmp_path) == {"qa"}

    def test_the_project_lists_them(self, tmp_path):
        (tmp_path / "pyproject.toml").write_text(
            '[tool.pysetl.config]\nprotected_envs = ["live"]\n'
        )
        assert protected_envs(tmp_path) == {"live"}

    def test_an_unreadable_pyproject_means_the_defaults(self, tmp_path):
        (tmp_path / "pyproject.toml").write_text("not toml [")
        assert protected_envs(tmp_path) == {"prod", "production"}


class TestProtectionPrompt:
    def test_an_unprotected_env_is_not_asked_about(self):
        assert protection_prompt("dev", "Do it", protected={"prod"}) is None

    def test_a_protected_env_is_named(self):
        prompt = protection_prompt("prod", "Roll it back", protected={"prod"})
        assert prompt == "'prod' is a protected environment. Roll it back?"

    def test_a_base_change_names_every_protected_env_of_the_root(self, tmp_path):
        for name in ("base", "dev", "prod", "live", ".hidden"):
            (tmp_path / name).mkdir()
        prompt = protection_prompt(
            "dev", "Do it", protected={"prod", "live", ".hidden"}, root=tmp_path
        )
        assert prompt == (
            "this changes the protected environment(s) 'live', 'prod'. Do it?"
        )
