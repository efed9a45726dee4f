"""Known vulnerabilities in the locked dependencies: pip-audit over uv.lock.

Exports every package that ``uv.lock`` pins (every extra and every group:
what development, CI and the tests install) as a requirements file
(``build/audit/requirements.txt``), then asks an advisory service about
each pinned version with ``pip-audit --no-deps --disable-pip`` (nothing is
installed or resolved: the lock is the answer).

Before that, the service is checked explicitly: PyPI's JSON API (pip-audit's
default service, which carries the OSV advisories of each release) and,
failing that, OSV's own API. When neither answers, the audit cannot run and
this says so on one line, ``skipped: advisory service unreachable``, with
the reason of each, and exits 0: it never passes silently, and with
``PYSETL_AUDIT_REQUIRED=1`` (the hosted workflow sets it) an unreachable
service fails instead.

Usage: python scripts/audit.py
Exits 1 when a locked version has a known vulnerability (pip-audit's table
names it and the fixed version).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "build" / "audit"
# pip-audit asks for one release at a time: probe that endpoint, not the
# project page (which a package proxy may serve while releases answer 404).
PYPI_PROBE = "https://pypi.org/pypi/pip/24.0/json"
OSV_PROBE = "https://api.osv.dev/v1/query"
TIMEOUT = 10.0


def probe_pypi() -> str:
    """Empty when PyPI's JSON API answers with advisories; else why not."""
    try:
        with urllib.request.urlopen(PYPI_PROBE, timeout=TIMEOUT) as response:
            body = json.load(response)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return f"{PYPI_PROBE}: {exc}"
    if "vulnerabilities" not in body:
        return f"{PYPI_PROBE}: answered without a 'vulnerabilities' field"
    return ""


def probe_osv() -> str:
    """Empty when OSV's API answers a query; else why not."""
    query = json.dumps({"package": {"name": "pip", "ecosystem": "PyPI"}}).encode()
    request = urllib.request.Request(
        OSV_PROBE, data=query, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            json.load(response)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return f"{OSV_PROBE}: {exc}"
    return ""


def export(uv: str) -> Path:
    """The lock's pins as a requirements file (without the project itself)."""
    OUT.mkdir(parents=True, exist_ok=True)
    target = OUT / "requirements.txt"
    subprocess.run(  # noqa: S603 - uv with fixed arguments
        [
            uv,
            "export",
            "--quiet",
            "--frozen",
            "--all-extras",
            "--all-groups",
            "--no-hashes",
            "--no-emit-project",
            "--format",
            "requirements-txt",
            "--output-file",
            str(target),
        ],
        check=True,
        cwd=ROOT,
    )
    return target


def main() -> int:
    """Probe the services, export the lock, audit it."""
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or "uv"
    requirements = export(uv)
    pins = [
        line
        for line in requirements.read_text().splitlines()
        if line and not line.startswith(("#", " "))
    ]
    service, why = "pypi", probe_pypi()
    if why:
        osv_why = probe_osv()
        if osv_why:
            print(
                f"pip-audit: skipped: advisory service unreachable ({why}; {osv_why}); "
                f"{len(pins)} locked packages NOT audited (the hosted workflow "
                ".github/workflows/audit.yml audits them)"
            )
            return 1 if os.environ.get("PYSETL_AUDIT_REQUIRED") == "1" else 0
        service = "osv"
    print(f"pip-audit: {len(pins)} locked packages, advisories from {service}")
    report = OUT / "pip-audit.json"
    proc = subprocess.run(  # noqa: S603 - our interpreter, our arguments
        [
            sys.executable,
            "-m",
            "pip_audit",
            "--requirement",
            str(requirements),
            "--no-deps",
            "--disable-pip",
            "--vulnerability-service",
            service,
            "--progress-spinner",
            "off",
            "--format",
            "json",
            "--output",
            str(report),
        ],
        check=False,
        cwd=ROOT,
        stderr=subprocess.DEVNULL,  # its advice to hash the pins (they are pinned)
    )
    return verdict(json.loads(report.read_text()), proc.returncode, len(pins))


def verdict(report: dict[str, Any], code: int, pins: int) -> int:
    """Print what was found and what could not be audited; the exit status."""
    deps = report.get("dependencies", [])
    skipped = [d for d in deps if d.get("skip_reason")]
    vulnerable = [d for d in deps if d.get("vulns")]
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            fixed = ", ".join(vuln.get("fix_versions") or []) or "no fix yet"
            print(f"  {dep['name']} {dep['version']}: {vuln['id']} (fixed in {fixed})")
    required = os.environ.get("PYSETL_AUDIT_REQUIRED") == "1"
    if skipped and len(skipped) == len(deps):
        print(
            f"pip-audit: skipped: advisory service unreachable (it answered for "
            f"none of the {pins} locked packages: {skipped[0]['skip_reason']})"
        )
        return 1 if required or vulnerable else 0
    if skipped:
        names = ", ".join(f"{d['name']} {d['version']}" for d in skipped)
        print(f"pip-audit: {len(skipped)} packages NOT audited: {names}")
    print(
        f"pip-audit: {len(deps) - len(skipped)} audited, "
        f"{sum(len(d['vulns']) for d in vulnerable)} known vulnerabilities"
    )
    if vulnerable or code not in {0, 1}:
        return 1
    return 1 if skipped and required else 0


if __name__ == "__main__":
    sys.exit(main())
