"""``load_config``: a project's config from ``conf/base`` and ``conf/<env>``.

Layout:

```text
conf/
  base/            # always read: *.yaml, *.yml, *.toml (not sub-directories)
    catalog.yaml
    spark.toml
  dev/             # read on top of base when the environment is "dev"
    catalog.yaml
  prod/
    catalog.yaml
```

The environment comes from the ``env`` argument, else ``PYSETL_ENV``; with
neither only ``base`` is read. Each file holds a mapping; the files of a
layer and the layers are deep-merged (``pysetl.config._merge``) in the
precedence order of ``pysetl.config._precedence`` (overrides >
``PYSETL_A__B`` variables > ``conf/<env>`` > ``conf/base`` > defaults). Then
``extends:`` is resolved (``pysetl.config._extends``), then
``${env:...}``, ``${secret:...}`` and ``enc:`` values
(``pysetl.config._interpolate``; templates, dropped before, are never
interpolated), and finally the optional schema and
rules validate it (``ResolvedConfig.validate``).

Nothing is raised before everything has been read: a
``ConfigLoadError`` lists every problem at once, each
with its file, line and key path.

A config directory (``conf``, ``conf/base``, ``conf/<env>``) that other
users can write to, and a secret file (``${secret:file:...}``) that they can
read or write, are reported with an
``InsecureFileWarning`` while loading; the
config is loaded all the same. ``pysetl config validate`` lists them too.

Added in 0.3. Changed in 0.4: warns about open config directories and secret files.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pysetl.config._extends import resolve_extends
from pysetl.config._files import read_config_file
from pysetl.config._interpolate import InterpolationError, Interpolator
from pysetl.config._merge import Source, merge_layer
from pysetl.config._precedence import (
    BASE,
    ENV_NESTED,
    ENV_PREFIX,
    ENVIRON,
    OVERRIDES,
    PROFILE,
    RESERVED_ENV_NAMES,
    merge_order,
)
from pysetl.config._problems import KeyPath, Problem, raise_problems
from pysetl.config._validate import check_rules
from pysetl.config.layers import environments, layer_files
from pysetl.config.models import config_json_schema
from pysetl.config.permissions import check_dir_permissions
from pysetl.config.profiles import ResolvedConfig
from pysetl.settings import settings_of

if TYPE_CHECKING:
    from collections.abc import Iterable

    from pydantic import BaseModel

    from pysetl.config._interpolate import CipherLike, SecretResolverLike
    from pysetl.config._merge import Origins
    from pysetl.config.profiles import ValidationRule

__all__ = ["ENV_VARIABLE", "config_json_schema", "load_config"]

ENV_VARIABLE = "PYSETL_ENV"
"""The environment variable naming the environment when ``env`` is not given."""

_HINT = (
    "fix the listed files and keys; conf/base/*.yaml is merged with "
    "conf/<env>/*.yaml (see docs/configuration.md)"
)


def load_config(
    root: str | os.PathLike[str] = "conf",
    env: str | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    defaults: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    secrets: SecretResolverLike | None = None,
    cipher: CipherLike | None = None,
    schema: type[BaseModel] | None = None,
    rules: Iterable[ValidationRule] = (),
) -> ResolvedConfig:
    """Load, merge, inherit, interpolate and (optionally) validate a project's config.

    Args:
        root: The config directory (holding ``base/`` and one directory per env).
        env: The environment (``dev``, ``prod``); default ``$PYSETL_ENV``;
            ``None`` and no variable: ``base`` only.
        overrides: Values that win over everything (nested mappings; a
            top-level key with dots, ``"connectors.orders.path"``, is a path).
        defaults: Values that lose to everything.
        environ: The environment variables to read (default ``os.environ``,
            and the process settings): ``PYSETL_ENV``, ``PYSETL_A__B``
            overrides, ``${env:...}``.
        secrets: Binds ``${secret:...}`` (default: a ``SecretResolver`` with
            the env and file backends).
        cipher: Decrypts ``enc:`` values (default: ``ConfigCipher.from_env``).
        schema: A pydantic model the whole config must fit; the result is
            kept in ``ResolvedConfig.model``.
        rules: Custom validation rules (``rule(config)`` yields
            ``(dotted key, message)`` per problem).

    Returns:
        The resolved config.

    Warns:
        InsecureFileWarning: A config directory others can write to, a
            secret file or key file others can read or write.

    Raises:
        ConfigLoadError: Listing every problem (unreadable or invalid files,
            missing variables, bad ``extends:``, validation errors) with
            file, line and key path.
        ImportError: A YAML file is found and pyyaml is not installed.

    Examples:
        >>> cfg = load_config("conf", "prod")
        >>> cfg.get("connectors.orders.path")
        's3://shop-prod/orders'
    """
    if env is None:  # the process settings, or those of the mapping given
        env = settings_of(environ, strict=False).env
    environ = os.environ if environ is None else environ
    base = Path(root)
    what = f"config {str(base)!r}" + (f" (env {env!r})" if env else "")
    problems: list[Problem] = []
    layer_files = _layer_files(base, env, problems)
    raise_problems(problems, what=what, hint=_HINT)
    for folder in (base, base / BASE, *([base / env] if env else [])):
        check_dir_permissions(folder, warn=True)  # others could add or swap files

    sources = _Sources(layer_files, env, overrides, defaults, environ, problems)
    tree: dict[str, Any] = {}
    origins: Origins = {}
    cleared: set[KeyPath] = set()  # deleted or replaced: extends keeps out
    files: list[tuple[str, Path]] = []
    for kind in merge_order():
        for data, source in sources.inputs(kind, tree):
            if source.file is not None:
                files.append((source.layer, source.file))
            merge_layer(tree, data, source, origins, cleared=cleared)
    resolve_extends(tree, origins, root=base, problems=problems, cleared=cleared)
    interpolator = Interpolator(environ, secrets, cipher)
    tree = _interpolate(tree, (), origins, interpolator, problems)
    raise_problems(problems, what=what, hint=_HINT)

    resolved = ResolvedConfig(tree, env=env, root=base, files=files, origins=origins)
    if schema is not None:
        resolved.model = resolved.validate(schema, rules=rules)
    elif rules:
        check_rules(resolved, rules)
    return resolved


def _layer_files(
    root: Path, env: str | None, problems: list[Problem]
) -> dict[str, list[Path]]:
    if not root.is_dir():
        problems.append(
            Problem(
                "the config directory does not exist",
                file=root,
                type="missing_root",
            )
        )
        return {}
    if env is not None and (
        env in RESERVED_ENV_NAMES or "/" in env or env in {".", ".."}
    ):
        problems.append(
            Problem(
                f"{env!r} cannot be an environment name (it names a layer or a path)",
                file=root,
                type="bad_env",
            )
        )
        return {}
    found: dict[str, list[Path]] = {BASE: layer_files(root / BASE)}
    if env is not None:
        folder = root / env
        if not folder.is_dir():
            known = environments(root)
            problems.append(
                Problem(
                    f"environment {env!r} has no directory; known: {known}",
                    file=folder,
                    type="missing_env",
                )
            )
        found[PROFILE] = layer_files(folder)
    return found


@dataclass
class _Sources:
    """Everything a config is made of, handed out one layer at a time."""

    layer_files: Mapping[str, list[Path]]
    env: str | None
    overrides: Mapping[str, Any] | None
    defaults: Mapping[str, Any] | None
    environ: Mapping[str, str]
    problems: list[Problem]

    def inputs(
        self, kind: str, tree: Mapping[str, Any]
    ) -> list[tuple[Mapping[str, Any], Source]]:
        """The data of layer ``kind``, each piece with its source, in merge order."""
        if kind in {BASE, PROFILE}:
            inputs: list[tuple[Mapping[str, Any], Source]] = []
            layer = BASE if kind == BASE else str(self.env)
            for path in self.layer_files.get(kind, []):
                parsed = read_config_file(path)
                self.problems.extend(parsed.problems)
                inputs.append((parsed.data, Source(layer, path, parsed.lines)))
            return inputs
        if kind == ENVIRON:
            return _environ_layer(self.environ, tree)
        given = self.overrides if kind == OVERRIDES else self.defaults
        if not given:
            return []
        return [(_code_layer(given, kind, self.problems), Source(kind))]


def _code_layer(
    given: Mapping[Any, Any], kind: str, problems: list[Problem]
) -> dict[str, Any]:
    """``overrides``/``defaults``: dotted top-level keys become nested mappings."""
    data: dict[str, Any] = {}
    for key, value in _checked_keys(given, (), kind, problems).items():
        *parents, last = key.split(".")
        node = data
        for part in parents:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[last] = value
    return data


def _checked_keys(
    mapping: Mapping[Any, Any], path: KeyPath, kind: str, problems: list[Problem]
) -> dict[str, Any]:
    """A copy of ``mapping`` without (and reporting) keys that are not strings."""
    checked: dict[str, Any] = {}
    for key, value in mapping.items():
        if not isinstance(key, str) or not key:
            problems.append(
                Problem(
                    f"{kind} keys must be non-empty strings, not {key!r}",
                    key=(*path, repr(key)),
                    type="key_type",
                )
            )
            continue
        if isinstance(value, Mapping):
            value = _checked_keys(value, (*path, key), kind, problems)  # noqa: PLW2901
        checked[key] = value
    return checked


def _match_key(node: Any, part: str) -> str:
    """The existing key a variable name's ``part`` names, else ``part`` lower-cased."""
    if isinstance(node, Mapping):
        wanted = part.lower()
        for key in node:
            if str(key).lower().replace(".", "_").replace("-", "_") == wanted:
                return str(key)
    return part.lower()


