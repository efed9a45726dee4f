"""``new_project``, ``new_factory`` and ``update_project``: copier, driven for pysetl.

Added in 0.5.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import shutil
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pysetl import __version__
from pysetl.scaffold._errors import ScaffoldError
from pysetl.scaffold._names import (
    check_factory_name,
    check_pipeline_name,
    check_project_name,
)
from pysetl.scaffold._template import (
    commit_template,
    packaged_template,
    tag_tree,
    template_source,
    template_tags,
    tree_of,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = [
    "ANSWERS_FILE",
    "Scaffolded",
    "check_destination",
    "find_scaffolded_project",
    "new_factory",
    "new_project",
    "pysetl_specifier",
    "update_project",
]

ANSWERS_FILE = ".copier-answers.yml"
_INSTALL_HINT = "pip install 'pysetl[scaffold]'"
_RELEASE = re.compile(r"^(\d+)\.(\d+)")


@dataclass(frozen=True, slots=True)
class Scaffolded:
    """What ``pysetl new`` wrote.

    Attributes:
        root: The project's folder.
        files: The files written, relative to ``root``, sorted.
        template_ref: The template version recorded (``None``: not
            updatable, git was missing).
    """

    root: Path
    files: tuple[str, ...]
    template_ref: str | None = None


def pysetl_specifier(version: str = __version__) -> str:
    """The pysetl versions a new project asks for: this one's series.

    ``0.5.2`` gives ``>=0.5,<0.6`` (a 0.x minor may break), ``1.3.0``
    gives ``>=1.3,<2``; a development build (``0.5.0.dev3``) starts at
    ``0.5.0.dev0``, so that it satisfies its own projects. The upper bound
    also keeps pip from taking an unrelated release of another series.
    """
    match = _RELEASE.match(version)
    if match is None:
        return ""
    major, minor = int(match.group(1)), int(match.group(2))
    floor = f"{major}.{minor}"
    if any(mark in version for mark in ("dev", "a", "b", "rc", "+")):
        floor += ".0.dev0"
    ceiling = f"{major}.{minor + 1}" if major == 0 else f"{major + 1}"
    return f">={floor},<{ceiling}"


def _copier() -> Any:
    try:
        import copier  # noqa: PLC0415 - the scaffold extra, only when scaffolding
    except ImportError as exc:  # pragma: no cover - tested where it is installed
        msg = "pysetl new needs copier, which is not installed"
        raise ScaffoldError(msg, hint=_INSTALL_HINT) from exc
    return copier


def check_destination(folder: Path) -> None:
    """Check that ``folder`` can receive a new project: absent, or an empty folder.

    Raises:
        ScaffoldError: It is a file, or a folder with something in it.
    """
    if folder.is_file():
        msg = f"{str(folder)!r} is a file, not a folder for a new project"
        raise ScaffoldError(msg, hint="choose another NAME or --dir")
    if folder.is_dir() and any(folder.iterdir()):
        msg = f"The folder {str(folder)!r} already exists and is not empty"
        hint = (
            "choose another NAME or --dir, or empty that folder; to bring "
            "template updates into a project made by pysetl new, run "
            "'pysetl new --update' in it"
        )
        raise ScaffoldError(msg, hint=hint)


def _written(root: Path, before: set[Path]) -> tuple[str, ...]:
    after = {p for p in root.rglob("*") if p.is_file() and ".git" not in p.parts}
    return tuple(sorted(p.relative_to(root).as_posix() for p in after - before))


def _format(files: Iterable[Path]) -> None:
    """Let ruff lay out what long names made long; skipped when ruff is absent."""
    paths = [str(f) for f in files if f.suffix == ".py"]
    if importlib.util.find_spec("ruff") is not None:
        command = [sys.executable, "-m", "ruff"]
    elif (ruff := shutil.which("ruff")) is not None:  # pragma: no cover - a tool
        command = [ruff]
    else:  # pragma: no cover - ruff is a dependency of our tests
        return
    if paths:
        subprocess.run(  # noqa: S603 - ruff with our own arguments
            [*command, "format", "--quiet", "--no-cache", *paths],
            capture_output=True,
            check=False,
            timeout=120,
        )


def _run(action: str, function: Any, **kwargs: Any) -> Any:
    """Call copier; its errors become a ``ScaffoldError``, its warnings are muted."""
    copier = _copier()
    try:
        with warnings.catch_warnings():
            # Copier warns about its own matters (a dirty local template, an
            # answers file it rewrites); the command reports what matters.
            warnings.simplefilter("ignore")
            return function(**kwargs)
    except copier.errors.CopierError as exc:
        msg = f"copier could not {action}: {exc}"
        hint = "fix what copier says, then run it again"
        raise ScaffoldError(msg, hint=hint) from exc


def new_project(
    name: str,
    *,
    directory: str | Path = ".",
    data: Mapping[str, Any] | None = None,
    defaults: bool = True,
    cache_dir: Path | None = None,
) -> Scaffolded:
    """Create the project ``name`` in ``directory/name`` from the project template.

    Args:
        name: The project's name (its folder); the package is its lowercase
            form with ``-`` as ``_``.
        directory: The folder the project's folder is created in.
        data: Answers to more of the template's questions
            (``pipeline_name``, ``description``, ``python_version``).
        defaults: Take the default of every question not answered; ``False``
            asks them on the terminal.
        cache_dir: Where the template repository is kept (see
            ``pysetl.scaffold._template``).

    Returns:
        The project's folder and the files written.

    Raises:
        ScaffoldError: The name is invalid, the folder is in use, copier is
            missing or fails.
    """
    package = check_project_name(name)
    if data and "pipeline_name" in data:
        check_pipeline_name(str(data["pipeline_name"]))
    root = Path(directory).resolve() / name
    check_destination(root)
    copier = _copier()
    source = template_source("project", cache_dir)
    answers = {
        "project_name": name,
        "package_name": package,
        "pysetl_specifier": pysetl_specifier(),
        **(data or {}),
    }
    _run(
        "create the project",
        copier.run_copy,
        src_path=str(source.path),
        dst_path=root,
        data=answers,
        vcs_ref=source.ref,
        defaults=defaults,
        quiet=True,
        unsafe=False,
    )
    files = _written(root, set())
    _format(root / f for f in files)
    return Scaffolded(root, files, source.ref)


def _read_answers(root: Path) -> dict[str, Any]:
    yaml: Any = importlib.import_module("yaml")  # a dependency of copier
    path = root / ANSWERS_FILE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        msg = f"{str(path)!r} cannot be read: {exc}"
        raise ScaffoldError(msg, hint="restore it from version control") from exc
    if not isinstance(data, dict):
        msg = f"{str(path)!r} holds no answers"
        raise ScaffoldError(msg, hint="restore it from version control")
    return data


def find_scaffolded_project(start: str | Path | None = None) -> Path:
    """The nearest folder from ``start`` (default: cwd) up with an answers file.

    Raises:
        ScaffoldError: There is none.
    """
    here = (Path.cwd() if start is None else Path(start)).resolve()
    for folder in (here, *here.parents):
        if (folder / ANSWERS_FILE).is_file():
            return folder
    msg = f"No project made by pysetl new in {str(here)!r} or above (no {ANSWERS_FILE})"
    hint = "run it inside the project, or give its folder with --dir"
    raise ScaffoldError(msg, hint=hint)


def new_factory(name: str, *, project: str | Path | None = None) -> Scaffolded:
    """Add factory ``name`` and its test to the project at (or above) ``project``.

    Writes ``src/<package>/factories/<module>.py`` and
    ``tests/test_<module>.py``.

    Raises:
        ScaffoldError: The name is invalid, no project is found, or one of
            the two files exists already.
    """
    class_name, module = check_factory_name(name)
    root = find_scaffolded_project(project)
    package = _read_answers(root).get("package_name")
    if not isinstance(package, str) or not package.isidentifier():
        msg = f"{str(root / ANSWERS_FILE)!r} names no package_name"
        raise ScaffoldError(msg, hint="restore it from version control")
    targets = [
        root / "src" / package / "factories" / f"{module}.py",
        root / "tests" / f"test_{module}.py",
    ]
    existing = [str(t.relative_to(root)) for t in targets if t.exists()]
    if existing:
        msg = f"The factory {class_name!r} exists already: {', '.join(existing)}"
        raise ScaffoldError(msg, hint="choose another name, or edit that module")
    copier = _copier()
    with packaged_template("factory") as folder:
        _run(
            "add the factory",
            copier.run_copy,
            src_path=str(folder),
            dst_path=root,
            data={
                "class_name": class_name,
                "module_name": module,
                "package_name": package,
            },
            defaults=True,
            quiet=True,
            unsafe=False,
        )
    _format(targets)
    return Scaffolded(root, tuple(str(t.relative_to(root)) for t in targets))


def update_project(
    project: str | Path | None = None, *, template: Path | None = None
) -> Scaffolded:
    """Bring the changes of the installed pysetl's project template into a project.

    The template version that made the project (``_commit`` in
    ``.copier-answers.yml``) and the one installed now are both in the
    template repository (``_src_path``); copier renders both with the
    recorded answers and merges their difference into the project (3-way:
    your own changes stay; a conflict is marked inline).

    Args:
        project: The project's folder, or a folder in it (default: cwd).
        template: A project template folder to update to instead of the
            packaged one (your own starter, or one under test).

    Returns:
        The project, the files changed or added, and the new template tag.

    Raises:
        ScaffoldError: No such project, git missing, the old template
            version not in the repository, the project not a clean git
            repository, or copier fails.
    """
    root = find_scaffolded_project(project)
    answers = _read_answers(root)
    old = answers.get("_commit")
    recorded = answers.get("_src_path")
    if shutil.which("git") is None or not old or not recorded:
        msg = f"The project {str(root)!r} records no template version to update from"
        hint = (
            "it was made without git; make a new project with the same answers "
            "(pysetl new NAME --dir /tmp) and merge by hand"
        )
        raise ScaffoldError(msg, hint=hint)
    repo = Path(str(recorded))
    new = commit_template("project", repo, template)
    if tree_of(str(old)) == tree_of(new):  # the same template: nothing to merge
        if old not in template_tags(repo):  # made elsewhere: remember it here
            tag_tree(repo, str(old))
        return Scaffolded(root, (), str(old))
    if old not in template_tags(repo):
        msg = (
            f"The template version {old!r} that made {str(root)!r} is not in "
            f"the template repository {str(repo)!r}"
        )
        hint = (
            "the project was made on another machine, or the cache was cleared: "
            "update on the machine that made it; or install the pysetl that "
            "made it and run 'pysetl new --update' once (it records that "
            "template), then upgrade pysetl and run it again"
        )
        raise ScaffoldError(msg, hint=hint)
    copier = _copier()
    _run(
        "update the project",
        copier.run_update,
        dst_path=root,
        vcs_ref=new,
        data={"pysetl_specifier": pysetl_specifier()},
        defaults=True,
        overwrite=True,
        skip_answered=True,
        conflict="inline",
        quiet=True,
        unsafe=False,
    )
    # copier updates only a clean git repository: what git sees now is the
    # update (paths relative to the project, also inside a larger repository).
    status = subprocess.run(
        [  # noqa: S607 - git from PATH, as copier
            "git",
            "-c",
            "status.relativePaths=true",
            "-c",
            "core.quotePath=false",
            "status",
            "--short",
            "--untracked-files=all",
            "--",
            ".",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    ).stdout
    changed = sorted(line[3:].strip('"') for line in status.splitlines() if line)
    return Scaffolded(root, tuple(changed), new)
