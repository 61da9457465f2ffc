"""Hostile paths given to the command line: export targets and transcribe inputs that are not plain files.

Export only ever replaces a regular file; a FIFO or a character device is written to directly, anything
else (a folder, a symbolic link, a socket) is refused. Transcribe refuses what is not a regular file before
opening it, refuses absurd formats before reading samples, and reads long files with bounded memory.
Every failure is one `error: ... [code]` line on stderr, exit 1, and never a traceback."""

from __future__ import annotations

import os
import re
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import wave
from pathlib import Path

import numpy as np
import pytest
import soundfile
from cli_runner import REPO_ROOT, Run, cli, ok, refused

from desktop_app.storage.engine import sqlite_url
from desktop_app.storage.store import SqlConversationStore

ERROR_LINE = re.compile(r"error: .+ \[[a-z_]+\]\n")


def refused_alone(run: Run, code: str) -> Run:
    """`refused` with exit 1, and the error line is all there is on stderr."""
    refused(run, 1, code)
    assert ERROR_LINE.fullmatch(run.err), run.err
    return run


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    store = SqlConversationStore.open(sqlite_url(folder / "assistant.db"))
    try:
        conversation = store.create_conversation("hostile paths")
        store.add_message(conversation.id, "user", "what time is it")
        store.add_message(conversation.id, "assistant", "It is noon.")
    finally:
        store.close()
    return folder


def export(data_dir: Path, out: Path | str, *extra: str) -> Run:
    return cli("--data-dir", str(data_dir), "history", "export", "--all", "--format", "json", "--out", str(out), *extra)


def private_device(tmp_path: Path, name: str, minor: int) -> Path:
    """A character device node of our own (1, minor: 3 is null, 7 is full), so a test never risks the
    system's /dev. Needs root, as ./test.sh does (through sudo when not root)."""
    node = tmp_path / name
    if os.geteuid() == 0:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, minor))
    else:
        subprocess.run(["sudo", "-n", "mknod", "-m", "666", str(node), "c", "1", str(minor)], check=True)
    return node


# --- history export --out -----------------------------------------------------------------------------


@pytest.mark.parametrize("force", [True, False])
def test_export_to_dev_null_writes_through_and_keeps_the_device(data_dir: Path, force: bool) -> None:
    before = os.lstat("/dev/null")
    run = ok(export(data_dir, "/dev/null", *(["--force"] if force else [])))
    assert "Exported 1 conversation (2 messages) to /dev/null." in run.out
    after = os.lstat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev
    assert stat.S_IMODE(after.st_mode) == stat.S_IMODE(before.st_mode)


def test_export_to_a_null_device_node_keeps_it(data_dir: Path, tmp_path: Path) -> None:
    node = private_device(tmp_path, "null", 3)
    before = os.lstat(node)
    ok(export(data_dir, node, "--force"))
    after = os.lstat(node)
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == os.makedev(1, 3)
    assert after.st_mode == before.st_mode and after.st_ino == before.st_ino
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "null"]  # no temporary file left


@pytest.mark.parametrize("private", [False, True], ids=["dev-full", "private-full-node"])
def test_export_to_a_full_device_is_a_disk_full_error(data_dir: Path, tmp_path: Path, private: bool) -> None:
    device = private_device(tmp_path, "full", 7) if private else Path("/dev/full")  # every Linux has it
    before = os.lstat(device)
    run = refused_alone(export(data_dir, device, "--force"), "disk_full")
    assert f"Could not write {device}: the disk is full." in run.err
    after = os.lstat(device)
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev
    assert stat.S_IMODE(after.st_mode) == stat.S_IMODE(before.st_mode)


def test_export_into_a_fifo_reaches_the_reader(data_dir: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo, 0o644)
    received: list[bytes] = []

    def reader() -> None:
        with open(fifo, "rb") as pipe:  # blocks until the export opens the other end
            received.append(pipe.read())

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    run = ok(export(data_dir, fifo, "--force"))
    thread.join(timeout=30)
    assert not thread.is_alive(), "the export never wrote into the FIFO"
    assert b'"hostile paths"' in received[0] and b"It is noon." in received[0]
    assert f"to {fifo}." in run.out
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert stat.S_IMODE(os.lstat(fifo).st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "pipe.json"]


