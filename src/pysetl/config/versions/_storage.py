"""``ConfigVersionStorage``: what a store offers to keep config versions.

``ConfigStore`` keeps the logic (what a version row holds, prefix lookup,
masking of audit entries); a store keeps rows. The run history's SQL stores
(SQLite, PostgreSQL) and its in-memory store implement this protocol with
public methods, each one transaction, so that ``pysetl.config`` never
reaches into ``pysetl.monitoring`` (which sits above it).

How to add a store that keeps config versions: implement these methods (the
rows are plain dicts, see each method) and pass the store to
``ConfigStore``; ``isinstance(store, ConfigVersionStorage)`` then holds.

Added in 0.7.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pysetl.utils.paging import Page

__all__ = ["ConfigVersionStorage"]


@runtime_checkable
class ConfigVersionStorage(Protocol):
    """Rows of config versions and of the config audit, kept by a store.

    A version row holds ``env``, ``hash``, ``recorded_at``, ``actor``,
    ``root``, ``sources`` (``{path: text}``) and ``masked``, plus its ``id``
    (increasing) when read back. An audit row holds ``ts``, ``env``,
    ``action``, ``old_hash``, ``new_hash``, ``actor``, ``changes`` (a list
    of dicts) and ``note``, plus its ``id``. Errors of the backend are
    raised as ``RunHistoryError``.
    """

    url: str
    """Where the store lives (password hidden), for messages."""

    def save_config_version(self, row: Mapping[str, Any], content: str) -> None:
        """Store a version row and its content, in one transaction.

        ``content`` (the masked config as JSON) is kept once per hash. The
        first row of an ``(env, hash)`` pair is kept; a later row of the pair
        that is not ``masked`` replaces only its ``sources`` (and ``masked``).
        """

    def find_config_versions(
        self, prefix: str, env: str | None
    ) -> list[dict[str, Any]]:
        """The version rows whose hash starts with ``prefix`` (of ``env`` if given)."""

    def config_version_content(self, digest: str) -> str | None:
        """The content stored for the hash ``digest``, if any."""

    def add_config_audit(self, row: Mapping[str, Any]) -> int:
        """Store an audit row; return its id."""

    def list_config_versions(
        self, *, env: str | None, limit: int, cursor: str | None
    ) -> Page[dict[str, Any]]:
        """One page of version rows, newest first (of ``env`` if given)."""

    def list_config_audit(
        self, *, env: str | None, limit: int, cursor: str | None
    ) -> Page[dict[str, Any]]:
        """One page of audit rows, newest first (of ``env`` if given)."""
