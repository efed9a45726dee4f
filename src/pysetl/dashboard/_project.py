"""``/api/project``: the pipelines of the project, from their code, and their last run.

What the Project page (``#/project``) draws: every pipeline registered by
the project (``[tool.pysetl.pipelines]``, as ``pysetl run`` finds them),
with its stages, factories, deliveries and outputs (types and schemas),
edges, docstrings and configs (``pysetl.runtime.describe``), and the
state of each factory in the pipeline's last recorded run, read from the
dashboard's history.

The project is the one of ``app.state.project_dir`` (default: the folder
the server runs in). Its code is described in a child process
(``python -m pysetl.runtime.describe``): the project's modules, and Spark
when a pipeline function asks for it, never load into the server, and a
reload sees the code as it is now. One description runs at a time; an
answer younger than ``PROJECT_TTL`` seconds is reused unless
``refresh=true``. Every text goes through the redaction point on its way
out.

Added in 0.5.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from pysetl.dashboard._api import ApiProblem, no_nul
from pysetl.dashboard._models import ErrorBody
from pysetl.runtime.describe import last_run
from pysetl.utils.redaction import redact_text, redact_value

if TYPE_CHECKING:
    from fastapi import FastAPI

    from pysetl.monitoring.history import BaseRunHistory

__all__ = ["PROJECT_TIMEOUT", "PROJECT_TTL", "ProjectDescriber", "router"]

PROJECT_TTL = 5.0
"""Seconds a description of the project's code is reused."""
PROJECT_TIMEOUT = 180.0
"""Seconds the child process may take to describe the project."""
_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No such pipeline"},
    422: {"model": ErrorBody, "description": "A bad parameter"},
    503: {"model": ErrorBody, "description": "The project cannot be described"},
}
_LOCK = threading.Lock()

router = APIRouter(dependencies=[Depends(no_nul)])


class ProjectDescriber:
    """Describes a project's code in a child process, one at a time, briefly cached.

    Args:
        root: The folder to find the project from.
        ttl: Seconds an answer is reused.
        timeout: Seconds the child may take.
    """

    def __init__(
        self, root: Path, *, ttl: float = PROJECT_TTL, timeout: float = PROJECT_TIMEOUT
    ) -> None:
        """Remember where the project is; nothing runs yet."""
        self.root = root
        self.ttl = ttl
        self.timeout = timeout
        self._lock = threading.Lock()
        self._cached: tuple[float, dict[str, Any]] | None = None

    def describe(self, *, refresh: bool = False) -> dict[str, Any]:
        """The project's description (``ProjectView.to_dict()``).

        Raises:
            ApiProblem: 503 when the project cannot be read or described.
        """
        with self._lock:
            cached = self._cached
            if cached is not None and not refresh:
                at, body = cached
                if time.monotonic() - at < self.ttl:
                    return body
            body = self._run()
            self._cached = (time.monotonic(), body)
            return body

    def _run(self) -> dict[str, Any]:
        with tempfile.TemporaryDirectory(prefix="pysetl-project-") as folder:
            out = Path(folder) / "project.json"
            command = [
                sys.executable,
                "-m",
                "pysetl.runtime.describe",
                "--project",
                str(self.root),
                "--output",
                str(out),
            ]
            try:
                done = subprocess.run(  # noqa: S603 - our own module, no shell
                    command,
                    cwd=self.root,
                    capture_output=True,
                    text=True,
                    timeout=self.timeout,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                msg = (
                    f"Describing the project {str(self.root)!r} took more than "
                    f"{self.timeout:g} s"
                )
                hint = "look for a pipeline function that does work while it builds"
                raise _unavailable(msg, hint) from None
            body = _read(out)
        if body is None:
            last = (done.stderr or "").strip().splitlines()[-1:] or ["no output"]
            msg = f"Describing the project {str(self.root)!r} failed: {last[0]}"
            raise _unavailable(msg, "run pysetl graph --format text there to see why")
        if "error" in body:
            raise _unavailable(str(body["error"]), body.get("hint"))
        project: dict[str, Any] = body["project"]
        return project


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _unavailable(message: str, hint: str | None) -> ApiProblem:
    return ApiProblem(
        503,
        "project_unavailable",
        redact_text(message),
        redact_text(hint or "check the project's pyproject.toml and config"),
    )


def _describer(app: FastAPI) -> ProjectDescriber:
    with _LOCK:
        found: ProjectDescriber | None = getattr(app.state, "project", None)
        if found is None:
            root = getattr(app.state, "project_dir", None)
            found = ProjectDescriber(Path(root) if root is not None else Path.cwd())
            app.state.project = found
        return found


def _with_state(pipeline: dict[str, Any], history: BaseRunHistory) -> dict[str, Any]:
    """The pipeline with its last run and each factory's state in it."""
    if pipeline.get("error") is not None:
        return pipeline
    found = last_run(history, pipeline["name"])
    if found is None:
        return pipeline
    state, factories = found
    missing = {"status": "not run", "run_id": state.run_id}
    return {
        **pipeline,
        "last_run": dataclasses.asdict(state),
        "factories": [
            {
                **f,
                "last_run": dataclasses.asdict(factories[f["name"]])
                if f["name"] in factories
                else missing,
            }
            for f in pipeline["factories"]
        ],
    }


@router.get("/api/project", responses=_ERRORS, tags=["project"])
def project(
    request: Request,
    pipeline: Annotated[
        str | None,
        Query(max_length=200, description="Only this pipeline (its project name)"),
    ] = None,
    refresh: Annotated[
        bool, Query(description="Describe the code again (no cached answer)")
    ] = False,
) -> dict[str, Any]:
    """The project's pipelines from their code, with each factory's last run.

    Each pipeline: its stages, factories (docstring, output type and
    fields, deliveries with types, fields and what feeds them, configs
    used), inputs, edges, problems, and the state of each factory in the
    pipeline's last recorded run (``last_run``; ``not run`` for a factory
    that run did not reach). A pipeline whose function fails is listed
    with its ``error``.
    """
    body = _describer(request.app).describe(refresh=refresh)
    pipelines: list[dict[str, Any]] = body["pipelines"]
    if pipeline is not None:
        pipelines = [p for p in pipelines if pipeline in {p["project_name"], p["name"]}]
        if not pipelines:
            msg = f"No pipeline {redact_text(pipeline)!r} in the project"
            raise ApiProblem(404, "not_found", msg, "pick one from /api/project")
    history: BaseRunHistory = request.app.state.history
    answer = {
        "root": body["root"],
        "default": body["default"],
        "pipelines": [_with_state(p, history) for p in pipelines],
    }
    shown: dict[str, Any] = redact_value(answer)
    return shown
