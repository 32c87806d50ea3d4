"""Running the real CLI in a subprocess, as a user would, and reading what it said."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bench.db.drivers import DRIVERS

REPO = Path(__file__).resolve().parents[2]
SECRET = "Sekr1t-Pa55-xyzzy"  # a password distinctive enough to grep for
# the async drivers that talk to a database server over the network
SERVER_DRIVERS = [d.name for d in DRIVERS.values() if not d.is_sync and d.backend != "sqlite"]

# Make an import fail in the subprocess, as if the package were not installed.
BLOCK_IMPORT = """
import sys
class _Blocked:
    def find_spec(self, name, path=None, target=None):
        if name == {module!r} or name.startswith({module!r} + "."):
            raise ModuleNotFoundError(f"No module named {{name!r}}")
sys.meta_path.insert(0, _Blocked())
from bench.cli import main
sys.exit(main(sys.argv[1:]))
"""


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120,
        block_import: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """`sqla-bench ARGS...` in a fresh interpreter; stdout and stderr captured."""
    if block_import:
        command = [sys.executable, "-c", BLOCK_IMPORT.format(module=block_import), *args]
    else:
        command = [sys.executable, "-m", "bench.cli", *args]
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    full_env.pop("SQLA_BENCH_DEBUG", None)
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                          env=full_env, cwd=cwd or REPO)


def assert_one_line_error(proc: subprocess.CompletedProcess, *expected: str,
                          status: int = 2) -> str:
    """Exit `status`, no traceback, and the error is one line naming every `expected`."""
    assert proc.returncode == status, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    errors = [line for line in proc.stderr.splitlines() if line.startswith("sqla-bench: error:")]
    assert len(errors) == 1, proc.stderr
    for text in expected:
        assert text in errors[0], (text, errors[0])
    assert SECRET not in proc.stderr + proc.stdout
    return errors[0]
