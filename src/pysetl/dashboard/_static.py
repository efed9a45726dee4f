"""Serving the page's own files, and nothing outside their folder.

A requested path is refused (404, the same answer as a missing file, so a
probe learns nothing) when it is absolute, has an empty, ``.`` or ``..``
segment, a backslash, a drive letter or a NUL, or when the file it resolves
to (symbolic links followed) is not inside the static folder. The path is
checked after the server decoded it, so ``..%2f`` and ``%2e%2e/`` are
caught like ``../``. Only regular files are served, with a content type
chosen from a fixed list of extensions.

Added in 0.3.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["CONTENT_TYPES", "PLACEHOLDER", "STATIC_DIR", "resolve_static"]

STATIC_DIR = Path(__file__).with_name("static")
"""The folder of the page's files (``index.html``, ``app.js``...)."""

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".txt": "text/plain; charset=utf-8",
}

PLACEHOLDER = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>pysetl</title></head>
<body><h1>pysetl dashboard</h1>
<p>The page is not installed; the JSON API is at <a href="/api/runs">/api/runs</a>
and documented in <a href="/openapi.json">/openapi.json</a>.</p></body></html>
"""


def resolve_static(root: Path, requested: str) -> Path | None:
    """The file under ``root`` that ``requested`` names, or ``None`` if refused.

    Args:
        root: The static folder.
        requested: The decoded path after ``/static/``.
    """
    if not requested or "\x00" in requested or "\\" in requested:
        return None
    if requested.startswith("/") or ":" in requested:
        return None
    parts = requested.split("/")
    if any(part in {"", ".", ".."} for part in parts):
        return None
    base = root.resolve()
    try:
        found = base.joinpath(*parts).resolve(strict=True)
    except (OSError, RuntimeError):  # missing, or a symlink loop
        return None
    if not found.is_relative_to(base) or not found.is_file():
        return None
    return found
