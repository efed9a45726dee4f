"""``pysetl config``: explain, show, validate, encrypt and version a project's config.

Every command takes ``--root`` (default ``conf``) and ``--env`` (default
``PYSETL_ENV``). Versions and the audit trail live in the run history
(``--history`` / ``PYSETL_HISTORY_URL``). Changing a protected environment
(``rollback``, ``encrypt --in-place``) asks for confirmation unless ``--yes``;
the protected environments are ``prod`` and ``production``, or those listed
in ``PYSETL_PROTECTED_ENVS`` (comma-separated), or in ``protected_envs`` of
``[tool.pysetl.config]`` in the project's ``pyproject.toml``. Everything
printed goes through the redaction point; errors go through the top-level
handler (exit code 3 for config errors, 4 for run history errors).

Added in 0.3. Changed in 0.4: ``PYSETL_ENV`` and ``PYSETL_PROTECTED_ENVS`` come
from ``pysetl.settings``.
"""

from __future__ import annotations

import json
import sys
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pysetl.cli._state import open_history_of
from pysetl.errors import ConfigError, ConfigLoadError
from pysetl.settings import settings
from pysetl.utils.redaction import MASK, redact_text

if TYPE_CHECKING:
    import os
    from collections.abc import Iterable, Sequence

    from pysetl.config.diff import ConfigChange
    from pysetl.config.profiles import ResolvedConfig
    from pysetl.monitoring.history import ConfigStore

__all__ = ["PROTECTED_ENVS_VAR", "config_app", "protected_envs"]

PROTECTED_ENVS_VAR = "PYSETL_PROTECTED_ENVS"
_DEFAULT_PROTECTED = ("prod", "production")
_EXIT_CONFIG = 3

config_app = typer.Typer(
    help="Explain, show, validate, encrypt and version the project's config.",
    no_args_is_help=True,
)


def _env_or_setting(value: str | None) -> str | None:
    # The one parse of PYSETL_ENV (pysetl.settings), not a second one by click.
    return value if value is not None else settings().env


_Env = Annotated[
    str | None,
    typer.Option(
        "--env",
        "-e",
        callback=_env_or_setting,
        help="The environment (default: PYSETL_ENV).",
    ),
]
_Root = Annotated[
    Path, typer.Option("--root", help="The config folder (base/, <env>/ inside).")
]
_Limit = Annotated[int, typer.Option(min=1, max=1000, help="Rows per page.")]
_Cursor = Annotated[
    str | None, typer.Option(help="Start after this cursor (printed under a page).")
]
_Schema = Annotated[
    str | None,
    typer.Option(
        "--schema",
        help="The pydantic model of the whole config, as 'module:Class' "
        "(default: pysetl.config.models:ProjectConfigModel).",
    ),
]
_Yes = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


# ----------------------------------------------------------------- helpers
def _say(text: str = "", *, err: bool = False) -> None:
    typer.echo(redact_text(text), err=err)


def protected_envs(project_dir: str | os.PathLike[str] | None = None) -> frozenset[str]:
    """The environments whose changes need confirmation (see the module docstring)."""
    listed = settings().protected_envs
    if listed is not None:
        return frozenset(listed)
    from pysetl.monitoring.history import find_project_dir  # noqa: PLC0415 - lazy

    pyproject = find_project_dir(project_dir) / "pyproject.toml"
    if pyproject.is_file():
        from pysetl.cli._config_edit import toml_module  # noqa: PLC0415 - lazy

        try:
            data = toml_module().loads(pyproject.read_text(encoding="utf-8"))
        except Exception:  # noqa: BLE001 - an unreadable pyproject: the defaults
            data = {}
        found = data.get("tool", {}).get("pysetl", {}).get("config", {})
        envs = found.get("protected_envs")
        if isinstance(envs, list):
            return frozenset(str(e) for e in envs)
    return frozenset(_DEFAULT_PROTECTED)


def _envs_under(root: Path) -> list[str]:
    """The environments of ``root``: every folder but ``base`` and hidden ones."""
    if not root.is_dir():
        return []
    return sorted(
        p.name
        for p in root.iterdir()
        if p.is_dir() and p.name != "base" and not p.name.startswith(".")
    )


