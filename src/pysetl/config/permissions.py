"""File permission checks for config, key and secret files.

A key file (``PYSETL_CONFIG_KEY_FILE``) or a secret file that other users
can read gives the secrets away; a config file that other users can write
lets them point a pipeline elsewhere or swap a secret reference. Such files
are reported: ``check_file_permissions`` returns one ``FilePermissionProblem``
per finding (the CLI prints them), and ``warn=True`` also emits an
``InsecureFileWarning`` for each.

The rules (POSIX permission bits; nothing is reported on Windows):

* every file: writable by the group or by others;
* a config file: readable by others;
* a secret file (``secret=True``: key files, secret files): readable by
  the group or by others (it should be ``chmod 600`` or ``400``);
* a config directory (``check_dir_permissions``): writable by the group or
  by others without the sticky bit, so they could add or swap its files.

Added in 0.3.
"""

from __future__ import annotations

import os
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path

from pysetl.errors import PySetlWarning

__all__ = [
    "FilePermissionProblem",
    "InsecureFileWarning",
    "check_dir_permissions",
    "check_file_permissions",
]


class InsecureFileWarning(PySetlWarning):
    """A config, key or secret file is readable or writable by other users."""


@dataclass(frozen=True, slots=True)
class FilePermissionProblem:
    """One way a file is open to other users.

    Attributes:
        path: The file.
        mode: Its permission bits (``0o644``).
        problem: What is wrong (``readable by others``).
        fix: The command that fixes it (``chmod 600 conf/key``).
    """

    path: Path
    mode: int
    problem: str
    fix: str

    def __str__(self) -> str:
        """``conf/key (mode 0644) is readable by others: chmod 600 conf/key``."""
        return f"{self.path} (mode {self.mode:04o}) is {self.problem}: {self.fix}"


def check_file_permissions(
    path: str | os.PathLike[str], *, secret: bool = False, warn: bool = False
) -> list[FilePermissionProblem]:
    """Report how ``path`` is open to other users (see the module docstring).

    Args:
        path: A config file, key file or secret file.
        secret: The file holds secrets (a key file): group or other read
            access is reported too.
        warn: Also emit an ``InsecureFileWarning`` per problem.

    Returns:
        The problems found; empty when the file is private enough, does not
        exist, or the platform has no POSIX permission bits.
    """
    file = Path(path)
    if os.name == "nt":  # pragma: no cover - POSIX bits mean nothing there
        return []
    try:
        mode = stat.S_IMODE(file.stat().st_mode)
    except OSError:
        return []
    private = "600" if secret else "640"
    checks = [
        (stat.S_IWGRP | stat.S_IWOTH, "writable by the group or by others", True),
        (stat.S_IROTH, "readable by others", True),
        (stat.S_IRGRP, "readable by the group", secret),
    ]
    problems = [
        FilePermissionProblem(file, mode, problem, f"chmod {private} {file}")
        for bits, problem, applies in checks
        if applies and mode & bits
    ]
    if warn:
        for problem in problems:
            warnings.warn(str(problem), InsecureFileWarning, stacklevel=2)
    return problems


def check_dir_permissions(
    path: str | os.PathLike[str], *, warn: bool = False
) -> list[FilePermissionProblem]:
    """Report a config directory other users can add files to or replace files in.

    Args:
        path: A config directory (``conf``, ``conf/prod``).
        warn: Also emit an ``InsecureFileWarning``.

    Returns:
        One problem when the group or others may write to it and the sticky
        bit is not set; empty otherwise (or when it does not exist).
    """
    folder = Path(path)
    if os.name == "nt":  # pragma: no cover - POSIX bits mean nothing there
        return []
    try:
        mode = stat.S_IMODE(folder.stat().st_mode)
    except OSError:
        return []
    if not mode & (stat.S_IWGRP | stat.S_IWOTH) or mode & stat.S_ISVTX:
        return []
    problem = FilePermissionProblem(
        folder,
        mode,
        "a directory writable by the group or by others",
        f"chmod go-w {folder}",
    )
    if warn:
        warnings.warn(str(problem), InsecureFileWarning, stacklevel=2)
    return [problem]
