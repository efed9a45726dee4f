"""Reading one config file (YAML or TOML) into plain data plus a line per key.

YAML needs ``pyyaml`` (the ``config`` extra); TOML uses the standard
library's ``tomllib`` (Python 3.11+) or ``tomli`` on Python 3.10.

Type conversion is deliberately small and safe (the YAML 1.2 core schema,
not PyYAML's YAML 1.1 defaults):

* booleans are only ``true``/``false`` (any case of the first letter or all
  capitals); ``yes``, ``no``, ``on``, ``off``, ``y`` and ``n`` stay strings
  (the "Norway problem");
* integers are decimal (``42``, ``-7``; a leading ``0`` is still decimal),
  ``0x1f`` or ``0o17``; ``1_000`` and ``1:20`` stay strings;
* floats are ``1.5``, ``1e3``, ``.inf``, ``-.inf`` and ``.nan``;
* ``null``, ``~`` and an empty value are ``None``;
* dates and times stay strings (``2024-01-31``); TOML dates and times
  become ISO 8601 strings, so every value is JSON-able;
* everything else is a string. Keys must be strings.

Line numbers come from YAML's composed nodes, so every key path maps to the
line of its key. For TOML the line of each key is found by a best-effort
scan of table headers and ``key =`` lines (multi-line strings that look like
keys can confuse it); a key it misses falls back to its nearest ancestor.

Added in 0.3.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pysetl.config._problems import KeyPath, Problem
from pysetl.config.layers import SUFFIXES

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["SUFFIXES", "ParsedFile", "load_yaml_module", "read_config_file"]


_MAX_NODES = 200_000  # guards against alias bombs and recursive anchors
_MAX_DEPTH = 100
_YAML_HINT = "pip install 'pysetl[config]'"


@dataclass(slots=True)
class ParsedFile:
    """What one file holds.

    Attributes:
        path: The file.
        data: Its top-level mapping (empty for an empty file).
        lines: The 1-based line of each key path found in it.
        problems: Everything wrong with it (``data`` is then empty).
    """

    path: Path
    data: dict[str, Any] = field(default_factory=dict)
    lines: dict[KeyPath, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def line_of(self, path: KeyPath) -> int | None:
        """The line of ``path`` or of its nearest ancestor found in the file."""
        for end in range(len(path), 0, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return None


def load_yaml_module() -> Any:
    """Import pyyaml, or say which extra to install.

    Raises:
        ImportError: pyyaml is not installed.
    """
    try:
        return importlib.import_module("yaml")
    except ImportError as exc:
        msg = f"YAML config files need pyyaml: {_YAML_HINT}"
        raise ImportError(msg) from exc


def _load_toml_module() -> Any:
    """``tomllib`` (Python 3.11+), else ``tomli``, else say what to install.

    Raises:
        ImportError: Neither is available.
    """
    with contextlib.suppress(ImportError):
        return importlib.import_module("tomllib")
    try:
        return importlib.import_module("tomli")
    except ImportError as exc:
        msg = f"TOML config files need tomli on Python 3.10: {_YAML_HINT}"
        raise ImportError(msg) from exc


def read_config_file(path: Path) -> ParsedFile:
    """Read ``path`` (YAML or TOML, by suffix); problems are collected, never raised.

    Raises:
        ImportError: The parser for its format is not installed.
    """
    parsed = ParsedFile(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        parsed.problems.append(
            Problem(f"cannot read the file: {exc.strerror}", file=path, type="read")
        )
        return parsed
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        parsed.problems.append(
            Problem(
                "cannot read the file: not UTF-8 text",
                file=path,
                line=raw.count(b"\n", 0, exc.start) + 1,
                type="read",
            )
        )
        return parsed
    if path.suffix == ".toml":
        _parse_toml(text, parsed)
    else:
        _parse_yaml(text, parsed)
    if not parsed.problems:
        with contextlib.suppress(_TooLargeError):
            _check_data(parsed.data, (), parsed, [0])
    if parsed.problems:
        parsed.data = {}
    return parsed


# ------------------------------------------------------------------ checks
class _TooLargeError(Exception):
    """Raised inside ``_check_data`` to stop at the first oversized structure."""


def _check_data(
    value: Any, path: KeyPath, parsed: ParsedFile, seen: list[int], depth: int = 0
) -> Any:
    """Check values are JSON-able (dates become ISO strings) and not too large.

    Raises:
        _TooLargeError: Too many values or too deep (a problem is recorded).
    """
    seen[0] += 1
    if seen[0] > _MAX_NODES or depth > _MAX_DEPTH:
        parsed.problems.append(
            Problem(
                "too large or too deeply nested (a recursive YAML anchor?)",
                file=parsed.path,
                line=parsed.line_of(path),
                key=path,
                type="too_large",
            )
        )
        raise _TooLargeError
    if isinstance(value, dict):
        # Keys are strings: other keys were refused on the YAML nodes already.
        for key in list(value):
            value[key] = _check_data(value[key], (*path, key), parsed, seen, depth + 1)
        return value
    if isinstance(value, list):
        return [_check_data(item, path, parsed, seen, depth + 1) for item in value]
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if value is None or isinstance(value, str | bool | int | float):
        return value
    parsed.problems.append(
        Problem(
            f"unsupported value of type {type(value).__name__}; use strings, "
            "numbers, booleans, null, lists and mappings",
            file=parsed.path,
            line=parsed.line_of(path),
            key=path,
            type="value_type",
        )
    )
    return None


# -------------------------------------------------------------------- TOML
_TOML_LINE = re.compile(r"line (\d+)")
_TOML_HEADER = re.compile(r"^\s*\[\[?\s*([^\[\]]+?)\s*\]\]?\s*(#.*)?$")
_TOML_KEY = re.compile(
    r"""^\s*((?:[A-Za-z0-9_\-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_\-]+|"[^"]*"|'[^']*'))*)\s*="""
)
_TOML_PART = re.compile(r"""[A-Za-z0-9_\-]+|"[^"]*"|'[^']*'""")


