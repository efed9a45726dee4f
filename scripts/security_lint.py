"""bandit over ``src/``: every finding is fixed or justified on its line.

ruff already runs flake8-bandit's rules (``select = ["ALL"]``), where a
justified exception is written ``# noqa: S603 - why``. bandit itself is run
as a second opinion (it has checks ruff lacks or only has in preview, and
judges some calls differently), and it accepts the same justification: a
finding passes when its statement carries ruff's ``noqa`` for the same rule
(bandit's ``B603`` is ruff's ``S603``) or bandit's own ``# nosec B603 - why``
(for a check ruff does not make, where ruff would call a ``noqa`` unused).

Skipped: ``B404`` (``import subprocess`` is not a finding; the calls are
judged) and ``B603`` (bandit flags every subprocess call without a shell;
ruff's S603, enabled, flags the ones whose arguments are not literals, and
each of those carries a ``noqa`` with its reason; B607, a partial path, stays).

Usage: python scripts/security_lint.py [PATH ...]   (default: src)
Exits 1 on an unjustified finding, naming the file, line, rule and a fix.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIPPED = ("B404", "B603")


def bandit(paths: list[str]) -> list[dict[str, object]]:
    """The findings of bandit (JSON) over ``paths``."""
    proc = subprocess.run(  # noqa: S603 - our interpreter, our arguments
        [
            sys.executable,
            "-m",
            "bandit",
            "--recursive",
            "--quiet",
            "--format",
            "json",
            "--skip",
            ",".join(SKIPPED),
            *paths,
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if proc.returncode not in {0, 1} or not proc.stdout.strip():
        sys.stderr.write(proc.stderr)
        msg = f"bandit failed (exit {proc.returncode})"
        raise SystemExit(msg)
    report = json.loads(proc.stdout)
    if report.get("errors"):
        msg = f"bandit could not read: {report['errors']}"
        raise SystemExit(msg)
    results: list[dict[str, object]] = report["results"]
    return results


def justified(finding: dict[str, object]) -> bool:
    """Whether the flagged statement says why (ruff's noqa or bandit's nosec)."""
    test_id = str(finding["test_id"])
    ruff_rule = "S" + test_id[1:]
    lines = Path(str(finding["filename"])).read_text(encoding="utf-8").splitlines()
    span = finding.get("line_range") or [finding["line_number"]]
    assert isinstance(span, list)  # noqa: S101 - bandit's JSON
    # bandit puts some findings a line early (an assert that opens an async
    # function body is reported on the ``async def`` line): one line more.
    first, last = min(span), max(span) + 1
    text = "\n".join(lines[first - 1 : last])
    noqa = re.search(rf"#\s*noqa:[^#\n]*\b{ruff_rule}\b", text)
    nosec = re.search(rf"#\s*nosec\b[^\n]*\b{test_id}\b", text)
    return bool(noqa or nosec)


def main() -> int:
    """Run bandit, report each finding's status; 1 if one is unjustified."""
    paths = sys.argv[1:] or ["src"]
    findings = bandit(paths)
    bad = [f for f in findings if not justified(f)]
    print(
        f"bandit: {len(findings)} findings in {', '.join(paths)} "
        f"({len(findings) - len(bad)} justified inline; skipped: {', '.join(SKIPPED)})"
    )
    for f in bad:
        test_id = str(f["test_id"])
        print(
            f"  {f['filename']}:{f['line_number']}: {test_id} "
            f"[{f['issue_severity']}/{f['issue_confidence']}] {f['issue_text']}\n"
            f"    fix it, or say why on that statement: "
            f"`# noqa: S{test_id[1:]} - why` (when ruff flags it too) or "
            f"`# nosec {test_id} - why`"
        )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
