"""The files of a config version: masking their literal secrets, restoring them.

A stored version keeps the text of its layer files so that a rollback can
write them back. ``${secret:...}`` references, ``${env:VAR}`` and ``enc:``
tokens hold no secret and are kept as written; a literal secret (the value
of a secret-named key, a secret pattern such as a URL's password, a
registered secret, or a plain value the resolved config holds under a
secret-named key) is masked, and such a version cannot be restored.

Restoring writes through ``pysetl.config.layers``: it removes exactly the
files the loader would read and the version does not have.

Added in 0.3. Changed in 0.7: moved from ``pysetl.monitoring.history``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pysetl.config.layers import layer_files, write_atomically
from pysetl.errors import ConfigError
from pysetl.utils.redaction import MASK, is_secret_key, redact_text

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = [
    "RestoredFiles",
    "literal_secrets",
    "mask_source",
    "read_sources",
    "restore_sources",
]

# Tokens that name where a secret lives without holding it: kept in sources.
_SAFE_TOKEN = re.compile(
    r"\$\{secret:[^}]*\}|\$\{env:[A-Za-z_][A-Za-z0-9_]*\}|\benc:[A-Za-z0-9_\-=]+"
)
# ``key: value`` (YAML) or ``key = value`` (TOML), possibly a list item.
_PAIR = re.compile(
    r"^(?P<lead>\s*(?:-\s+)?)(?P<q>[\"']?)(?P<key>[\w.\-]+)(?P=q)"
    r"(?P<sep>\s*[:=][ \t]*)(?P<value>.*?)\s*$"
)
_NOT_LITERAL = frozenset(
    {"", "|", ">", "|-", ">-", "|+", ">+", "null", "~", "{}", "[]", '""', "''"}
    | {"true", "false", "yes", "no", "on", "off"}
)
_MIN_LENGTH = 4


def literal_secrets(
    config: Iterable[tuple[str, Any]], secret: bool = False
) -> set[str]:
    """Plain values stored under a secret-named key path (lazy secrets skipped)."""
    found: set[str] = set()
    for key, value in config:
        inside = secret or is_secret_key(key)
        if isinstance(value, Mapping):
            found |= literal_secrets(value.items(), inside)
        elif isinstance(value, list | tuple):
            found |= literal_secrets(((key, v) for v in value), inside)
        elif (
            inside
            and isinstance(value, str | int | float)
            and not isinstance(value, bool)
        ):
            text = str(value)
            if (
                len(text) >= _MIN_LENGTH
                and text != MASK
                and not _SAFE_TOKEN.fullmatch(text)
            ):
                found.add(text)
    return found


def _redact_outside_tokens(line: str) -> str:
    """``line`` through the redaction point, its safe tokens left as they are."""
    parts: list[str] = []
    last = 0
    for match in _SAFE_TOKEN.finditer(line):
        parts.extend((redact_text(line[last : match.start()]), match.group()))
        last = match.end()
    parts.append(redact_text(line[last:]))
    return "".join(parts)


def _mask_line(line: str) -> str:
    body = line.rstrip("\r\n")
    end = line[len(body) :]
    pair = _PAIR.match(body)
    if pair is not None and is_secret_key(pair["key"]):
        value = pair["value"]
        bare = value.strip("\"'")
        literal = value.lower() not in _NOT_LITERAL and not value.startswith(
            ("{", "[", "#")
        )
        if not literal:  # a mapping, block or flag follows: nothing to mask
            return line
        if "${secret:" not in value and not _SAFE_TOKEN.fullmatch(bare):
            key = f"{pair['q']}{pair['key']}{pair['q']}"
            return f'{pair["lead"]}{key}{pair["sep"]}"{MASK}"{end}'
    return _redact_outside_tokens(body) + end


def mask_source(text: str, secrets: Iterable[str] = ()) -> str:
    """A config file's text with its literal secrets masked.

    Masked: the value of a secret-named key (``password: hunter2``), secret
    patterns and registered secrets (the password of a URL, a bearer token),
    and each of ``secrets`` wherever it appears. Kept:
    ``${secret:...}`` references, ``${env:VAR}`` and ``enc:`` tokens.

    Args:
        text: The file's text.
        secrets: Values known to be secrets (plain values of the
            resolved config under secret-named keys).
    """
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, MASK)
    out: list[str] = []
    block: int | None = None  # the indent of a secret-named key whose block follows
    closing: str | None = None  # the end of a secret's TOML multi-line string
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        if closing is not None:  # inside: everything up to the closing quotes
            if closing in body:
                out.append(body[body.index(closing) :] + line[len(body) :])
                closing = None
            else:
                out.append(line[len(body) :])
            continue
        indent = len(body) - len(body.lstrip())
        if block is not None and (not body.strip() or indent > block):
            if body.strip():  # a line of a secret's block scalar
                out.append(f"{body[:indent]}{MASK}{line[len(body) :]}")
            else:
                out.append(line)
            continue
        block = None
        pair = _PAIR.match(body)
        if (
            pair is not None
            and is_secret_key(pair["key"])
            and pair["value"].split("#", 1)[0].strip()[:1] in {"|", ">"}
        ):
            block = len(pair["lead"])  # the column of the key
        if pair is not None and is_secret_key(pair["key"]):
            quotes = pair["value"][:3]
            if quotes in {'"""', "'''"} and quotes not in pair["value"][3:]:
                closing = quotes
                value_at = body.index(pair["value"])
                out.append(f"{body[:value_at]}{quotes}{MASK}{line[len(body) :]}")
                continue
        out.append(_mask_line(line))
    return "".join(out)


