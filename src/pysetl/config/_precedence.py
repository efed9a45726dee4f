"""THE precedence order of a project config: the one place that defines it.

From the highest to the lowest, a value comes from:

1. ``overrides``: the mapping passed to ``load_config(overrides=...)``
   (code, ``PySetl.builder().load_config(overrides=...)``, tests);
2. ``environ``: environment variables ``PYSETL_<KEY>__<SUBKEY>...``; only
   names with at least one ``__`` are read (so ``PYSETL_ENV``,
   ``PYSETL_HISTORY_URL``... never land in the config); each part matches an
   existing key case-insensitively, with ``.`` and ``-`` in the key read as
   ``_``, else it is the lower-cased part; values are strings;
3. the profile: the files of ``conf/<env>/``; its layer is named after the
   environment (``prod``);
4. ``base``: the files of ``conf/base/``;
5. ``defaults``: the mapping passed to ``load_config(defaults=...)``; then the
   defaults of the pydantic model a section is validated into.

Within one layer, files are merged in name order (``a.yaml`` then
``b.yaml``): a later file wins. Inheritance (``extends:``) is resolved after
all layers are merged: a mapping's own keys win over what it inherits, and
of several templates (``extends: [_a, _b]``) a later one wins over an
earlier one. How two values merge (mappings deep, lists and scalars
replace) is defined in ``pysetl.config._merge``.

Added in 0.3.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

__all__ = [
    "BASE",
    "DEFAULTS",
    "ENVIRON",
    "ENV_NESTED",
    "ENV_PREFIX",
    "OVERRIDES",
    "PRECEDENCE",
    "PROFILE",
    "RESERVED_ENV_NAMES",
    "merge_order",
    "sort_layer_files",
]

OVERRIDES = "overrides"
ENVIRON = "environ"
PROFILE = "profile"
BASE = "base"
DEFAULTS = "defaults"

PRECEDENCE: tuple[str, ...] = (OVERRIDES, ENVIRON, PROFILE, BASE, DEFAULTS)
"""The layers, highest precedence first."""

ENV_PREFIX = "PYSETL_"
"""Prefix of the environment variables that override config keys."""

ENV_NESTED = "__"
"""Separator of key levels in those variable names."""

RESERVED_ENV_NAMES = frozenset({OVERRIDES, ENVIRON, PROFILE, BASE, DEFAULTS})
"""Names an environment (profile) may not have: they name other layers."""


def merge_order() -> tuple[str, ...]:
    """The layers in the order they are merged: lowest first, so higher ones win."""
    return tuple(reversed(PRECEDENCE))


def sort_layer_files(files: Iterable[Path]) -> list[Path]:
    """The files of one layer in merge order (by name: a later file wins)."""
    return sorted(files, key=lambda path: path.name)
