"""``Session``: the one place that builds and closes a run's world.

A session assembles, from a project config (or nothing), everything a
pipeline run is observed with, hands it to pipelines through one
``HookManager``, and closes it in the right order:

1. the observers' writer thread (``pysetl.utils.writer``), shared by all;
2. the run history (``open_history()`` discovery, or ``monitoring.history``),
   and the config's version in it when a config is given;
3. the observers: ``HistoryRecorder`` (runs, stages, attempts, events,
   heartbeat), ``MetricsCollector`` (time, CPU, memory, Spark figures, rows,
   KPIs), ``SparkProgressSampler`` (live Spark progress), ``RunLogger``
   (the run's own log lines), the ``pysetl.hooks`` entry points and the
   config's ``monitoring.observers``;
4. log capture: every record emitted during a run, from any logger, goes to
   the history tagged with its run and factory (``RunLogCapture``).

``close()`` waits (bounded) for the writer, removes the log capture, stops
the periodic tasks, closes the writer (when the session owns it) and the
history. It is idempotent and cannot hang.

Observability is on by default. One switch turns it off, in three places
(the first that is set wins): ``Session(observe=False)``, the environment
variable ``PYSETL_OBSERVE=0``, the config key ``monitoring.enabled: false``.
Off, the session still hands out a hook manager (entry-point observers,
debug tracer) and records nothing. Without the ``monitoring`` extra
(SQLAlchemy) nothing is recorded either, and nothing breaks: the reason is
logged once at DEBUG. A history that cannot be opened is reported once (a
WARNING naming it) and the pipeline runs unrecorded.

Usage::

    with Session(config=load_config("conf", "prod")) as session:
        session.pipeline("daily").add_stage_from_type(Load).run()

Added in 0.4. Changed in 0.7: ``Session(observers=...)`` replaces
``Session(plugins=...)``, which still works and warns.
"""

from __future__ import annotations

import atexit
import logging
import threading
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pysetl._state import STATE
from pysetl.errors import PySetlDeprecationWarning, PySetlError
from pysetl.runtime._execution import EXECUTION_SECTION, ExecutionSection
from pysetl.runtime._monitoring import MonitoringSection, load_observer
from pysetl.settings import parse_host, settings
from pysetl.utils.redaction import redact_text
from pysetl.utils.writer import BackgroundWriter, shared_writer
from pysetl.workflow import HookManager, Pipeline
from pysetl.workflow.hooks import configured_hook_manager

if TYPE_CHECKING:
    from collections.abc import Iterable
    from types import TracebackType

    from typing_extensions import Self

    from pysetl.config import ResolvedConfig
    from pysetl.monitoring.history import BaseRunHistory, HistoryRecorder
    from pysetl.runtime._logs import RunLogCapture
    from pysetl.workflow.retry import FactoryPolicies

__all__ = ["ALERTS_SECTION", "MONITORING_SECTION", "Session", "close_open_sessions"]

MONITORING_SECTION = "monitoring"
ALERTS_SECTION = "alerts"
_LOGGER = logging.getLogger(__name__)
# The open sessions are ``STATE.open_sessions`` (closed at interpreter exit).
_OPEN_LOCK = threading.Lock()


def _deprecated_plugins(
    observers: Iterable[object], plugins: Iterable[object]
) -> Iterable[object]:
    """``plugins``, given to ``Session`` under its old name (with a warning)."""
    if observers != ():
        msg = "Session(plugins=...) and Session(observers=...): pass observers only"
        raise TypeError(msg)
    msg = (
        "Session(plugins=...) is deprecated, use Session(observers=...): the "
        "objects are observers (a plugin is a package that ships them)"
    )
    warnings.warn(msg, PySetlDeprecationWarning, stacklevel=3)
    return plugins


