"""``extends:``: a mapping inherits the keys of templates (config paths or files).

Rules (resolved after every layer is merged, before interpolation):

* ``extends: _jdbc`` (or ``extends: [_jdbc, _pooled]``) makes the mapping
  it is written in inherit the keys of the mapping at that dotted path;
  ``extends: templates/jdbc.yaml`` inherits a file's top-level mapping
  (relative to the file that says ``extends``, else to the config root);
* the mapping's own keys win over inherited ones (deep: an inherited nested
  mapping is merged, not replaced); of several templates a later one wins;
* templates may extend other templates; a cycle, a missing template, a
  template that is not a mapping or a mapping extending its own ancestor is
  an error with file, line and key;
* top-level keys starting with ``_`` are templates: they are removed from
  the resolved config once inheritance is done;
* a file template cannot use ``extends`` (at any depth), so file
  templates never form a cycle.

Added in 0.3.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pysetl.config._files import SUFFIXES, read_config_file
from pysetl.config._merge import Source, copy_value, deep_merge, merge_layer
from pysetl.config._problems import KeyPath, Problem
from pysetl.config.profiles import find_path

if TYPE_CHECKING:
    from pysetl.config._merge import Origins
    from pysetl.config.profiles import Provenance

__all__ = ["EXTENDS_KEY", "MAX_COPIED", "TEMPLATE_PREFIX", "resolve_extends"]

EXTENDS_KEY = "extends"
"""The key that names a mapping's templates."""

TEMPLATE_PREFIX = "_"
"""Top-level keys starting with it are templates, dropped after inheritance."""

MAX_COPIED = 100_000
"""The most values inheritance may copy in one config (a guard against
templates that double at every level, a "billion laughs" of ``extends``)."""


def resolve_extends(
    data: dict[str, Any],
    origins: Origins,
    *,
    root: Path,
    problems: list[Problem],
    cleared: set[KeyPath] | None = None,
) -> None:
    """Resolve every ``extends:`` in ``data`` in place, then drop the templates.

    ``cleared``: key paths a layer deleted or replaced; nothing is inherited
    at or under them.
    """
    _Extender(data, origins, root, problems, cleared or set()).expand_tree(())
    for key in [key for key in data if key.startswith(TEMPLATE_PREFIX)]:
        del data[key]


def _extends_keys(data: dict[str, Any], path: KeyPath) -> list[KeyPath]:
    """Remove every ``extends`` key of ``data`` (nested too); return their paths."""
    found: list[KeyPath] = []
    if EXTENDS_KEY in data:
        data.pop(EXTENDS_KEY)
        found.append((*path, EXTENDS_KEY))
    for key, value in data.items():
        if isinstance(value, dict):
            found.extend(_extends_keys(value, (*path, key)))
    return found


def _get(data: dict[str, Any], path: KeyPath) -> Any:
    node: Any = data
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    return node