def _confirm_protected(
    env: str, action: str, *, yes: bool, root: Path | None = None
) -> None:
    """Ask before changing a protected ``env`` (unless ``yes``).

    ``root`` is given when ``conf/base`` changes, which changes every
    environment of ``root``: then the protected ones among them ask too.
    """
    affected = [env]
    if root is not None:
        affected += _envs_under(root)
    protected = sorted({e for e in affected if e in protected_envs()})
    if protected and not yes:
        names = ", ".join(repr(e) for e in protected)
        what = (
            f"{names} is a protected environment"
            if protected == [env]
            else f"this changes the protected environment(s) {names}"
        )
        typer.confirm(f"{what}. {action}?", abort=True, err=True)


def _import_schema(spec: str | None) -> Any:
    if spec is None:
        from pysetl.config.models import ProjectConfigModel  # noqa: PLC0415 - lazy

        return ProjectConfigModel
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        msg = f"--schema {spec!r} is not 'module:Class'"
        raise typer.BadParameter(msg)
    import importlib  # noqa: PLC0415 - only with --schema

    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        msg = f"Cannot import the schema {spec!r}: {exc}"
        raise ConfigError(
            msg, hint="check the module path and the class name"
        ) from None


def _load(root: Path, env: str | None, *, schema: Any = None) -> ResolvedConfig:
    from pysetl.config.loader import load_config  # noqa: PLC0415 - lazy

    resolved: ResolvedConfig = load_config(root, env, schema=schema)
    return resolved


def _store(ctx: typer.Context) -> ConfigStore:
    from pysetl.monitoring.history import ConfigStore  # noqa: PLC0415 - lazy

    return ConfigStore(open_history_of(ctx))


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _print_changes(changes: Sequence[ConfigChange], indent: str = "") -> None:
    if not changes:
        _say(f"{indent}No differences.")
    for change in changes:
        _say(f"{indent}{change}")


def _dump(data: Any, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(data, indent=2, sort_keys=False)
    from pysetl.cli._config_edit import yaml_module  # noqa: PLC0415 - lazy

    text = yaml_module().safe_dump(data, sort_keys=False, allow_unicode=True)
    return str(text).rstrip()


def _config_files(root: Path, env: str | None) -> list[Path]:
    layers = ["base"] + ([env] if env else [])
    return [
        path
        for layer in layers
        if (root / layer).is_dir()
        for path in sorted((root / layer).iterdir())
        if path.suffix in {".yaml", ".yml", ".toml"} and path.is_file()
    ]


def _permission_problems(
    paths: Iterable[Path], folders: Iterable[Path] = ()
) -> list[str]:
    from pysetl.config.permissions import (  # noqa: PLC0415 - lazy
        check_dir_permissions,
        check_file_permissions,
    )

    found = [str(p) for folder in folders for p in check_dir_permissions(folder)]
    found += [str(p) for path in paths for p in check_file_permissions(path)]
    key_file = settings().config_key_file
    if key_file:
        found += [str(p) for p in check_file_permissions(key_file, secret=True)]
    return found


def _insecure_files(
    caught: Iterable[warnings.WarningMessage], printed: Iterable[str]
) -> list[str]:
    """The ``InsecureFileWarning`` messages of a load not printed yet.

    Loading warns about secret files, the key file and config directories
    other users can read or write; the other warnings are warned again.
    """
    from pysetl.config.permissions import InsecureFileWarning  # noqa: PLC0415

    seen = set(printed)
    found: list[str] = []
    for caught_warning in caught:
        text = str(caught_warning.message)
        if not issubclass(caught_warning.category, InsecureFileWarning):
            warnings.warn_explicit(
                caught_warning.message,
                caught_warning.category,
                caught_warning.filename,
                caught_warning.lineno,
            )
        elif text not in seen:
            seen.add(text)
            found.append(text)
    return found


def _print_load_error(error: ConfigLoadError, env: str | None) -> None:
    errors = error.errors or [{"msg": error.message}]
    _say(f"{len(errors)} problem(s) in the config of {env or 'base'!r}:", err=True)
    for item in errors:
        where = ":".join(
            str(item[k]) for k in ("file", "line") if item.get(k) is not None
        )
        key = f" {item['key']}" if item.get("key") else ""
        _say(f"  {where}{key}: {item.get('msg', '')}".replace("  :", "  "), err=True)


# ----------------------------------------------------------------- commands
@config_app.command("explain")
def _explain(
    key: Annotated[str, typer.Argument(help="A dotted key path: db.pool.size.")],
    *,
    env: _Env = None,
    root: _Root = Path("conf"),
) -> None:
    """Show where each value of KEY comes from: file, line, layer, winner first."""
    resolved = _load(root, env)
    try:
        origins = resolved.explain(key)
    except KeyError:
        msg = f"The config of {env or 'base'!r} has no key {key!r}"
        raise ConfigError(msg, hint="list the keys with 'pysetl config show'") from None
    _say(f"{key} (env {env or '-'}), winner first:")
    for rank, origin in enumerate(origins, 1):
        where = "" if origin.file is None else str(origin.file)
        where += "" if origin.line is None else f":{origin.line}"
        value = json.dumps(origin.value, default=str)
        via = f"  (via {origin.via})" if origin.via else ""
        _say(f"  {rank}. {origin.layer:<9} {where or '-':<32} {value}{via}")


@config_app.command("show")
def _show(
    *,
    env: _Env = None,
    root: _Root = Path("conf"),
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="Output format: yaml or json.")
    ] = "yaml",
) -> None:
    """Print the resolved config, secrets masked."""
    if fmt not in {"yaml", "json"}:
        msg = f"{fmt!r} is not one of yaml, json"
        raise typer.BadParameter(msg)
    resolved = _load(root, env)
    # Masked key by key already: the text patterns would garble the YAML.
    typer.echo(_dump(resolved.as_dict(masked=True), fmt))


