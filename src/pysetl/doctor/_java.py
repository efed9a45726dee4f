"""The Java and Spark checks: a usable Java for the installed pyspark.

PySpark starts the JVM of ``$JAVA_HOME/bin/java``, else of ``java`` on the
``PATH``. Spark 4 needs Java 17 or newer, with the ``jdk.incubator.vector``
module (its launcher adds it); Spark 3.5 runs on Java 8, 11 and 17. A
``SPARK_HOME`` that points at another Spark than the pyspark installed makes
the JVM and Python sides disagree. Nothing here starts Spark: ``java
-version`` runs in a subprocess, and so does the import of pyspark.

Added in 0.5.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from pysetl.doctor._check import FAIL, OK, Check

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["check_java", "check_spark", "java_major", "pyspark_version"]

_VERSION = re.compile(r'version "([^"]+)"')
_SPARK_JAR = re.compile(r"^spark-core_[\d.]+-(\d+\.\d+\.\d+)")
_TIMEOUT = 60
_IMPORT_PYSPARK = (
    "import py4j, pyspark; print(pyspark.__version__); print(pyspark.__file__)"
)
_JVM_DIR = Path("/usr/lib/jvm")
_SUPPORTED = ((3, 5), (5, 0))  # pysetl's spark extra: pyspark>=3.5,<5
_INSTALL_JAVA = (
    "install Java 17+ (Debian/Ubuntu: apt-get install openjdk-17-jre-headless) "
    "or point JAVA_HOME at one"
)


def java_major(raw: str) -> int | None:
    """The major version of a Java version: ``1.8.0_392`` -> 8, ``17.0.9`` -> 17."""
    parts = re.split(r"[.+_-]", raw)
    if not parts or not parts[0].isdigit():
        return None
    major = int(parts[0])
    if major == 1 and len(parts) > 1 and parts[1].isdigit():
        return int(parts[1])
    return major


def pyspark_version() -> tuple[int, int] | None:
    """The installed pyspark's ``(major, minor)`` from its metadata, or ``None``."""
    try:
        version = importlib.metadata.version("pyspark")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - installed here
        return None
    return _major_minor(version)