def _environ_layer(
    environ: Mapping[str, str], tree: Mapping[str, Any]
) -> list[tuple[Mapping[str, Any], Source]]:
    """One input per ``PYSETL_A__B`` variable, in name order."""
    inputs: list[tuple[Mapping[str, Any], Source]] = []
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX):
            continue
        parts = name[len(ENV_PREFIX) :].split(ENV_NESTED)
        if len(parts) < 2 or not all(parts):  # noqa: PLR2004 - at least one "__"
            continue
        path: list[str] = []
        node: Any = tree
        for part in parts:
            key = _match_key(node, part)
            path.append(key)
            node = node.get(key) if isinstance(node, Mapping) else None
        data: dict[str, Any] = {path[-1]: environ[name]}
        for key in reversed(path[:-1]):
            data = {key: data}
        inputs.append((data, Source(ENVIRON, via=name)))
    return inputs


def _interpolate(
    value: Any,
    path: KeyPath,
    origins: Origins,
    interpolator: Interpolator,
    problems: list[Problem],
) -> Any:
    """``value`` with every string interpolated (values from variables are kept)."""
    if isinstance(value, dict):
        return {
            key: _interpolate(item, (*path, key), origins, interpolator, problems)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [
            _interpolate(item, (*path, str(index)), origins, interpolator, problems)
            for index, item in enumerate(value)
        ]
    if not isinstance(value, str):
        return value
    where = _winner(origins, path)
    if where.layer == ENVIRON:
        return value  # a variable's value is taken literally
    try:
        return interpolator.resolve(value, path)
    except InterpolationError as exc:
        problems.append(
            Problem(
                str(exc),
                file=where.file,
                line=where.line,
                key=path,
                type="interpolation",
            )
        )
        return value


def _winner(origins: Origins, path: KeyPath) -> Any:
    """The winning origin of ``path`` or of its nearest ancestor (list items)."""
    for end in range(len(path), 0, -1):
        found = origins.get(path[:end])
        if found:
            return found[0]
    return None  # pragma: no cover - every top-level key has an origin
