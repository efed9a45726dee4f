"""Spark figures of one factory on a Spark Connect server, found through its tag.

On a Spark Connect session the engine tags each factory's operations with
its job group's text (``pysetl:<run id>:<factory>``, see
``pysetl.workflow.spark``); the server puts
``SparkConnect_SessionTag_User_<user>_Session_<id>_Tag_<tag>`` on every Spark
job those operations run. The client has no JVM to ask, so
``ConnectStatus`` reads the server driver's REST API
(``<ui>/api/v1/applications/<app>``), the same records ``SparkStatus`` reads
over Py4J:

1. ``/jobs``: the jobs whose tags end in ``_Tag_<tag>``;
2. ``/stages/<id>?details=true&withSummaries=true&quantiles=1.0``: each
   stage's figures, its task attempts per executor and its largest task's
   peak execution memory, in one request (the task list comes with it: the
   cost grows with the stage's tasks).

The web UI's address is the ``ui_url`` given, else
``http://<spark.driver.host>:<spark.ui.port or 4040>`` as the server's
runtime config reports them. An unreachable UI (``spark.ui.enabled=false``)
leaves the figures out; the run goes on.
"""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from typing import Any

__all__ = ["ConnectStatus", "connect_ui_url"]

# The UI's first answer in a JVM is slow (its REST layer starts on demand).
_FIRST_TIMEOUT = 30.0
_DEFAULT_UI_PORT = "4040"
_TAG_MARK = "_Tag_"
_RUNNING = "RUNNING"
_POLL = 0.05


def connect_ui_url(session: Any) -> str:
    """The web UI of the Spark Connect server behind ``session``, as it reports it."""
    host = session.conf.get("spark.driver.host", "127.0.0.1")
    port = session.conf.get("spark.ui.port", _DEFAULT_UI_PORT)
    return f"http://{host}:{port}"


class ConnectStatus:
    """A Spark Connect server's status records, read from its driver's REST API.

    The methods are ``SparkStatus``'s: ``read_spark_figures`` takes either.

    Args:
        session: The Spark Connect session (kept to tell sessions apart).
        ui_url: The server's web UI (default: ``connect_ui_url(session)``).
        timeout: Seconds each HTTP request may take (the first, which
            finds the application, may take up to 30).
    """

    __slots__ = ("_api", "_jobs", "_stages", "spark_context", "timeout")

    def __init__(
        self, session: Any, ui_url: str | None = None, *, timeout: float = 10.0
    ) -> None:
        """Find the server's application (one request)."""
        self.spark_context = session  # what the collector compares
        self.timeout = max(timeout, _FIRST_TIMEOUT)
        base = (ui_url or connect_ui_url(session)).rstrip("/")
        apps = self._get(f"{base}/api/v1/applications")
        self.timeout = timeout
        if not apps:
            msg = f"The Spark UI at {base} lists no application"
            raise LookupError(msg)
        app = urllib.parse.quote(str(apps[0]["id"]), safe="")
        self._api = f"{base}/api/v1/applications/{app}"
        self._jobs: dict[int, dict[str, Any]] = {}
        self._stages: dict[int, dict[str, Any]] = {}

    def _get(self, url: str) -> Any:
        with urllib.request.urlopen(url, timeout=self.timeout) as response:  # noqa: S310 - the Spark UI's http(s) URL
            return json.loads(response.read())

    def job_ids(self, group: str) -> list[int]:
        """The ids of the jobs tagged with ``group``, in ascending order."""
        suffix = f"{_TAG_MARK}{group.replace(',', '_')}"
        self._jobs = {
            int(job["jobId"]): job
            for job in self._get(f"{self._api}/jobs")
            if any(str(tag).endswith(suffix) for tag in job.get("jobTags") or ())
        }
        self._stages = {}
        return sorted(self._jobs)

    def job(self, job_id: int) -> dict[str, Any] | None:
        """Job ``job_id``'s record, as last listed (``None``: not listed)."""
        return self._jobs.get(job_id)

    def stage(
        self,
        stage_id: int,
        since: Any = None,  # noqa: ARG002 - every attempt is listed: the last is taken
    ) -> dict[str, Any]:
        """The last attempt of stage ``stage_id``, with its executors and quantiles."""
        found = self._stages.get(stage_id)
        if found is None:
            attempts = self._get(
                f"{self._api}/stages/{stage_id}"
                "?details=true&withSummaries=true&quantiles=1.0"
            )
            found = max(attempts, key=lambda a: a.get("attemptId", 0))
            found.pop("tasks", None)  # not kept: it can be large
            self._stages[stage_id] = found
        return found

    def executor_tasks(
        self,
        stage_id: int,
        attempt: int,  # noqa: ARG002 - the last attempt is the one read
        stage: dict[str, Any] | None = None,  # noqa: ARG002 - read again, cached
    ) -> dict[str, int]:
        """Task attempts per executor id of the stage's last attempt."""
        summaries = self.stage(stage_id).get("executorSummary") or {}
        return {
            executor: sum(
                summary.get(key, 0)
                for key in ("succeededTasks", "failedTasks", "killedTasks")
            )
            for executor, summary in summaries.items()
        }

    def peak_task_memory(self, stage_id: int, attempt: int) -> int:  # noqa: ARG002 - as above
        """The largest peak execution memory of one task of the stage."""
        quantiles = self.stage(stage_id).get("taskMetricsDistributions") or {}
        peaks = quantiles.get("peakExecutionMemory") or [0]
        return int(peaks[-1])

    def wait(self, wait_seconds: float) -> bool:
        """Wait until the listed jobs have ended, at most ``wait_seconds``.

        The server fills its store from its listener bus, as a classic
        driver does: a job that just ended may still show as running.
        """
        deadline = time.monotonic() + max(wait_seconds, 0.0)
        while any(job.get("status") == _RUNNING for job in self._jobs.values()):
            if time.monotonic() >= deadline:
                return False
            time.sleep(_POLL)
            listed = {int(job["jobId"]): job for job in self._get(f"{self._api}/jobs")}
            self._jobs = {i: listed.get(i, job) for i, job in self._jobs.items()}
        return True