def _major_minor(version: str) -> tuple[int, int] | None:
    match = re.match(r"^(\d+)\.(\d+)", version)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _run(command: list[str]) -> subprocess.CompletedProcess[str] | None:
    try:
        return subprocess.run(  # noqa: S603 - the java binary we located
            command, capture_output=True, text=True, timeout=_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None


def _other_jvms() -> list[Path]:
    """Java 17+ homes under /usr/lib/jvm (per their ``release`` file), oldest first."""
    if not _JVM_DIR.is_dir():  # pragma: no cover - Debian and Ubuntu have it
        return []
    found: list[tuple[int, Path]] = []
    for home in _JVM_DIR.iterdir():
        release = home / "release"
        if home.is_symlink() or not (home / "bin" / "java").is_file():
            continue
        text = release.read_text(errors="replace") if release.is_file() else ""
        match = re.search(r'JAVA_VERSION="([^"]+)"', text)
        major = java_major(match.group(1)) if match else None
        if major is not None and major >= 17:  # noqa: PLR2004 - what Spark 4 needs
            found.append((major, home))
    return [home for _, home in sorted(found)]


def _locate(environ: Mapping[str, str]) -> tuple[Path | None, str, Check | None]:
    """The java binary PySpark would start, how it was found, or a failed check."""
    home = environ.get("JAVA_HOME")
    if home:
        java = Path(home) / "bin" / "java"
        if java.is_file() and os.access(java, os.X_OK):
            return java, "JAVA_HOME", None
        homes = _other_jvms()
        fix = (
            f"export JAVA_HOME={homes[0]} (a Java found here), or unset JAVA_HOME "
            "to use the java on PATH"
            if homes
            else f"unset JAVA_HOME, or {_INSTALL_JAVA}"
        )
        detail = f"JAVA_HOME={home!r} has no runnable bin/java: Spark cannot start"
        return None, "JAVA_HOME", Check("java", FAIL, detail, fix)
    found = shutil.which("java", path=environ.get("PATH", os.defpath))
    if found is None:
        detail = "no java on PATH and JAVA_HOME is not set: Spark cannot start"
        return None, "PATH", Check("java", FAIL, detail, _INSTALL_JAVA)
    return Path(found), "PATH", None


def check_java(environ: Mapping[str, str] | None = None) -> Check:
    """Is there a Java that the installed pyspark can start (``java -version``)?"""
    environ = os.environ if environ is None else environ
    java, how, failed = _locate(environ)
    if failed is not None or java is None:
        return failed or Check("java", FAIL, "no java found", _INSTALL_JAVA)
    done = _run([str(java), "-version"])
    match = _VERSION.search((done.stderr + done.stdout) if done else "")
    if done is None or done.returncode != 0 or match is None:
        detail = f"{java} ({how}) does not run: 'java -version' failed"
        return Check("java", FAIL, detail, _INSTALL_JAVA)
    raw = match.group(1)
    major = java_major(raw) or 0
    spark = pyspark_version()
    needed = 17 if spark is None or spark >= (4, 0) else 8
    where = f"Java {raw} at {java} ({how})"
    if major < needed:  # pragma: no cover - this machine has no Java < 17
        spark_text = "Spark 4" if needed == 17 else "Spark"  # noqa: PLR2004
        detail = f"{where}: {spark_text} needs Java {needed} or newer"
        return Check("java", FAIL, detail, _INSTALL_JAVA)
    if needed == 17:  # noqa: PLR2004 - Spark 4's launcher adds this module
        modules = _run([str(java), "--list-modules"])
        vector = "jdk.incubator.vector"
        missing = modules is not None and vector not in modules.stdout
        if missing:  # pragma: no cover - every Java 17+ of this machine has it
            detail = f"{where} lacks the module {vector} that Spark 4 loads"
            fix = f"use a full JDK or JRE: {_INSTALL_JAVA}"
            return Check("java", FAIL, detail, fix)
    return Check("java", OK, where)


def _spark_home_version(home: Path) -> str | None:
    release = home / "RELEASE"
    if release.is_file():
        match = re.search(r"Spark (\d+\.\d+\.\d+)", release.read_text(errors="replace"))
        if match:
            return match.group(1)
    jars = home / "jars"
    if jars.is_dir():
        for jar in jars.iterdir():
            found = _SPARK_JAR.match(jar.name)
            if found:
                return found.group(1)
    return None


def check_spark(environ: Mapping[str, str] | None = None) -> Check:
    """Does pyspark import, in a version pysetl supports, agreeing with SPARK_HOME?"""
    environ = os.environ if environ is None else environ
    install = "pip install 'pysetl[spark]'"
    if importlib.util.find_spec("pyspark") is None:  # pragma: no cover - installed
        return Check("spark", FAIL, "pyspark is not installed", install)
    # Imported in a process of its own: a broken install cannot break this
    # one, and the caller's process stays free of pyspark.
    done = _run([sys.executable, "-c", _IMPORT_PYSPARK])
    lines = done.stdout.splitlines() if done is not None else []
    if done is None or done.returncode != 0 or len(lines) < 2:  # noqa: PLR2004
        error = (done.stderr.strip().splitlines() or ["?"])[-1] if done else "timeout"
        detail = f"pyspark does not import: {error}"
        return Check("spark", FAIL, detail, f"reinstall it: {install}")
    imported, location = lines[0], lines[1]
    try:
        installed = importlib.metadata.version("pyspark")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - installed
        installed = imported
    where = f"pyspark {imported} at {Path(location).parent}"
    version = _major_minor(imported)
    if version is None or not _SUPPORTED[0] <= version < _SUPPORTED[1]:
        detail = f"{where}: pysetl supports pyspark 3.5 to 4.x"
        return Check("spark", FAIL, detail, install)
    if installed != imported:
        detail = (
            f"{where}, but the installed distribution is pyspark {installed}: "
            "another copy shadows it (PYTHONPATH, SPARK_HOME/python)"
        )
        return Check("spark", FAIL, detail, "remove the other copy from PYTHONPATH")
    return _check_spark_home(where, version, environ)


def _check_spark_home(
    where: str, version: tuple[int, int], environ: Mapping[str, str]
) -> Check:
    """The pyspark found is fine: does ``SPARK_HOME`` (if set) agree with it?"""
    home = environ.get("SPARK_HOME")
    if home:
        spark_home = Path(home)
        if not spark_home.is_dir():
            detail = f"{where}; SPARK_HOME={home!r} is not a folder"
            fix = "unset SPARK_HOME (pyspark ships its own Spark) or fix the path"
            return Check("spark", FAIL, detail, fix)
        theirs = _spark_home_version(spark_home)
        if theirs is not None and _major_minor(theirs) != version:
            detail = f"{where}, but SPARK_HOME={home!r} holds Spark {theirs}"
            fix = (
                "unset SPARK_HOME (pyspark ships its own Spark), or install the "
                f"matching pyspark: pip install 'pyspark=={theirs}'"
            )
            return Check("spark", FAIL, detail, fix)
        where += f"; SPARK_HOME Spark {theirs or 'version unknown'}"
    return Check("spark", OK, where)
