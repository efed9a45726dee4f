"""The monitoring package: its exported names, and no JVM at import."""

from __future__ import annotations

import json
import subprocess
import sys

import pysetl.monitoring
from pysetl.monitoring import history

_PROBE = """
import json, sys
import pysetl.monitoring, pysetl.cli.commands
roots = ("pyspark", "py4j")
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in roots)))
"""


class TestPackage:
    def test_exports_the_stores_and_the_recorder(self):
        assert pysetl.monitoring.__all__ == [
            "BaseRunHistory",
            "FactoryMetrics",
            "HistoryLogHandler",
            "HistoryRecorder",
            "InMemoryRunHistory",
            "MetricsCollector",
            "PostgresRunHistory",
            "RunSummary",
            "SparkFigures",
            "SqlRunHistory",
            "SqliteRunHistory",
            "kpi",
            "open_history",
        ]

    def test_every_store_is_a_base_run_history(self):
        for name in ("InMemoryRunHistory", "SqlRunHistory", "SqliteRunHistory"):
            assert issubclass(getattr(history, name), history.BaseRunHistory)
        assert issubclass(history.PostgresRunHistory, history.SqlRunHistory)

    def test_importing_it_starts_no_jvm(self):
        result = subprocess.run(  # noqa: S603 - our interpreter and probe
            [sys.executable, "-c", _PROBE],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        assert json.loads(result.stdout.strip().splitlines()[-1]) == []
