"""``ConfigValidationError``: a config failed validation.

It is at the same time a ``pysetl.errors.ConfigError`` (new code,
``InvalidConfigException``) and a ``pydantic.ValidationError`` (code
written against the old API, where pydantic's error propagated from
``Config.config``), so both kinds of ``except`` clause catch it.

``errors`` is a list of problems (the ``ConfigError`` attribute) that can
also be called like pydantic's ``ValidationError.errors()``.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from pysetl.config._redact import MASK, is_secret_key, redact
from pysetl.errors import ConfigError

__all__ = ["ConfigValidationError"]


class _Problems(list[dict[str, Any]]):
    """A list of problems that can also be called like ``ValidationError.errors()``."""

    def __call__(self, **_options: Any) -> list[dict[str, Any]]:
        """Return a copy of the problems, as ``ValidationError.errors()`` does."""
        return [dict(problem) for problem in self]


def _safe_input(loc: tuple[Any, ...], value: Any, secrets: frozenset[str]) -> Any:
    if loc and (str(loc[-1]) in secrets or is_secret_key(loc[-1])):
        return MASK
    return redact(value)


def _describe(problem: dict[str, Any]) -> str:
    # Only the *type* of the input is shown, never its value.
    where = ".".join(str(part) for part in problem["loc"]) or "<config>"
    line = f"{where}: {problem['msg']}"
    if problem["type"] != "missing":
        line += f" (got {type(problem.get('input')).__name__})"
    return line


class ConfigValidationError(ConfigError, ValidationError):
    """A config's values do not fit its model; names the config and each field.

    Attributes:
        config: The config class name (``"JdbcConfig"``).
        errors: One dict per problem (``loc``, ``msg``, ``type``, ``input``), with
            secret inputs masked. Calling it (``errors()``) also works.

    Added in 0.2.
    """

    errors: _Problems  # type: ignore[assignment]

    def __init__(self, *_pydantic_args: Any, **_pydantic_kwargs: Any) -> None:
        """Start empty; pydantic's ``from_exception_data`` builds the instance.

        Use ``wrap`` to create one.
        """
        ConfigError.__init__(self, "")
        self.errors = _Problems()

    @classmethod
    def wrap(
        cls,
        exc: ValidationError,
        *,
        config: str,
        secret_fields: frozenset[str] = frozenset(),
    ) -> ConfigValidationError:
        """Turn pydantic's error about ``config`` into a redacted error of ours.

        Args:
            exc: The error pydantic raised.
            config: The name of the config class that was validated.
            secret_fields: Field names whose input must never be shown.

        Returns:
            The new error, chained to nothing; raise it ``from exc``.
        """
        raw = exc.errors(include_url=False)
        problems = [
            {
                "type": e["type"],
                "loc": tuple(e["loc"]),
                "msg": e["msg"],
                "input": _safe_input(tuple(e["loc"]), e.get("input"), secret_fields),
                **({"ctx": e["ctx"]} if "ctx" in e else {}),
            }
            for e in raw
        ]
        error = cls.from_exception_data(
            config,
            [{k: v for k, v in p.items() if k != "msg"} for p in problems],  # type: ignore[misc]
            hide_input=True,
        )
        count = len(problems)
        noun = "problem" if count == 1 else "problems"
        lines = "\n".join(f"  - {_describe(dict(e))}" for e in raw)
        error.message = f"Invalid {config}: {count} {noun}\n{lines}"
        error.hint = (
            f"Fix the listed keys of {config}; docs/config.md lists every key "
            "and its type."
        )
        error.args = (error.message,)
        error.config = config
        error.errors = _Problems(
            {k: v for k, v in p.items() if k != "ctx"} for p in problems
        )
        return error
