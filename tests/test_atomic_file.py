"""Files that appear whole or not at all (desktop_app.core.atomic_file), on the real file system."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from desktop_app.core.atomic_file import is_temporary, replace_file, stage_file


def test_the_file_appears_private_with_its_data_and_no_temporary_is_left(tmp_path: Path) -> None:
    target = tmp_path / "settings.json"
    earlier = os.umask(0o022)  # a usual umask would make a new file world-readable
    try:
        replace_file(target, b"first")
        replace_file(target, b"second", durable=False)
    finally:
        os.umask(earlier)
    assert target.read_bytes() == b"second"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["settings.json"]


def test_a_failed_rename_leaves_the_old_file_and_no_temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "catalog.json"
    target.write_bytes(b"old")

    def disk_full(source: str, destination: str) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(OSError, match="No space"):
        replace_file(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["catalog.json"]


def test_a_failed_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fsync", refuse)
    with pytest.raises(OSError, match="Input/output"):
        stage_file(tmp_path / "entry", b"data")
    assert list(tmp_path.iterdir()) == []


def test_a_staged_file_is_beside_its_target_and_named_as_temporary(tmp_path: Path) -> None:
    staged = stage_file(tmp_path / "voice-assistant.desktop", b"[Desktop Entry]\n")
    assert staged.parent == tmp_path and is_temporary(staged.name)
    assert staged.name.startswith(".voice-assistant.desktop.")
    assert staged.read_bytes() == b"[Desktop Entry]\n"
    assert not is_temporary("voice-assistant.desktop") and not is_temporary(".hidden")
