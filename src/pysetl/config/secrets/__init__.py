"""Secrets for project configs: references, backends, lazy values, access control.

A config value ``${secret:SCHEME:PATH[#KEY]}`` names where a secret lives;
the loader asks a ``SecretResolver`` to ``bind`` it to the config entry that
wrote it, and gets a ``LazySecret`` (a pydantic ``SecretStr``) that fetches
the value on first use and never renders it.

Backends: ``env:`` (``EnvSecretBackend``), ``file:`` (``FileSecretBackend``,
Docker and Kubernetes mounts), ``vault:`` (``VaultSecretBackend``, hvac,
extra ``vault``) and ``aws:`` (``AwsSecretsManagerBackend``, boto3, extra
``aws``). How to add a backend: see ``BaseSecretBackend``.

Added in 0.3.
"""

from __future__ import annotations

from pysetl.config.secrets._aws import AwsSecretsManagerBackend
from pysetl.config.secrets._base import BaseSecretBackend
from pysetl.config.secrets._env import EnvSecretBackend
from pysetl.config.secrets._file import DEFAULT_SECRET_ROOTS, FileSecretBackend
from pysetl.config.secrets._lazy import LazySecret
from pysetl.config.secrets._reference import SecretReference, parse_reference
from pysetl.config.secrets._resolver import (
    ENTRY_POINT_GROUP,
    SecretPolicy,
    SecretResolver,
)
from pysetl.config.secrets._vault import VaultSecretBackend

__all__ = [
    "DEFAULT_SECRET_ROOTS",
    "ENTRY_POINT_GROUP",
    "AwsSecretsManagerBackend",
    "BaseSecretBackend",
    "EnvSecretBackend",
    "FileSecretBackend",
    "LazySecret",
    "SecretPolicy",
    "SecretReference",
    "SecretResolver",
    "VaultSecretBackend",
    "parse_reference",
]
