"""``ResolvedConfig``: a project's merged config, its provenance and its version.

``load_config`` (in ``pysetl.config.loader``) returns one. It is an
immutable ``Mapping`` of the top-level keys, with dotted access
(``get("connectors.orders.path")``), provenance (``explain``), a masked
JSON-able view (``as_dict``), a content hash (``version``) and validation
into pydantic models (``section``, ``validate``, ``connectors``).

Added in 0.3.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from pydantic import BaseModel, SecretBytes, SecretStr

from pysetl.utils.redaction import MASK, Redactor, is_secret_key

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from pysetl.config.config import Config

__all__ = ["Provenance", "ResolvedConfig", "ValidationRule", "masked"]

M = TypeVar("M", bound=BaseModel)
_MISSING: Any = object()
# A redactor nobody registers secrets with: masking must not depend on what
# the process resolved so far, or the version of a config would change.
_MASKER = Redactor()

ValidationRule: TypeAlias = Callable[["ResolvedConfig"], Iterable[tuple[str, str]]]
"""A custom rule: called with the config, yields ``(dotted key, message)`` pairs."""


def masked(value: Any, key: object = "") -> Any:
    """``value`` as it may be shown: secrets, ``enc:`` and secret-named keys masked.

    The result is JSON-able: enum members become their value and any other
    object (given in code) its ``str``. Deterministic (it ignores secrets
    registered with the process redactor), so the same config always gives
    the same masked view and version.
    """
    if isinstance(value, Mapping):
        return {str(k): masked(v, k) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [masked(item, key) for item in value]
    if isinstance(value, Enum):  # given in code (``overrides=``)
        value = value.value
    secret = isinstance(value, SecretStr | SecretBytes) or (
        value is not None and is_secret_key(key)
    )
    if secret or (isinstance(value, str) and value.startswith("enc:")):
        return MASK
    if value is None or isinstance(value, bool | int | float):
        return value
    return _MASKER.redact_text(str(value))  # text, or any object given in code


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where one value of a config came from.

    Attributes:
        file: The file it is written in (``None`` for the environment,
            overrides and defaults).
        line: The 1-based line of its key in ``file``, when known.
        layer: The layer: ``defaults``, ``base``, the environment's name
            (``prod``), ``environ`` or ``overrides``.
        value: The value as written there, masked (``**********`` for secrets).
        via: How it got there when not written plainly: the environment
            variable (``PYSETL_DB__HOST``) or the inheritance
            (``extends _jdbc``).
    """

    file: Path | None
    line: int | None
    layer: str
    value: Any
    via: str | None = None

    def describe(self) -> str:
        """``file:line (layer)`` or ``layer via ...``: a one-line location."""
        where = "" if self.file is None else str(self.file)
        if self.line is not None:
            where += f":{self.line}"
        via = f" via {self.via}" if self.via else ""
        return f"{where} ({self.layer}){via}".strip()


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(item) for item in value)
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_thaw(item) for item in value]
    return value


def find_path(
    data: Mapping[str, Any], key: str | Sequence[str]
) -> tuple[str, ...] | None:
    """The key path ``key`` names in ``data``, or ``None``.

    A dotted string is split on dots, but a key that itself contains dots
    (``spark.sql.shuffle.partitions``) is found too: at each level the
    longest run of parts that is a key wins. A tuple is taken as is.
    """
    if not isinstance(key, str):
        path = tuple(key)
        return path if _walk(data, path) is not _MISSING else None
    parts = key.split(".")
    found: list[str] = []
    node: Any = data
    start = 0
    while start < len(parts):
        if not isinstance(node, Mapping):
            return None
        for end in range(len(parts), start, -1):
            name = ".".join(parts[start:end])
            if name in node:
                found.append(name)
                node = node[name]
                start = end
                break
        else:
            return None
    return tuple(found)


def _walk(data: Any, path: Sequence[str]) -> Any:
    node = data
    for part in path:
        if not isinstance(node, Mapping) or part not in node:
            return _MISSING
        node = node[part]
    return node


