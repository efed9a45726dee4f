"""Fixtures of the secret tests: a fresh Redactor, a fake Vault, moto's server."""

from __future__ import annotations

import importlib.util
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pysetl.utils import redaction


def _load_fake_vault() -> Any:
    # Tests are no package (import mode importlib): load the module by path.
    name = "pysetl_tests_fake_vault"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, Path(__file__).with_name("fake_vault.py")
        )
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


FakeVault = _load_fake_vault().FakeVault


@pytest.fixture
def redactor() -> redaction.Redactor:
    """The process-wide Redactor: a fresh one per test (the root conftest's reset)."""
    return redaction.default_redactor()


@pytest.fixture
def secret_value() -> str:
    """A value unique to the test, so it cannot collide with any other text."""
    return f"s3cret-{uuid.uuid4().hex}"


@pytest.fixture
def vault() -> Iterator[Any]:
    server = FakeVault().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    """moto's AWS server on loopback (a real HTTP endpoint for boto3)."""
    if importlib.util.find_spec("moto") is None:  # pragma: no cover
        pytest.skip("moto[server] is not installed")
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, moto_server: str) -> str:
    """Dummy credentials and a region for boto3; returns moto's endpoint."""
    for name in (
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_SECRETS_MANAGER",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    return moto_server


@pytest.fixture
def secretsmanager(aws_env: str):
    """A real boto3 client against moto, to create the secrets the tests read."""
    import boto3

    return boto3.client("secretsmanager", region_name="us-east-1", endpoint_url=aws_env)