def _relative(path: Path, root: Path) -> str:
    return Path(os.path.relpath(path.resolve(), root.resolve())).as_posix()


def read_sources(resolved: Any) -> tuple[dict[str, str], bool]:
    """The masked texts of the resolved config's files, and whether any was masked."""
    secrets = literal_secrets(resolved.items())
    sources: dict[str, str] = {}
    masked = False
    for _layer, path in resolved.files:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            msg = f"Cannot read the config file {str(path)!r}: {exc.strerror}"
            raise ConfigError(msg, hint="check the file's permissions") from exc
        safe = mask_source(text, secrets)
        masked = masked or safe != text
        sources[_relative(Path(path), Path(resolved.root))] = safe
    return sources, masked


@dataclass(frozen=True, slots=True)
class RestoredFiles:
    """What a restore changed: files written and removed (relative to the root)."""

    written: tuple[str, ...]
    removed: tuple[str, ...]


def restore_sources(
    sources: Mapping[str, str],
    root: str | os.PathLike[str],
    layers: Sequence[str],
    *,
    label: str,
) -> RestoredFiles:
    """Write the stored ``sources`` of ``layers`` back under ``root``.

    Files of those layers that the stored version did not have are removed.

    Args:
        sources: ``{path relative to the root: text}`` of a stored version.
        root: The config root.
        layers: The layers (folders under the root) to restore.
        label: The version's name in messages.

    Raises:
        ConfigError: One of the files had literal secrets masked when it was
            stored, or a stored path leaves the root.
    """
    wanted = {
        rel: text for rel, text in sources.items() if rel.split("/", 1)[0] in layers
    }
    masked = sorted(rel for rel, text in wanted.items() if MASK in text)
    if masked:
        msg = (
            f"Cannot restore the config version {label!r}: its file(s) "
            f"{', '.join(masked)} held literal secrets, which were masked when "
            "it was stored; restoring them would write masks instead of values"
        )
        raise ConfigError(
            msg,
            hint="keep secrets out of the files: reference them from a secret "
            "backend, or encrypt them with 'pysetl config encrypt --in-place'; "
            "versions recorded after that can be rolled back",
        )
    for rel in wanted:
        if ".." in Path(rel).parts or Path(rel).is_absolute():
            msg = f"The config version {label!r} has a file outside the root: {rel!r}"
            raise ConfigError(msg, hint="restore that file by hand")
    base = Path(root)
    removed: list[str] = []
    for layer in layers:
        for path in layer_files(base / layer):  # as the loader sees them
            rel = f"{layer}/{path.name}"
            if rel not in wanted:
                path.unlink()
                removed.append(rel)
    written: list[str] = []
    for rel, text in sorted(wanted.items()):
        path = base / rel
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            write_atomically(path, text)
            written.append(rel)
    return RestoredFiles(tuple(written), tuple(removed))
