"""``PrometheusExporter``: an observer that publishes the run history to Prometheus.

It does nothing per factory. It observes the pipeline events only, and
publishes what the run history holds (``HistoryCollector``):

* at the end of every run (succeeded or failed), the pipeline's group is
  pushed to the Pushgateway and/or every pipeline is written to the
  textfile;
* every ``push_interval`` seconds while a pipeline runs, its group is pushed
  again (live figures of long runs).

All of it runs on the session's writer thread, never on a factory's. The
end-of-run export is scheduled as a one-shot task of the writer, which runs
after the writer has written the rows it holds, so the push sees the run's
final rows. Pushes are bounded by ``timeout``; a push that fails is counted
and reported once per outage (see ``Pusher``), and never fails the run.

Turn it on from the config::

    monitoring:
      observers:
        - class: pysetl.monitoring.prometheus:PrometheusExporter
          options: {pushgateway: "http://127.0.0.1:9091", push_interval: 30}

Added in 0.5.
"""

from __future__ import annotations

import logging
import socket
import threading
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, write_to_textfile

from pysetl.monitoring.prometheus._collector import HistoryCollector
from pysetl.monitoring.prometheus._options import PrometheusOptions, parse_options
from pysetl.monitoring.prometheus._push import Pusher
from pysetl.utils.redaction import redact_text
from pysetl.utils.writer import shared_writer
from pysetl.workflow.hooks import hook_impl

if TYPE_CHECKING:
    from collections.abc import Collection

    from pysetl.monitoring.history import BaseRunHistory
    from pysetl.utils.writer import BackgroundWriter, Ticker

__all__ = ["PrometheusExporter"]

_LOGGER = logging.getLogger("pysetl.monitoring.prometheus")


