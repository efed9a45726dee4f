"""Validation of a resolved config into pydantic models, every problem located.

Values are validated in pydantic's lax mode whatever the model's own
``strict`` setting, because interpolated values and environment variables
are strings: ``"5"`` becomes ``5``, ``"true"``/``"1"``/``"yes"`` become
``True``, ``"append"`` becomes ``SaveMode.APPEND``. Nothing else is
converted: a number is never turned into a string and ``1.5`` never into an
int. Each pydantic error and each custom rule violation becomes one problem
with the file and line of the key (or of its nearest ancestor, for a
missing key) and its full dotted key path.

Added in 0.3.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import UnionType
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, RootModel, Tag, ValidationError

from pysetl.config._options import closest
from pysetl.config._problems import KeyPath, Problem, raise_problems
from pysetl.config.profiles import find_path
from pysetl.errors import ConfigError
from pysetl.utils.redaction import (
    MASK,
    MIN_SECRET_LENGTH,
    is_secret_key,
    secret_forms,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    from pysetl.config.profiles import ResolvedConfig, ValidationRule

__all__ = [
    "check_encrypted",
    "check_rules",
    "encrypted_value_problems",
    "located",
    "validate_section",
]

M = TypeVar("M", bound=BaseModel)
_HINT = (
    "fix the listed keys; `pysetl config schema` writes the JSON Schema your "
    "editor can check them with"
)


def _what(resolved: ResolvedConfig, model: type[BaseModel] | None = None) -> str:
    env = f" (env {resolved.env!r})" if resolved.env else ""
    into = f" into {model.__name__}" if model is not None else ""
    return f"config {str(resolved.root)!r}{env}{into}"


def located(resolved: ResolvedConfig, path: KeyPath, msg: str, kind: str) -> Problem:
    """A problem about ``path`` with the file and line it (or an ancestor) came from."""
    where = resolved.locate(path)
    if where is not None and where.file is None and where.via:
        msg = f"{msg} (set by {where.via})"  # an environment variable
    return Problem(
        msg,
        file=resolved.root if where is None else where.file,
        line=None if where is None else where.line,
        key=path,
        type=kind,
    )


def _data_path(data: Any, loc: Sequence[Any]) -> KeyPath:
    """Turn pydantic's ``loc`` into a key path: union tags and ``root`` are dropped."""
    path: list[str] = []
    node = data
    for index, part in enumerate(loc):
        last = index == len(loc) - 1
        if isinstance(node, Mapping):
            if part in node or last:
                path.append(str(part))
                node = node.get(part)
            # else: a tag (``csv``), not a key: skip it
        elif isinstance(node, list):
            path.append(str(part))
            node = node[part]  # pydantic's index is always in range
        else:
            break  # the rest names union members (``int``), not keys
    return tuple(path)


def _unwrap(tp: Any) -> Any:
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    if isinstance(tp, type) and issubclass(tp, RootModel):
        return _unwrap(tp.model_fields["root"].annotation)
    return tp


def _step(tp: Any, part: Any) -> Any:
    """The type at ``part`` of pydantic's ``loc`` inside ``tp``, or ``None``."""
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        field = tp.model_fields.get(str(part))
        return None if field is None else field.annotation
    origin, args = get_origin(tp), get_args(tp)
    if origin in {dict, Mapping} and len(args) == 2:  # noqa: PLR2004 - key, value
        return args[1]
    if origin in {list, Sequence} and args:
        return args[0]
    for member in args if origin in {Union, UnionType} else ():
        # A discriminated union: pydantic's loc names the member's tag.
        tags = [
            m.tag for m in getattr(member, "__metadata__", ()) if isinstance(m, Tag)
        ]
        if part in tags or getattr(_unwrap(member), "__name__", None) == part:
            return member
    return None


def _did_you_mean(model: type[BaseModel], loc: Sequence[Any]) -> str:
    """``; did you mean 'fetchsize'?`` for an extra key, when a field is close.

    The fields are those of the model at ``loc`` (walked through dicts,
    lists and tagged unions). A model with an ``options`` mapping takes
    other (Spark) options there, and the message says so.
    """
    tp: Any = model
    for part in loc[:-1]:
        tp = _step(tp, part)
    tp = _unwrap(tp)
    if not (isinstance(tp, type) and issubclass(tp, BaseModel)):
        return ""
    fields = list(tp.model_fields)
    near = closest(str(loc[-1]), fields)
    hint = f"; did you mean {near!r}?" if near else ""
    if "options" in fields and near is None:
        hint += "; other options go under 'options:'"
    return hint


def _plain_secrets(data: Any, inside: bool = False) -> set[str]:
    """The plain values held under secret-named keys (lazy secrets are skipped).

    A validator may echo its input (``ValueError(f"weak password {v!r}")``):
    these values are masked in every message.
    """
    found: set[str] = set()
    if isinstance(data, Mapping):
        for key, value in data.items():
            found |= _plain_secrets(value, inside or is_secret_key(key))
    elif isinstance(data, list | tuple):
        for item in data:
            found |= _plain_secrets(item, inside)
    elif inside and isinstance(data, str | int | float) and not isinstance(data, bool):
        text = str(data)
        if len(text) >= MIN_SECRET_LENGTH:
            found.add(text)
    return found


