"""``OpenLineageExporter``: the observer that sends a run's lineage to OpenLineage.

Turn it on from the project config, with no code in the pipeline::

    monitoring:
      observers:
        - class: pysetl.monitoring.lineage:OpenLineageExporter
          options: {url: "http://marquez:5000", namespace: my-team,
                    api_key: "${secret:env:LINEAGE_API_KEY}"}

What it sends (``openlineage-python``'s HTTP transport, to
``url`` + ``endpoint``): START and COMPLETE (or FAIL) of the pipeline run,
and of every factory attempt as a job of its own, with the datasets it read
(inputs) and wrote (outputs); see ``_events`` for the facets.

**Which datasets count.** A dataset is an input of a factory attempt when the
attempt loaded it through a ``SparkRepository`` (``load``, ``find``,
``load_partitions``), and an output when the attempt saved to it
(``save``): the repository reports each access (``pysetl.utils.dataset_access``)
with the run scope of the calling thread. A repository that was delivered
but not used is no dataset of the factory; a connector read or written
directly, not through a repository, is not seen. The pipeline's COMPLETE or
FAIL event lists every dataset of its factories. Names follow the
OpenLineage naming spec (``_datasets``).

**Cost to the run.** In the factory's thread, each load or save appends one
tuple to a dict (well under a microsecond); events reach the exporter on the
observers' writer thread (``pysetl_inline`` is false), where the events are
built and sent. No Spark call is made, except reading the warehouse
directory once when a factory used a Spark catalog table.

**An unreachable backend.** A send waits at most ``timeout`` seconds to
connect and ``timeout`` more for the answer, and is never retried: a refused
connection fails at once, a backend that never answers (or a connection that
never completes) costs one ``timeout``. After a failed send nothing is sent
for ``retry_after`` seconds: those events are dropped at once and counted in
``dropped``. So an unreachable or silent backend holds the writer thread (and
the end of a run, which waits for it) for at most ``2 * timeout`` seconds per
``retry_after`` seconds (1.5 s with the defaults, 0.75 s in practice), and
the first failure is logged once, at WARNING, with the endpoint (redacted)
and the reason; later ones at DEBUG. The default ``timeout`` stays under the
writer's 1 s slow-call threshold, so a silent backend is not reported a
second time as a slow observer.

Added in 0.4.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from openlineage.client import OpenLineageClient, event_v2
from openlineage.client.transport.http import (
    ApiKeyTokenProvider,
    HttpConfig,
    HttpTransport,
    TokenProvider,
)
from pydantic import ValidationError
from urllib3.util import Retry

from pysetl.errors import ConfigError
from pysetl.monitoring._http import KeepAliveAdapter, kept_alive_session
from pysetl.monitoring.lineage._datasets import LineageDataset, dataset_of
from pysetl.monitoring.lineage._events import EventBuilder
from pysetl.monitoring.lineage._options import OpenLineageOptions
from pysetl.utils.dataset_access import add_access_listener, remove_access_listener
from pysetl.utils.redaction import redact_text, register_secret
from pysetl.workflow.hooks import hook_impl

if TYPE_CHECKING:
    from collections.abc import Callable

    from openlineage.client.transport import Transport

    from pysetl.utils.run_scope import RunScope

__all__ = ["OpenLineageExporter"]

_LOGGER = logging.getLogger(__name__)
_Key = tuple[str, int | None, str, int | None]  # run id, stage, factory, attempt
_Datasets = dict[tuple[str, str], LineageDataset]
# Accesses of runs this exporter never hears the end of (another pipeline's)
# are forgotten, oldest first, past this many factory attempts.
_MAX_OPEN = 4096
_NO_RETRY: dict[str, Any] = {
    "total": 0,
    "connect": 0,
    "read": 0,
    "status": 0,
    "backoff_factor": 0,
}


@dataclass
class _Run:
    """The datasets of one pipeline run's factories, for its last event."""

    inputs: _Datasets = field(default_factory=dict)
    outputs: _Datasets = field(default_factory=dict)


