"""Check a built mkdocs site for rendering problems the strict build lets through.

``mkdocs build --strict`` fails on broken links between Markdown pages, but
not on what Markdown makes of a docstring it misreads. Two known cases:

- a doctest (``>>> x = 1``) outside an ``Examples:`` section is Markdown for
  three nested block quotes: the prompts vanish and the code becomes prose;
- ``Deliverable[int](42, delivery_id="n")`` outside code is Markdown for a
  link to ``42, delivery_id=`` labelled ``int``.

This script parses every HTML page of the site and fails (exit code 1) on:

- ``doctest-blockquote``: a block quote whose first child is a block quote,
  or whose text starts with ``>>>`` (what a doctest prompt becomes), once
  per outermost such quote;
- ``doctest-prose``: a ``>>>`` prompt in text outside ``<code>``/``<pre>``;
- ``broken-link``: an ``<a href>`` to this site whose page is not in the
  site, or whose ``#anchor`` is no element id of that page;
- ``rest-literal``: a paragraph ending in ``::`` (a reStructuredText literal
  block marker, which Markdown shows as is);
- ``rest-role``: a Sphinx role such as ``:class:`` or ``:func:`` in front of
  code, which Markdown shows as is.

Usage: ``python scripts/check_docs_site.py SITE_DIR`` (``scripts/dev.sh docs``
runs it after the build). Each problem is printed with its page, the nearest
heading id above it (the API object, on the reference page) and the text.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

__all__ = ["Problem", "check_site", "main"]

# Elements whose text is code: a ">>>" there is meant.
CODE_TAGS = frozenset({"code", "pre", "script", "style", "textarea"})
# Void elements never get an end tag.
VOID_TAGS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta"}
    | {"param", "source", "track", "wbr"}
)
HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
# ":class:`X`" in a docstring renders as ":class:" then <code>X</code>.
ROLE = re.compile(r"(?<![\w:]):(?:py:)?(?:attr|class|data|exc|func|meth|mod|obj|ref):$")
SNIPPET = 100


@dataclass(frozen=True)
class Problem:
    """One rendering problem: where it is and what it shows."""

    kind: str
    page: str
    near: str
    detail: str

    def __str__(self) -> str:
        """``page#near: kind: detail``, one line."""
        where = f"{self.page}#{self.near}" if self.near else self.page
        return f"{where}: {self.kind}: {self.detail}"


@dataclass
class _Link:
    href: str
    near: str
    text: str = ""


@dataclass
class _Quote:
    near: str
    parent: _Quote | None = None
    first_child: str | None = None
    text: str = ""

    @property
    def misread(self) -> bool:
        """A doctest Markdown read as quotes: nested at once, or a prompt."""
        return self.first_child == "blockquote" or self.text.lstrip().startswith(">>>")

    @property
    def reported(self) -> bool:
        """Misread, and not inside a misread quote (one report per doctest)."""
        ancestor = self.parent
        while ancestor is not None:
            if ancestor.misread:
                return False
            ancestor = ancestor.parent
        return self.misread


