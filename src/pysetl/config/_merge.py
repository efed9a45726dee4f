"""Deep merge of config layers, recording where every value came from.

The rules, applied when a higher layer (or a later file) is merged over a
lower one:

* two mappings merge key by key, recursively: a profile that sets
  ``connectors.orders.path`` keeps every other key of ``connectors.orders``;
* lists and scalars replace the lower value entirely (lists are never
  concatenated);
* ``null`` is a value like any other: it replaces the lower value with
  ``None`` (the key stays);
* the string ``"__delete__"`` removes the key (and everything under it) from
  the lower layers, so a model's default applies again;
* a key written with a trailing ``!`` (``orders!:``) replaces the lower
  mapping instead of merging into it.

A deleted or replaced key is not filled in again by ``extends:``: a
template's value does not come back under a deleted key, and a replaced
mapping inherits nothing under it.

Added in 0.3.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pysetl.config.profiles import Provenance, masked

if TYPE_CHECKING:
    from pathlib import Path

    from pysetl.config._problems import KeyPath

__all__ = [
    "DELETE",
    "REPLACE_SUFFIX",
    "SUBTREE",
    "Origins",
    "Source",
    "copy_value",
    "deep_merge",
    "merge_layer",
]

DELETE = "__delete__"
"""The value that removes a key from the lower layers."""

SUBTREE = "{...}"
"""How a nested mapping is shown in a mapping's provenance value."""

REPLACE_SUFFIX = "!"
"""A key ending with it replaces the lower mapping instead of merging."""

Origins = dict["KeyPath", list[Provenance]]
"""Where each key path's values came from, the winner first."""


@dataclass(frozen=True, slots=True)
class Source:
    """Where one piece of config data comes from.

    Attributes:
        layer: The layer's name (``base``, the env name, ``environ``...).
        file: The file, when the data was read from one.
        lines: The line of each key path in ``file``.
        via: How it got there, when not plainly written (``PYSETL_A__B``).
    """

    layer: str
    file: Path | None = None
    lines: Mapping[KeyPath, int] = field(default_factory=dict)
    via: str | None = None

    def line_of(self, path: KeyPath) -> int | None:
        """The line of ``path`` or of its nearest ancestor, if known."""
        for end in range(len(path), 0, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return None

    def provenance(self, path: KeyPath, value: Any, rel: KeyPath = ()) -> Provenance:
        """The ``Provenance`` of ``value`` (at ``rel`` in the file, ``path`` here).

        A mapping is shown one level deep (nested mappings as ``{...}``): its
        keys have provenance of their own, and copying whole subtrees at
        every level would make loading quadratic in the nesting.
        """
        key = path[-1] if path else ""
        if isinstance(value, Mapping):
            shown: Any = {
                str(k): SUBTREE if isinstance(v, Mapping) else masked(v, k)
                for k, v in value.items()
            }
        else:
            shown = masked(value, key)
        return Provenance(
            file=self.file,
            line=self.line_of(rel or path),
            layer=self.layer,
            value=shown,
            via=self.via,
        )


def copy_value(value: Any) -> Any:
    """A deep copy of plain config data (mappings become dicts, lists stay lists)."""
    if isinstance(value, Mapping):
        return {key: copy_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [copy_value(item) for item in value]
    return value


def _split_marker(key: str) -> tuple[str, bool]:
    if len(key) > len(REPLACE_SUFFIX) and key.endswith(REPLACE_SUFFIX):
        return key[: -len(REPLACE_SUFFIX)], True
    return key, False


def _forget_below(origins: Origins, path: KeyPath) -> None:
    """Drop the provenance of the keys under ``path`` (replaced or deleted)."""
    size = len(path)
    for key in [k for k in origins if len(k) > size and k[:size] == path]:
        del origins[key]


def merge_layer(
    target: dict[str, Any],
    data: Mapping[str, Any],
    source: Source,
    origins: Origins,
    *,
    path: KeyPath = (),
    rel: KeyPath = (),
    cleared: set[KeyPath] | None = None,
) -> None:
    """Merge ``data`` over ``target`` in place, following the module's rules.

    Args:
        target: The config merged so far (changed in place).
        data: The new layer's (or file's) data, of higher precedence.
        source: Where ``data`` comes from.
        origins: Provenance per key path; the new values are put first.
        path: Where ``data`` sits in ``target`` (for nested calls).
        rel: Where ``data`` sits in ``source``'s file (for line numbers).
        cleared: Collects the key paths deleted (``__delete__``) or replaced
            (``key!:``), which ``extends:`` must not fill in again.
    """
    for raw_key, value in data.items():
        key, replace = _split_marker(raw_key)
        where = (*path, key)
        origins.setdefault(where, []).insert(
            0, source.provenance(where, value, (*rel, raw_key))
        )
        current = target.get(key)
        if isinstance(current, dict) and (replace or not isinstance(value, Mapping)):
            _forget_below(origins, where)  # replaced or deleted: the keys are gone
        if cleared is not None and (replace or value == DELETE):
            cleared.add(where)
        if isinstance(value, str) and value == DELETE:
            target.pop(key, None)
            continue
        if isinstance(value, Mapping):
            if replace or not isinstance(current, dict):
                current = target[key] = {}
            merge_layer(
                current,
                value,
                source,
                origins,
                path=where,
                rel=(*rel, raw_key),
                cleared=cleared,
            )
        else:
            target[key] = copy_value(value)


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """A new mapping: ``override`` deep-merged over ``base`` (markers ignored)."""
    merged: dict[str, Any] = copy_value(base)
    for key, value in override.items():
        current = merged.get(key)
        if isinstance(value, Mapping) and isinstance(current, dict):
            merged[key] = deep_merge(current, value)
        else:
            merged[key] = copy_value(value)
    return merged
