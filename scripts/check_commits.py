#!/usr/bin/env python3
"""Commit messages follow the project's convention: ``area: what and why``.

The first line is ``<area>: <summary>``:

* ``area`` names what changed, as the history already does: a package or
  subsystem (``dashboard``, ``workflow``), a file or folder
  (``benchmarks/perf_gate.py``, ``uv.lock``), ``docs``, ``tests``, ``ci``,
  ``release``... at most 50 characters, no colon, not starting with a space;
* ``summary`` says what changed and why (for a fix: how it failed before),
  after one space.

A body, if any, is separated by a blank line. Merge commits are not judged;
``fixup!``/``squash!``/``WIP`` commits are refused (squash them first). The
changelog groups a release's commits by area (``scripts/release.py``).

CI checks the commits after ``BASELINE`` (the commit before this check
came in: older commits are not judged). As a hook:
``ln -s ../../scripts/check_commits.py .git/hooks/commit-msg`` (it is then
called with the message file).

Usage: python scripts/check_commits.py [--since REV] [MESSAGE_FILE]
Exits 1 naming each commit whose message does not follow the convention.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = "50fef93ccae03bdfeb3f3711d9b36c3a3645aa36"  # commits after it are judged
AREA_MAX = 50
SUBJECT = re.compile(r"^(?P<area>[^\s:][^:]*?): (?P<summary>\S.*)$")
REFUSED = re.compile(r"^(fixup!|squash!|amend!|wip\b)", re.IGNORECASE)


def problems(message: str) -> list[str]:
    """What is wrong with ``message`` (empty: it follows the convention)."""
    lines = [line for line in message.splitlines() if not line.startswith("#")]
    subject = lines[0].rstrip() if lines else ""
    if not subject:
        return ["empty message"]
    if REFUSED.match(subject):
        return [f"{subject.split()[0]} commit: squash it before it lands"]
    found = []
    match = SUBJECT.match(subject)
    if match is None:
        found.append("the first line is not `area: what and why`")
    elif len(match["area"]) > AREA_MAX:
        found.append(
            f"the area {match['area'][:50]!r} is longer than {AREA_MAX} "
            "characters (is the colon in the right place?)"
        )
    if len(lines) > 1 and lines[1].strip():
        found.append("the second line is not blank (subject, blank line, body)")
    return found


def git(*args: str) -> str:
    """Output of a git command in the repository."""
    return subprocess.run(  # noqa: S603 - fixed git arguments
        ["git", *args],  # noqa: S607 - git from PATH
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout


def commits_since(rev: str) -> list[tuple[str, str]]:
    """(hash, message) of the non-merge commits after ``rev`` up to HEAD."""
    out = git("log", "--no-merges", "--format=%H%x00%B%x1e", f"{rev}..HEAD")
    pairs = []
    for record in out.split("\x1e"):
        if record.strip():
            sha, _, body = record.strip("\n").partition("\x00")
            pairs.append((sha, body))
    return pairs


def main() -> int:
    """Check a message file, or every commit since the baseline."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("message_file", nargs="?", type=Path)
    parser.add_argument("--since", default=BASELINE, help="judge commits after it")
    args = parser.parse_args()
    if args.message_file:
        found = problems(args.message_file.read_text(encoding="utf-8"))
        for problem in found:
            print(f"commit message: {problem}", file=sys.stderr)
        if found:
            print(
                "expected `area: what and why`, e.g. `dashboard: ...`", file=sys.stderr
            )
        return 1 if found else 0
    try:
        git("cat-file", "-e", f"{args.since}^{{commit}}")
    except subprocess.CalledProcessError:
        print(
            f"commit messages: the baseline {args.since} is not in this clone's "
            "history (a shallow clone? fetch the whole history: fetch-depth: 0)"
        )
        return 1
    commits = commits_since(args.since)
    bad = [(sha, body, problems(body)) for sha, body in commits]
    bad = [entry for entry in bad if entry[2]]
    print(
        f"commit messages: {len(commits)} commits after {args.since[:12]}, "
        f"{len(bad)} not `area: what and why`"
    )
    for sha, body, found in bad:
        print(f"  {sha[:12]} {body.splitlines()[0][:80]!r}: {'; '.join(found)}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
