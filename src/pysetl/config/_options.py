"""The options each file connector knows, and the closest one to a misspelled key.

A file connector entry (``csv``, ``json``, ``parquet``, ``orc``) hands every
key that is not a field of its model to Spark as a reader and writer
option, and Spark ignores options it does not know: ``headr: "false"``
silently reads the header line as data. ``unknown_option`` compares a
key with the entry's fields and with the options Spark documents for the
format (case-insensitively, as Spark does), and names the closest valid one.

Why a warning, not an error: Spark accepts options this list does not hold
(those of a newer Spark, of a vendor runtime, of a Hadoop input format), so
failing on them would break configs that work. Keys with a dot
(``parquet.bloom.filter.enabled``, ``fs.s3a.endpoint``) are Hadoop or format
properties and never reported. A ``generic`` entry names any format, so only
keys close to one of its pysetl fields (``partiton_by``) are reported there.
JDBC and Spark SQL table entries forbid unknown keys already (their Spark
options go under ``options:``); their error names the closest field too.

How to add an option: add it to the format's set below (Spark's spelling).

Added in 0.4.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from pysetl.enums import FileStorage

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["SPARK_OPTIONS", "closest", "unknown_option"]

# Options every file source reads or writes (Spark's "Generic File Source
# Options" and the writer's).
_FILE_SOURCE = frozenset(
    {
        "basePath",
        "compression",
        "ignoreCorruptFiles",
        "ignoreMissingFiles",
        "maxRecordsPerFile",
        "modifiedAfter",
        "modifiedBefore",
        "partitionOverwriteMode",
        "pathGlobFilter",
        "recursiveFileLookup",
    }
)
# Options of the text formats, CSV and JSON alike.
_TEXT = frozenset(
    {
        "charset",
        "columnNameOfCorruptRecord",
        "dateFormat",
        "enableDateTimeParsingFallback",
        "encoding",
        "lineSep",
        "locale",
        "mode",
        "multiLine",
        "samplingRatio",
        "timeZone",
        "timestampFormat",
        "timestampNTZFormat",
    }
)
_CSV = frozenset(
    {
        "charToEscapeQuoteEscaping",
        "codec",
        "comment",
        "delimiter",
        "emptyValue",
        "enforceSchema",
        "escape",
        "escapeQuotes",
        "header",
        "ignoreLeadingWhiteSpace",
        "ignoreTrailingWhiteSpace",
        "inferSchema",
        "maxCharsPerColumn",
        "maxColumns",
        "nanValue",
        "negativeInf",
        "nullValue",
        "positiveInf",
        "preferDate",
        "quote",
        "quoteAll",
        "sep",
        "unescapedQuoteHandling",
    }
)
_JSON = frozenset(
    {
        "allowBackslashEscapingAnyCharacter",
        "allowComments",
        "allowNonNumericNumbers",
        "allowNumericLeadingZeros",
        "allowSingleQuotes",
        "allowUnquotedControlChars",
        "allowUnquotedFieldNames",
        "dropFieldIfAllNull",
        "ignoreNullFields",
        "inferTimestamp",
        "prefersDecimal",
        "primitivesAsString",
    }
)
_COLUMNAR = frozenset({"mergeSchema"})
_PARQUET = frozenset({"datetimeRebaseMode", "int96RebaseMode"})

SPARK_OPTIONS: dict[FileStorage, frozenset[str]] = {
    FileStorage.CSV: _FILE_SOURCE | _TEXT | _CSV,
    FileStorage.JSON: _FILE_SOURCE | _TEXT | _JSON,
    FileStorage.PARQUET: _FILE_SOURCE | _COLUMNAR | _PARQUET,
    FileStorage.ORC: _FILE_SOURCE | _COLUMNAR,
}
"""The Spark options of each file format whose options pysetl checks."""

_CUTOFF = 0.75


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate closest to ``name`` (ignoring case), if any is close enough."""
    by_lower = {candidate.lower(): candidate for candidate in candidates}
    found = difflib.get_close_matches(name.lower(), by_lower, n=1, cutoff=_CUTOFF)
    return by_lower[found[0]] if found else None


def unknown_option(key: str, storage: FileStorage, fields: Iterable[str]) -> str | None:
    """Why ``key`` of a ``storage`` entry is not an option, or ``None`` if it is one.

    Args:
        key: A key of the entry, as written.
        storage: The entry's file format.
        fields: The fields of its pysetl model (``path``, ``savemode``...).

    Returns:
        The problem's message, naming the closest valid name when there is
        one; ``None`` for a known field or option, or a dotted property.
    """
    fields = frozenset(fields)
    options = SPARK_OPTIONS.get(storage)
    known = fields | (options or frozenset())
    if "." in key or key.lower() in {name.lower() for name in known}:
        return None
    near = closest(key, known)
    kind = storage.value.lower()
    if options is None:  # a generic format: its options are not known here
        if near is None or near not in fields:
            return None
        return f"unknown key {key!r} of a {kind} connector; did you mean {near!r}?"
    msg = (
        f"unknown option {key!r} of a {kind} connector: neither a pysetl setting "
        f"nor a Spark {kind} option, so Spark ignores it"
    )
    return f"{msg}; did you mean {near!r}?" if near else f"{msg}; check its spelling"