class OpenLineageExporter:
    """Sends OpenLineage events of every run and factory attempt (module docstring).

    Args:
        transport: An ``openlineage-python`` transport to use instead of
            the HTTP transport the options describe (tests, or a Kafka one).
        clock: A monotonic clock (for tests of ``retry_after``).
        **options: ``OpenLineageOptions`` fields: ``url`` (required),
            ``endpoint``, ``namespace``, ``api_key``, ``timeout``,
            ``retry_after``, ``producer``, ``schema_facets``, ``verify``.

    Raises:
        ConfigError: An option is unknown or invalid; the message names it.

    Attributes:
        options: The validated options.
        sent: Events the backend accepted.
        failed: Sends that failed (unreachable, timed out, refused).
        dropped: Events not sent because a send had failed less than
            ``retry_after`` seconds before.
    """

    pysetl_inline = (
        False  # events come on the writer thread: sends never stall a factory
    )

    def __init__(
        self,
        *,
        transport: Transport | None = None,
        clock: Callable[[], float] = time.monotonic,
        **options: Any,
    ) -> None:
        """Validate the options and build the client; nothing is sent yet."""
        try:
            self.options = OpenLineageOptions(**options)
        except ValidationError as exc:
            raise _options_error(exc) from None
        if self.options.api_key is not None:
            register_secret(self.options.api_key)
        self._client = OpenLineageClient(transport=transport or self._http())
        self._build = EventBuilder(self.options.namespace, self.options.producer)
        self._clock = clock
        self.sent = 0
        self.failed = 0
        self.dropped = 0
        self._down_until = float("-inf")
        self._reported = False
        self._accesses: dict[_Key, list[tuple[object, str]]] = {}
        self._runs: dict[str, _Run] = {}
        self._warehouse: str | None = None
        self._lock = threading.Lock()
        add_access_listener(self._on_access)

    def _http(self) -> HttpTransport:
        options = self.options
        key = options.api_key
        auth = (
            ApiKeyTokenProvider({"api_key": key.get_secret_value()})
            if key is not None
            else TokenProvider({})
        )
        # The session looks up proxies and the CA bundle once (requests did at
        # every send), and sends plain HTTP on a kept connection: about half
        # the CPU of a send through urllib3, requests' own layer included.
        adapter = KeepAliveAdapter(max_retries=Retry(**_NO_RETRY))
        session = kept_alive_session(
            options.url, verify=options.verify, adapter=adapter
        )
        config = HttpConfig(
            url=options.url,
            endpoint=options.endpoint,
            timeout=options.timeout,
            verify=options.verify,
            auth=auth,
            retry=dict(_NO_RETRY),
            session=session,
            adapter=adapter,  # the transport mounts it for its URL too
        )
        transport = HttpTransport(config)
        transport.verify = session.verify  # True, False or the CA bundle's path
        return transport

    @property
    def endpoint(self) -> str:
        """Where events go (credentials of the URL masked)."""
        base = self.options.url.rstrip("/")
        return redact_text(f"{base}/{self.options.endpoint.lstrip('/')}")

    # ----------------------------------------------------------- accesses
    def _on_access(self, scope: RunScope | None, target: object, mode: str) -> None:
        """Note a repository's load or save (in the factory's thread)."""
        if scope is None or scope.factory is None:
            return
        key = (scope.run_id, scope.stage, scope.factory, scope.attempt)
        seen = self._accesses.get(key)
        if seen is None:
            if len(self._accesses) >= _MAX_OPEN:
                self._forget_oldest()
            seen = self._accesses.setdefault(key, [])
        seen.append((target, mode))

    def _forget_oldest(self) -> None:
        # Emptied, or changed by a factory thread, meanwhile: nothing to do.
        with self._lock, contextlib.suppress(StopIteration, KeyError, RuntimeError):
            del self._accesses[next(iter(self._accesses))]

    def _datasets(self, key: _Key, run_id: str) -> tuple[_Datasets, _Datasets]:
        """The attempt's inputs and outputs; both join the run's lists."""
        inputs: _Datasets = {}
        outputs: _Datasets = {}
        for target, mode in self._accesses.pop(key, ()):
            dataset = dataset_of(
                target,
                warehouse=self._warehouse_dir(target),
                fields=self.options.schema_facets,
            )
            if dataset is not None:
                chosen = inputs if mode == "read" else outputs
                chosen.setdefault((dataset.namespace, dataset.name), dataset)
        run = self._runs.setdefault(run_id, _Run())
        run.inputs.update(inputs)
        run.outputs.update(outputs)
        return inputs, outputs

    def _warehouse_dir(self, target: Any) -> str | None:
        """The Spark warehouse, read once, when a catalog table is involved."""
        connector = getattr(target, "connector", target)
        config = getattr(connector, "config", None)
        if self._warehouse is None and hasattr(config, "full_name"):
            try:
                spark = connector.spark  # the factory's session, already running
                self._warehouse = str(spark.conf.get("spark.sql.warehouse.dir"))
            except Exception:  # noqa: BLE001 - the default name is used instead
                _LOGGER.debug("pysetl lineage: no Spark warehouse directory")
        return self._warehouse

    # ------------------------------------------------------------- events
    @hook_impl
    def before_pipeline_run(
        self, *, run_id: str, pipeline_name: str, timestamp: float
    ) -> None:
        """START of the pipeline's run."""
        self._runs[run_id] = _Run()
        self._send(
            self._build.pipeline_event(
                event_v2.RunState.START,
                run_id=run_id,
                pipeline=pipeline_name,
                timestamp=timestamp,
            )
        )

    @hook_impl
    def after_pipeline_run(
        self, *, run_id: str, pipeline_name: str, timestamp: float
    ) -> None:
        """COMPLETE of the pipeline's run, with every dataset of its factories."""
        self._end_run(event_v2.RunState.COMPLETE, run_id, pipeline_name, timestamp)

    @hook_impl
    def on_pipeline_run_failed(
        self, *, run_id: str, pipeline_name: str, timestamp: float, error: Exception
    ) -> None:
        """FAIL of the pipeline's run, with its error (redacted)."""
        self._end_run(
            event_v2.RunState.FAIL, run_id, pipeline_name, timestamp, error=error
        )

    def _end_run(
        self,
        state: event_v2.RunState,
        run_id: str,
        pipeline: str,
        timestamp: float,
        *,
        error: Exception | None = None,
    ) -> None:
        run = self._runs.pop(run_id, None) or _Run()
        with self._lock:  # the run's attempts that never ended
            for key in [k for k in self._accesses if k[0] == run_id]:
                self._accesses.pop(key, None)
        self._send(
            self._build.pipeline_event(
                state,
                run_id=run_id,
                pipeline=pipeline,
                timestamp=timestamp,
                error=None if error is None else redact_text(str(error)),
                inputs=run.inputs.values(),
                outputs=run.outputs.values(),
            )
        )

    @hook_impl
    def before_factory_run(
        self,
        *,
        run_id: str,
        pipeline_name: str,
        timestamp: float,
        stage_id: int,
        factory_name: str,
        attempt: int,
    ) -> None:
        """START of a factory attempt."""
        self._send(
            self._build.factory_event(
                event_v2.RunState.START,
                run_id=run_id,
                pipeline=pipeline_name,
                stage_id=stage_id,
                factory=factory_name,
                attempt=attempt,
                timestamp=timestamp,
            )
        )

    @hook_impl
    def after_factory_run(
        self,
        *,
        run_id: str,
        pipeline_name: str,
        timestamp: float,
        stage_id: int,
        factory_name: str,
        attempt: int,
    ) -> None:
        """COMPLETE of a factory attempt, with the datasets it read and wrote."""
        self._end_factory(
            event_v2.RunState.COMPLETE,
            run_id,
            pipeline_name,
            timestamp,
            (stage_id, factory_name, attempt),
        )

    @hook_impl
    def on_factory_run_failed(
        self,
        *,
        run_id: str,
        pipeline_name: str,
        timestamp: float,
        stage_id: int,
        factory_name: str,
        attempt: int,
        error: Exception,
    ) -> None:
        """FAIL of a factory attempt, with what it touched and its error (redacted)."""
        self._end_factory(
            event_v2.RunState.FAIL,
            run_id,
            pipeline_name,
            timestamp,
            (stage_id, factory_name, attempt),
            error=error,
        )

    def _end_factory(
        self,
        state: event_v2.RunState,
        run_id: str,
        pipeline: str,
        timestamp: float,
        where: tuple[int, str, int],
        *,
        error: Exception | None = None,
    ) -> None:
        stage_id, factory, attempt = where
        inputs, outputs = self._datasets((run_id, stage_id, factory, attempt), run_id)
        self._send(
            self._build.factory_event(
                state,
                run_id=run_id,
                pipeline=pipeline,
                stage_id=stage_id,
                factory=factory,
                attempt=attempt,
                timestamp=timestamp,
                error=None if error is None else redact_text(str(error)),
                inputs=inputs.values(),
                outputs=outputs.values(),
            )
        )

    # ------------------------------------------------------------ sending
    def _send(self, event: event_v2.RunEvent) -> None:
        """Send one event, or drop it while the backend is known to be down."""
        if self._clock() < self._down_until:
            self.dropped += 1
            return
        try:
            self._client.emit(event)
        except Exception as exc:  # noqa: BLE001 - a backend never fails a run
            self._failed(exc)
        else:
            self.sent += 1

    def _failed(self, exc: Exception) -> None:
        self.failed += 1
        self._down_until = self._clock() + self.options.retry_after
        reason = redact_text(f"{type(exc).__name__}: {exc}")
        if self._reported:
            _LOGGER.debug(
                "pysetl lineage: send to %s failed: %s", self.endpoint, reason
            )
            return
        self._reported = True
        _LOGGER.warning(
            "pysetl lineage: the OpenLineage endpoint %s cannot be reached (%s); "
            "events are dropped for %g s after each failure (reported once)",
            self.endpoint,
            reason,
            self.options.retry_after,
        )

    def close(self) -> None:
        """Stop noting accesses and close the transport (idempotent)."""
        remove_access_listener(self._on_access)
        self._accesses.clear()
        self._runs.clear()
        try:
            self._client.close(0)
        except Exception:
            _LOGGER.debug("pysetl lineage: closing the transport failed", exc_info=True)

    def __repr__(self) -> str:
        """``OpenLineageExporter('<endpoint>', namespace='...')``, never a secret."""
        namespace = self.options.namespace
        return f"OpenLineageExporter({self.endpoint!r}, namespace={namespace!r})"


def _options_error(exc: ValidationError) -> ConfigError:
    """A ``ConfigError`` naming each bad option, without its (maybe secret) value."""
    problems = []
    for error in exc.errors():
        option = ".".join(str(part) for part in error["loc"]) or "options"
        problems.append(f"{option!r}: {error['msg']}")
    msg = f"OpenLineageExporter options are invalid: {'; '.join(problems)}"
    return ConfigError(
        msg,
        hint=f"known options: {sorted(OpenLineageOptions.model_fields)} (url required)",
        config="OpenLineageExporter",
        errors=[
            {"loc": error["loc"], "msg": error["msg"], "type": error["type"]}
            for error in exc.errors()
        ],
    )
