"""A full disk and a read-only database: the app keeps running, says so, and loses nothing acknowledged.

The full disk is real: a 1.5 MB tmpfs mounted in a private mount namespace (`unshare`), so the test needs
no privileges beyond a user namespace and leaves nothing mounted behind.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from desktop_app.core.errors import ErrorCode

SCENARIOS = Path(__file__).with_name("disk_scenarios.py")


def _run_on_tiny_disk(scenario: str, tmp_path: Path, size: str = "1500k") -> dict:
    assert shutil.which("unshare"), "unshare (util-linux) is missing: run ./test.sh, which installs it"
    mount = tmp_path / "disk"
    mount.mkdir()
    result = tmp_path / "out" / "result.json"
    result.parent.mkdir()
    script = (
        f"mount -t tmpfs -o size={size},mode=0700 tmpfs {mount} && "
        f"exec {sys.executable} {SCENARIOS} {scenario} {mount} {result}"
    )
    done = subprocess.run(["unshare", "-r", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(result.read_text())


def test_a_full_disk_refuses_new_messages_and_keeps_every_acknowledged_one(tmp_path: Path) -> None:
    outcome = _run_on_tiny_disk("full", tmp_path)
    assert outcome["code"] == ErrorCode.DISK_FULL.value
    assert "disk is full" in outcome["message"] and "safe" in outcome["message"]
    assert outcome["health_writable"] is False and outcome["health_code"] == "disk_full"
    assert outcome["refused_again"] == "disk_full"
    # Reading and searching go on while the disk is full.
    assert outcome["readable"] == len(outcome["acknowledged"]) - 1
    assert outcome["searchable"] == 5
    # Once there is room again, writes work and the store says it is healthy.
    assert outcome["healthy_again"] is True
    connection = sqlite3.connect(outcome["copy"])
    try:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        stored = {row[0] for row in connection.execute("SELECT id FROM messages")}
    finally:
        connection.close()
    assert len(outcome["acknowledged"]) > 10
    assert set(outcome["acknowledged"]) <= stored


def test_a_read_only_disk_at_start_up_still_shows_the_history_and_refuses_new_messages(tmp_path: Path) -> None:
    outcome = _run_on_tiny_disk("readonly-start", tmp_path)
    assert outcome["opened"] is True
    assert outcome["history"] == ["written before the disk went read-only"]
    assert outcome["code"] == ErrorCode.DB_READ_ONLY.value
    assert outcome["health"] == ErrorCode.DB_READ_ONLY.value


def test_ask_on_a_full_disk_stores_a_whole_turn_or_nothing_and_says_disk_full(tmp_path: Path) -> None:
    """The real command line with the disk filled to leave 0 bytes, a few pages, and the 64-112 KB where a
    question used to be saved and its answer refused; then with room enough."""
    outcome = _run_on_tiny_disk("ask-when-full", tmp_path, size="3m")
    assert outcome["first"] == 0
    *full_runs, roomy = outcome["runs"]
    for run in full_runs:
        assert run["code"] == 1, run
        assert "Traceback" not in run["stderr"], run
        (line,) = run["stderr"].splitlines()
        assert line.startswith("error: ") and line.endswith("[disk_full]"), run
        assert run["roles"] == ["user", "assistant"], run  # nothing of the refused turn was kept
    assert roomy["code"] == 0, roomy
    assert roomy["roles"] == ["user", "assistant"] * 2
    assert "6" in roomy["stdout"]
