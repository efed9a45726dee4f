"""Every ``PYSETL_*`` process setting, parsed once, in one model.

The environment variables that change how pysetl behaves as a process (not
the project config, which ``pysetl.config`` loads) are read here and nowhere
else, so every entry point agrees on what ``PYSETL_DEBUG=0`` means:

============================  ================================================
variable                      meaning
============================  ================================================
``PYSETL_OBSERVE``            record runs (history, logs, metrics, progress);
                              ``0``/``false``/``off`` turns it off, ``1`` on
                              whatever the config says
``PYSETL_HISTORY_URL``        where the run history lives (default: the
                              project's ``.pysetl/history.db``)
``PYSETL_ENV``                the config environment (``conf/<env>``)
``PYSETL_DEBUG``              debug mode: tracebacks, DEBUG logs, step traces
``PYSETL_LOG_FORMAT``         ``json``, ``console`` or ``auto``
``PYSETL_LOG_LEVEL``          the lowest level logged
``PYSETL_SPARK_LOG_LEVEL``    the log4j level of the Spark that pysetl starts
                              (``OFF``, ``FATAL``, ``ERROR``, ``WARN``,
                              ``INFO``, ``DEBUG``, ``TRACE``, ``ALL``; default
                              ``WARN``)
``PYSETL_SPARK_LISTENER``     sum each factory's Spark figures in pysetl's
                              Spark listener (default on); ``0`` reads them
                              from Spark's status store instead
``PYSETL_DISABLE_HOOKS``      entry-point observers not to load (``all``: none)
``PYSETL_UI_TOKEN``           the dashboard's access token
``PYSETL_PROTECTED_ENVS``     environments whose config changes ask first
``PYSETL_HOST``               the host name runs are recorded under (default:
                              the machine's; 255 printable characters at most)
``PYSETL_CONFIG_KEY``         the keys of encrypted config values (``enc:``),
                              comma-separated, newest first
``PYSETL_CONFIG_KEY_FILE``    a file of such keys, one a line (when
                              ``PYSETL_CONFIG_KEY`` is not set)
``PYSETL_SECRET_ROOTS``       the folders ``${secret:file:...}`` may read,
                              ``os.pathsep``-separated
``PYSETL_VAULT_MOUNT``        the Vault secret backend's default mount
                              (default ``secret``)
``PYSETL_VAULT_KV_VERSION``   its KV engine version, ``1`` or ``2`` (default
                              ``2``; the backend checks the text)
``PYSETL_UI_WORKER``          set by ``pysetl ui --workers N`` for its worker
                              processes: what to serve (internal)
============================  ================================================

Variables named ``PYSETL_<KEY>__<SUBKEY>`` (with a ``__``) are not process
settings: they override config keys and are read by the config loader
(``pysetl.config._precedence``), with the rest of the environment that
``${env:...}`` interpolates.

Booleans accept ``1/true/yes/on`` and ``0/false/no/off`` (any case); an
empty value means "not set". Anything else is a ``ConfigError`` that names
the variable and the accepted values, raised when the settings are read.

``settings()`` parses ``os.environ`` on first use and keeps the result;
``reset_settings()`` forgets it (tests, or after changing the environment);
``Settings.from_environ(mapping)`` parses any mapping without caching;
``settings_of(mapping)`` is either, for functions that take an ``environ``
argument. An entry point (the ``pysetl`` command) reads them once and hands
them down.

Added in 0.4. Changed in 0.7: the config key, secret, Vault and dashboard
worker variables are read here too (they were read where they were used).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from pysetl._state import STATE
from pysetl.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = [
    "BOOLEAN_FALSE",
    "BOOLEAN_TRUE",
    "DEFAULT_SPARK_LOG_LEVEL",
    "MAX_HOST_LENGTH",
    "PREFIX",
    "SPARK_LOG_LEVELS",
    "VERBOSE_SPARK_LOG_LEVEL",
    "Settings",
    "parse_bool",
    "parse_host",
    "parse_spark_log_level",
    "reset_settings",
    "settings",
    "settings_of",
]

_T = TypeVar("_T")

PREFIX = "PYSETL_"
BOOLEAN_TRUE = frozenset({"1", "true", "yes", "on"})
"""Texts read as true (compared in lower case)."""
BOOLEAN_FALSE = frozenset({"0", "false", "no", "off"})
"""Texts read as false (compared in lower case)."""
DEFAULT_SPARK_LOG_LEVEL = "WARN"
"""Spark's log4j level unless ``PYSETL_SPARK_LOG_LEVEL`` or ``--verbose`` says."""
VERBOSE_SPARK_LOG_LEVEL = "INFO"
"""Spark's log4j level under ``pysetl --verbose``."""
SPARK_LOG_LEVELS = ("OFF", "FATAL", "ERROR", "WARN", "INFO", "DEBUG", "TRACE", "ALL")
"""The log4j levels ``PYSETL_SPARK_LOG_LEVEL`` takes (any case; ``WARNING`` too)."""


