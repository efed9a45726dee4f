"""The project checks: its config, pipelines, run history and file permissions.

Each check reads what ``pysetl run`` would use: the project found from the
working directory (``pyproject.toml`` with ``[tool.pysetl]``), its config
for the environment, the history a run would record into (``--history``,
else ``monitoring.history``, else ``PYSETL_HISTORY_URL``, else the
project's ``.pysetl/history.db``). Nothing is written: the history is opened
read-only (``create=False``).

Added in 0.5.
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pysetl.doctor._check import FAIL, OK, WARN, Check
from pysetl.errors import ConfigError, PySetlError, RunHistoryError
from pysetl.settings import settings, settings_of

if TYPE_CHECKING:
    from pysetl.config import ResolvedConfig
    from pysetl.runtime.project import Project

__all__ = [
    "ProjectState",
    "check_config",
    "check_history",
    "check_permissions",
    "check_pipelines",
    "load_project",
    "needed_extras",
]

_KEY_SUFFIXES = frozenset({".key", ".pem"})
_EXPORTER_EXTRAS = {"prometheus": "prometheus", "tracing": "otel", "lineage": "lineage"}
_SECRET_FILE = re.compile(r"\$\{secret:file:([^}#]+)")
_SECRET_EXTRAS = {"${secret:vault:": "vault", "${secret:aws:": "aws"}


@dataclass
class ProjectState:
    """What the checks found of the project, shared between them.

    Attributes:
        project: The project (``None``: ``pyproject.toml`` unreadable).
        env: The config environment.
        config: The resolved config (``None``: none, or it failed to load).
        problems: Why the project or its config could not be loaded.
    """

    project: Project | None
    env: str | None
    config: ResolvedConfig | None = None
    problems: list[Check] = field(default_factory=list)


def _config_files(conf: Path, env: str | None) -> list[Path]:
    """The files the loader reads for ``env`` (base first), hidden ones skipped."""
    from pysetl.config.layers import config_files  # noqa: PLC0415 - lazy

    return config_files(conf, env)


def load_project(project_dir: str | Path | None, env: str | None) -> ProjectState:
    """Find the project and load its config for ``env`` (failures are kept)."""
    from pysetl.runtime.project import find_project  # noqa: PLC0415 - lazy

    try:
        project = find_project(project_dir)
    except ConfigError as error:
        state = ProjectState(None, env)
        state.problems.append(Check("project", FAIL, error.message, error.hint))
        return state
    state = ProjectState(project, env)
    if not project.conf.is_dir():
        return state
    try:
        from pysetl.config import load_config  # noqa: PLC0415 - the config extra
        from pysetl.config.permissions import InsecureFileWarning  # noqa: PLC0415

        with warnings.catch_warnings():
            # Reported by check_permissions, with the files loading never reads.
            warnings.simplefilter("ignore", InsecureFileWarning)
            state.config = load_config(project.conf, env)
    except ImportError as error:  # pragma: no cover - tested with the extra
        fix = "pip install 'pysetl[config]'"
        state.problems.append(Check("config", FAIL, str(error), fix))
    except ConfigError as error:
        state.problems.append(Check("config", FAIL, error.message, error.hint))
    return state


def check_config(state: ProjectState) -> list[Check]:
    """Does the config load and validate for the environment?"""
    if state.project is None:
        return state.problems
    failed = [c for c in state.problems if c.name == "config"]
    if failed:
        return failed
    where = f"{state.project.conf} (env {state.env or 'base only'})"
    config = state.config
    if config is None:
        detail = f"no config folder at {state.project.conf}: pipelines get no catalog"
        return [Check("config", WARN, detail, "create conf/base/*.yaml (see docs)")]
    checks: list[Check] = []
    from pysetl.config.models import UnknownOptionWarning  # noqa: PLC0415 - lazy

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnknownOptionWarning)  # rows below
            config.connectors()
        if config.get("monitoring") is not None:
            from pysetl.runtime import MonitoringSection  # noqa: PLC0415 - lazy

            config.section("monitoring", MonitoringSection)
        config.check_encrypted()
    except PySetlError as error:
        return [Check("config", FAIL, f"{where}: {error.message}", error.hint)]
    from pysetl.config.models import unknown_options  # noqa: PLC0415 - lazy

    files = len(config.files)
    checks.append(Check("config", OK, f"{where}: {files} files, valid"))
    checks.extend(
        Check("config", WARN, problem.describe(), "fix the option's name")
        for problem in unknown_options(config)
    )
    return checks


def check_pipelines(state: ProjectState) -> list[Check]:
    """Can every pipeline of the project be imported?"""
    project = state.project
    if project is None:
        return []
    if not project.pipelines:
        detail = f"no pipeline registered in {project.root / 'pyproject.toml'}"
        fix = 'add [tool.pysetl.pipelines] name = "module:function"'
        return [Check("pipelines", WARN, detail, fix)]
    return [_pipeline_check(project, name) for name in sorted(project.pipelines)]


def _pipeline_check(project: Project, name: str) -> Check:
    try:
        project.builder(name)
    except ConfigError as error:
        cause = error.__cause__
        own = project.pipelines[name].split(":")[0].split(".")[0]
        if isinstance(cause, ModuleNotFoundError) and cause.name not in {None, own}:
            # The pipeline's module is there; a package it imports is not.
            fix = (
                f"install {cause.name!r}, which the pipeline's code imports "
                "(see the extra: rows above)"
            )
            return Check(f"pipeline: {name}", FAIL, error.message, fix)
        return Check(f"pipeline: {name}", FAIL, error.message, error.hint)
    return Check(f"pipeline: {name}", OK, f"{project.pipelines[name]} imports")


def _history_url(state: ProjectState, explicit: str | None) -> str | None:
    if explicit:
        return explicit
    if state.config is not None:
        configured = state.config.get("monitoring.history")
        if isinstance(configured, str):
            return configured
    return None


def check_history(state: ProjectState, url: str | None = None) -> Check:
    """Does the run history open, at the latest schema, and can runs write to it?"""
    try:
        from pysetl.monitoring.history import (  # noqa: PLC0415 - the monitoring extra
            LATEST_VERSION,
            open_history,
        )
    except ImportError:  # pragma: no cover - tested with the extra
        fix = "pip install 'pysetl[monitoring]'"
        return Check("history", WARN, "runs are not recorded: SQLAlchemy missing", fix)
    root = state.project.root if state.project is not None else None
    try:
        history = open_history(_history_url(state, url), project_dir=root, create=False)
    except RunHistoryError as error:
        older = "older schema version" in error.message
        return Check("history", WARN if older else FAIL, error.message, error.hint)
    except PySetlError as error:
        return Check("history", FAIL, error.message, error.hint)
    try:
        shown = str(getattr(history, "url", "?"))
        version = history.schema_version
        file = _sqlite_file(shown)
    except RunHistoryError as error:  # pragma: no cover - it opened a moment ago
        return Check("history", FAIL, error.message, error.hint)
    finally:
        history.close()
    if file is not None and not file.exists():
        return _writable(file, f"{shown}: no runs yet (the first run creates it)")
    # open_history(create=False) refused an older or newer schema above.
    detail = f"{shown}: schema version {version} (latest: {LATEST_VERSION})"
    return _writable(file, detail) if file is not None else Check("history", OK, detail)


def _sqlite_file(url: str) -> Path | None:
    if url.startswith("sqlite:///"):
        return Path(url.removeprefix("sqlite:///")).resolve()
    return None


def _writable(file: Path, detail: str) -> Check:
    """Can a run write ``file`` (and its folder, for SQLite's journal files)?"""
    folder = next((p for p in (file.parent, *file.parents) if p.exists()), None)
    targets = [t for t in (file, folder) if t is not None and t.exists()]
    blocked = [str(t) for t in targets if not os.access(t, os.W_OK)]
    if blocked:  # pragma: no cover - the tests run as root, who writes anywhere
        detail = f"{detail}; not writable: {', '.join(blocked)}: runs are not recorded"
        fix = f"chmod u+w {' '.join(blocked)} (or run as their owner)"
        return Check("history", FAIL, detail, fix)
    return Check("history", OK, f"{detail}, writable")


def check_permissions(state: ProjectState) -> list[Check]:
    """Are config, key and secret files closed to other users?"""
    from pysetl.config.permissions import (  # noqa: PLC0415 - lazy
        check_dir_permissions,
        check_file_permissions,
    )

    findings: list[Check] = []
    project = state.project
    secrets: list[Path] = []
    key_file = settings_of(strict=False).config_key_file
    if key_file:
        secrets.append(Path(key_file))
    if project is not None and project.conf.is_dir():
        conf = project.conf
        secrets += [p for p in conf.rglob("*") if p.suffix in _KEY_SUFFIXES]
        secrets += _secret_files(project.root, _config_files(conf, state.env))
        folders = [conf, conf / "base", *([conf / state.env] if state.env else [])]
        for folder in folders:
            findings += [
                Check("permissions", WARN, _finding(p), p.fix)
                for p in check_dir_permissions(folder)
            ]
        for path in _config_files(conf, state.env):
            findings += [
                Check("permissions", WARN, _finding(p), p.fix)
                for p in check_file_permissions(path)
            ]
    for path in secrets:
        findings += [
            Check("permissions", FAIL, f"secret {_finding(p)}", p.fix)
            for p in check_file_permissions(path, secret=True)
        ]
    if not findings:
        checked = len(secrets) + (
            len(_config_files(project.conf, state.env)) if project else 0
        )
        return [Check("permissions", OK, f"{checked} config and secret files private")]
    return findings


def _secret_files(root: Path, files: list[Path]) -> list[Path]:
    """The files the config reads secrets from (``${secret:file:PATH#KEY}``)."""
    found: list[Path] = []
    for file in files:
        for match in _SECRET_FILE.finditer(_read(file)):
            path = Path(match.group(1))
            found.append(path if path.is_absolute() else root / path)
    return found


def _finding(problem: Any) -> str:
    return f"{problem.path} (mode {problem.mode:04o}) is {problem.problem}"


def needed_extras(state: ProjectState, history_url: str | None = None) -> set[str]:
    """The extras the project uses (see ``pysetl.doctor._extras``)."""
    needed = {"spark"}
    project = state.project
    if project is not None and project.conf.is_dir():
        from pysetl.config.layers import SUFFIXES  # noqa: PLC0415 - lazy

        files = [p for p in project.conf.rglob("*") if p.suffix in SUFFIXES]
        if any(p.suffix in {".yaml", ".yml"} for p in files):
            needed.add("config")
        text = "\n".join(_read(p) for p in files)
        needed.update(extra for token, extra in _SECRET_EXTRAS.items() if token in text)
    config: Any = state.config
    if config is not None:
        needed.update(
            extra
            for section, extra in _EXPORTER_EXTRAS.items()
            if config.get(f"monitoring.{section}") is not None
        )
    url = _history_url(state, history_url) or settings().history_url or ""
    if url.startswith("postgresql"):
        needed.add("postgres")
    return needed


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
