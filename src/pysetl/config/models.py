"""Models of a project config: connector sections, the project schema, JSON Schema.

A project config has an optional ``spark`` section (``app_name`` and Spark
settings) and a ``connectors`` section: one entry per dataset, whose
``storage`` picks its config class (``CONFIG_CLASSES``):

```yaml
spark:
  app_name: shop
  spark.sql.shuffle.partitions: 8
connectors:
  orders:
    storage: csv            # CsvConfig
    path: /data/orders.csv
  customers:
    storage: JDBC           # JdbcConfig
    url: jdbc:postgresql://db:5432/shop
    table: customers
    user: etl
    password: ${secret:env:SHOP_DB_PASSWORD}
```

Other top-level sections are allowed (validate them with
``ResolvedConfig.section(key, YourModel)``). ``storage`` values are matched
without regard to case (``csv``, ``CSV``, ``jdbc``, ``JDBC``).

How to validate your own section: write a pydantic model (its validators
are your custom rules) and call ``resolved.section("my_section", MyModel)``;
or pass ``rules=[...]`` to ``load_config`` for checks across sections.

Added in 0.3.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, Union

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    RootModel,
    SecretStr,
    Tag,
)

from pysetl.config._options import unknown_option
from pysetl.config._problems import Problem, raise_problems
from pysetl.config._validate import located
from pysetl.config.csv_config import CsvConfig, CsvConfigModel
from pysetl.config.generic_config import GenericFileConfig, GenericFileConfigModel
from pysetl.config.jdbc_config import JdbcConfig, JdbcConfigModel
from pysetl.config.json_config import JsonConfig, JsonConfigModel
from pysetl.config.orc_config import OrcConfig, OrcConfigModel
from pysetl.config.parquet_config import ParquetConfig, ParquetConfigModel
from pysetl.config.profiles import masked
from pysetl.config.table_config import SparkTableConfig, SparkTableConfigModel
from pysetl.enums import DbStorage, FileStorage
from pysetl.errors import PySetlWarning

_SPARK_PREFIX = "spark."
_SPARK_HINT = "write Spark settings as key: value (spark.sql.shuffle.partitions: 8)"

if TYPE_CHECKING:
    from pysetl.config.config import Config
    from pysetl.config.profiles import ResolvedConfig

__all__ = [
    "CONFIG_CLASSES",
    "JSON_SCHEMA_DIALECT",
    "ConnectorConfigModel",
    "ProjectConfigModel",
    "UnknownOptionWarning",
    "config_json_schema",
    "connector_configs",
    "spark_settings",
    "storage_of",
    "unknown_options",
]

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

CONFIG_CLASSES: dict[Enum, type[Config[Any]]] = {
    FileStorage.CSV: CsvConfig,
    FileStorage.PARQUET: ParquetConfig,
    FileStorage.JSON: JsonConfig,
    FileStorage.ORC: OrcConfig,
    FileStorage.GENERIC: GenericFileConfig,
    DbStorage.JDBC: JdbcConfig,
    DbStorage.SPARK_SQL: SparkTableConfig,
}
"""The config class of each storage a connector entry may name."""


def storage_of(value: Any) -> Enum | None:
    """The storage a connector's ``storage`` value names (any case), or ``None``."""
    if isinstance(value, Enum):
        return value if value in CONFIG_CLASSES else None
    if not isinstance(value, str):
        return None
    for storage in CONFIG_CLASSES:
        if str(storage.value).lower() == value.lower():
            return storage
    return None


def _tag(value: Any) -> str | None:
    raw = (
        value.get("storage")
        if isinstance(value, dict)
        else getattr(value, "storage", None)
    )
    storage = storage_of(raw)
    return None if storage is None else str(storage.value)


def _normalise(entry: Any) -> Any:
    """Give ``storage`` the exact value its model expects (``jdbc`` -> ``JDBC``)."""
    if isinstance(entry, dict):
        storage = storage_of(entry.get("storage"))
        if storage is not None:
            return {**entry, "storage": storage}
    return entry


ConnectorConfigModel = Annotated[
    Union[  # noqa: UP007 - Tag annotations need the Union form
        Annotated[CsvConfigModel, Tag(FileStorage.CSV.value)],
        Annotated[ParquetConfigModel, Tag(FileStorage.PARQUET.value)],
        Annotated[JsonConfigModel, Tag(FileStorage.JSON.value)],
        Annotated[OrcConfigModel, Tag(FileStorage.ORC.value)],
        Annotated[GenericFileConfigModel, Tag(FileStorage.GENERIC.value)],
        Annotated[JdbcConfigModel, Tag(DbStorage.JDBC.value)],
        Annotated[SparkTableConfigModel, Tag(DbStorage.SPARK_SQL.value)],
    ],
    Discriminator(
        _tag,
        custom_error_type="unknown_storage",
        custom_error_message=(
            "storage must be one of csv, parquet, json, orc, generic, JDBC, SPARK_SQL"
        ),
    ),
    BeforeValidator(_normalise),
]
"""One connector entry: the model of its ``storage``."""


class _Connectors(RootModel[dict[str, ConnectorConfigModel]]):
    """The connector section: entries by name."""