class Session:
    """A run's world: history, logs, metrics, progress, observers; closed in order.

    Args:
        config: The project config; its ``monitoring`` section is read, and
            its version is recorded with every run.
        history: The run history, or its URL; default: ``monitoring.history``,
            else ``PYSETL_HISTORY_URL``, else the project's
            ``.pysetl/history.db`` (the project of the config, or of the
            working directory).
        observe: Record runs; default: ``PYSETL_OBSERVE``, else
            ``monitoring.enabled``, else on.
        hooks: Register the observers on this manager instead of a new one
            (the process-wide default manager uses it).
        observers: More observers to register.
        spark: The SparkSession pipelines label their jobs on (default: the
            running one).
        writer: The observers' writer thread; default: a new one, owned and
            closed by the session (the process-wide one with ``hooks=``).
        project_dir: Where the project's history is looked for.
        host: The host name runs are recorded under; default:
            ``PYSETL_HOST``, else the machine's name (added in 0.6).
        plugins: Deprecated alias of ``observers`` (changed in 0.7).

    Attributes:
        observing: Whether runs are recorded.
        history: The run history (``None`` when not recording).
        recorder: The history recorder (``None`` when not recording).
        hooks: The manager to hand to pipelines.
        monitoring: The validated ``monitoring`` section.
        policies: The retry policies and timeouts of the config's
            ``execution`` section (``None`` without one; added in 0.6).
    """

    def __init__(
        self,
        *,
        config: ResolvedConfig | None = None,
        history: BaseRunHistory | str | None = None,
        observe: bool | None = None,
        hooks: HookManager | None = None,
        observers: Iterable[object] = (),
        spark: Any = None,
        writer: BackgroundWriter | None = None,
        project_dir: str | Path | None = None,
        host: str | None = None,
        plugins: Iterable[object] | None = None,
    ) -> None:
        """Build the world (see the module docstring); ``close()`` undoes it."""
        if plugins is not None:
            observers = _deprecated_plugins(observers, plugins)
        current = settings()
        self.config = config
        self.spark = spark
        self.monitoring = _monitoring_of(config)
        self.policies = _policies_of(config)
        if observe is None:
            observe = current.observe
        if observe is None:
            observe = self.monitoring.enabled
        self._owns_writer = writer is None and hooks is None
        if hooks is not None:
            self.writer = hooks.writer if writer is None else writer
            self.hooks = hooks
        else:
            self.writer = writer or BackgroundWriter()
            self.hooks = configured_hook_manager(
                disabled=self.monitoring.disable, writer=self.writer
            )
        self.history: BaseRunHistory | None = None
        self.recorder: HistoryRecorder | None = None
        self._capture: RunLogCapture | None = None
        self._closers: list[Any] = []
        self._owns_history = False
        self._closed = False
        self._host = None if host is None else parse_host("Session(host=...)", host)
        self.observing = bool(observe) and self._observe(history, project_dir)
        for spec in self.monitoring.observers:
            self._register(load_observer(spec))
        for observer in observers:
            self._register(observer)
        self._add_alerts()
        with _OPEN_LOCK:
            STATE.open_sessions.add(self)

    # ------------------------------------------------------------- building
    def _observe(
        self, history: BaseRunHistory | str | None, project_dir: str | Path | None
    ) -> bool:
        """Open the history and register the recording observers."""
        try:
            from pysetl.monitoring.history import (  # noqa: PLC0415 - optional extra
                HistoryRecorder,
                open_history,
                recorder_for_config,
            )
            from pysetl.monitoring.metrics import (  # noqa: PLC0415
                MetricsCollector,
                SparkProgressSampler,
            )
            from pysetl.runtime._logs import (  # noqa: PLC0415
                RunLogCapture,
                RunLogger,
            )
        except ImportError as exc:  # the monitoring extra is not installed
            _LOGGER.debug(
                "pysetl records no runs: %s (pip install 'pysetl[monitoring]')", exc
            )
            return False
        monitoring = self.monitoring
        try:
            if history is None or isinstance(history, str):
                self.history = open_history(
                    history or monitoring.history,
                    project_dir=project_dir or self._project_dir(),
                )
                self._owns_history = True
            else:
                self.history = history
            options: dict[str, Any] = {
                "heartbeat_interval": monitoring.heartbeat_interval,
                "writer": self.writer,
            }
            if self._host is not None:
                options["host"] = self._host
            # With a config, its version is stored first and named by every run.
            recorder = (
                HistoryRecorder(self.history, **options)
                if self.config is None
                else recorder_for_config(
                    self.history, self.config, background=True, **options
                )
            )
        except PySetlError as error:
            _LOGGER.warning(
                "pysetl records no runs: the run history cannot be opened: %s",
                redact_text(error.message),
            )
            self._close_history()
            return False
        self.recorder = recorder
        observers: list[object] = [RunLogger(), recorder]
        if monitoring.metrics.enabled:
            observers.append(
                MetricsCollector(
                    history=self.history,
                    profile=monitoring.metrics.profile,
                    count_rows=monitoring.metrics.count_rows,
                    spark_wait=monitoring.metrics.spark_wait,
                    # The history keeps the figures; none stay in memory.
                    keep_runs=0,
                    writer=self.writer,
                )
            )
        if monitoring.progress.enabled:
            observers.append(
                SparkProgressSampler(
                    self.history,
                    interval=monitoring.progress.interval,
                    writer=self.writer,
                )
            )
        for observer in observers:
            self._register(observer)
        if monitoring.logs.capture:
            self._capture = RunLogCapture(recorder, monitoring.logs.level)
            self._capture.install()
        return True

    def _add_alerts(self) -> None:
        """Register the ``AlertObserver`` of the config's ``alerts:`` section, if any.

        The section is validated here (a bad one raises ``ConfigLoadError``
        with file and line); it needs the run history, so it is off (and
        says so) when the session records no runs.
        """
        if self.config is None or self.config.get(ALERTS_SECTION) is None:
            return
        from pysetl.monitoring.alerts import (  # noqa: PLC0415 - optional extra
            AlertObserver,
            AlertsSection,
        )

        section = self.config.section(ALERTS_SECTION, AlertsSection)
        if section.enabled:
            self._register(AlertObserver(section))

    def _project_dir(self) -> Path | None:
        if self.config is not None:
            return Path(self.config.root).resolve().parent
        return None

    def _register(self, observer: object) -> None:
        """Register ``observer``; first hand it the session if it asks for it.

        An observer with a ``pysetl_attach(session)`` method (an exporter that
        reads the run history, or writes through the session's writer) gets
        this session before its first event; it runs after the history is
        open, so ``session.history`` is set when the session records runs.
        """
        attach = getattr(observer, "pysetl_attach", None)
        if callable(attach):
            attach(self)
        self.hooks.register(observer)
        self._closers.append(observer)

    # ------------------------------------------------------------- handing out
    def pipeline(self, name: str = "pipeline", **options: Any) -> Pipeline:
        """A new ``Pipeline`` observed by this session (``options`` go to it)."""
        options.setdefault("spark", self.spark)
        return self.apply_policies(Pipeline(name=name, hooks=self.hooks, **options))

    def apply_policies(self, pipeline: Pipeline) -> Pipeline:
        """Give ``pipeline`` the retry policies and timeouts of the config.

        They go over the pipeline's own (``Pipeline.policies``), factory by
        factory and field by field (see ``pysetl.workflow.retry``); without
        an ``execution`` section the pipeline is left as it is.

        Added in 0.6.
        """
        if self.policies is not None:
            pipeline.policies = self.policies.over(pipeline.policies)
        return pipeline

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called."""
        return self._closed

    # ---------------------------------------------------------------- closing
    def close(self, timeout: float = 10.0) -> None:
        """Write what is pending (at most ``timeout`` s) and take it all down.

        Idempotent; the order is: wait for the writer, remove the log
        capture, stop the observers' periodic tasks, close the writer (if
        the session owns it), close the history (if the session opened it).
        It takes at most about ``timeout`` seconds: when the writer did not
        catch up in time, a writer the session owns is stopped at once.

        Changed in 0.5: bounded by one ``timeout`` (it was one per observer).
        """
        if self._closed:
            return
        self._closed = True
        with _OPEN_LOCK:
            STATE.open_sessions.discard(self)
        if not self.writer.drain(timeout) and self._owns_writer:
            # The writer is stuck (a store that hangs): stop it now, so that
            # each observer's close does not wait as long again for it.
            self.writer.close(0)
        if self._capture is not None:
            self._capture.uninstall()
            self._capture = None
        for observer in reversed(self._closers):
            close = getattr(observer, "close", None)
            if callable(close):
                try:
                    close()
                except Exception:  # an observer never breaks the session
                    _LOGGER.exception("pysetl observer %r failed to close", observer)
            self.hooks.unregister(observer)
        self._closers.clear()
        if self._owns_writer:
            self.writer.close(timeout)
        self._close_history()

    def _close_history(self) -> None:
        history, self.history = self.history, None
        if history is not None and self._owns_history:
            # Everything is written by now; the last connection's close (a
            # SQLite checkpoint and fsync) need not hold up the caller.
            history.close_soon()

    def __enter__(self) -> Self:
        """Use the session as a context manager that closes it."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the session."""
        self.close()

    def __repr__(self) -> str:
        """``Session(observing=True, history='sqlite:///...')`` (URL redacted)."""
        url = getattr(self.history, "url", None)
        return f"Session(observing={self.observing}, history={url!r})"


def _monitoring_of(config: ResolvedConfig | None) -> MonitoringSection:
    if config is None or config.get(MONITORING_SECTION) is None:
        return MonitoringSection()
    return config.section(MONITORING_SECTION, MonitoringSection)


def _policies_of(config: ResolvedConfig | None) -> FactoryPolicies | None:
    """The ``execution`` section's policies (``None`` without the section)."""
    if config is None or config.get(EXECUTION_SECTION) is None:
        return None
    policies = config.section(EXECUTION_SECTION, ExecutionSection).policies()
    return None if policies.empty else policies


def close_open_sessions(timeout: float = 2.0) -> None:
    """Close every session still open (at interpreter exit), each bounded."""
    with _OPEN_LOCK:
        sessions = list(STATE.open_sessions)
    for session in sessions:
        session.close(timeout)


# The shared writer registers its own exit handler when first created; make
# sure it exists before ours, so that atexit (last in, first out) closes the
# sessions first and the writer after them.
shared_writer()
atexit.register(close_open_sessions)
