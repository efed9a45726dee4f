"""How configs mask their secrets, through the one redaction point.

Every ``str``/``repr`` of a config and every config error message goes
through ``redact``, so a password never reaches a log line, a terminal
or a run history row. Resolving a config registers its ``SecretStr`` values
with the process-wide redactor (``register_secrets``), so the same
values are masked in every other output too (logs, errors, history).
The rules themselves live in ``pysetl.utils.redaction``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, SecretBytes, SecretStr

from pysetl.utils.redaction import MASK, default_redactor, is_secret_key

__all__ = ["MASK", "is_secret_key", "redact", "register_secrets"]


def redact(value: Any, key: object = "") -> Any:
    """Return ``value`` with every secret in it replaced by ``MASK``.

    Secrets are ``SecretStr``/``SecretBytes`` values, the values of
    secret-named keys, at any depth of dicts and lists, and registered
    secrets or secret patterns inside strings.

    Args:
        value: What is about to be shown.
        key: The option name ``value`` belongs to, if any.

    Returns:
        A copy safe to print (``value`` itself when it holds no secret).
    """
    if isinstance(value, SecretStr | SecretBytes):
        default_redactor().register_secret(value)
        return MASK
    if is_secret_key(key) and value is not None and not isinstance(value, Mapping):
        return MASK
    if isinstance(value, Mapping):
        return {k: redact(v, k) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact(v, key) for v in value)
    if isinstance(value, str):
        return default_redactor().redact_text(value)
    # Anything else is shown as is; a pydantic model's repr already hides the
    # fields declared with repr=False.
    return value


def register_secrets(model: BaseModel) -> None:
    """Register every ``SecretStr``/``SecretBytes`` value of ``model`` (nested too).

    Called when a config is resolved, so the secret values are masked in
    every output of the process from then on.
    """
    redactor = default_redactor()
    for name in type(model).model_fields:
        _register(getattr(model, name, None), redactor.register_secret)


def _register(value: Any, register: Any) -> None:
    if isinstance(value, SecretStr | SecretBytes):
        register(value)
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            _register(getattr(value, name, None), register)
    elif isinstance(value, Mapping):
        for item in value.values():
            _register(item, register)
    elif isinstance(value, list | tuple):
        for item in value:
            _register(item, register)
