"""The typing contract: ``tests/typing/api.py`` passes ``mypy --strict``.

mypy runs in a subprocess with its cache in pytest's cache directory, so only
the first run of a checkout pays for a cold start (about 10 s).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
API = ROOT / "tests" / "typing" / "api.py"


@pytest.fixture(scope="module")
def cache_dir(request: pytest.FixtureRequest, tmp_path_factory) -> Path:
    cache = getattr(request.config, "cache", None)
    if cache is not None:
        return Path(cache.mkdir("mypy"))
    return tmp_path_factory.mktemp("mypy-cache")


def mypy(path: Path, cache_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our interpreter, our files
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--cache-dir",
            str(cache_dir),
            "--no-error-summary",
            "--hide-error-context",
            str(path),
        ],
        cwd=ROOT,  # picks up [tool.mypy] from pyproject.toml
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


class TestTypingContract:
    def test_the_public_api_usage_passes_mypy_strict(self, cache_dir):
        result = mypy(API, cache_dir)
        assert result.returncode == 0, result.stdout + result.stderr

    def test_a_wrong_type_is_reported(self, cache_dir, tmp_path):
        """mypy really sees pysetl's types (nothing is silently ``Any``)."""
        wrong = tmp_path / "wrong.py"
        wrong.write_text(
            "from typing_extensions import assert_type\n"
            "from pysetl.workflow import Delivery, Pipeline\n"
            "assert_type(Delivery[int]().get(), str)\n"
            "assert_type(Pipeline().run(), int)\n"
        )
        result = mypy(wrong, cache_dir)
        assert result.returncode == 1
        assert result.stdout.count("[assert-type]") == 2, result.stdout
        assert 'Expression is of type "int", not "str"' in result.stdout
        assert 'Expression is of type "Pipeline", not "int"' in result.stdout
