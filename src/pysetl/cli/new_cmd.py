"""``pysetl new``: scaffold a project, add a factory, take template updates.

* ``pysetl new NAME [--dir D] [--defaults]`` makes the project ``D/NAME``
  from the template shipped with pysetl (copier): config per environment,
  a pipeline of three typed factories over sample CSV data, tests with
  ``pysetl.testing``, ruff/mypy settings, a CI workflow and a README;
* ``pysetl new factory NAME`` (in a project) adds a factory module and its
  test;
* ``pysetl new --update`` (in a project) merges what changed in the
  template since the project was made.

Questions not given on the command line are asked on a terminal; with
``--defaults``, or when standard input is not a terminal, their defaults
are taken. The logic is in ``pysetl.scaffold``; a bad name, a folder in
use or a project that cannot be updated is a usage error (exit code 2)
with a hint.

Added in 0.5.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from pysetl.cli.commands import EXIT_USAGE

if TYPE_CHECKING:
    from pysetl.scaffold import Scaffolded

__all__ = ["new"]

_FACTORY = "factory"


def _usage_error(message: str, hint: str | None) -> typer.Exit:
    err = Console(stderr=True, highlight=False)
    err.print(f"pysetl: error: {message}", markup=False, soft_wrap=True)
    if hint:
        err.print(f"  hint: {hint}", markup=False, soft_wrap=True)
    return typer.Exit(EXIT_USAGE)


def new(
    *,
    args: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="NAME | factory NAME",
            help="The project to create, or 'factory' and the factory to add.",
            show_default=False,
        ),
    ] = None,
    directory: Annotated[
        Path | None,
        typer.Option(
            "--dir",
            help="Where to create the project's folder (default: here); with "
            "'factory' or --update: the project's folder (default: found from here).",
        ),
    ] = None,
    defaults: Annotated[
        bool,
        typer.Option(
            "--defaults",
            help="Take the default answer of every question (no prompts).",
        ),
    ] = False,
    pipeline: Annotated[
        str | None,
        typer.Option("--pipeline", help="The pipeline's name (default: revenue)."),
    ] = None,
    update: Annotated[
        bool,
        typer.Option(
            "--update",
            help="Merge the changes of this pysetl's template into the project "
            "(a clean git repository).",
        ),
    ] = False,
) -> None:
    """Create a project, add a factory to one, or update one from the template."""
    from pysetl.scaffold import ScaffoldError  # noqa: PLC0415 - copier when used

    out = Console(highlight=False, soft_wrap=True)  # paths stay whole
    try:
        _new(
            out,
            list(args or []),
            directory,
            pipeline=pipeline,
            update=update,
            defaults=defaults,
        )
    except ScaffoldError as error:
        # Each is about what was asked: a name, a folder, the project's state.
        raise _usage_error(error.message, error.hint) from None


def _new(
    out: Console,
    words: list[str],
    directory: Path | None,
    *,
    pipeline: str | None,
    update: bool,
    defaults: bool,
) -> None:
    from pysetl import scaffold  # noqa: PLC0415 - copier only when scaffolding

    if update:
        if words:
            msg = "--update takes no NAME"
            raise scaffold.ScaffoldError(
                msg, hint="run 'pysetl new --update' in the project"
            )
        _print_update(out, scaffold.update_project(directory))
        return
    if words[:1] == [_FACTORY] and len(words) <= 2:  # noqa: PLR2004 - factory NAME
        if len(words) == 1:
            msg = "pysetl new factory needs the factory's NAME"
            raise scaffold.ScaffoldError(msg, hint="pysetl new factory EnrichOrders")
        made = scaffold.new_factory(words[1], project=directory)
        for name in made.files:
            out.print(f"created {name}")
        module = Path(made.files[0]).stem
        out.print(
            f"Add it to a stage of your pipeline (factories.{module}); "
            f"run its test with: pytest {made.files[1]}"
        )
        return
    if len(words) != 1:
        got = " ".join(words) or "nothing"
        msg = f"Expected NAME or 'factory NAME', got {got}"
        hint = "pysetl new my_project, or pysetl new factory EnrichOrders"
        raise scaffold.ScaffoldError(msg, hint=hint)
    data = {"pipeline_name": pipeline} if pipeline else {}
    asked = not defaults and sys.stdin.isatty()
    made = scaffold.new_project(
        words[0], directory=directory or Path(), data=data, defaults=not asked
    )
    out.print(f"Created {made.root} ({len(made.files)} files). Next:")
    out.print(f"  cd {made.root}")
    out.print("  pysetl run --env dev     # the pipeline, on the sample data")
    out.print("  pytest                   # its tests")
    out.print("  pysetl doctor --env dev  # what to fix, if anything fails")


def _print_update(out: Console, done: Scaffolded) -> None:
    if not done.files:
        out.print(f"{done.root} is up to date (template {done.template_ref}).")
        return
    out.print(
        f"Updated {done.root} to template {done.template_ref}; "
        "changed files (review them with git diff, resolve any conflict markers):"
    )
    for name in done.files:
        out.print(f"  {name}")
