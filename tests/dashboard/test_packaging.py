"""The dashboard starts without a JVM: nothing it imports loads pyspark."""

from __future__ import annotations

import subprocess
import sys


def test_importing_and_building_the_app_never_loads_pyspark():
    code = (
        "import sys\n"
        "from pysetl.dashboard import create_app\n"
        "from pysetl.monitoring.history import InMemoryRunHistory\n"
        "import pysetl.cli.ui_cmd\n"
        "create_app(InMemoryRunHistory())\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'pyspark'))\n"
    )
    result = subprocess.run(  # noqa: S603 - our interpreter and our code
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "[]"
