"""Byte counts for people, and how much room a folder takes and has."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

_UNITS = ("bytes", "KB", "MB", "GB", "TB")


def format_size(count: float) -> str:
    """Decimal units, as the Vosk model page uses them: 41205931 -> '41.2 MB'."""
    value = float(count)
    for unit in _UNITS:
        if abs(value) < 1000 or unit == _UNITS[-1]:
            if unit == "bytes":
                return f"{int(value)} bytes"
            return f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def free_space(directory: Path) -> int:
    """Bytes free for this user in the file system that holds `directory` (or its nearest existing parent)."""
    probe = directory
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    return shutil.disk_usage(probe).free


def disk_usage(path: Path) -> int:
    """Bytes a folder occupies on disk (allocated blocks where the platform reports them), links not followed."""
    total = 0
    for root, dirs, files in os.walk(path, followlinks=False):
        for name in (*dirs, *files):
            try:
                info = os.lstat(os.path.join(root, name))
            except OSError:
                continue
            blocks = getattr(info, "st_blocks", None)
            total += blocks * 512 if blocks is not None else info.st_size
    return total