@config_app.command("validate")
def _validate(
    *,
    env: _Env = None,
    root: _Root = Path("conf"),
    schema: _Schema = None,
    strict: Annotated[
        bool,
        typer.Option(help="Fail on file permission problems and unknown options too."),
    ] = False,
) -> None:
    """Load and validate the config; report every problem at once (for CI)."""
    model = _import_schema(schema)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # reported below, not warned
        folders = [root, root / "base", *([root / env] if env else [])]
        problems = _permission_problems(_config_files(root, env), folders)
    for problem in problems:
        _say(f"warning: {problem}", err=True)
    failure: ConfigLoadError | None = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            resolved = _load(root, env, schema=model)
            resolved.check_encrypted()  # loading alone never decrypts
        except ConfigLoadError as error:
            failure = error
    for insecure in _insecure_files(caught, problems):  # secret files, mostly
        problems.append(insecure)
        _say(f"warning: {insecure}", err=True)
    if failure is not None:
        _print_load_error(failure, env)
        raise typer.Exit(_EXIT_CONFIG)
    from pysetl.config.models import unknown_options  # noqa: PLC0415 - lazy

    options = [problem.describe() for problem in unknown_options(resolved)]
    for option in options:
        _say(f"warning: {option}", err=True)
    files = len(resolved.files)
    summary = f"{env or 'base'} ({files} files), version {resolved.version[:12]}"
    if (problems or options) and strict:
        found = [
            f"{count} {what}"
            for count, what in (
                (len(problems), "file problem(s)"),
                (len(options), "unknown option(s)"),
            )
            if count
        ]
        _say(f"FAILED: {summary} is valid, but --strict: {', '.join(found)}")
        raise typer.Exit(_EXIT_CONFIG)
    _say(f"OK: {summary}")


@config_app.command("schema")
def _schema_cmd(
    *,
    schema: _Schema = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file.")
    ] = None,
) -> None:
    """Write the JSON Schema of the config (for editors)."""
    from pysetl.config.models import config_json_schema  # noqa: PLC0415 - lazy

    text = json.dumps(config_json_schema(_import_schema(schema)), indent=2)
    if output is None:
        typer.echo(text)  # model definitions, no values: nothing to mask
    else:
        output.write_text(text + "\n", encoding="utf-8")
        _say(f"Wrote the JSON Schema to {output}")


@config_app.command("record")
def _record(
    ctx: typer.Context,
    *,
    env: _Env = None,
    root: _Root = Path("conf"),
) -> None:
    """Record the current config of ENV as a version (audited when it changed)."""
    resolved = _load(root, env)
    store = _store(ctx)
    name = resolved.env or ""
    latest = store.list_versions(env=name, limit=1).items
    digest = store.record_version(resolved)
    if latest and latest[0].hash != digest:
        from pysetl.config.diff import diff_configs  # noqa: PLC0415 - lazy

        store.record_audit(
            name,
            "record",
            old_hash=latest[0].hash,
            new_hash=digest,
            changes=diff_configs(latest[0].config, resolved.as_dict(masked=True)),
        )
    _say(f"Recorded {name or 'base'} version {digest[:12]}")