@dataclass
class _Extender:
    data: dict[str, Any]
    origins: Origins
    root: Path
    problems: list[Problem]
    cleared: set[KeyPath]
    done: set[KeyPath] = field(default_factory=set)
    stack: list[KeyPath] = field(default_factory=list)
    copied: int = 0

    def expand_tree(self, path: KeyPath) -> None:
        node = _get(self.data, path)
        if not isinstance(node, dict):
            return  # a template that is not a mapping: reported by the caller
        self.expand(path)
        for key in list(node):
            if isinstance(node.get(key), dict):
                self.expand_tree((*path, key))

    def _problem(self, path: KeyPath, msg: str) -> None:
        where = self._where(path)
        self.problems.append(
            Problem(msg, file=where.file, line=where.line, key=path, type="extends")
        )

    def _where(self, path: KeyPath) -> Provenance:
        """Where the ``extends`` key at ``path`` was written (it has an origin)."""
        return self.origins[path][0]

    def expand(self, path: KeyPath) -> None:
        node = _get(self.data, path)
        if path in self.done or not isinstance(node, dict) or EXTENDS_KEY not in node:
            self.done.add(path)
            return
        here = (*path, EXTENDS_KEY)
        self.stack.append(path)
        try:
            spec = node.pop(EXTENDS_KEY)
            targets = [spec] if isinstance(spec, str) else spec
            if not isinstance(targets, list) or not all(
                isinstance(t, str) and t for t in targets
            ):
                self._problem(here, "extends must be a template name or a list of them")
                return
            inherited: dict[str, Any] = {}
            inherited_origins: Origins = {}
            for target in targets:
                found = self._template(path, target)
                if found is None:
                    continue
                template, template_origins = found
                inherited = deep_merge(inherited, template)
                for key, provenance in template_origins.items():
                    # A later template wins over an earlier one.
                    inherited_origins[key] = [
                        *provenance,
                        *inherited_origins.get(key, []),
                    ]
            self._keep_out(path, inherited, inherited_origins)
            merged = deep_merge(inherited, node)
            node.clear()
            node.update(merged)
            for key, provenance in inherited_origins.items():
                # The mapping's own values win over inherited ones.
                self.origins[key] = [*self.origins.get(key, []), *provenance]
        finally:
            self.stack.pop()
            self.done.add(path)

    def _keep_out(
        self, path: KeyPath, inherited: dict[str, Any], inherited_origins: Origins
    ) -> None:
        """Drop what a layer deleted or replaced under ``path`` from ``inherited``."""
        size = len(path)
        for gone in self.cleared:
            if len(gone) <= size or gone[:size] != path:
                continue
            node: Any = inherited
            for part in gone[size:-1]:
                node = node.get(part) if isinstance(node, dict) else None
            if isinstance(node, dict):
                node.pop(gone[-1], None)
            for key in [k for k in inherited_origins if k[: len(gone)] == gone]:
                del inherited_origins[key]

    def _template(
        self, path: KeyPath, target: str
    ) -> tuple[dict[str, Any], Origins] | None:
        here = (*path, EXTENDS_KEY)
        if target.endswith(SUFFIXES):
            return self._file_template(path, target)
        tpath = find_path(self.data, target)
        if tpath is None:
            self._problem(here, f"extends {target!r}: no such key in the config")
            return None
        if tpath in self.stack or path[: len(tpath)] == tpath:
            self._problem(
                here, f"extends {target!r}: a cycle (a template inherits from itself)"
            )
            return None
        for end in range(1, len(tpath)):
            self.expand(tpath[:end])
        # The whole template first: a copy must hold no ``extends`` left to
        # resolve, or a template nesting itself would grow without end.
        self.expand_tree(tpath)
        template = _get(self.data, tpath)
        if not isinstance(template, dict):
            self._problem(
                here,
                f"extends {target!r}: expected a mapping, "
                f"got {type(template).__name__}",
            )
            return None
        under = self._under(tpath)
        self.copied += len(under)
        if self.copied > MAX_COPIED:
            self._problem(
                here,
                f"extends {target!r}: inheritance copies more than {MAX_COPIED} "
                "values (templates doubling at every level?)",
            )
            return None
        size = len(tpath)
        via = f"extends {target}"
        template_origins = {
            (*path, *key[size:]): [
                replace(o, via=o.via or via) for o in self.origins[key]
            ]
            for key in under
        }
        return copy_value(template), template_origins

    def _under(self, tpath: KeyPath) -> list[KeyPath]:
        """The key paths strictly under ``tpath`` that have provenance."""
        size = len(tpath)
        return [key for key in self.origins if len(key) > size and key[:size] == tpath]

    def _file_template(
        self, path: KeyPath, target: str
    ) -> tuple[dict[str, Any], Origins] | None:
        here = (*path, EXTENDS_KEY)
        where = self._where(here)
        candidates = [Path(target)] if Path(target).is_absolute() else []
        if where.file is not None:
            candidates.append(where.file.parent / target)
        candidates.append(self.root / target)
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            self._problem(here, f"extends {target!r}: no such file")
            return None
        parsed = read_config_file(found)
        self.problems.extend(parsed.problems)
        for key in _extends_keys(parsed.data, ()):
            # A file may extend files (itself too): refused, so no cycle is possible.
            self.problems.append(
                Problem(
                    "a file template cannot use extends (at any depth)",
                    file=found,
                    line=parsed.line_of(key),
                    key=key,
                    type="extends",
                )
            )
        layer = where.layer
        template: dict[str, Any] = {}
        file_origins: Origins = {}
        merge_layer(
            template,
            parsed.data,
            Source(layer, found, parsed.lines, via=f"extends {target}"),
            file_origins,
        )
        return template, {(*path, *key): found for key, found in file_origins.items()}
