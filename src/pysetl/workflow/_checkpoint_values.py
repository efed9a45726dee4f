"""How a deliverable is kept in a checkpoint, and read back: no pickle, ever.

Three formats, chosen from the value:

* ``parquet``: a Spark ``DataFrame`` (a typedspark ``DataSet`` too) is
  written as Parquet, and its schema as JSON next to it; it is read back
  with that schema given, so reading it back starts no Spark job (Spark
  infers a Parquet schema with a job of its own), and a ``DataSet[S]`` is
  wrapped in the factory's declared class again;
* ``json``: a value made of ``None``, ``bool``, ``int``, ``float``, ``str``,
  ``list``, ``tuple``, ``dict``, ``set``, ``frozenset``, ``bytes``,
  ``Decimal``, ``date`` and ``datetime``, at any depth. What JSON has no
  word for carries a type tag (``{"$type": "tuple", "items": [...]}``;
  every ``dict`` is tagged, so its keys keep their types), so the value read
  back is equal to the value written and of the same types;
* ``unsupported``: anything else. It is not kept; the stage's manifest says
  which factory made it, its type and why, and restoring it fails with a
  ``CheckpointError`` that says so. Pickle would keep it, but reading a
  pickle runs code from a file: a checkpoint must never be able to do that.

Added in 0.6.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import sys
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "UnsupportedValueError",
    "decode",
    "encode",
    "is_dataframe",
    "parquet_rows",
    "read_json",
    "read_parquet",
    "write_json",
    "write_parquet",
]

_SCHEMA_FILE = "_pysetl_schema.json"


class UnsupportedValueError(TypeError):
    """A value (or a part of it) has no pickle-free form; ``where`` says which part."""

    def __init__(self, where: str, value: Any) -> None:
        """Name the part (``value[2]['x']``) and its type."""
        kind = type(value)
        self.where = where
        self.type_name = f"{kind.__module__}.{kind.__qualname__}"
        super().__init__(f"{where} is a {self.type_name}")


def is_dataframe(value: Any) -> bool:
    """Whether ``value`` is a Spark DataFrame (classic or Connect).

    pyspark is not imported: without it loaded, nothing is a DataFrame.
    """
    if "pyspark" not in sys.modules:
        return False
    return any(
        c.__name__ == "DataFrame" and c.__module__.startswith("pyspark.sql")
        for c in type(value).__mro__
    )


# ------------------------------------------------------------------- JSON
def encode(value: Any, where: str = "value") -> Any:  # noqa: PLR0911 - one case per type
    """``value`` as JSON-ready data, with a type tag where JSON has none.

    Raises:
        UnsupportedValueError: A part of ``value`` has no JSON form.
    """
    if value is None or type(value) in {bool, str, int}:
        return value
    if type(value) is float:
        return (
            value if math.isfinite(value) else {"$type": "float", "value": str(value)}
        )
    if type(value) is list:
        return [encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if type(value) in {tuple, set, frozenset}:
        items = value if type(value) is tuple else sorted(value, key=repr)
        return {
            "$type": type(value).__name__,
            "items": [encode(v, f"{where}[{i}]") for i, v in enumerate(items)],
        }
    if type(value) is dict:
        return {
            "$type": "dict",
            "items": [
                [encode(k, f"{where} key {k!r}"), encode(v, f"{where}[{k!r}]")]
                for k, v in value.items()
            ],
        }
    if type(value) is bytes:
        return {"$type": "bytes", "value": base64.b64encode(value).decode("ascii")}
    if type(value) is Decimal:
        return {"$type": "Decimal", "value": str(value)}
    if type(value) is dt.datetime:
        return {"$type": "datetime", "value": value.isoformat()}
    if type(value) is dt.date:
        return {"$type": "date", "value": value.isoformat()}
    raise UnsupportedValueError(where, value)


_DECODERS: dict[str, Any] = {
    "float": lambda d: float(d["value"]),
    "tuple": lambda d: tuple(decode(v) for v in d["items"]),
    "set": lambda d: {decode(v) for v in d["items"]},
    "frozenset": lambda d: frozenset(decode(v) for v in d["items"]),
    "dict": lambda d: {decode(k): decode(v) for k, v in d["items"]},
    "bytes": lambda d: base64.b64decode(d["value"]),
    "Decimal": lambda d: Decimal(d["value"]),
    "datetime": lambda d: dt.datetime.fromisoformat(d["value"]),
    "date": lambda d: dt.date.fromisoformat(d["value"]),
}


def decode(data: Any) -> Any:
    """The value ``encode`` made ``data`` of.

    Raises:
        ValueError: An unknown type tag (a file not written by pysetl).
    """
    if isinstance(data, list):
        return [decode(v) for v in data]
    if isinstance(data, dict):
        tag = data.get("$type")
        decoder = _DECODERS.get(tag) if isinstance(tag, str) else None
        if decoder is None:
            msg = f"unknown type tag {tag!r}"
            raise ValueError(msg)
        return decoder(data)
    return data


def write_json(value: Any, path: Path) -> None:
    """Write ``value`` (``encode``) to ``path``.

    Raises:
        UnsupportedValueError: A part of ``value`` has no JSON form.
    """
    text = json.dumps({"value": encode(value)}, ensure_ascii=False)
    path.write_text(text, encoding="utf-8")


def read_json(path: Path) -> Any:
    """The value ``write_json`` wrote to ``path``."""
    return decode(json.loads(path.read_text(encoding="utf-8"))["value"])


# --------------------------------------------------------------- Parquet
def write_parquet(frame: Any, path: Path) -> dict[str, Any]:
    """Write a DataFrame to ``path`` as Parquet; its schema as JSON data."""
    frame.write.mode("overwrite").parquet(str(path))
    schema = json.loads(frame.schema.json())
    (path / _SCHEMA_FILE).write_text(json.dumps(schema), encoding="utf-8")
    return schema  # type: ignore[no-any-return]


def parquet_rows(path: Path) -> int | None:
    """Rows in the Parquet files under ``path``, from their footers (no Spark job).

    ``None`` when pyarrow (the ``spark`` extra) is not installed.
    """
    try:
        import pyarrow.parquet as pq  # noqa: PLC0415 - optional, only here
    except ImportError:  # pragma: no cover - pyarrow comes with the spark extra
        return None
    files = path.glob("*.parquet")
    return sum(int(pq.ParquetFile(p).metadata.num_rows) for p in files)


def read_parquet(path: Path, spark: Any, declared: Any = None) -> Any:
    """The DataFrame under ``path``, read with its recorded schema (no Spark job).

    Args:
        path: What ``write_parquet`` wrote.
        spark: The SparkSession to read with.
        declared: The factory's output type; a typedspark ``DataSet[S]``
            class wraps the frame again.
    """
    from pyspark.sql.types import StructType  # noqa: PLC0415 - only with Spark

    schema = StructType.fromJson(
        json.loads((path / _SCHEMA_FILE).read_text(encoding="utf-8"))
    )
    frame = spark.read.schema(schema).parquet(str(path))
    if "typedspark" in sys.modules and isinstance(declared, type):
        from typedspark import DataSet  # noqa: PLC0415 - optional

        if issubclass(declared, DataSet):
            return declared(frame)
    return frame