@pytest.mark.parametrize("force", [True, False])
def test_export_refuses_a_symlink_and_leaves_it_and_its_target(data_dir: Path, tmp_path: Path, force: bool) -> None:
    real = tmp_path / "real.json"
    real.write_text("keep me\n")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to(tmp_path / "nowhere.json")
    flag = ["--force"] if force else []
    run = refused_alone(export(data_dir, link, *flag), "unsafe_output")
    assert f"{link} is a symbolic link" in run.err
    refused_alone(export(data_dir, dangling, *flag), "unsafe_output")
    assert os.readlink(link) == str(real) and real.read_text() == "keep me\n"
    assert os.readlink(dangling) == str(tmp_path / "nowhere.json")
    assert not (tmp_path / "nowhere.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dangling.json", "data", "link.json", "real.json"]


def test_export_refuses_a_folder_and_a_socket(data_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    run = refused_alone(export(data_dir, folder, "--force"), "invalid_output")
    assert f"{folder} is a folder" in run.err
    assert folder.is_dir() and not any(folder.iterdir())
    with tempfile.TemporaryDirectory(prefix="va-") as short:  # a socket path must be short
        path = Path(short) / "s"
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            server.bind(str(path))
            run = refused_alone(export(data_dir, path, "--force"), "unsafe_output")
            assert "is a socket" in run.err and stat.S_ISSOCK(os.lstat(path).st_mode)
        finally:
            server.close()


def test_export_still_replaces_a_regular_file_with_force(data_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "all.json"
    target.write_text("old\n")
    refused_alone(export(data_dir, target), "file_exists")
    assert target.read_text() == "old\n"
    ok(export(data_dir, target, "--force"))
    assert '"hostile paths"' in target.read_text()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


# --- transcribe PATH ----------------------------------------------------------------------------------


def transcribe(data_dir: Path, path: Path | str, timeout: float = 60) -> Run:
    return cli("--data-dir", str(data_dir), "transcribe", str(path), timeout=timeout)


def test_transcribe_says_what_a_path_really_is(tmp_path: Path) -> None:
    data = tmp_path / "data"
    folder = tmp_path / "recordings"
    folder.mkdir()
    run = refused_alone(transcribe(data, folder), "not_a_file")
    assert f"{folder} is a folder" in run.err and "There is no file" not in run.err
    run = refused_alone(transcribe(data, "/dev/zero"), "not_a_file")
    assert "/dev/zero is a character device" in run.err
    run = refused_alone(transcribe(data, tmp_path / "missing.wav"), "file_not_found")
    assert "There is no file" in run.err


def test_transcribe_refuses_a_fifo_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    started = time.monotonic()
    run = refused_alone(transcribe(tmp_path / "data", fifo, timeout=30), "not_a_file")
    assert time.monotonic() - started < 30
    assert "named pipe" in run.err and stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_transcribe_refuses_absurd_formats_before_reading(tmp_path: Path) -> None:
    one_hertz = tmp_path / "one-hertz.wav"
    with wave.open(str(one_hertz), "wb") as w:  # 32 KB of samples that would last 4.4 hours
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(1)
        w.writeframes(bytes(32_000))
    run = refused_alone(transcribe(tmp_path / "data", one_hertz, timeout=30), "unsupported_audio")
    assert "1 Hz" in run.err and "8,000 to 192,000 Hz" in run.err
    many = tmp_path / "many-channels.wav"
    soundfile.write(many, np.zeros((1600, 9), dtype=np.int16), 16_000, subtype="PCM_16")
    run = refused_alone(transcribe(tmp_path / "data", many, timeout=30), "unsupported_audio")
    assert "9 channels" in run.err
    too_long = tmp_path / "twenty-minutes.wav"  # 8 kHz mono keeps the file small
    soundfile.write(too_long, np.zeros(8_000 * 20 * 60, dtype=np.int16), 8_000, subtype="PCM_16")
    started = time.monotonic()
    run = refused_alone(transcribe(tmp_path / "data", too_long, timeout=30), "audio_too_long")
    assert "20.0 minutes" in run.err and "at most 10 minutes" in run.err
    assert time.monotonic() - started < 30


# The reader's own peak, from the kernel's high-water mark of its memory (VmHWM starts afresh at exec; the
# rusage figure would carry the forking test process's own size over into the child).
READ_ALL = """
import sys
from pathlib import Path
from desktop_app.cli.transcribe import iter_speech_audio
blocks, seconds = iter_speech_audio(Path(sys.argv[1]))
total = sum(len(block) for block in blocks)
peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(total, seconds, peak_kb)
"""


def test_a_long_recording_is_read_with_bounded_memory(tmp_path: Path) -> None:
    """Ten minutes of 48 kHz stereo (110 MB of WAV, 230 MB as float samples) read and resampled the way
    `transcribe` feeds the recogniser: a second at a time, so the reader's peak stays far below the file.
    (Reading the whole file at once peaked at 555 MB in `transcribe`.)"""
    long = tmp_path / "ten-minutes.wav"
    with soundfile.SoundFile(long, "w", samplerate=48_000, channels=2, subtype="PCM_16") as audio:
        silence = np.zeros((48_000 * 60, 2), dtype=np.int16)
        for _ in range(10):
            audio.write(silence)
    out = tmp_path / "out.txt"
    with out.open("w") as sink:
        subprocess.run([sys.executable, "-c", READ_ALL, str(long)], cwd=REPO_ROOT, stdout=sink, check=True)
    pcm_bytes, seconds, peak_kb = out.read_text().split()
    assert int(pcm_bytes) == 600 * 16_000 * 2 and float(seconds) == 600.0
    peak_mb = int(peak_kb) / 1024
    print(f"10 min 48 kHz stereo read: peak {peak_mb:.0f} MB")
    assert peak_mb < 200, f"peak memory {peak_mb:.0f} MB"


def _special_data_dirs(tmp_path: Path) -> list[tuple[Path, str, Path]]:
    """(path given as --data-dir, what blocks it, that path) for each kind of thing that is not a folder."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    plain = tmp_path / "plain.txt"
    plain.write_text("mine")
    device = private_device(tmp_path, "null-node", 3)
    sock = tmp_path / "s.sock"
    with socket.socket(socket.AF_UNIX) as listening:
        listening.bind(str(sock))  # the socket file stays after the socket is closed
    return [
        (fifo, "a named pipe (FIFO)", fifo),
        (plain, "a regular file", plain),
        (plain / "inside", "a regular file", plain),
        (device, "a character device", device),
        (sock, "a socket", sock),
    ]


def test_a_data_dir_that_is_not_a_folder_is_named_and_left_alone(tmp_path: Path) -> None:
    for given, kind, blocking in _special_data_dirs(tmp_path):
        before = blocking.lstat()
        for command in (["history", "list"], ["ask", "what time is it"], ["models", "list"], ["settings", "list"]):
            run = refused_alone(cli("--data-dir", str(given), *command), "data_dir_unavailable")
            assert f"{blocking} is {kind}, not a folder" in run.err, run.err
        after = blocking.lstat()
        assert (after.st_mode, after.st_ino, after.st_size) == (before.st_mode, before.st_ino, before.st_size)
    assert (tmp_path / "plain.txt").read_text() == "mine"


def test_a_data_dir_reached_through_a_symbolic_link_is_used(data_dir: Path, tmp_path: Path) -> None:
    link = tmp_path / "link-to-data"
    link.symlink_to(data_dir, target_is_directory=True)
    assert "hostile paths" in ok(cli("--data-dir", str(link), "history", "list")).out
    assert link.is_symlink()


# --- --database-url sqlite:///PATH ------------------------------------------------------------------------


def test_a_database_path_that_is_not_a_file_is_refused_and_never_moved(tmp_path: Path) -> None:
    """A device, a FIFO, a folder or a link to one given as the SQLite file: refused before it is opened (a
    FIFO would block), never set aside as damaged (which once renamed a device node), nothing created."""
    places = tmp_path / "places"
    places.mkdir()
    device = private_device(places, "zero-node", 5)
    fifo = places / "db-fifo"
    os.mkfifo(fifo)
    folder = places / "db-folder"
    folder.mkdir()
    link = places / "link-to-device"
    link.symlink_to(device)
    dangling = places / "dangling"
    dangling.symlink_to(places / "not-there")
    cases = [
        (device, "is a character device, not a file"),
        (fifo, "is a named pipe (FIFO), not a file"),
        (folder, "is a folder, not a file"),
        (link, f"(a link to {device}) is a character device, not a file"),
        (dangling, "which does not exist"),
    ]
    data = tmp_path / "data"
    for path, words in cases:
        before = sorted(os.listdir(places)), path.lstat()
        run = refused_alone(
            cli("--data-dir", str(data), "--database-url", f"sqlite:///{path}", "history", "list"), "db_unreadable"
        )
        assert words in run.err, run.err
        after = sorted(os.listdir(places)), path.lstat()
        assert after[0] == before[0]  # nothing set aside, no -wal or -journal beside it
        assert (after[1].st_mode, after[1].st_ino, after[1].st_rdev) == (
            before[1].st_mode,
            before[1].st_ino,
            before[1].st_rdev,
        )


def test_a_database_url_that_is_not_a_url_is_a_usage_error(tmp_path: Path) -> None:
    run = cli("--data-dir", str(tmp_path / "data"), "--database-url", "not a url", "history", "list")
    assert run.code == 2 and "Traceback" not in run.err, run
    assert ERROR_LINE.fullmatch(run.err) and run.err.endswith("[invalid_argument]\n"), run.err
