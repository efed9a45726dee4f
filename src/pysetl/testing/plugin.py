"""The pytest plugin of pysetl: Spark, run-history and recorder fixtures.

Installed with pysetl, it is loaded by pytest in every project through the
``pytest11`` entry point (or explicitly: ``pytest -p pysetl.testing.plugin``).
It imports neither pyspark nor SQLAlchemy until a fixture that needs them
is requested, so projects that use neither pay nothing.

Fixtures:

* ``pysetl_spark`` (session scope): a ``local[1]`` SparkSession for tests
  (see ``local_spark_session``), stopped at the end of the session (unless
  it was running before: then it is reused and left running);
* ``pysetl_history``: an empty run history, in memory by default; to run a
  test over both local kinds, parametrize it indirectly:

    ```python
    @pytest.mark.parametrize("pysetl_history", ["memory", "sqlite"], indirect=True)
    ```

* ``pysetl_recorder``: a ``HistoryRecorder`` writing to ``pysetl_history``
  on a writer thread of its own, drained and closed at teardown.

Added in 0.5.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pyspark.sql import SparkSession

    from pysetl.monitoring.history import BaseRunHistory, HistoryRecorder

__all__ = ["pysetl_history", "pysetl_recorder", "pysetl_spark"]


@pytest.fixture(scope="session")
def pysetl_spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    """A ``local[1]`` SparkSession shared by the test session, stopped at its end.

    A session that was already running when the fixture was first asked for
    (a notebook's, or an outer test session's) is reused and left running.
    """
    from pysetl.testing._spark import local_spark_session  # noqa: PLC0415 - lazy
    from pysetl.workflow.spark import active_spark_context  # noqa: PLC0415 - lazy

    running = active_spark_context() is not None
    session = local_spark_session(work_dir=tmp_path_factory.mktemp("pysetl-spark"))
    yield session
    if not running:
        session.stop()


@pytest.fixture
def pysetl_history(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BaseRunHistory]:
    """An empty run history: ``"memory"`` (default) or ``"sqlite"`` (indirect param)."""
    from pysetl.testing._history import temporary_history  # noqa: PLC0415 - lazy

    kind = getattr(request, "param", "memory")
    history = temporary_history(kind, tmp_path_factory.mktemp("pysetl-history"))
    yield history
    history.close()


@pytest.fixture
def pysetl_recorder(pysetl_history: BaseRunHistory) -> Iterator[HistoryRecorder]:
    """A ``HistoryRecorder`` on ``pysetl_history``, drained at teardown."""
    from pysetl.monitoring.history import HistoryRecorder  # noqa: PLC0415 - lazy
    from pysetl.utils.writer import BackgroundWriter  # noqa: PLC0415

    writer = BackgroundWriter()
    recorder = HistoryRecorder(pysetl_history, writer=writer)
    yield recorder
    recorder.close()
    writer.close()
