"""``check_file_permissions``: config, key and secret files open to other users."""

from __future__ import annotations

import warnings

import pytest

from pysetl.config.permissions import (
    FilePermissionProblem,
    InsecureFileWarning,
    check_dir_permissions,
    check_file_permissions,
)
from pysetl.errors import PySetlWarning


@pytest.fixture
def file(tmp_path):
    path = tmp_path / "app.yaml"
    path.write_text("a: 1\n")
    return path


class TestCheckFilePermissions:
    @pytest.mark.parametrize("mode", [0o600, 0o400, 0o640, 0o440])
    def test_private_config_files_are_fine(self, file, mode):
        file.chmod(mode)
        assert check_file_permissions(file) == []

    @pytest.mark.parametrize("mode", [0o600, 0o400])
    def test_private_secret_files_are_fine(self, file, mode):
        file.chmod(mode)
        assert check_file_permissions(file, secret=True) == []

    def test_a_world_readable_config_file_is_reported(self, file):
        file.chmod(0o644)
        problems = check_file_permissions(file)
        assert [p.problem for p in problems] == ["readable by others"]
        assert problems[0].mode == 0o644
        assert problems[0].fix == f"chmod 640 {file}"
        assert (
            str(problems[0])
            == f"{file} (mode 0644) is readable by others: chmod 640 {file}"
        )

    @pytest.mark.parametrize("mode", [0o620, 0o602, 0o660])
    def test_a_config_file_writable_by_others_is_reported(self, file, mode):
        file.chmod(mode)
        problems = [p.problem for p in check_file_permissions(file)]
        assert "writable by the group or by others" in problems

    def test_a_group_readable_secret_file_is_reported(self, file):
        file.chmod(0o640)
        problems = check_file_permissions(file, secret=True)
        assert [p.problem for p in problems] == ["readable by the group"]
        assert problems[0].fix == f"chmod 600 {file}"

    def test_every_problem_of_a_wide_open_file(self, file):
        file.chmod(0o666)
        problems = check_file_permissions(file, secret=True)
        assert {p.problem for p in problems} == {
            "writable by the group or by others",
            "readable by others",
            "readable by the group",
        }
        assert all(isinstance(p, FilePermissionProblem) for p in problems)

    def test_warn_emits_one_warning_per_problem(self, file):
        file.chmod(0o644)
        with pytest.warns(InsecureFileWarning, match="readable by others") as caught:
            problems = check_file_permissions(file, warn=True)
        assert len(caught) == len(problems) == 1
        assert issubclass(InsecureFileWarning, PySetlWarning)

    def test_no_warning_by_default(self, file):
        file.chmod(0o666)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            check_file_permissions(file)

    def test_a_missing_file_has_no_problem(self, tmp_path):
        assert check_file_permissions(tmp_path / "missing.yaml", warn=True) == []


class TestCheckDirPermissions:
    @pytest.mark.parametrize("mode", [0o755, 0o700, 0o750, 0o1777, 0o1770])
    def test_private_or_sticky_directories_are_fine(self, tmp_path, mode):
        folder = tmp_path / "prod"
        folder.mkdir()
        folder.chmod(mode)
        assert check_dir_permissions(folder) == []

    @pytest.mark.parametrize("mode", [0o775, 0o757, 0o777])
    def test_a_directory_others_can_write_to_is_reported(self, tmp_path, mode):
        folder = tmp_path / "prod"
        folder.mkdir()
        folder.chmod(mode)
        with pytest.warns(InsecureFileWarning, match="chmod go-w"):
            (problem,) = check_dir_permissions(folder, warn=True)
        assert problem.mode == mode
        assert problem.fix == f"chmod go-w {folder}"

    def test_a_missing_directory_has_no_problem(self, tmp_path):
        assert check_dir_permissions(tmp_path / "nope") == []
