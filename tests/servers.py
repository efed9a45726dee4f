"""Debian's monitoring servers, started by the tests on free loopback ports.

Prometheus, the Pushgateway and Alertmanager all answer ``/-/ready``; this
module starts one as a process, waits until it is ready (or fails the test
with the end of its log), and stops it however the test ends.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

READY_TIMEOUT = 30.0


def free_port() -> int:
    """A loopback port nobody listens on (now)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def binary(name: str) -> str:
    """The path of Debian's ``name`` (fails the test when it is not installed)."""
    path = shutil.which(name) or f"/usr/bin/{name}"
    if not Path(path).is_file():
        pytest.fail(
            f"{name} is not installed: run scripts/dev.sh (apt-get install {name})"
        )
    return path


@contextlib.contextmanager
def ready_process(
    args: list[str],
    url: str,
    log: Path,
    *,
    ssl_context: Any = None,
    headers: dict[str, str] | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``args`` until the block ends, once ``url``/-/ready answers 200.

    The process's output goes to ``log``; a process that exits or is not
    ready within ``READY_TIMEOUT`` seconds fails the test with its log.
    """
    with log.open("wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603 - our own binaries, fixed arguments
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while not _ready(url, ssl_context, headers):
            if process.poll() is not None:
                pytest.fail(f"{args[0]} exited: {log.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                pytest.fail(
                    f"{args[0]} not ready in {READY_TIMEOUT}s: {log.read_text()}"
                )
            time.sleep(0.1)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _ready(url: str, ssl_context: Any, headers: dict[str, str] | None) -> bool:
    request = urllib.request.Request(f"{url}/-/ready", headers=headers or {})  # noqa: S310 - our own loopback server
    try:
        with urllib.request.urlopen(request, timeout=1, context=ssl_context) as answer:  # noqa: S310 - our own server
            return bool(answer.status == 200)
    except OSError:
        return False
