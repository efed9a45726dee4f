"""The ``pysetl`` command: parses arguments and calls ``pysetl.cli.commands``.

One handler (``PySetlGroup.invoke``) turns every error into a short
message and a documented exit code (see ``commands``); a failing factory is
shown with its run, stage, factory, phase, Spark error class and hint;
``--debug`` adds the traceback. Everything printed goes through the
redaction point. The root callback is the one place that configures logging
(``--log-format``, ``--log-level``, ``--debug``; see ``pysetl.logs``; and
``--verbose`` for the Spark that ``run`` starts) and
reads the ``PYSETL_*`` process settings, once per invocation, through
``pysetl.settings`` (an option given on the command line wins over its
variable; a variable with a bad value is a usage error, exit code 2).
Nothing here imports pyspark, so ``pysetl --help`` needs no JVM.

Added in 0.2. Changed in 0.4: ``PYSETL_DEBUG=0`` means off; every variable
is parsed by ``pysetl.settings``.
"""

from __future__ import annotations

import sys
import traceback
from typing import TYPE_CHECKING, Annotated, Any

try:
    import typer
    from rich.console import Console
    from typer.core import TyperGroup, TyperOption
except ImportError as exc:  # pragma: no cover - exercised without the extra
    msg = "The pysetl command needs its extra: pip install 'pysetl[cli]'"
    raise ImportError(msg) from exc

from pysetl import __version__
from pysetl.cli import commands
from pysetl.cli._state import CliState, open_history_of
from pysetl.cli.alerts_cmd import alerts_app
from pysetl.cli.config_cmd import config_app
from pysetl.cli.doctor_cmd import doctor
from pysetl.cli.errors_cmd import errors_app
from pysetl.cli.graph_cmd import graph
from pysetl.cli.new_cmd import new
from pysetl.cli.run_cmd import run
from pysetl.cli.ui_cmd import ui
from pysetl.errors import (
    ConfigError,
    ConfigLoadError,
    DependencyResolutionError,
    FactoryError,
    PySetlError,
)
from pysetl.logs import configure_logging, reset_logging
from pysetl.settings import VERBOSE_SPARK_LOG_LEVEL, reset_settings, settings
from pysetl.utils.redaction import redact_text

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pysetl.monitoring.history import BaseRunHistory

__all__ = ["PySetlGroup", "app", "main"]


def _flags_without_type() -> None:
    """Show flags as flags in ``--help`` (``--debug``, not ``--debug <bool>``).

    Recent typer releases print a type after every option in their rich
    help, flags included (typer's plain help already leaves it out for
    flags); a flag takes no value, so its type column stays empty. Idempotent.
    """
    show = getattr(TyperOption, "display_type_rich", None)
    if show is None or show.__module__ == __name__:
        return

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        if getattr(self, "is_flag", False) or getattr(self, "count", False):
            return None
        result: str | None = show(self, ctx)
        return result

    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_flags_without_type()

