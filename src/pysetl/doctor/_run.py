"""``run_doctor``: every check, in the order a run needs them.

Added in 0.5.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from pysetl.doctor._check import DoctorReport
from pysetl.doctor._extras import check_extras
from pysetl.doctor._java import check_java, check_spark
from pysetl.doctor._project import (
    check_config,
    check_history,
    check_permissions,
    check_pipelines,
    load_project,
    needed_extras,
)

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

__all__ = ["run_doctor"]


def run_doctor(
    *,
    env: str | None = None,
    project_dir: str | Path | None = None,
    history_url: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> DoctorReport:
    """Check Java, Spark, the extras, the config, the pipelines, the history, files.

    Args:
        env: The config environment (default: ``PYSETL_ENV``; none: base).
        project_dir: Where to look for the project (default: the working dir).
        history_url: The run history to check (default: what a run uses).
        environ: The environment for the Java and Spark checks
            (``JAVA_HOME``, ``PATH``, ``SPARK_HOME``; default ``os.environ``).

    Returns:
        The report; ``report.ok`` is false when a check failed.
    """
    from pysetl.settings import settings  # noqa: PLC0415 - one parse per call

    environ = os.environ if environ is None else environ
    env = env or settings().env
    state = load_project(project_dir, env)
    checks = [
        check_java(environ),
        check_spark(environ),
        *check_extras(needed_extras(state, history_url)),
        *check_config(state),
        *check_pipelines(state),
        check_history(state, history_url),
        *check_permissions(state),
    ]
    root = str(state.project.root) if state.project is not None else None
    return DoctorReport(tuple(checks), env=env, project=root)