def _masked_msg(msg: str, secrets: Iterable[str]) -> str:
    """``msg`` without any form of ``secrets`` (plain, ``repr``, JSON, URL)."""
    forms = {form for secret in secrets for form in secret_forms(secret)}
    for form in sorted(forms, key=len, reverse=True):
        msg = msg.replace(form, MASK)
    return msg


def rule_problems(
    resolved: ResolvedConfig, rules: Iterable[ValidationRule]
) -> list[Problem]:
    """The violations of custom ``rules``, located."""
    problems: list[Problem] = []
    secrets: set[str] | None = None
    for rule in rules:
        for key, msg in rule(resolved):
            if secrets is None:
                secrets = _plain_secrets(resolved.as_dict(masked=False))
            path = find_path(resolved, key) or tuple(key.split("."))
            problems.append(located(resolved, path, _masked_msg(msg, secrets), "rule"))
    return problems


def check_rules(resolved: ResolvedConfig, rules: Iterable[ValidationRule]) -> None:
    """Run custom ``rules`` only.

    Raises:
        ConfigLoadError: Listing every violation.
    """
    raise_problems(rule_problems(resolved, rules), what=_what(resolved), hint=_HINT)


def validate_section(
    resolved: ResolvedConfig,
    key: str | Sequence[str],
    model: type[M],
    *,
    rules: Iterable[ValidationRule] = (),
) -> M:
    """Validate the mapping at ``key`` (``()``: the whole config) into ``model``.

    Raises:
        ConfigLoadError: Listing every model error and rule violation.
    """
    data: Any = resolved.as_dict(masked=False)
    path: KeyPath = ()
    if key not in ((), ""):
        found = find_path(resolved, key)
        if found is None:
            missing = tuple(key.split(".")) if isinstance(key, str) else tuple(key)
            problem = located(resolved, missing, "this section is missing", "missing")
            raise_problems([problem], what=_what(resolved, model), hint=_HINT)
        path = found or ()
        for part in path:
            data = data[part]
    problems: list[Problem] = []
    result: M | None = None
    try:
        result = model.model_validate(data, strict=False)
    except ValidationError as exc:
        secrets = _plain_secrets(data, any(is_secret_key(part) for part in path))
        for error in exc.errors(include_url=False):
            where = (*path, *_data_path(data, error["loc"]))
            msg = _masked_msg(error["msg"], secrets)
            if error["type"] == "extra_forbidden":
                msg += _did_you_mean(model, error["loc"])
            problems.append(located(resolved, where, msg, error["type"]))
    problems.extend(rule_problems(resolved, rules))
    raise_problems(problems, what=_what(resolved, model), hint=_HINT)
    assert result is not None  # noqa: S101 - raise_problems raised otherwise
    return result


_ENC_PREFIX = "enc:"
_DECRYPT_HINT = (
    "set PYSETL_CONFIG_KEY (or PYSETL_CONFIG_KEY_FILE) to the keys the values "
    "were encrypted with, newest first; while rotating keys, keep the old key "
    "after the new one until `pysetl config rotate-key` has re-encrypted them"
)


def _encrypted(data: Any, path: KeyPath) -> Iterable[tuple[KeyPath, Any]]:
    """``(path, lazy secret)`` of every ``enc:`` value, in document order."""
    if isinstance(data, Mapping):
        for key, value in data.items():
            yield from _encrypted(value, (*path, str(key)))
    elif isinstance(data, list | tuple):
        for index, item in enumerate(data):
            yield from _encrypted(item, (*path, str(index)))
    elif str(getattr(data, "reference", "")).startswith(_ENC_PREFIX):
        yield path, data


def encrypted_value_problems(resolved: ResolvedConfig) -> list[Problem]:
    """Decrypt every ``enc:`` value of ``resolved``; one problem per failure.

    Loading a config never decrypts (an ``enc:`` value is a lazy secret,
    decrypted on first use), so a wrong key would otherwise show only when
    a pipeline reads the value. The decrypted values are registered with
    the redactor, as on any use.

    Added in 0.4.
    """
    found = (
        (path, _decryption_error(secret))
        for path, secret in _encrypted(resolved.as_dict(masked=False), ())
    )
    return [
        located(resolved, path, msg, "decrypt")
        for path, msg in found
        if msg is not None
    ]


def _decryption_error(secret: Any) -> str | None:
    """Why ``secret`` cannot be decrypted (its message and hint), or ``None``."""
    try:
        secret.get_secret_value()
    except ConfigError as exc:
        return exc.message if not exc.hint else f"{exc.message} (hint: {exc.hint})"
    return None


def check_encrypted(resolved: ResolvedConfig) -> None:
    """Decrypt every ``enc:`` value of ``resolved`` (see ``encrypted_value_problems``).

    Raises:
        ConfigLoadError: Listing every value the configured keys cannot
            decrypt, with file, line and key path (never a value).
    """
    raise_problems(
        encrypted_value_problems(resolved), what=_what(resolved), hint=_DECRYPT_HINT
    )
