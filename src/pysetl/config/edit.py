"""Set one value of a YAML or TOML config file in place, keeping the rest as written.

``set_file_value`` rewrites the line that holds ``KEY`` (a dotted path) and
nothing else, so comments, order and layout survive. The file is parsed
again afterwards: if the value there is not the one written, the file is
left as it was and the call fails. ``pysetl config encrypt --in-place FILE
KEY`` writes through it (``pysetl.config.secure.encrypt_in_place``).

Added in 0.3. Changed in 0.7: moved from the CLI (``pysetl.cli._config_edit``).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
from typing import TYPE_CHECKING, Any

from pysetl.config.layers import write_atomically
from pysetl.errors import ConfigError

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["read_file_value", "set_file_value", "toml_module", "yaml_module"]

_YAML_PAIR = re.compile(
    r"^(?P<indent>[ ]*)(?P<q>[\"']?)(?P<key>[^\s:#\"'][^:#\"']*?)(?P=q)"
    r"[ ]*:(?:[ ]+(?P<value>.*?))?[ ]*$"
)
_TOML_TABLE = re.compile(r"^\s*\[(?P<name>[^\[\]]+)\]\s*(?:#.*)?$")
_TOML_PAIR = re.compile(r"^(?P<lead>\s*)(?P<key>[\w.\-\"' ]+?)\s*=\s*(?P<value>.*)$")


def _is_toml(path: Path) -> bool:
    return path.suffix == ".toml"


def toml_module() -> Any:
    """``tomllib`` (Python 3.11+) or ``tomli``.

    Raises:
        ImportError: Neither is installed.
    """
    name = "tomllib" if importlib.util.find_spec("tomllib") else "tomli"
    try:
        return importlib.import_module(name)
    except ImportError as exc:  # pragma: no cover - Python 3.10 without tomli
        msg = "TOML files need tomli on Python 3.10: pip install 'pysetl[config]'"
        raise ImportError(msg) from exc


def yaml_module() -> Any:
    """``yaml`` (PyYAML).

    Raises:
        ImportError: It is not installed.
    """
    try:
        return importlib.import_module("yaml")
    except ImportError as exc:  # pragma: no cover - exercised without the extra
        msg = "YAML config files need PyYAML: pip install 'pysetl[config]'"
        raise ImportError(msg) from exc


def _parse(path: Path, text: str) -> Any:
    if _is_toml(path):
        return toml_module().loads(text)
    return yaml_module().safe_load(text)


def read_file_value(path: Path, key: str) -> Any:
    """The value at the dotted ``key`` of the config file ``path``.

    Raises:
        ConfigError: The file cannot be read or parsed, or has no such key.
    """
    try:
        data = _parse(path, path.read_text(encoding="utf-8"))
    except OSError as exc:
        msg = f"Cannot read the config file {str(path)!r}: {exc.strerror}"
        raise ConfigError(msg, hint="check the path and its permissions") from exc
    except Exception as exc:  # noqa: BLE001 - YAML and TOML raise their own
        msg = f"Cannot parse the config file {str(path)!r}: {type(exc).__name__}"
        raise ConfigError(msg, hint="fix the file's syntax first") from None
    for part in key.split("."):
        if not isinstance(data, dict) or part not in data:
            msg = f"The config file {str(path)!r} has no key {key!r}"
            raise ConfigError(msg, hint="add the key (any value) first")
        data = data[part]
    return data


def _yaml_line(lines: list[str], parts: list[str]) -> int | None:
    stack: list[tuple[int, str]] = []
    for number, line in enumerate(lines):
        match = _YAML_PAIR.match(line.rstrip("\r\n"))
        if match is None or line.lstrip().startswith(("#", "-")):
            continue
        indent = len(match["indent"])
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = [k for _, k in stack] + [match["key"].strip()]
        if path == parts:
            return number
        if not match["value"]:
            stack.append((indent, match["key"].strip()))
    return None


def _toml_key(text: str) -> list[str]:
    return [p.strip().strip("\"'") for p in text.split(".")]


def _toml_line(lines: list[str], parts: list[str]) -> int | None:
    table: list[str] = []
    for number, line in enumerate(lines):
        header = _TOML_TABLE.match(line)
        if header is not None:
            table = _toml_key(header["name"])
            continue
        match = _TOML_PAIR.match(line)
        if match is not None and table + _toml_key(match["key"]) == parts:
            return number
    return None


def set_file_value(path: Path, key: str, value: str) -> None:
    """Write the string ``value`` at the dotted ``key`` of ``path``, in place.

    Raises:
        ConfigError: No line holds ``key`` as a plain value, or the file
            would not read back ``value`` there (the file is then unchanged).
    """
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    parts = key.split(".")
    toml = _is_toml(path)
    number = _toml_line(lines, parts) if toml else _yaml_line(lines, parts)
    if number is None:
        msg = f"No line of {str(path)!r} holds the key {key!r} with a plain value"
        raise ConfigError(
            msg, hint="write 'KEY: placeholder' in the file, then run this again"
        )
    line = lines[number]
    body = line.rstrip("\r\n")
    end = line[len(body) :]
    quoted = json.dumps(value)
    if toml:
        match = _TOML_PAIR.match(body)
        assert match is not None  # noqa: S101 - found above
        lines[number] = f"{match['lead']}{match['key']} = {quoted}{end}"
    else:
        match = _YAML_PAIR.match(body)
        assert match is not None  # noqa: S101 - found above
        q = match["q"]
        lines[number] = f"{match['indent']}{q}{match['key']}{q}: {quoted}{end}"
    new_text = "".join(lines)
    try:
        written = _parse(path, new_text)
        for part in parts:
            written = written[part]
    except Exception:  # noqa: BLE001 - any failure means: do not write
        written = None
    if written != value:
        msg = f"Cannot set {key!r} in {str(path)!r} in place: it is not a plain value"
        raise ConfigError(msg, hint="edit the file by hand")
    write_atomically(path, new_text)