def _toml_parts(text: str) -> KeyPath:
    return tuple(part.strip("\"'") for part in _TOML_PART.findall(text))


def _parse_toml(text: str, parsed: ParsedFile) -> None:
    tomllib = _load_toml_module()
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = _TOML_LINE.search(str(exc))
        # tomllib says "at end of document" rather than giving the last line.
        where = int(found.group(1)) if found else text.count("\n") + 1
        parsed.problems.append(
            Problem(
                f"invalid TOML: {exc}",
                file=parsed.path,
                line=where,
                type="parse",
            )
        )
        return
    parsed.data = data
    table: KeyPath = ()
    quotes: str | None = None  # inside a multi-line string opened with these
    for number, line in enumerate(text.splitlines(), start=1):
        if quotes is not None:
            if line.count(quotes) % 2:
                quotes = None
            continue
        header = _TOML_HEADER.match(line)
        if header:
            table = _toml_parts(header.group(1))
            _set_lines(parsed, table, number)
            continue
        key = _TOML_KEY.match(line)
        if key:
            _set_lines(parsed, (*table, *_toml_parts(key.group(1))), number)
            for opening in ('"""', "'''"):
                if line[key.end() :].count(opening) % 2:
                    quotes = opening
                    break


def _set_lines(parsed: ParsedFile, path: KeyPath, number: int) -> None:
    """``path`` and its implicit parents (``a.b = 1``, ``[a.b]``) are at ``number``."""
    for end in range(1, len(path) + 1):
        parsed.lines.setdefault(path[:end], number)


# -------------------------------------------------------------------- YAML
_LOADERS: dict[Any, Any] = {}  # by pyyaml base loader; built on first use


def _bool(loader: Any, node: Any) -> bool:
    text = str(loader.construct_scalar(node)).lower()
    if text not in {"true", "false"}:
        msg = f"{text!r} is not true or false"
        raise ValueError(msg)
    return text == "true"


def _int(loader: Any, node: Any) -> int:
    text = str(loader.construct_scalar(node))
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-")
    if digits[:2] in {"0x", "0o"}:
        return sign * int(digits[2:], 16 if digits[1] == "x" else 8)
    return sign * int(digits, 10)


def _float(loader: Any, node: Any) -> float:
    text = str(loader.construct_scalar(node)).lower()
    if text.endswith(".inf"):
        return float("-inf") if text.startswith("-") else float("inf")
    if text.endswith(".nan"):
        return float("nan")
    return float(text)


