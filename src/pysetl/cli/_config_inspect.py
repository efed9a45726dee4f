"""``pysetl config explain|show|validate|schema``: read the project's config.

Added in 0.7 (split from ``pysetl.cli.config_cmd``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pysetl.cli._config_common import (
    EXIT_CONFIG,
    Env,
    Root,
    Schema,
    import_schema,
    load,
    say,
)
from pysetl.errors import ConfigError

if TYPE_CHECKING:
    from pysetl.errors import ConfigLoadError

__all__ = ["explain", "show", "validate", "write_schema"]


def explain(
    key: Annotated[str, typer.Argument(help="A dotted key path: db.pool.size.")],
    *,
    env: Env = None,
    root: Root = Path("conf"),
) -> None:
    """Show where each value of KEY comes from: file, line, layer, winner first."""
    resolved = load(root, env)
    try:
        origins = resolved.explain(key)
    except KeyError:
        msg = f"The config of {env or 'base'!r} has no key {key!r}"
        raise ConfigError(msg, hint="list the keys with 'pysetl config show'") from None
    say(f"{key} (env {env or '-'}), winner first:")
    for rank, origin in enumerate(origins, 1):
        where = "" if origin.file is None else str(origin.file)
        where += "" if origin.line is None else f":{origin.line}"
        value = json.dumps(origin.value, default=str)
        via = f"  (via {origin.via})" if origin.via else ""
        say(f"  {rank}. {origin.layer:<9} {where or '-':<32} {value}{via}")


def _dump(data: Any, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(data, indent=2, sort_keys=False)
    from pysetl.config.edit import yaml_module  # noqa: PLC0415 - lazy

    text = yaml_module().safe_dump(data, sort_keys=False, allow_unicode=True)
    return str(text).rstrip()


def show(
    *,
    env: Env = None,
    root: Root = Path("conf"),
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="Output format: yaml or json.")
    ] = "yaml",
) -> None:
    """Print the resolved config, secrets masked."""
    if fmt not in {"yaml", "json"}:
        msg = f"{fmt!r} is not one of yaml, json"
        raise typer.BadParameter(msg)
    resolved = load(root, env)
    # Masked key by key already: the text patterns would garble the YAML.
    typer.echo(_dump(resolved.as_dict(masked=True), fmt))


def _print_load_error(error: ConfigLoadError, env: str | None) -> None:
    errors = error.errors or [{"msg": error.message}]
    say(f"{len(errors)} problem(s) in the config of {env or 'base'!r}:", err=True)
    for item in errors:
        where = ":".join(
            str(item[k]) for k in ("file", "line") if item.get(k) is not None
        )
        key = f" {item['key']}" if item.get("key") else ""
        say(f"  {where}{key}: {item.get('msg', '')}".replace("  :", "  "), err=True)


def validate(
    *,
    env: Env = None,
    root: Root = Path("conf"),
    schema: Schema = None,
    strict: Annotated[
        bool,
        typer.Option(help="Fail on file permission problems and unknown options too."),
    ] = False,
) -> None:
    """Load and validate the config; report every problem at once (for CI)."""
    from pysetl.config.checks import (  # noqa: PLC0415 - lazy
        check_config,
        permission_problems,
    )

    model = import_schema(schema)
    problems = permission_problems(root, env)
    for problem in problems:
        say(f"warning: {problem}", err=True)
    found = check_config(root, env, schema=model, reported=problems)
    for insecure in found.insecure:  # secret files, mostly
        problems.append(insecure)
        say(f"warning: {insecure}", err=True)
    if found.failure is not None:
        _print_load_error(found.failure, env)
        raise typer.Exit(EXIT_CONFIG)
    assert found.resolved is not None  # noqa: S101 - loaded when nothing failed
    options = found.unknown_options
    for option in options:
        say(f"warning: {option}", err=True)
    files = len(found.resolved.files)
    summary = f"{env or 'base'} ({files} files), version {found.resolved.version[:12]}"
    if (problems or options) and strict:
        counts = [
            f"{count} {what}"
            for count, what in (
                (len(problems), "file problem(s)"),
                (len(options), "unknown option(s)"),
            )
            if count
        ]
        say(f"FAILED: {summary} is valid, but --strict: {', '.join(counts)}")
        raise typer.Exit(EXIT_CONFIG)
    say(f"OK: {summary}")


def write_schema(
    *,
    schema: Schema = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file.")
    ] = None,
) -> None:
    """Write the JSON Schema of the config (for editors)."""
    from pysetl.config.models import config_json_schema  # noqa: PLC0415 - lazy

    text = json.dumps(config_json_schema(import_schema(schema)), indent=2)
    if output is None:
        typer.echo(text)  # model definitions, no values: nothing to mask
    else:
        output.write_text(text + "\n", encoding="utf-8")
        say(f"Wrote the JSON Schema to {output}")
