"""``diff_configs()``: what changed between two resolved configs, key by key.

Both sides are nested mappings (``ResolvedConfig.as_dict(masked=True)``, or
the masked content of a stored version). They are flattened to dotted key
paths (``db.pool.size``); mappings are walked, while lists and scalars are
compared as whole values, the way the loader's deep merge replaces them. A
key whose value turns from a mapping into a scalar (or back) shows as its
old leaves removed and the new value added.

Values are masked once more on the way out (a key path naming a secret, such
as ``db.password``, shows ``**********``; registered secrets are masked in
text), so a change list is always safe to print, log or store in the audit.

Examples:
    >>> old, new = {"db": {"host": "a", "port": 1}}, {"db": {"host": "b"}}
    >>> for change in diff_configs(old, new):
    ...     print(change)
    ~ db.host: 'a' -> 'b'
    - db.port: 1

Added in 0.3.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pysetl.utils.redaction import MASK, is_secret_key, redact_value

__all__ = [
    "ChangeKind",
    "ConfigChange",
    "diff_configs",
    "flatten_config",
    "mask_config_value",
]

ChangeKind = Literal["added", "removed", "changed"]
_SIGNS = {"added": "+", "removed": "-", "changed": "~"}


@dataclass(frozen=True, slots=True)
class ConfigChange:
    """One key path whose value differs between two configs.

    Attributes:
        key: The dotted key path (``db.pool.size``).
        kind: ``added``, ``removed`` or ``changed``.
        old: The value before (``None`` when added), masked.
        new: The value after (``None`` when removed), masked.
    """

    key: str
    kind: ChangeKind
    old: Any = None
    new: Any = None

    def to_dict(self) -> dict[str, Any]:
        """The change as a JSON-able mapping (for the audit trail)."""
        return {"key": self.key, "kind": self.kind, "old": self.old, "new": self.new}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ConfigChange:
        """The change that ``to_dict`` wrote."""
        return cls(str(data["key"]), data["kind"], data.get("old"), data.get("new"))

    def __str__(self) -> str:
        """``+ key: new``, ``- key: old`` or ``~ key: old -> new``."""
        sign = _SIGNS[self.kind]
        if self.kind == "added":
            return f"{sign} {self.key}: {self.new!r}"
        if self.kind == "removed":
            return f"{sign} {self.key}: {self.old!r}"
        return f"{sign} {self.key}: {self.old!r} -> {self.new!r}"


def flatten_config(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``config`` as ``{dotted key path: leaf value}`` (lists are leaves).

    An empty mapping is a leaf of its own (``{}``), so adding or removing
    one shows in a diff.
    """
    flat: dict[str, Any] = {}
    for key, value in config.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten_config(value, f"{path}."))
        else:
            flat[path] = dict(value) if isinstance(value, Mapping) else value
    return flat


def mask_config_value(path: str, value: Any) -> Any:
    """``value`` masked if any part of its dotted key ``path`` names a secret.

    Anything else goes through the redaction point (registered secrets and
    secret patterns in text are masked).
    """
    if value is not None and any(is_secret_key(part) for part in path.split(".")):
        return MASK
    return redact_value(value)


def diff_configs(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[ConfigChange]:
    """The changes from ``old`` to ``new``, sorted by key path.

    Args:
        old: The config before (nested mappings, secrets already masked).
        new: The config after.

    Returns:
        One ``ConfigChange`` per key path added, removed or changed; empty
        when both are equal.
    """
    before, after = flatten_config(old), flatten_config(new)
    changes: list[ConfigChange] = []
    for key in sorted(before.keys() | after.keys()):
        if key not in after:
            changes.append(
                ConfigChange(key, "removed", mask_config_value(key, before[key]))
            )
        elif key not in before:
            changes.append(
                ConfigChange(key, "added", None, mask_config_value(key, after[key]))
            )
        elif before[key] != after[key] or type(before[key]) is not type(after[key]):
            changes.append(
                ConfigChange(
                    key,
                    "changed",
                    mask_config_value(key, before[key]),
                    mask_config_value(key, after[key]),
                )
            )
    return changes