def _yaml_loader(yaml: Any) -> Any:
    """A SafeLoader with the YAML 1.2 core schema's implicit types (built once)."""
    # libyaml's parser when pyyaml has it (about 4x faster), else pyyaml's own.
    base = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader
    if base in _LOADERS:
        return _LOADERS[base]

    class _Loader(base):  # type: ignore[misc,valid-type]
        yaml_implicit_resolvers: dict[str, Any] = {}  # noqa: RUF012 - pyyaml's API

        def construct_object(self, node: Any, deep: bool = False) -> Any:
            """Construct a value; a value its tag cannot convert gets a line."""
            try:
                return super().construct_object(node, deep=deep)
            except yaml.YAMLError:
                raise
            except (ValueError, TypeError, AttributeError, OverflowError) as exc:
                # An explicit tag on a value it cannot convert (``!!int abc``).
                raise yaml.constructor.ConstructorError(
                    None, None, f"cannot convert the value: {exc}", node.start_mark
                ) from exc

    tag = "tag:yaml.org,2002:"
    _Loader.add_constructor(f"{tag}bool", _bool)
    _Loader.add_constructor(f"{tag}int", _int)
    _Loader.add_constructor(f"{tag}float", _float)
    resolvers = (
        ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
        ("null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
        ("int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
        (
            "float",
            (
                r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
                r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
            ),
            "-+0123456789.",
        ),
        ("merge", r"^(?:<<)$", ["<"]),
    )
    for name, pattern, first in resolvers:
        _Loader.add_implicit_resolver(f"{tag}{name}", re.compile(pattern), list(first))
    _LOADERS[base] = _Loader
    return _Loader


def _yaml_problem(exc: Any, text: str, parsed: ParsedFile) -> None:
    """Record a pyyaml error with the line it happened on."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    position = getattr(exc, "position", None)  # a ReaderError (bad character)
    line = None if mark is None else mark.line + 1
    if line is None and isinstance(position, int):
        line = text.count("\n", 0, position) + 1
    problem = " ".join(
        str(part)
        for part in (getattr(exc, "context", None), getattr(exc, "problem", None))
        if part
    )
    parsed.problems.append(
        Problem(
            f"invalid YAML: {problem or exc}",
            file=parsed.path,
            line=line,
            type="parse",
        )
    )


def _parse_yaml(text: str, parsed: ParsedFile) -> None:
    yaml = load_yaml_module()
    try:
        loader = _yaml_loader(yaml)(text)  # checks for unprintable characters
    except yaml.YAMLError as exc:
        _yaml_problem(exc, text, parsed)
        return
    try:
        node = loader.get_single_node()
        data = None
        if node is not None:
            _check_duplicates(node, (), parsed, yaml)
            if parsed.problems:
                return
            data = loader.construct_document(node)
            _record_lines(node, (), parsed, yaml, [0])
    except yaml.YAMLError as exc:
        _yaml_problem(exc, text, parsed)
        return
    except RecursionError:
        parsed.problems.append(
            Problem("invalid YAML: nested too deeply", file=parsed.path, type="parse")
        )
        return
    finally:
        loader.dispose()
    if data is None:
        return
    if not isinstance(data, dict):
        parsed.problems.append(
            Problem(
                f"expected a mapping of keys at the top, got {type(data).__name__}",
                file=parsed.path,
                line=node.start_mark.line + 1,
                type="not_a_mapping",
            )
        )
        return
    parsed.data = data


_KEY_TAGS = frozenset({"tag:yaml.org,2002:str", "tag:yaml.org,2002:merge"})


def _key_text(key_node: Any, yaml: Any) -> str | None:
    return str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else None


def _check_duplicates(node: Any, path: KeyPath, parsed: ParsedFile, yaml: Any) -> None:
    """Report a key written twice in one mapping (pyyaml silently keeps the last)."""
    stack: list[tuple[Any, KeyPath]] = [(node, path)]
    seen_nodes: set[int] = set()
    while stack:
        current, where = stack.pop()
        if id(current) in seen_nodes or len(seen_nodes) > _MAX_NODES:
            continue
        seen_nodes.add(id(current))
        if isinstance(current, yaml.SequenceNode):
            stack.extend((item, where) for item in current.value)
        if not isinstance(current, yaml.MappingNode):
            continue
        keys: set[str] = set()
        for key_node, value_node in current.value:
            key = _key_text(key_node, yaml)
            if key is not None and key_node.tag not in _KEY_TAGS:
                parsed.problems.append(
                    Problem(
                        f"keys must be strings, got {key!r} ({key_node.tag})",
                        file=parsed.path,
                        line=key_node.start_mark.line + 1,
                        key=where,
                        type="key_type",
                    )
                )
            if key is not None and key != "<<":
                if key in keys:
                    parsed.problems.append(
                        Problem(
                            f"key {key!r} is written twice in the same mapping",
                            file=parsed.path,
                            line=key_node.start_mark.line + 1,
                            key=(*where, key),
                            type="duplicate_key",
                        )
                    )
                keys.add(key)
            stack.append((value_node, (*where, key or "?")))


def _record_lines(
    node: Any, path: KeyPath, parsed: ParsedFile, yaml: Any, count: list[int]
) -> None:
    count[0] += 1
    if count[0] > _MAX_NODES or len(path) > _MAX_DEPTH:
        return
    if not isinstance(node, yaml.MappingNode):
        return
    # Constructing flattened the merge keys (<<) into plain keys; every key is
    # a string scalar by now (anything else was refused).
    for key_node, value_node in node.value:
        key_path = (*path, str(key_node.value))
        parsed.lines[key_path] = key_node.start_mark.line + 1
        _record_lines(value_node, key_path, parsed, yaml, count)
