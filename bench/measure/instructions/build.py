"""Build the client-request extension (_callgrind.c) on first use, into a cache directory.

Why on first use and not at install: the package stays pure Python, so `pip install -e .`
works on a machine without valgrind's headers or a compiler, and a machine that installs
valgrind later gets counting without reinstalling. Counting needs valgrind, whose headers
come with it (Debian/Ubuntu: `valgrind`; Fedora: `valgrind-devel`), and a C compiler;
nothing else needs either.

The cache key covers everything the binary depends on (our source, both valgrind headers,
the Python build's version, ABI suffix and include directory), so a different interpreter
or a valgrind upgrade builds its own copy instead of loading a stale one. The build writes
to a temporary name and renames, so parallel first uses cannot see half a file.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass
from pathlib import Path

SOURCE = Path(__file__).with_name("_callgrind.c")
HEADERS = ("callgrind.h", "valgrind.h")
INSTALL_HINT = ("install valgrind (Debian/Ubuntu: apt-get install valgrind; "
                "Fedora: dnf install valgrind valgrind-devel; macOS: not supported)")


class BuildError(RuntimeError):
    """The extension cannot be built here; the message is one line saying why."""


@dataclass(frozen=True)
class Toolchain:
    """What a build needs: the directory holding valgrind/callgrind.h, Python.h's directory
    and a compiler command."""

    valgrind_include: Path
    python_include: Path
    compiler: list[str]


def find_valgrind_include() -> Path | None:
    """The include directory whose valgrind/ holds both headers: $SQLA_BENCH_VALGRIND_INCLUDE,
    the prefix of the valgrind on PATH, then the usual system places."""
    candidates: list[Path] = []
    if env := os.environ.get("SQLA_BENCH_VALGRIND_INCLUDE"):
        candidates.append(Path(env))
    if binary := shutil.which("valgrind"):
        candidates.append(Path(binary).resolve().parent.parent / "include")
    candidates += [Path("/usr/include"), Path("/usr/local/include"), Path("/opt/homebrew/include")]
    for directory in candidates:
        if all((directory / "valgrind" / name).is_file() for name in HEADERS):
            return directory
    return None


def find_compiler() -> list[str] | None:
    """$CC, else the compiler Python was built with, else cc; None when none is on PATH."""
    for command in (os.environ.get("CC"), sysconfig.get_config_var("CC"), "cc", "gcc", "clang"):
        if not command:
            continue
        argv = shlex.split(command)
        if argv and shutil.which(argv[0]):
            return argv
    return None


def toolchain() -> Toolchain:
    """The toolchain, or BuildError naming the first missing piece and how to get it."""
    valgrind_include = find_valgrind_include()
    if valgrind_include is None:
        raise BuildError(f"valgrind/callgrind.h not found: {INSTALL_HINT}")
    python_include = Path(sysconfig.get_paths()["include"])
    if not (python_include / "Python.h").is_file():
        raise BuildError(f"Python.h not found in {python_include}: install this Python's "
                         "development headers (Debian/Ubuntu: python3-dev)")
    compiler = find_compiler()
    if compiler is None:
        raise BuildError("no C compiler (set CC, or install gcc) to build the callgrind hooks")
    return Toolchain(valgrind_include, python_include, compiler)


def cache_key(tools: Toolchain) -> str:
    """A digest of what the binary depends on."""
    digest = hashlib.sha256()
    digest.update(SOURCE.read_bytes())
    for name in HEADERS:
        digest.update((tools.valgrind_include / "valgrind" / name).read_bytes())
    for part in (sys.version, str(sysconfig.get_config_var("EXT_SUFFIX")),
                 str(tools.python_include), sys.platform):
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()[:16]


def cache_dir() -> Path:
    """$SQLA_BENCH_CACHE, else $XDG_CACHE_HOME/sqla-bench, else ~/.cache/sqla-bench."""
    if env := os.environ.get("SQLA_BENCH_CACHE"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sqla-bench"


def built_extension() -> Path:
    """The path of the built extension, compiling it first if this build has none yet."""
    tools = toolchain()
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    target = cache_dir() / "callgrind" / f"_callgrind-{cache_key(tools)}{suffix}"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=target.parent, suffix=".part")
    os.close(fd)
    command = [*tools.compiler, "-shared", "-fPIC", "-O2", f"-I{tools.python_include}",
               f"-I{tools.valgrind_include}", str(SOURCE), "-o", partial]
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            first = (done.stderr.strip().splitlines() or ["(no output)"])[0]
            raise BuildError(f"building the callgrind hooks failed: {first}")
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return target
