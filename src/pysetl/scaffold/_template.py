"""Where copier takes the templates from: a git repository pysetl keeps in a cache.

The templates ship inside the package (``pysetl/templates/``). ``copier
update`` needs the template *as it was* when the project was made, so
``template_source`` commits each distinct version of the packaged template
to a git repository in the user's cache (``$XDG_CACHE_HOME/pysetl/templates/
<kind>``, else ``~/.cache/...``), tagged ``1.0.0+t<tree>``,
``2.0.0+t<tree>``... in the order this machine first saw them, ``<tree>``
naming the content. The project's ``.copier-answers.yml``
records that repository and the tag; an update commits the template of the
pysetl installed now as the next tag and lets copier merge the difference.

Without git, the packaged folder is used directly: projects are made all
the same, but cannot be updated.

Added in 0.5.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from pysetl import __version__
from pysetl.scaffold._errors import ScaffoldError

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "TemplateSource",
    "commit_template",
    "default_cache_dir",
    "packaged_template",
    "tag_tree",
    "template_source",
    "template_tags",
    "tree_of",
]

_GIT_CONFIG = (
    "-c",
    "user.name=pysetl",
    "-c",
    "user.email=pysetl@localhost",
    "-c",
    "commit.gpgsign=false",
    "-c",
    "tag.gpgsign=false",
    "-c",
    "core.autocrlf=false",
)
_GIT_TIMEOUT = 60
# <n>.0.0+t<tree>: n counts the versions this repository has seen (copier
# refuses to go back to a lower one); the tree names the content, so that a
# version made elsewhere is recognised when the same template is here.
_TAG = re.compile(r"^(\d+)\.0\.0\+t([0-9a-f]{10})$")
_TREE_CHARS = 10


@dataclass(frozen=True, slots=True)
class TemplateSource:
    """What copier renders: a folder or git repository, and its tag (if a repo)."""

    path: Path
    ref: str | None


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/pysetl``, else ``~/.cache/pysetl``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pysetl"


@contextlib.contextmanager
def packaged_template(kind: str) -> Iterator[Path]:
    """The folder of template ``kind`` (``project``, ``factory``) in the package."""
    with resources.as_file(resources.files("pysetl.templates") / kind) as folder:
        yield Path(folder)


def _git(repo: Path, *args: str) -> str:
    try:
        done = subprocess.run(  # noqa: S603 - git with our own arguments
            ["git", *_GIT_CONFIG, *args],  # noqa: S607 - git from PATH, as copier
            cwd=repo,
            capture_output=True,
            text=True,
            check=True,
            timeout=_GIT_TIMEOUT,
        )
    except subprocess.CalledProcessError as exc:
        msg = f"git {' '.join(args)} failed in {str(repo)!r}: {exc.stderr.strip()}"
        raise ScaffoldError(msg, hint="check that git works there") from exc
    return done.stdout.strip()


def _replace_tree(repo: Path, source: Path) -> None:
    for child in repo.iterdir():
        if child.name == ".git":
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
    shutil.copytree(
        source,
        repo,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )


def template_tags(repo: Path) -> list[str]:
    """The version tags (``1.0.0+t<tree>``...) of the template repository ``repo``."""
    listed = _git(repo, "tag", "--list")
    return [tag for tag in listed.splitlines() if _TAG.match(tag)]


def tree_of(tag: str) -> str | None:
    """The (abbreviated) git tree a version tag was made of, or ``None``."""
    match = _TAG.match(tag)
    return match.group(2) if match else None


def tag_tree(repo: Path, tag: str) -> None:
    """Tag ``HEAD`` of ``repo`` as ``tag`` (a version recorded elsewhere)."""
    _git(repo, "tag", tag, "HEAD")


def template_source(kind: str, cache_dir: Path | None = None) -> TemplateSource:
    """The template ``kind`` as copier should take it (see the module docstring).

    Args:
        kind: ``project`` or ``factory``.
        cache_dir: The cache folder (default: ``default_cache_dir()``).

    Returns:
        The cache repository and the tag of the packaged template's version;
        without git, the packaged folder itself (which cannot be updated).

    Raises:
        ScaffoldError: git fails on the cache repository.
    """
    if shutil.which("git") is None:  # pragma: no cover - git is on every CI machine
        with packaged_template(kind) as folder:
            return TemplateSource(folder, None)
    repo = (cache_dir or default_cache_dir()) / "templates" / kind
    return TemplateSource(repo, commit_template(kind, repo))


def commit_template(kind: str, repo: Path, folder: Path | None = None) -> str:
    """Commit the template ``kind`` to ``repo`` if it changed; return its tag.

    Args:
        kind: ``project`` or ``factory``.
        repo: The template repository (created if missing).
        folder: A template folder to commit instead of the packaged one
            (a template of your own, or one under test).

    Raises:
        ScaffoldError: git fails.
    """
    repo.mkdir(parents=True, exist_ok=True)
    if not (repo / ".git").exists():
        _git(repo, "init", "--quiet")
    if folder is not None:
        _replace_tree(repo, folder)
    else:
        with packaged_template(kind) as packaged:
            _replace_tree(repo, packaged)
    _git(repo, "add", "--all")
    tree = _git(repo, "write-tree")[:_TREE_CHARS]
    tags = template_tags(repo)
    same = [tag for tag in tags if tree_of(tag) == tree]
    if same and not _git(repo, "status", "--porcelain"):
        at_head = _git(repo, "tag", "--points-at", "HEAD").splitlines()
        known = [tag for tag in at_head if tag in same]
        if known:
            return known[0]
    _git(repo, "commit", "--quiet", "--allow-empty", "-m", f"pysetl {__version__}")
    count = max((int(t.split(".")[0]) for t in tags), default=0) + 1
    tag = f"{count}.0.0+t{tree}"
    _git(repo, "tag", tag)
    return tag