# Typer raises click's exceptions (vendored by recent typer releases): usage
# errors and exits pass through our handler to typer's own.
_PASS_THROUGH: tuple[type[BaseException], ...] = (
    typer.Exit,
    *(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"),
)


class PySetlGroup(TyperGroup):
    """The top-level command group: maps errors to messages and exit codes."""

    def invoke(self, ctx: Any) -> Any:
        """Run the command; turn pysetl errors into a message and an exit code."""
        try:
            return super().invoke(ctx)
        except _PASS_THROUGH:
            raise
        except (typer.Abort, KeyboardInterrupt):
            Console(stderr=True).print("Aborted.")
            raise typer.Exit(commands.EXIT_INTERRUPTED) from None
        except Exception as error:  # noqa: BLE001 - the one top-level handler
            raise typer.Exit(_report(error, debug=_debug_of(ctx))) from None


def _debug_of(ctx: Any) -> bool:
    """Whether to show tracebacks: what the root callback decided, if it ran."""
    state = ctx.find_object(CliState)
    if state is not None:
        return bool(state.debug)
    if ctx.params.get("debug"):
        return True
    try:
        return settings().debug
    except ConfigError:  # reported by the root callback, as a usage error
        return False


def _where(error: FactoryError) -> str:
    fields = (
        ("run", error.run_id),
        ("pipeline", error.pipeline),
        ("stage", error.stage),
        ("factory", error.factory),
        ("attempt", error.attempt),
        ("phase", error.phase),
    )
    return ", ".join(f"{name} {value}" for name, value in fields if value is not None)


def _error_lines(error: PySetlError) -> list[str]:
    """The one-line message, the error's context, then its hint."""
    lines = error.message.strip().splitlines() if error.message else []
    first = lines[0] if lines else ""
    out = [f"pysetl: error: {first or type(error).__name__}"]
    if isinstance(error, ConfigLoadError):
        # Every located problem, not just the summary line.
        out += lines[1:]
    if isinstance(error, DependencyResolutionError):
        # str(error) is the old pysetl's text for the first problem only.
        out += [f"  - {problem}" for problem in error.problems]
    if isinstance(error, FactoryError):
        out.append(f"  at: {_where(error)}")
        if error.error_class:
            out.append(f"  spark error class: {error.error_class}")
    if error.hint:
        out.append(f"  hint: {error.hint}")
    return out


def _report(error: Exception, *, debug: bool) -> int:
    err = Console(stderr=True, highlight=False)

    def say(text: str) -> None:
        err.print(redact_text(text), markup=False, soft_wrap=True)

    code = commands.exit_code_for(error)
    if debug:
        say("".join(traceback.format_exception(error)))
    if isinstance(error, PySetlError):
        for line in _error_lines(error):
            say(line)
    else:
        say(f"pysetl: internal error: {type(error).__name__}: {error}")
        if not debug:
            err.print("  hint: run again with --debug and report the traceback")
    return code


app = typer.Typer(
    cls=PySetlGroup,
    name="pysetl",
    help="pysetl: run a project's pipelines; inspect their runs, logs, errors, "
    "alerts and config.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
runs_app = typer.Typer(
    help="List, show and prune the runs in the run history.",
    no_args_is_help=True,
)
app.add_typer(runs_app, name="runs")
app.add_typer(config_app, name="config")
app.add_typer(errors_app, name="errors")
app.add_typer(alerts_app, name="alerts")
app.command("ui")(ui)
app.command("run")(run)
app.command("graph")(graph)
app.command("new")(new)
app.command("doctor")(doctor)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"pysetl {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    ctx: typer.Context,
    *,
    history: Annotated[
        str | None,
        typer.Option(
            "--history",
            help="The run history URL (default: PYSETL_HISTORY_URL, else the "
            "config's monitoring.history for run, doctor and alerts, else "
            ".pysetl/history.db in the project).",
        ),
    ] = None,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            help="Show tracebacks of errors; log at DEBUG and trace each "
            "lifecycle step with timings and input shapes (also PYSETL_DEBUG=1).",
        ),
    ] = False,
    log_format: Annotated[
        str | None,
        typer.Option(
            "--log-format",
            help="Log format: json, console, or auto (console on a terminal); "
            "default: PYSETL_LOG_FORMAT, else auto.",
        ),
    ] = None,
    log_level: Annotated[
        str | None,
        typer.Option(
            "--log-level",
            help="Lowest level logged (DEBUG, INFO, WARNING...); "
            "default: PYSETL_LOG_LEVEL, else INFO (DEBUG under --debug).",
        ),
    ] = None,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose",
            "-v",
            help="Let the Spark that pysetl starts log at INFO (default: "
            "PYSETL_SPARK_LOG_LEVEL, else WARN).",
        ),
    ] = False,
    version: Annotated[  # noqa: ARG001 - handled by its callback
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version."
        ),
    ] = False,
) -> None:
    reset_settings()  # one parse per invocation, of the environment as it is now
    ctx.call_on_close(reset_settings)
    try:
        current = settings()
    except ConfigError as error:
        msg = f"{error.message}; {error.hint}" if error.hint else error.message
        raise typer.BadParameter(msg) from None
    debug = debug or current.debug
    try:
        handlers = configure_logging(log_format, log_level, debug=debug)  # type: ignore[arg-type]
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    ctx.call_on_close(reset_logging)
    ctx.obj = CliState(
        history_url=history or current.history_url,
        debug=debug,
        log_handlers=tuple(handlers),
        log_level_set=bool(log_level or current.log_level),
        spark_log_level=VERBOSE_SPARK_LOG_LEVEL if verbose else None,
        settings=current,
    )


