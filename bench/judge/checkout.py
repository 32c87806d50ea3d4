"""The base of a time A/B inside one job: another commit checked out beside this one.

`sqla-bench gate --ab BASE_REF` and the shipped workflow judge time only between two
environments measured in the same job, alternated (bench.judge.ab): never against a run
saved by another job on another runner. The base is `git worktree add` of BASE_REF in a
directory beside nothing else, installed (editable, with its own scenarios) into a venv
of its own, so each side imports its own sqla-bench, scenarios and SQLAlchemy pins.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.judge.repeat import Side, WorkerError


def _git(*args: str, cwd: Path | None = None) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise WorkerError(f"git {args[0]} failed: {last}")
    return done.stdout.strip()


def checkout_base(ref: str, directory: Path, repository: Path = Path(".")) -> Side:
    """BASE_REF checked out at `directory` (reused when it is already that commit) and
    installed into `directory/.venv`; the base side of an A/B."""
    commit = _git("rev-parse", "--verify", f"{ref}^{{commit}}", cwd=repository)
    if not (directory / ".git").exists():
        directory.parent.mkdir(parents=True, exist_ok=True)
        _git("worktree", "add", "--detach", str(directory), commit, cwd=repository)
    elif _git("rev-parse", "HEAD", cwd=directory) != commit:
        _git("checkout", "--detach", commit, cwd=directory)
    python = directory / ".venv" / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(directory / ".venv")], check=True)
    done = subprocess.run([str(python), "-m", "pip", "install", "-q", "-e", str(directory)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise WorkerError(f"installing {ref} ({commit[:10]}) failed: {last}")
    return Side("base", str(python))
