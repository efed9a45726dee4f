"""``HistoryLogHandler`` ignores what the observers' writer thread logs."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from pysetl.monitoring.history import (
    HistoryLogHandler,
    HistoryRecorder,
    InMemoryRunHistory,
)
from pysetl.utils.writer import BackgroundWriter

RUN = "01HANDLER"


class Broken:
    """A sink that always fails: the writer logs its failure on its own thread."""

    writer_key = "broken-sink"

    def write_batch(self, items: Sequence[Any], /) -> None:
        msg = "cannot write"
        raise OSError(msg)


@pytest.fixture
def setup() -> Iterator[tuple[InMemoryRunHistory, BackgroundWriter, logging.Logger]]:
    """A recorder with its own writer, its handler on a test logger and the writer's."""
    history = InMemoryRunHistory()
    writer = BackgroundWriter(retries=0)
    recorder = HistoryRecorder(history, writer=writer)
    recorder.before_pipeline_run(run_id=RUN, pipeline_name="p", timestamp=time.time())
    handler = HistoryLogHandler(recorder, level=logging.DEBUG)
    loggers = [
        logging.getLogger("pysetl.tests.handler"),
        logging.getLogger("pysetl.utils.writer"),
    ]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    try:
        yield history, writer, loggers[0]
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
            logger.setLevel(logging.NOTSET)
        recorder.close()
        writer.close()


def messages(history: InMemoryRunHistory) -> list[str]:
    return [line.message for line in history.search_logs(RUN).items]


class TestWriterThreadRecords:
    def test_a_line_logged_on_the_writer_thread_is_not_stored(self, setup):
        history, writer, logger = setup
        logger.info("from the run")
        writer.call(logger.info, "from the writer")
        assert writer.drain()
        logger.info("from the run again")
        assert writer.drain()
        assert messages(history) == ["from the run", "from the run again"]

    def test_the_writers_own_failure_reports_are_not_stored(self, setup):
        """A failing store's ERROR cannot feed back into the history."""
        history, writer, _ = setup
        writer.put(Broken(), "item")
        assert writer.drain()
        assert writer.failures == {"broken-sink": 1}
        assert messages(history) == []
