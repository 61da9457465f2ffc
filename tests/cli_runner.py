"""Runs the command line for real: `python -m desktop_app ARGS` in a subprocess from the repository root."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Run:
    args: tuple[str, ...]
    code: int
    out: str
    err: str


def cli(*args: str, env: dict[str, str] | None = None, stdin: str | None = None, timeout: float = 120) -> Run:
    """Output decoded as UTF-8 without newline translation (CSV has CRLF). The app's own environment
    variables are cleared, so only what the test gives applies."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("VOICE_ASSISTANT_")}
    environment.update(env or {})
    done = subprocess.run(
        [sys.executable, "-m", "desktop_app", *args],
        capture_output=True,
        env=environment,
        cwd=REPO_ROOT,
        timeout=timeout,
        check=False,
        input=stdin.encode("utf-8") if stdin is not None else None,
    )
    return Run(args, done.returncode, done.stdout.decode("utf-8"), done.stderr.decode("utf-8"))


def ok(run: Run) -> Run:
    assert run.code == 0, f"{run.args} exited {run.code}: {run.err}"
    assert "Traceback" not in run.err
    return run


class Finished(Protocol):
    """What `refused` needs of a finished command: its exit status and what it wrote to stderr."""

    @property
    def code(self) -> int: ...

    @property
    def err(self) -> str: ...


def refused(run: Finished, status: int, code: str | None = None, *, mentions: str = "") -> str:
    """The command failed the documented way: exit `status`, no traceback, exactly one `error:` line (a
    usage error may print argparse's usage lines before it) ending in ` [code]` and mentioning `mentions`.
    Returns that line."""
    assert run.code == status, run
    assert "Traceback" not in run.err, run.err
    errors = [line for line in run.err.splitlines() if "error:" in line]
    assert len(errors) == 1, run.err
    if code is not None:
        assert errors[0].startswith("error: ") and errors[0].endswith(f" [{code}]"), errors[0]
    assert mentions in errors[0], errors[0]
    return errors[0]
