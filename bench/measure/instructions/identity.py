"""What a count's identity includes besides the case: counts from different Python builds
or valgrind versions measure different machine code and are never compared."""

from __future__ import annotations

import functools
import hashlib
import platform
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path


@functools.cache
def valgrind_version() -> str | None:
    """`valgrind --version` ("valgrind-3.19.0"), or None when valgrind is not on PATH."""
    binary = shutil.which("valgrind")
    if binary is None:
        return None
    done = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    return done.stdout.strip() or None


def _digest(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


@functools.cache
def python_build() -> str:
    """Version, ABI, machine and a digest of the interpreter binary and its libpython: two
    builds of the same version (pyenv vs distro, other compiler flags) differ here."""
    binaries = [Path(sys.executable).resolve()]
    library = sysconfig.get_config_var("LDLIBRARY")
    libdir = sysconfig.get_config_var("LIBDIR")
    if sysconfig.get_config_var("Py_ENABLE_SHARED") and library and libdir:
        binaries.append(Path(libdir) / library)
    abi = sysconfig.get_config_var("SOABI") or sys.implementation.cache_tag
    return (f"{platform.python_implementation()} {platform.python_version()} {abi} "
            f"{platform.machine()} {_digest(binaries)}")