def parse_bool(name: str, value: str | None, *, default: bool) -> bool:
    """Read a boolean setting; ``None`` or blank gives ``default``.

    Raises:
        ConfigError: The text is neither true nor false; the message names
            the variable and the accepted values.
    """
    if value is None or not value.strip():
        return default
    text = value.strip().lower()
    if text in BOOLEAN_TRUE:
        return True
    if text in BOOLEAN_FALSE:
        return False
    msg = f"{name}={value!r} is not a boolean"
    raise ConfigError(
        msg,
        hint=f"set {name} to one of 1/true/yes/on or 0/false/no/off, or unset it",
    )


def _optional_bool(name: str, value: str | None) -> bool | None:
    if value is None or not value.strip():
        return None
    return parse_bool(name, value, default=False)


def _text(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


def parse_spark_log_level(name: str, value: str | None) -> str | None:
    """Read a log4j level (upper case); ``None`` or blank gives ``None``.

    Raises:
        ConfigError: The text is not a log4j level; the message names the
            variable and the accepted levels.
    """
    text = _text(value)
    if text is None:
        return None
    level = text.upper()
    level = "WARN" if level == "WARNING" else level
    if level in SPARK_LOG_LEVELS:
        return level
    msg = f"{name}={value!r} is not a log4j level"
    raise ConfigError(
        msg, hint=f"set {name} to one of {', '.join(SPARK_LOG_LEVELS)}, or unset it"
    )


MAX_HOST_LENGTH = 255
"""The longest host name the run history keeps (``PYSETL_HOST``)."""


def parse_host(name: str, value: str | None) -> str | None:
    """Read a host name to record runs under; ``None`` or blank gives ``None``.

    Raises:
        ConfigError: The name is longer than ``MAX_HOST_LENGTH`` or holds
            spaces or control characters; the message names the variable.

    Added in 0.6.
    """
    text = _text(value)
    if text is None:
        return None
    if len(text) > MAX_HOST_LENGTH or not text.isprintable() or " " in text:
        shown = text[:40] + ("..." if len(text) > 40 else "")  # noqa: PLR2004
        msg = f"{name}={shown!r} is not a host name"
        raise ConfigError(
            msg,
            hint=f"give a name of at most {MAX_HOST_LENGTH} printable characters "
            "without spaces (e.g. etl-worker-1), or unset it",
        )
    return text


def _names(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(name.strip() for name in value.split(",") if name.strip())


def _raw(value: str | None) -> str | None:
    # As given (a path or a mount may hold spaces); empty means not set.
    return value or None


def _paths(value: str | None) -> tuple[str, ...] | None:
    if not value:
        return None
    return tuple(part for part in value.split(os.pathsep) if part)


@dataclass(frozen=True, slots=True)
class Settings:
    """The process settings (see the module docstring for each variable).

    Attributes:
        observe: Record runs in the history (logs, metrics, progress too);
            ``None`` when unset (on, unless the config turns it off).
        history_url: The run history's URL, if set.
        env: The config environment, if set.
        debug: Debug mode.
        log_format: ``json``, ``console`` or ``auto``, if set.
        log_level: The lowest level logged, if set.
        spark_log_level: The log4j level of the Spark pysetl starts, if set
            (upper case).
        disabled_hooks: Entry-point observers not to load (``all``: none).
        ui_token: The dashboard's access token, if set (never printed).
        protected_envs: Environments whose config changes ask first, if set.
        host: The host name runs are recorded under, if set (added in 0.6).
        config_keys: The keys of ``PYSETL_CONFIG_KEY``, newest first (never
            printed; added in 0.7).
        config_key_file: The key file of ``PYSETL_CONFIG_KEY_FILE``, if set
            (added in 0.7).
        secret_roots: The folders file secrets may be read from, if set
            (added in 0.7).
        vault_mount: The Vault backend's default mount, if set (added in 0.7).
        vault_kv_version: The Vault KV version as written, if set (added in
            0.7).
        ui_worker: What a dashboard worker process serves (JSON, set by
            ``serve``), if set (added in 0.7).
        spark_listener: Register pysetl's Spark listener (added in 0.8).
    """

    observe: bool | None = None
    history_url: str | None = None
    env: str | None = None
    debug: bool = False
    log_format: str | None = None
    log_level: str | None = None
    spark_log_level: str | None = None
    disabled_hooks: tuple[str, ...] = ()
    ui_token: str | None = field(default=None, repr=False)
    protected_envs: tuple[str, ...] | None = None
    host: str | None = None
    config_keys: tuple[str, ...] = field(default=(), repr=False)
    config_key_file: str | None = None
    secret_roots: tuple[str, ...] | None = None
    vault_mount: str | None = None
    vault_kv_version: str | None = None
    ui_worker: str | None = None
    spark_listener: bool = True

    @classmethod
    def from_environ(
        cls, environ: Mapping[str, str] | None = None, *, strict: bool = True
    ) -> Settings:
        """Parse the ``PYSETL_*`` variables of ``environ`` (default ``os.environ``).

        Args:
            environ: The variables; default ``os.environ``.
            strict: Raise on a variable with a bad value; ``False`` takes it
                as unset (for readers of the other variables: a config load
                does not fail on a bad ``PYSETL_OBSERVE``, the run does).

        Raises:
            ConfigError: A boolean variable holds something else, or
                ``PYSETL_SPARK_LOG_LEVEL`` is not a log4j level.

        Changed in 0.7: ``strict``.
        """
        env = os.environ if environ is None else environ

        def checked(parse: Callable[[str, str | None], _T], name: str) -> _T | None:
            try:
                return parse(name, env.get(name))
            except ConfigError:
                if strict:
                    raise
                return None

        protected = env.get("PYSETL_PROTECTED_ENVS")
        debug = checked(functools.partial(parse_bool, default=False), "PYSETL_DEBUG")
        return cls(
            observe=checked(_optional_bool, "PYSETL_OBSERVE"),
            history_url=_text(env.get("PYSETL_HISTORY_URL")),
            env=_text(env.get("PYSETL_ENV")),
            debug=bool(debug),
            log_format=_text(env.get("PYSETL_LOG_FORMAT")),
            log_level=_text(env.get("PYSETL_LOG_LEVEL")),
            spark_log_level=checked(parse_spark_log_level, "PYSETL_SPARK_LOG_LEVEL"),
            disabled_hooks=_names(env.get("PYSETL_DISABLE_HOOKS")),
            ui_token=_text(env.get("PYSETL_UI_TOKEN")),
            protected_envs=None if protected is None else _names(protected),
            host=checked(parse_host, "PYSETL_HOST"),
            config_keys=_names(env.get("PYSETL_CONFIG_KEY")),
            config_key_file=_raw(env.get("PYSETL_CONFIG_KEY_FILE")),
            secret_roots=_paths(env.get("PYSETL_SECRET_ROOTS")),
            vault_mount=_raw(env.get("PYSETL_VAULT_MOUNT")),
            vault_kv_version=_raw(env.get("PYSETL_VAULT_KV_VERSION")),
            ui_worker=_raw(env.get("PYSETL_UI_WORKER")),
            spark_listener=checked(
                functools.partial(parse_bool, default=True), "PYSETL_SPARK_LISTENER"
            )
            is not False,
        )

    @property
    def entry_points_disabled(self) -> bool:
        """Whether ``PYSETL_DISABLE_HOOKS=all`` turns every entry point off."""
        return "all" in self.disabled_hooks


def settings() -> Settings:
    """The process settings, parsed from ``os.environ`` on first use.

    They are kept in ``pysetl._state.STATE`` with the rest of the process state.

    Raises:
        ConfigError: A variable holds a value of the wrong kind.
    """
    current = STATE.settings
    if current is None:
        current = STATE.settings = Settings.from_environ()
    return current


def settings_of(
    environ: Mapping[str, str] | None = None, *, strict: bool = True
) -> Settings:
    """The settings of ``environ``; ``None``: the process's (``settings()``).

    For library functions with an ``environ`` argument (tests and callers
    pass a mapping; by default the process settings apply). ``strict=False``
    takes a variable with a bad value as unset (see ``Settings.from_environ``):
    for functions that read other variables, so that they keep working.

    Raises:
        ConfigError: ``strict`` and a variable holds a value of the wrong kind.

    Added in 0.7.
    """
    if environ is not None:
        return Settings.from_environ(environ, strict=strict)
    try:
        return settings()
    except ConfigError:
        if strict:
            raise
        return Settings.from_environ(strict=False)


def reset_settings() -> None:
    """Forget the parsed settings; the next ``settings()`` reads the environment."""
    STATE.settings = None