class ResolvedConfig(Mapping[str, Any]):
    """A project's config after merging, inheritance and interpolation.

    Created by ``pysetl.config.loader.load_config``; immutable.

    Attributes:
        env: The environment (profile) loaded, or ``None`` for base only.
        root: The config directory (``conf``).
        files: ``(layer, path)`` of every file read, in merge order.
        model: The validated model when ``load_config(schema=...)`` was given.

    Examples:
        >>> cfg = load_config("conf", "prod")
        >>> cfg.get("connectors.orders.path")
        's3://shop-prod/orders'
        >>> cfg.explain("connectors.orders.path")[0].describe()
        'conf/prod/catalog.yaml:3 (prod)'
    """

    def __init__(
        self,
        data: Mapping[str, Any],
        *,
        env: str | None,
        root: Path,
        files: Sequence[tuple[str, Path]] = (),
        origins: Mapping[tuple[str, ...], Sequence[Provenance]] | None = None,
    ) -> None:
        """Hold the resolved data (copied) and the provenance of each key path."""
        self._data: dict[str, Any] = _thaw(data)
        self._frozen: Mapping[str, Any] = _freeze(self._data)
        self.env = env
        self.root = root
        self.files: tuple[tuple[str, Path], ...] = tuple(files)
        self._origins = {k: tuple(v) for k, v in (origins or {}).items()}
        self.model: BaseModel | None = None

    # ------------------------------------------------------------ Mapping
    def __getitem__(self, key: str) -> Any:
        """The (read-only) value of top-level ``key``."""
        return self._frozen[key]

    def __iter__(self) -> Iterator[str]:
        """The top-level keys."""
        return iter(self._frozen)

    def __len__(self) -> int:
        """The number of top-level keys."""
        return len(self._frozen)

    def __repr__(self) -> str:
        """``ResolvedConfig(env='prod', root='conf', version='1a2b3c4d5e6f')``."""
        return (
            f"ResolvedConfig(env={self.env!r}, root={str(self.root)!r}, "
            f"version={self.version[:12]!r})"
        )

    # ------------------------------------------------------------- access
    def get(self, key: str | Sequence[str], default: Any = None) -> Any:
        """The value at a dotted key path (``"connectors.orders.path"``) or ``default``.

        As for any ``Mapping``, a missing key gives ``default`` (``None``);
        use ``cfg["connectors"]`` or ``key in cfg`` to tell a missing key
        from a ``null`` value.

        Args:
            key: A dotted path (a key that itself holds dots, such as
                ``spark.sql.shuffle.partitions``, is found too) or a tuple of keys.
            default: Returned when the key is missing.
        """
        path = find_path(self._frozen, key)
        return default if path is None else _walk(self._frozen, path)

    def explain(self, key: str | Sequence[str]) -> list[Provenance]:
        """Where ``key``'s value came from: the winner first, then what it overrode.

        Raises:
            KeyError: ``key`` is not in the config.
        """
        path = find_path(self._frozen, key)
        if path is None:
            raise KeyError(key)
        return list(self._origins.get(path, ()))

    def locate(self, path: Sequence[Any]) -> Provenance | None:
        """The winning provenance of ``path`` or of its nearest ancestor having one."""
        parts = tuple(path)
        for end in range(len(parts), 0, -1):
            found = self._origins.get(parts[:end])
            if found:
                return found[0]
        return None

    def as_dict(self, *, masked: bool = True) -> dict[str, Any]:
        """A plain copy; with ``masked`` (the default) JSON-able with secrets masked.

        Masked: ``SecretStr`` values (``${secret:...}``, ``enc:...``), the
        values of secret-named keys and secret patterns in text become
        ``**********``. Unmasked values keep the lazy secrets as objects.
        """
        if masked:
            return _masked_dict(self._data)
        plain: dict[str, Any] = _thaw(self._data)
        return plain

    @cached_property
    def version(self) -> str:
        """sha256 hex of the canonical JSON of ``as_dict(masked=True)``."""
        text = json.dumps(
            self.as_dict(masked=True),
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
            default=str,
        )
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    # --------------------------------------------------------- validation
    def section(
        self,
        key: str | Sequence[str],
        model: type[M],
        *,
        rules: Iterable[ValidationRule] = (),
    ) -> M:
        """Validate the mapping at ``key`` into ``model`` (see ``validate``).

        Raises:
            ConfigLoadError: Listing every problem with file, line and key path.
        """
        from pysetl.config._validate import validate_section  # noqa: PLC0415

        return validate_section(self, key, model, rules=rules)

    def validate(
        self,
        schema: type[M],
        *,
        rules: Iterable[ValidationRule] = (),
    ) -> M:
        """Validate the whole config into ``schema``; custom ``rules`` run as well.

        Values are converted by pydantic's lax rules, whatever the model's
        ``strict`` setting (``"5"`` -> ``5``, ``"true"``/``"1"``/``"yes"`` ->
        ``True``, ``"append"`` -> ``SaveMode.APPEND``); nothing else is
        converted (a number is never turned into a string, ``1.5`` never into
        an int).

        Raises:
            ConfigLoadError: Listing every problem at once (model errors and
                rule violations), each with file, line and key path.
        """
        from pysetl.config._validate import validate_section  # noqa: PLC0415

        return validate_section(self, (), schema, rules=rules)

    def check_encrypted(self) -> None:
        """Decrypt every ``enc:`` value now, rather than on first use.

        ``pysetl config validate`` calls it, so a key that cannot decrypt
        the values fails validation (after a key rotation, say).

        Raises:
            ConfigLoadError: Listing every value that cannot be decrypted,
                with file, line and key path.

        Added in 0.4.
        """
        from pysetl.config._validate import check_encrypted  # noqa: PLC0415

        check_encrypted(self)

    def connectors(self, section: str = "connectors") -> dict[str, Config[Any]]:
        """The ``Config`` objects of the connector section, by name.

        Each entry's ``storage`` picks the config class (``csv`` ->
        ``CsvConfig``, ``JDBC`` -> ``JdbcConfig``...; see
        ``pysetl.config.models.CONFIG_CLASSES``).

        Raises:
            ConfigLoadError: Listing every invalid entry with file, line and key.
        """
        from pysetl.config.models import connector_configs  # noqa: PLC0415

        return connector_configs(self, section)


def _masked_dict(data: Mapping[str, Any]) -> dict[str, Any]:
    result = masked(data)
    return result if isinstance(result, dict) else {}
