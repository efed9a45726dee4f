"""``pysetl.config.checks``: what ``pysetl config validate`` reports."""

from __future__ import annotations

from pysetl.config.checks import check_config, permission_problems


def test_world_writable_config_files_are_problems_hidden_ones_are_not(tmp_path):
    (tmp_path / "base").mkdir()
    (tmp_path / "base").chmod(0o755)
    tmp_path.chmod(0o755)
    shown = tmp_path / "base" / "app.yaml"
    hidden = tmp_path / "base" / ".app.yaml"
    for path in (shown, hidden):
        path.write_text("a: 1\n")
        path.chmod(0o666)
    problems = permission_problems(tmp_path, None)
    assert any(str(shown) in problem for problem in problems)
    assert not any(str(hidden) in problem for problem in problems)


def test_a_config_that_does_not_load_is_a_failure_not_an_error(tmp_path):
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "app.yaml").write_text("a: [unclosed\n")
    found = check_config(tmp_path, None)
    assert found.resolved is None
    assert found.failure is not None
    assert found.unknown_options == []


def test_a_valid_config_is_returned_with_its_unknown_options(tmp_path):
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "app.yaml").write_text("app:\n  name: x\n")
    found = check_config(tmp_path, None)
    assert found.failure is None
    assert found.resolved is not None
    assert found.resolved.get("app.name") == "x"