class ProjectConfigModel(BaseModel):
    """The schema of a project config (other top-level sections are allowed).

    Attributes:
        spark: ``app_name`` and Spark settings (``spark.sql.shuffle.partitions``).
        connectors: One entry per dataset; ``storage`` picks its model.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    spark: dict[str, str | int | float | bool | SecretStr | dict[str, Any]] = Field(
        default_factory=dict
    )
    connectors: dict[str, ConnectorConfigModel] = Field(default_factory=dict)


class UnknownOptionWarning(PySetlWarning):
    """A file connector entry has a key that is neither a setting nor a Spark option.

    Added in 0.4.
    """


def unknown_options(
    resolved: ResolvedConfig, section: str = "connectors"
) -> list[Problem]:
    """The keys of connector entries that are no known option, located.

    A file connector passes the keys that are not fields of its model to
    Spark, which ignores those it does not know, so a misspelled option
    (``headr``, ``delimter``) would do nothing, silently. Each problem names
    the file, line and key, and the closest valid name. They are warnings,
    not errors: Spark accepts options the list in
    ``pysetl.config._options`` does not hold (see there).

    Args:
        resolved: The loaded config.
        section: The connector section.

    Returns:
        One problem (type ``unknown_option``) per unknown key, in file order.

    Added in 0.4.
    """
    raw = resolved.get(section, None)
    problems: list[Problem] = []
    if not isinstance(raw, Mapping):
        return problems
    for name, entry in raw.items():
        storage = (
            storage_of(entry.get("storage")) if isinstance(entry, Mapping) else None
        )
        if not isinstance(storage, FileStorage):
            continue  # JDBC and Spark SQL forbid unknown keys; unknown storages fail
        model = CONFIG_CLASSES[storage].model
        fields = model.model_fields if model is not None else {}
        for key in entry:
            msg = unknown_option(str(key), storage, fields)
            if msg is not None:
                problems.append(
                    located(resolved, (section, name, key), msg, "unknown_option")
                )
    return problems


def connector_configs(
    resolved: ResolvedConfig, section: str = "connectors"
) -> dict[str, Config[Any]]:
    """The ``Config`` object of every entry of ``section`` (none if it is missing).

    A key that is no known option of its entry (a misspelled ``headr``) is
    reported with an ``UnknownOptionWarning`` (see ``unknown_options``).

    Raises:
        ConfigLoadError: Listing every invalid entry with file, line and key path.

    Changed in 0.4: warns about unknown options.
    """
    raw = resolved.get(section, None)
    if raw is None:
        return {}
    models = resolved.section(section, _Connectors).root
    for problem in unknown_options(resolved, section):
        warnings.warn(problem.describe(), UnknownOptionWarning, stacklevel=2)
    configs: dict[str, Config[Any]] = {}
    for name, model in models.items():
        written = raw[name]
        extra = model.model_extra or {}
        params = {
            key: extra[key] if key in extra else getattr(model, key) for key in written
        }
        configs[name] = CONFIG_CLASSES[model.storage](**params)
    return configs


def spark_settings(resolved: ResolvedConfig, section: str = "spark") -> dict[str, Any]:
    """The Spark section as flat settings: nested mappings become dotted keys.

    ``spark: {sql: {shuffle: {partitions: 8}}}`` and
    ``spark: {spark.sql.shuffle.partitions: 8}`` give the same setting,
    ``spark.sql.shuffle.partitions`` (a nested key is prefixed with
    ``spark.`` unless it starts with it; a top-level key is kept as written,
    ``app_name`` included). A secret (``${secret:...}``, ``enc:``) stays a
    lazy ``SecretStr``: it is read when the Spark session is built.

    Raises:
        ConfigLoadError: The section is not a mapping or holds a list.
    """
    raw = resolved.get(section, None)
    if raw is None:
        return {}
    flat: dict[str, Any] = {}
    bad: list[tuple[str, ...]] = []

    def walk(node: Any, path: tuple[str, ...]) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                walk(value, (*path, key))
        elif isinstance(node, str | int | float | bool | SecretStr):
            key = ".".join(path[1:])
            nested = len(path) > 2  # noqa: PLR2004 - section, then 2+ levels
            if nested and not key.startswith(_SPARK_PREFIX):
                key = _SPARK_PREFIX + key
            flat[key] = node
        else:
            bad.append(path)

    walk(raw, (section,))
    if bad or not isinstance(raw, Mapping):
        problems = [
            located(resolved, path, "expected a string, number or boolean", "spark")
            for path in bad or [(section,)]
        ]
        raise_problems(problems, what=f"the {section!r} section", hint=_SPARK_HINT)
    return flat


def config_json_schema(schema: type[BaseModel] | None = None) -> dict[str, Any]:
    """The JSON Schema of ``schema`` (default: ``ProjectConfigModel``) for editors.

    ``pysetl config schema`` writes it; point your editor's YAML plugin at it.
    Secret fields are ``writeOnly`` strings; the defaults (and examples) of
    secret-named fields are masked, so a default password never ends up in
    the schema file.
    """
    model = ProjectConfigModel if schema is None else schema
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        **_masked_defaults(model.model_json_schema()),
    }


def _masked_defaults(node: Any, name: str = "") -> Any:
    """The schema with secret values in defaults and examples masked.

    A secret-named property's default is masked whole; any other default is
    masked key by key (``{"password": ...}`` inside a model's default).
    """
    if isinstance(node, list):
        return [_masked_defaults(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "properties" and isinstance(value, dict):
            out[key] = {
                prop: _masked_defaults(schema, prop) for prop, schema in value.items()
            }
        elif key in {"default", "const"}:
            out[key] = masked(value, name)
        elif key in {"examples", "enum"} and isinstance(value, list):
            out[key] = [masked(item, name) for item in value]
        else:
            out[key] = _masked_defaults(value)
    return out
