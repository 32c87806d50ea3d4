"""What a count's identity includes besides the case: counts from different Python builds
or valgrind versions measure different machine code and are never compared. The layout
key says which memory layout a count was made in (docs/ci-gate.md)."""

from __future__ import annotations

import functools
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Mapping, Sequence
from pathlib import Path

from bench.measure.instructions.import_pad import IMPORT_PAD_VARIABLE


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


def layout_key(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None,
               cwd: str | None = None) -> str:
    """What fixes a process's memory layout besides its code: the LENGTHS (not the
    contents) of its command line, working directory, interpreter paths and environment.
    They are the first things a Python process copies onto its heap (and every imported
    module's path follows the checkout's), so a longer checkout path shifts every later
    address, and the id-hashed sets and dicts SQLAlchemy is full of collide and iterate
    differently: a sqlite3 ORM lookup counted 760,197 instructions from one checkout and
    769,093 from another at a longer path, but 752,595 and 752,729 from two checkouts at
    paths of equal length (2026-12-03). Two counts with equal keys come from the same
    layout. pytest's PYTEST_CURRENT_TEST (the running test's name) is left out: the key
    says how the process started, not which test it is in."""
    argv = list(sys.argv if argv is None else argv)
    environ = {name: value for name, value in (os.environ if environ is None else environ).items()
               if name != "PYTEST_CURRENT_TEST"}
    lengths = [len(a) for a in argv]
    lengths += [len(cwd if cwd is not None else os.getcwd()), len(sys.executable),
                len(sys.prefix)]
    lengths += [n for name in sorted(environ) for n in (len(name), len(environ[name]))]
    # and the layout's import allocation (import_pad): a value, whose length never changes
    shape = ",".join(map(str, lengths)) + ";" + environ.get(IMPORT_PAD_VARIABLE, "")
    return hashlib.sha256(shape.encode()).hexdigest()[:12]


@functools.cache
def this_process_layout() -> str:
    """This process's layout key: how it started does not change while it runs."""
    return layout_key()