@config_app.command("history")
def _history(
    ctx: typer.Context,
    *,
    env: _Env = None,
    limit: _Limit = 20,
    cursor: _Cursor = None,
) -> None:
    """List the recorded versions, newest first."""
    page = _store(ctx).list_versions(env=env, limit=limit, cursor=cursor)
    if not page.items:
        _say("No config versions.")
        return
    _say(f"{'VERSION':<13} {'ENV':<12} {'RECORDED (UTC)':<20} {'BY':<24} RESTORABLE")
    for v in page.items:
        restorable = "yes" if v.restorable else "no (literal secrets)"
        actor = v.actor or "-"
        _say(
            f"{v.short:<13} {v.env or '-':<12} {_when(v.recorded_at):<20} "
            f"{actor:<24} {restorable}"
        )
    if page.next_cursor:
        _say(f"More: --cursor {page.next_cursor}")


@config_app.command("diff")
def _diff(
    ctx: typer.Context,
    a: Annotated[str, typer.Argument(help="A version (hash prefix).")],
    b: Annotated[
        str | None,
        typer.Argument(help="Another version; default: the current files."),
    ] = None,
    *,
    env: _Env = None,
    root: _Root = Path("conf"),
) -> None:
    """Show what changed from version A to version B (or to the current files)."""
    from pysetl.config.diff import diff_configs  # noqa: PLC0415 - lazy

    store = _store(ctx)
    old = store.get_version(a)  # same hash, same config: any env will do
    if b is None:
        current = _load(root, env if env is not None else old.env or None)
        new_name, new_config = "current files", current.as_dict(masked=True)
    else:
        other = store.get_version(b)
        new_name, new_config = other.short, other.config
    _say(f"--- {old.short} ({old.env or 'base'}, {_when(old.recorded_at)})")
    _say(f"+++ {new_name}")
    _print_changes(diff_configs(old.config, new_config))


@config_app.command("rollback")
def _rollback(
    ctx: typer.Context,
    version: Annotated[str, typer.Argument(help="The version (hash prefix).")],
    *,
    env: _Env = None,
    root: _Root = Path("conf"),
    with_base: Annotated[
        bool, typer.Option(help="Restore conf/base too (changes every environment).")
    ] = False,
    yes: _Yes = False,
) -> None:
    """Restore ENV's files as they were in VERSION (audited)."""
    from pysetl.monitoring.history import rollback_config  # noqa: PLC0415 - lazy

    if not env:
        msg = "rollback needs the environment: --env or PYSETL_ENV"
        raise typer.BadParameter(msg)
    store = _store(ctx)
    target = store.get_version(version, env=env)
    _confirm_protected(
        env,
        f"Roll it back to {target.short}",
        yes=yes,
        root=root if with_base else None,  # base changes every environment
    )
    result = rollback_config(
        store,
        target.hash,
        root=root,
        env=env,
        load=lambda: _load(root, env),
        with_base=with_base,
    )
    _say(f"Rolled {env} back to {target.short} (now {result.new_hash[:12]}).")
    for rel in result.files.written:
        _say(f"  wrote   {root / rel}")
    for rel in result.files.removed:
        _say(f"  removed {root / rel}")
    _print_changes(result.changes, "  ")
    if not result.exact:
        _say(
            "warning: the restored files load to another version (the base layer "
            "or environment variables changed since); --with-base restores base too",
            err=True,
        )


def _read_secret(value: str | None, *, stdin: bool) -> str | None:
    if stdin:
        return sys.stdin.read().rstrip("\r\n")
    return value


def _cipher(key_file: Path | None) -> Any:
    from pysetl.config.crypto import KEY_FILE_ENV, ConfigCipher  # noqa: PLC0415

    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        cipher = (
            ConfigCipher.from_env({KEY_FILE_ENV: str(key_file)})
            if key_file is not None
            else ConfigCipher.from_env()
        )
    for problem in cipher.problems:
        _say(f"warning: {problem}", err=True)
    return cipher