def _open(ctx: typer.Context) -> BaseRunHistory:
    # runs and logs read an existing history: they create no folder, file or table
    return open_history_of(ctx, create=False)


def _check_status(value: str | None) -> str | None:
    from pysetl.monitoring.history import STATUSES  # noqa: PLC0415 - lazy

    if value is not None and value not in STATUSES:
        msg = f"{value!r} is not one of {', '.join(STATUSES)}"
        raise typer.BadParameter(msg)
    return value


_Limit = Annotated[int, typer.Option(min=1, max=1000, help="Rows per page.")]


@runs_app.command("list")
def _runs_list(
    ctx: typer.Context,
    *,
    pipeline: Annotated[
        str | None, typer.Option(help="Only runs of this pipeline.")
    ] = None,
    status: Annotated[
        str | None,
        typer.Option(
            callback=_check_status,
            help="Only runs with this status: running, succeeded, failed, crashed.",
        ),
    ] = None,
    limit: _Limit = 20,
    cursor: Annotated[
        str | None, typer.Option(help="Start after this cursor (from a page).")
    ] = None,
    page: Annotated[int, typer.Option(min=1, help="Show this page.")] = 1,
    host: Annotated[
        str | None,
        typer.Option(help="Only runs recorded on this host (see PYSETL_HOST)."),
    ] = None,
) -> None:
    """List runs, newest first (marks dead runs as crashed first)."""
    with _open(ctx) as history:
        commands.list_runs(
            history,
            pipeline=pipeline,
            status=status,
            limit=limit,
            cursor=cursor,
            page=page,
            host=host,
        )


@runs_app.command("show")
def _runs_show(
    ctx: typer.Context,
    *,
    run_id: Annotated[str, typer.Argument(metavar="RUN", help="The run id.")],
    limit: Annotated[
        int,
        typer.Option(
            min=1,
            max=1000,
            help="At most this many stages, factory attempts, skipped factories "
            "and samples.",
        ),
    ] = 100,
    show_traceback: Annotated[
        bool, typer.Option("--traceback", help="Show the error's traceback.")
    ] = False,
) -> None:
    """Show a run: stages, factory attempts, Spark figures, samples and its error."""
    with _open(ctx) as history:
        commands.show_run(history, run_id, limit=limit, traceback=show_traceback)


@runs_app.command("prune")
def _runs_prune(
    ctx: typer.Context,
    *,
    older_than: Annotated[
        str, typer.Option("--older-than", help="An age: 30d, 12h, 90m, 2w.")
    ],
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")
    ] = False,
) -> None:
    """Delete finished runs older than an age, with everything recorded of them."""
    try:
        commands.parse_age(older_than)  # fail on a bad age before asking
    except PySetlError as error:
        raise typer.BadParameter(error.message, param_hint="--older-than") from None
    if not yes:
        typer.confirm(f"Delete every finished run older than {older_than}?", abort=True)
    with _open(ctx) as history:
        commands.prune_runs(history, older_than)


@app.command("logs")
def _logs(
    ctx: typer.Context,
    *,
    run_id: Annotated[str, typer.Argument(metavar="RUN", help="The run id.")],
    factory: Annotated[
        str | None, typer.Option(help="Only lines of this factory.")
    ] = None,
    level: Annotated[
        str | None, typer.Option(help="Only lines of this level and up.")
    ] = None,
    grep: Annotated[
        str | None, typer.Option(help="Only lines containing this text.")
    ] = None,
    limit: Annotated[
        int,
        typer.Option(
            min=1, max=1000, help="At most this many lines (with --follow: per poll)."
        ),
    ] = 100,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Wait for new lines.")
    ] = False,
    poll_interval: Annotated[
        float, typer.Option(hidden=True, help="Seconds between polls.")
    ] = 1.0,
) -> None:
    """Show the log lines of a run; --follow waits for new ones until it ends."""
    with _open(ctx) as history:
        commands.show_logs(
            history,
            run_id,
            factory=factory,
            level=level,
            grep=grep,
            limit=limit,
            follow=follow,
            poll_interval=poll_interval,
        )


def main(argv: Sequence[str] | None = None) -> None:
    """Run the ``pysetl`` command (the console script's entry point)."""
    app(args=list(argv) if argv is not None else sys.argv[1:], prog_name="pysetl")


if __name__ == "__main__":
    main()
