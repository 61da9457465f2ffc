"""This test process's child processes, read from /proc: the recogniser processes among them, and whether
one has ended."""

from __future__ import annotations

import os
from pathlib import Path


def children() -> dict[int, str]:
    """This process's child processes: pid -> command line (empty for a zombie)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if int(stat.rpartition(")")[2].split()[1]) == os.getpid():
            found[int(entry.name)] = cmdline
    return found


def recognisers() -> list[int]:
    """Recogniser processes among the children (multiprocessing's resource tracker, which the first spawn
    starts and which ends with this process, and the test suite's servers are not)."""
    return [pid for pid, cmdline in children().items() if "spawn_main" in cmdline and "resource_tracker" not in cmdline]


def ended(pid: int) -> bool:
    """Gone, or a zombie waiting for whoever adopted it to collect it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] == "Z"