class PrometheusExporter:
    """Publishes every run's figures to a Pushgateway and/or a textfile.

    Args:
        registry: Where the exporter's own metrics live (the failed-push
            counter, pushed with every group); default: a new one, never
            the global registry.
        history: The run history to read; default: the session's.
        writer: The writer thread to work on; default: the session's (or
            the process-wide one when no session attaches it).
        **options: The options, validated by ``PrometheusOptions``.

    Raises:
        ConfigError: An option is unknown or wrong (the message names it).

    Attributes:
        options: The validated options.
        registry: The exporter's own registry.
        pusher: The Pushgateway client (``None`` without ``pushgateway``).
        exports: End-of-run and periodic exports done.
        textfile_failures: Textfile writes that failed.
    """

    def __init__(
        self,
        *,
        registry: CollectorRegistry | None = None,
        history: BaseRunHistory | None = None,
        writer: BackgroundWriter | None = None,
        **options: Any,
    ) -> None:
        """Validate the options and prepare the Pushgateway client."""
        self.options: PrometheusOptions = parse_options(
            options, owner=type(self).__name__
        )
        self.registry = registry or CollectorRegistry(auto_describe=False)
        self.instance = self.options.instance or socket.gethostname()
        self.history = history
        self.writer = writer
        self.pusher = (
            None
            if self.options.pushgateway is None
            else Pusher(self.options, self.registry, self.instance)
        )
        self.exports = 0
        self.textfile_failures = 0
        self._running: dict[str, int] = {}
        self._pending: set[str] = set()
        self._lock = threading.Lock()
        self._export_lock = threading.Lock()
        self._ticker: Ticker | None = None
        self._warned: set[str] = set()
        self._closed = False

    @classmethod
    def from_options(
        cls,
        options: PrometheusOptions,
        *,
        registry: CollectorRegistry | None = None,
        history: BaseRunHistory | None = None,
        writer: BackgroundWriter | None = None,
    ) -> PrometheusExporter:
        """An exporter built from already validated options (a config section)."""
        fields = {name: getattr(options, name) for name in options.model_fields_set}
        return cls(registry=registry, history=history, writer=writer, **fields)

    def pysetl_attach(self, session: Any) -> None:
        """Take the session's history and writer (called by ``Session``)."""
        if self.history is None:
            self.history = session.history
        if self.writer is None:
            self.writer = session.writer

    # ---------------------------------------------------------------- events
    @hook_impl
    def before_pipeline_run(self, *, pipeline_name: str) -> None:
        """Count the pipeline as running; start the periodic push."""
        interval = self.options.push_interval
        with self._lock:
            self._running[pipeline_name] = self._running.get(pipeline_name, 0) + 1
            start = self._ticker is None and self.pusher is not None
            if start and interval is not None and not self._closed:
                self._ticker = self._writer().every(
                    interval, self._push_running, key="prometheus.push"
                )

    @hook_impl
    def after_pipeline_run(self, *, pipeline_name: str) -> None:
        """Export the pipeline once the writer has written the run's rows."""
        self._finished(pipeline_name)

    @hook_impl
    def on_pipeline_run_failed(self, *, pipeline_name: str) -> None:
        """Export the pipeline once the writer has written the run's rows."""
        self._finished(pipeline_name)

    def _finished(self, pipeline: str) -> None:
        with self._lock:
            left = self._running.get(pipeline, 0) - 1
            if left > 0:
                self._running[pipeline] = left
            else:
                self._running.pop(pipeline, None)
            self._pending.add(pipeline)
            if self._closed:
                return
        # A ticker runs after the writer's pass has written what it holds
        # (a plain ``call`` could run before the run's last rows are written).
        once: list[Ticker] = []

        def export_once() -> None:
            for ticker in once:
                ticker.cancel()
            self.flush()

        once.append(self._writer().every(0.0, export_once, key="prometheus.export"))

    def _push_running(self) -> None:
        with self._lock:
            running = sorted(self._running)
        if running:
            self._export(running, textfile=False)

    # ---------------------------------------------------------------- export
    def flush(self) -> None:
        """Export the pipelines whose runs ended and were not exported yet."""
        with self._lock:
            pending, self._pending = sorted(self._pending), set()
        if pending:
            self._export(pending, textfile=True)

    def _export(self, pipelines: Collection[str], *, textfile: bool) -> None:
        history = self.history
        if history is None:
            self._warn_once(
                "history",
                "pysetl's PrometheusExporter exports nothing: runs are not "
                "recorded (monitoring.enabled or PYSETL_OBSERVE is off)",
            )
            return
        with self._export_lock:
            self.exports += 1
            if self.pusher is not None:
                for pipeline in pipelines:
                    registry = CollectorRegistry(auto_describe=False)
                    registry.register(HistoryCollector(history, pipelines=[pipeline]))
                    registry.register(self.registry)
                    self.pusher.push(pipeline, registry)
            if textfile and self.options.textfile is not None:
                self._write_textfile(history)

    def _write_textfile(self, history: BaseRunHistory) -> None:
        path = self.options.textfile
        registry = CollectorRegistry(auto_describe=False)
        registry.register(HistoryCollector(history))
        registry.register(self.registry)
        path_text = str(path)
        try:
            write_to_textfile(path_text, registry)
        except Exception as exc:  # noqa: BLE001 - an export never fails the run
            self.textfile_failures += 1
            self._warn_once(
                "textfile",
                f"pysetl cannot write the metrics textfile {path_text!r}: "
                f"{type(exc).__name__}: {exc}",
            )

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            _LOGGER.warning("%s", redact_text(message))

    def _writer(self) -> BackgroundWriter:
        if self.writer is None:
            self.writer = shared_writer()
        return self.writer

    # ---------------------------------------------------------------- close
    def close(self) -> None:
        """Stop the periodic push and export what is still pending (bounded).

        ``Session.close()`` calls it after waiting for the writer; a run that
        ended just before is exported here if the writer had not done it yet.
        """
        with self._lock:
            self._closed = True
            ticker, self._ticker = self._ticker, None
        if ticker is not None:
            ticker.cancel()
        self.flush()
        if self.pusher is not None:
            self.pusher.close()

    def __repr__(self) -> str:
        """``PrometheusExporter(pushgateway='http://...', textfile=None)``."""
        url = self.options.pushgateway
        shown = None if url is None else redact_text(url)
        return (
            f"PrometheusExporter(pushgateway={shown!r}, "
            f"textfile={self.options.textfile!r})"
        )
