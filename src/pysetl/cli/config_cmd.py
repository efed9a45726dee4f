"""``pysetl config``: explain, show, validate, encrypt and version a project's config.

This module assembles the ``config`` command group; the commands live in
``_config_inspect`` (explain, show, validate, schema), ``_config_versions``
(record, history, diff, rollback, audit) and ``_config_secrets`` (encrypt,
keygen, rotate-key), their shared options in ``_config_common``, and the
logic in ``pysetl.config``.

Every command takes ``--root`` (default ``conf``) and ``--env`` (default
``PYSETL_ENV``). Versions and the audit trail live in the run history
(``--history`` / ``PYSETL_HISTORY_URL``). Changing a protected environment
(``rollback``, ``encrypt --in-place``, ``rotate-key``) asks for confirmation
unless ``--yes``;
the protected environments are ``prod`` and ``production``, or those listed
in ``PYSETL_PROTECTED_ENVS`` (comma-separated), or in ``protected_envs`` of
``[tool.pysetl.config]`` in the project's ``pyproject.toml``. Everything
printed goes through the redaction point; errors go through the top-level
handler (exit code 3 for config errors, 4 for run history errors).

Added in 0.3. Changed in 0.4: ``PYSETL_ENV`` and ``PYSETL_PROTECTED_ENVS`` come
from ``pysetl.settings``. Changed in 0.7: split by responsibility; the group
holds ``keygen`` and ``rotate-key`` too.
"""

from __future__ import annotations

import typer

from pysetl.cli._config_common import protected_envs
from pysetl.cli._config_inspect import explain, show, validate, write_schema
from pysetl.cli._config_secrets import encrypt, keygen, rotate_key
from pysetl.cli._config_versions import audit, diff, history, record, rollback

__all__ = ["PROTECTED_ENVS_VAR", "config_app", "protected_envs"]

PROTECTED_ENVS_VAR = "PYSETL_PROTECTED_ENVS"
"""The variable that lists the protected environments (``pysetl.config.protect``)."""

config_app = typer.Typer(
    help="Explain, show, validate, encrypt and version the project's config.",
    no_args_is_help=True,
)
config_app.command("explain")(explain)
config_app.command("show")(show)
config_app.command("validate")(validate)
config_app.command("schema")(write_schema)
config_app.command("record")(record)
config_app.command("history")(history)
config_app.command("diff")(diff)
config_app.command("rollback")(rollback)
config_app.command("encrypt")(encrypt)
config_app.command("audit")(audit)
config_app.command("keygen")(keygen)
config_app.command("rotate-key")(rotate_key)