class _PageParser(HTMLParser):
    """Collects a page's ids, links, block quotes and prose prompts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[_Link] = []
        self.quotes: list[_Quote] = []
        self.prose_prompts: list[tuple[str, str]] = []
        self.rest_literals: list[tuple[str, str]] = []
        self.rest_roles: list[tuple[str, str]] = []
        self._last_text = ""
        self._stack: list[str] = []
        self._code_depth = 0
        self._near = ""
        self._open_links: list[_Link] = []
        self._open_quotes: list[_Quote] = []
        self._paragraph: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        self.ids.update(values[name] for name in ("id", "name") if values.get(name))
        if tag in HEADINGS and values.get("id"):
            self._near = values["id"]
        if self._open_quotes and self._open_quotes[-1].first_child is None:
            self._open_quotes[-1].first_child = tag
        if tag in VOID_TAGS:
            return
        self._stack.append(tag)
        role = ROLE.search(self._last_text)
        if tag == "code" and self._code_depth == 0 and role:
            self.rest_roles.append((self._near, role.group()))
        self._last_text = ""  # what a role may stand right before
        if tag in CODE_TAGS:
            self._code_depth += 1
        self._open(tag, values)

    def _open(self, tag: str, values: dict[str, str]) -> None:
        """Start collecting what a link, a block quote or a paragraph holds."""
        if tag == "a" and "href" in values:
            link = _Link(values["href"], self._near)
            self.links.append(link)
            self._open_links.append(link)
        elif tag == "blockquote":
            parent = self._open_quotes[-1] if self._open_quotes else None
            quote = _Quote(self._near, parent)
            self.quotes.append(quote)
            self._open_quotes.append(quote)
        elif tag == "p":
            self._paragraph = []

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID_TAGS or tag not in self._stack:
            return
        # Close everything up to the matching start tag (HTML's implied ends).
        while self._stack:
            open_tag = self._stack.pop()
            self._close(open_tag)
            if open_tag == tag:
                break

    def _close(self, tag: str) -> None:
        if tag in CODE_TAGS:
            self._code_depth -= 1
        elif tag == "a" and self._open_links:
            self._open_links.pop()
        elif tag == "blockquote" and self._open_quotes:
            self._open_quotes.pop()
        elif tag == "p" and self._paragraph is not None:
            text = "".join(self._paragraph).strip()
            if text.endswith("::") and not text.endswith(":::"):
                self.rest_literals.append((self._near, text[-SNIPPET:]))
            self._paragraph = None

    def handle_data(self, data: str) -> None:
        if self._code_depth == 0:
            self._last_text = data
        for link in self._open_links:
            link.text += data
        for quote in self._open_quotes:
            quote.text += data
        if self._paragraph is not None:
            self._paragraph.append(data)
        if self._code_depth == 0 and ">>>" in data:
            start = data.index(">>>")
            self.prose_prompts.append((self._near, data[start : start + SNIPPET]))


def _page_url(site: Path, html_file: Path) -> PurePosixPath:
    return PurePosixPath(html_file.relative_to(site).as_posix())


def _target_file(site: Path, page: PurePosixPath, path: str) -> Path | None:
    """The site file a relative or site-absolute ``path`` points to, if any."""
    if path.startswith("/"):
        joined = PurePosixPath(path.lstrip("/"))
    else:
        joined = page.parent / path
    parts: list[str] = []
    for part in joined.parts:
        if part == "..":
            if not parts:
                return None  # above the site's root
            parts.pop()
        elif part not in {".", ""}:
            parts.append(part)
    candidate = site.joinpath(*parts)
    if candidate.is_dir():
        candidate = candidate / "index.html"
    return candidate if candidate.is_file() else None


def _parse(html_file: Path) -> _PageParser:
    parser = _PageParser()
    parser.feed(html_file.read_text(encoding="utf-8"))
    parser.close()
    return parser


def _short(text: str) -> str:
    return " ".join(text.split())[:SNIPPET]


def check_site(site: Path) -> list[Problem]:
    """Every rendering problem of the HTML pages under ``site``.

    Args:
        site: The folder ``mkdocs build`` wrote.

    Returns:
        The problems, by page then position; empty when the site is clean.

    Raises:
        FileNotFoundError: ``site`` holds no HTML page.
    """
    pages = sorted(site.rglob("*.html"))
    if not pages:
        msg = f"No HTML page under {str(site)!r}: build the site first (mkdocs build)"
        raise FileNotFoundError(msg)
    parsed = {_page_url(site, page): _parse(page) for page in pages}
    problems: list[Problem] = []
    for url, page in parsed.items():
        name = str(url)
        problems.extend(
            Problem("doctest-blockquote", name, quote.near, _short(quote.text))
            for quote in page.quotes
            if quote.reported
        )
        problems.extend(
            Problem("doctest-prose", name, near, _short(text))
            for near, text in page.prose_prompts
        )
        problems.extend(
            Problem("rest-literal", name, near, text)
            for near, text in page.rest_literals
        )
        problems.extend(
            Problem("rest-role", name, near, f"{role} (a Sphinx role)")
            for near, role in page.rest_roles
        )
        for link in page.links:
            detail = _broken(site, url, link.href, parsed)
            if detail:
                text = _short(link.text)
                problems.append(
                    Problem("broken-link", name, link.near, f"[{text}]({detail})")
                )
    return problems


def _broken(
    site: Path, page: PurePosixPath, href: str, parsed: dict[PurePosixPath, _PageParser]
) -> str | None:
    """Why ``href`` on ``page`` leads nowhere, or ``None`` when it is fine."""
    parts = urlsplit(href)
    if parts.scheme or parts.netloc:
        return None  # another site (https:, mailto:): not ours to check
    if not parts.path:
        target_url: PurePosixPath | None = page
    else:
        target = _target_file(site, page, unquote(parts.path))
        if target is None:
            return f"{href!r}: no such page in the site"
        target_url = _page_url(site, target)
    anchor = unquote(parts.fragment)
    if not anchor or target_url not in parsed:
        return None  # a page without anchor, or a file that is not HTML
    if anchor in parsed[target_url].ids:
        return None
    return f"{href!r}: no element with id {anchor!r} on {target_url}"


def main(argv: list[str] | None = None) -> int:
    """Check the site folder named on the command line; 1 when it has problems."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path, help="the folder mkdocs build wrote")
    args = parser.parse_args(argv)
    try:
        problems = check_site(args.site)
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(
            f"{len(problems)} rendering problem(s) in {args.site}.\n"
            "  hint: write doctests under an `Examples:` section (Google style),\n"
            "  put code such as `Deliverable[int](42)` in backticks, write code\n"
            "  blocks fenced and names in backticks (no '::', no ':class:'), and\n"
            "  link only to pages and anchors of the site",
            file=sys.stderr,
        )
        return 1
    pages = len(list(args.site.rglob("*.html")))
    print(f"{args.site}: no rendering problem in {pages} pages")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