def _layer_of(path: Path, root: Path) -> str | None:
    try:
        rel = path.resolve().relative_to(root.resolve())
    except ValueError:
        return None
    return rel.parts[0] if len(rel.parts) > 1 else None


def _try_load(root: Path, env: str | None) -> ResolvedConfig | None:
    try:
        return _load(root, env)
    except ConfigError:
        return None


@config_app.command("encrypt")
def _encrypt(
    ctx: typer.Context,
    value: Annotated[
        str | None, typer.Argument(help="The value (prefer --stdin: shell history).")
    ] = None,
    *,
    stdin: Annotated[bool, typer.Option("--stdin", help="Read the value.")] = False,
    key_file: Annotated[
        Path | None,
        typer.Option(help="The key file (default: PYSETL_CONFIG_KEY[_FILE])."),
    ] = None,
    in_place: Annotated[
        tuple[Path, str] | None,
        typer.Option(
            "--in-place",
            help="FILE KEY: write the value encrypted at KEY of FILE (audited); "
            "without a value, encrypt the value FILE holds there.",
        ),
    ] = None,
    env: _Env = None,
    root: _Root = Path("conf"),
    yes: _Yes = False,
) -> None:
    """Print VALUE encrypted (enc:...), or encrypt a value of a file in place."""
    plain = _read_secret(value, stdin=stdin)
    if in_place is None:
        if plain is None:
            msg = "give the VALUE to encrypt, --stdin, or --in-place FILE KEY"
            raise typer.BadParameter(msg)
        _say(_cipher(key_file).encrypt(plain))
        return
    _encrypt_in_place(ctx, in_place, plain, key_file, env=env, root=root, yes=yes)


def _encrypt_in_place(
    ctx: typer.Context,
    target: tuple[Path, str],
    plain: str | None,
    key_file: Path | None,
    *,
    env: str | None,
    root: Path,
    yes: bool,
) -> None:
    from pysetl.cli._config_edit import read_file_value, set_file_value  # noqa: PLC0415
    from pysetl.config.crypto import ConfigCipher  # noqa: PLC0415
    from pysetl.config.diff import ConfigChange  # noqa: PLC0415

    file, key = target
    layer = _layer_of(file, root)
    audited = env or layer or "base"
    if plain is None:
        current = read_file_value(file, key)
        if not isinstance(current, str | int | float) or isinstance(current, bool):
            msg = f"The value of {key!r} in {str(file)!r} is not a plain value"
            raise ConfigError(msg, hint="give the VALUE to write instead")
        plain = str(current)
        if ConfigCipher.is_encrypted(plain) or "${" in plain:
            msg = f"The value of {key!r} in {str(file)!r} is already a reference"
            raise ConfigError(msg, hint="nothing to encrypt")
    cipher = _cipher(key_file)
    _confirm_protected(
        audited,
        f"Rewrite {key} in {file}",
        yes=yes,
        root=root if layer == "base" else None,  # base changes every environment
    )
    load_env = layer if layer not in {None, "base"} else env
    before = _try_load(root, load_env)
    set_file_value(file, key, cipher.encrypt(plain))
    after = _try_load(root, load_env)
    store = _store(ctx)
    if after is not None:
        store.record_version(after)
    store.record_audit(
        audited,
        "encrypt",
        old_hash=before.version if before else None,
        new_hash=after.version if after else None,
        changes=[ConfigChange(key, "changed", MASK, MASK)],
        note=f"encrypted {key} in {file}",
    )
    _say(f"Encrypted {key} in {file}.")


@config_app.command("audit")
def _audit(
    ctx: typer.Context,
    *,
    env: _Env = None,
    limit: _Limit = 20,
    cursor: _Cursor = None,
) -> None:
    """List the config changes (who, when, what), newest first."""
    page = _store(ctx).list_audit(env=env, limit=limit, cursor=cursor)
    if not page.items:
        _say("No config changes audited.")
        return
    for entry in page.items:
        hashes = f"{(entry.old_hash or '-')[:12]} -> {(entry.new_hash or '-')[:12]}"
        _say(
            f"#{entry.id} {_when(entry.ts)} {entry.env} {entry.action} "
            f"by {entry.actor or '-'}: {hashes}"
        )
        if entry.note:
            _say(f"    {entry.note}")
        for change in entry.changes:
            _say(f"    {change}")
    if page.next_cursor:
        _say(f"More: --cursor {page.next_cursor}")
