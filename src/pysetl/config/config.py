"""``Config``: a bag of raw parameters validated lazily into a pydantic model.

A config keeps the keyword arguments it was given (``params``) and validates
them only when ``.config`` is read, so a config can be assembled step by step
(``set``, ``|``, ``ConfigBuilder``) and checked where it is used.

How to add a config: subclass a model (``BaseConfigModel`` or one of its
subclasses) with your fields, subclass ``Config[YourModel]`` and set
``model``; override ``config`` only to force values (as ``CsvConfig`` forces
its storage). Validation errors become ``ConfigValidationError``.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ValidationError
from typing_extensions import Self

from pysetl.config._errors import ConfigValidationError
from pysetl.config._redact import MASK, redact, register_secrets
from pysetl.utils.mixins import IsConfigurable

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["BaseConfigModel", "Config", "ConfigBuilder"]


class BaseConfigModel(BaseModel):
    """Root of every config model: says which storage the config is for.

    Attributes:
        storage: The storage kind (a ``FileStorage`` or ``DbStorage`` member).
    """

    storage: Enum


ModelT = TypeVar("ModelT", bound=BaseModel)
_M = TypeVar("_M", bound=BaseModel)
ConfigT = TypeVar("ConfigT", bound="Config[Any]")


def _secret_fields(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(
        name
        for name, field in model.model_fields.items()
        if field.annotation is not None
        and any(
            secret in str(field.annotation) for secret in ("SecretStr", "SecretBytes")
        )
    )


class Config(IsConfigurable, Generic[ModelT]):
    """Raw parameters plus a lazily validated model of them.

    ``Config`` itself has no model, so its ``config`` is ``None``; the file,
    JDBC and table configs set ``model``.

    Examples:
        >>> cfg = Config(path="/data/in.csv").set("header", "true")
        >>> cfg.get("header"), "path" in cfg
        ('true', True)

    Args:
        **kwargs: The raw parameters; nothing is validated here.
    """

    model: ClassVar[type[BaseModel] | None] = None

    def __init__(self, **kwargs: Any) -> None:
        """Store the raw parameters."""
        self.params: dict[str, Any] = dict(kwargs)

    @classmethod
    def builder(cls) -> ConfigBuilder[Self]:
        """A ``ConfigBuilder`` that creates instances of this class."""
        return ConfigBuilder(cls)

    def set(self, key: str, value: Any) -> Self:
        """Set the raw parameter ``key`` to ``value``; returns this config."""
        self.params[key] = value
        return self

    def get(self, key: str) -> Any:
        """The raw value of ``key``.

        Raises:
            KeyError: ``key`` was never set.
        """
        return self.params[key]

    def has(self, key: str) -> bool:
        """Whether ``key`` is set."""
        return key in self.params

    def __contains__(self, key: object) -> bool:
        """``key in config`` is ``config.has(key)``."""
        return key in self.params

    def __or__(self, other: object) -> Self:
        """A new config of this class with both params; ``other`` wins on clashes."""
        if not isinstance(other, Config):
            return NotImplemented
        return type(self).builder().from_dict(self.params | other.params)

    def __str__(self) -> str:
        """``PySetl <Class>:`` then a ``key: value`` line per param, secrets masked."""
        secrets = self._secret_fields()
        lines = "".join(
            f"\n  {key}: {_shown(value, key, secrets)}"
            for key, value in self.params.items()
        )
        return f"PySetl {type(self).__name__}:{lines}"

    __repr__ = __str__

    @classmethod
    def _secret_fields(cls) -> frozenset[str]:
        return _secret_fields(cls.model) if cls.model is not None else frozenset()

    def _validate(self, model: type[_M], **forced: Any) -> _M:
        """Build ``model`` from the params, ``forced`` values winning.

        Raises:
            ConfigValidationError: The params do not fit ``model``.
        """
        try:
            resolved = model(**(self.params | forced))
        except ValidationError as exc:
            raise ConfigValidationError.wrap(
                exc, config=type(self).__name__, secret_fields=_secret_fields(model)
            ) from None
        register_secrets(resolved)  # masked in every output from now on
        return resolved

    @property
    def config(self) -> ModelT | None:
        """The validated model, rebuilt on every access (``None`` without a model).

        Raises:
            ConfigValidationError: The params are invalid (it is also a
                ``pydantic.ValidationError`` and a ``ConfigError``).
        """
        if self.model is None:
            return None
        return self._validate(self.model)  # type: ignore[return-value]

    @property
    def config_dict(self) -> dict[str, Any]:
        """The model's declared fields with defaults filled in; no extra keys."""
        model = self.config
        if model is None:
            return {}
        return {name: getattr(model, name) for name in type(model).model_fields}

    @property
    def reader_config(self) -> dict[str, Any]:
        """Options for the Spark reader (none for a bare ``Config``)."""
        return {}

    @property
    def writer_config(self) -> dict[str, Any]:
        """Options for the Spark writer (none for a bare ``Config``)."""
        return {}


def _shown(value: Any, key: str, secrets: frozenset[str]) -> Any:
    if key in secrets and value is not None:
        return MASK
    return redact(value, key)


class ConfigBuilder(Generic[ConfigT]):
    """Creates configs of one class from a dict or an object's attributes.

    Args:
        cls: The config class to instantiate.
    """

    def __init__(self, cls: type[ConfigT]) -> None:
        """Remember the config class."""
        self.cls = cls

    def from_dict(self, params: Mapping[str, Any]) -> ConfigT:
        """A config with each item of ``params`` set, in order."""
        config = self.cls()
        for key, value in params.items():
            config.set(key, value)
        return config

    def from_object(self, obj: object) -> ConfigT:
        """A config from ``vars(obj)`` minus dunder names (a class works too)."""
        return self.from_dict(
            {k: v for k, v in vars(obj).items() if not k.startswith("__")}
        )
