"""Speech output's scratch folder (va-tts-<pid>-<random> in the temporary directory): a run that is killed
leaves it behind, and the next run removes it; a live run's folder, a link, and anything the app did not
make are left alone.

Every test uses a temporary directory of its own (TMPDIR for the real processes, tempfile.tempdir here),
so runs of the app elsewhere on the machine are never touched.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from cli_runner import REPO_ROOT

from desktop_app.paths import LEGACY_MIN_AGE_SECONDS, RUN_MARKER, RunFolder, remove_stale
from desktop_app.speech.tts import WORK_FOLDER_PREFIX

# A real run of speech output: it starts the engine (which renders into the folder), says where its
# folder is, and closes when its standard input ends.
SPEAKER_RUN = """
import sys
from desktop_app.core.settings import Settings
from desktop_app.speech.tts import SpeechOutput
speech = SpeechOutput(Settings(None), lambda event: None)
assert speech.wait_ready(30)
print(speech._work_dir, flush=True)
sys.stdin.read()
speech.close()
print("closed", flush=True)
"""


@pytest.fixture
def temp_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


@contextmanager
def speaker_run(temp_root: Path) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    env = {**os.environ, "TMPDIR": str(temp_root)}
    process = subprocess.Popen(
        [sys.executable, "-c", SPEAKER_RUN],
        env=env,
        cwd=REPO_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line, process.stderr.read() if process.stderr else ""
        folder = Path(line)
        assert folder.parent == temp_root and folder.name.startswith(f"{WORK_FOLDER_PREFIX}{process.pid}-")
        yield process, folder
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=30)


def _next_start(temp_root: Path) -> None:
    """Another run of the app starting its speech output (and closing it)."""
    with speaker_run(temp_root) as (process, _folder):
        process.communicate(input="", timeout=60)


def test_a_killed_run_s_folder_is_removed_by_the_next_start(temp_root: Path) -> None:
    with speaker_run(temp_root) as (process, folder):
        assert (folder / RUN_MARKER).is_file()
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    assert folder.is_dir(), "a killed run cannot clean up after itself"
    _next_start(temp_root)
    assert not folder.exists()
    assert [path for path in temp_root.iterdir() if path.name.startswith(WORK_FOLDER_PREFIX)] == []


def test_a_live_run_s_folder_is_kept_and_removed_when_it_closes(temp_root: Path) -> None:
    with speaker_run(temp_root) as (process, folder):
        _next_start(temp_root)
        assert (folder / RUN_MARKER).is_file()
        out, _ = process.communicate(input="", timeout=60)
        assert "closed" in out
    assert not folder.exists()


def test_links_and_folders_the_app_did_not_make_are_left_alone(temp_root: Path, tmp_path: Path) -> None:
    # Somewhere else, a folder that looks exactly like an abandoned run folder; a link to it has the name.
    elsewhere = tmp_path / "elsewhere"
    dead = RunFolder.create(WORK_FOLDER_PREFIX, parent=tmp_path)
    assert dead._lock_fd is not None
    os.close(dead._lock_fd)  # as if its process had died
    dead.path.rename(elsewhere)
    (elsewhere / "keep.txt").write_text("mine")
    link = temp_root / f"{WORK_FOLDER_PREFIX}4242-abcdefgh"
    link.symlink_to(elsewhere)
    # The app's name pattern, but no marker; a marker that is not the app's; a similar name.
    unmarked = temp_root / f"{WORK_FOLDER_PREFIX}4243-abcdefgh"
    unmarked.mkdir()
    (unmarked / "data").write_text("x")
    foreign_marker = temp_root / f"{WORK_FOLDER_PREFIX}4244-abcdefgh"
    foreign_marker.mkdir()
    (foreign_marker / RUN_MARKER).write_text("someone else's file\n")
    similar = temp_root / f"{WORK_FOLDER_PREFIX}notes"
    similar.mkdir()
    (similar / RUN_MARKER).write_bytes((elsewhere / RUN_MARKER).read_bytes())
    before = sorted(path.name for path in temp_root.iterdir())

    assert remove_stale(WORK_FOLDER_PREFIX) == []

    assert sorted(path.name for path in temp_root.iterdir()) == before
    assert link.is_symlink() and (elsewhere / "keep.txt").read_text() == "mine"
    assert (unmarked / "data").exists() and (foreign_marker / RUN_MARKER).exists()


def test_another_user_s_folder_is_left_alone(temp_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = RunFolder.create(WORK_FOLDER_PREFIX)
    assert folder._lock_fd is not None
    os.close(folder._lock_fd)  # its process is gone
    folder._lock_fd = None
    with monkeypatch.context() as patch:
        patch.setattr(os, "getuid", lambda: os.geteuid() + 1)  # ... and it belongs to someone else
        assert remove_stale(WORK_FOLDER_PREFIX) == []
    assert remove_stale(WORK_FOLDER_PREFIX) == [folder.path]


def test_folders_of_releases_before_the_marker_go_when_a_day_old_and_holding_only_speech(temp_root: Path) -> None:
    old = time.time() - LEGACY_MIN_AGE_SECONDS - 60

    def legacy(name: str, files: tuple[str, ...], age: float = old) -> Path:
        folder = temp_root / f"{WORK_FOLDER_PREFIX}{name}"
        folder.mkdir(mode=0o700)
        for file in files:
            (folder / file).write_bytes(b"RIFF")
        os.utime(folder, (age, age))
        return folder

    abandoned = legacy("k3j_9x2a", ("utterance-3.wav",))
    empty = legacy("a1b2c3d4", ())
    recent = legacy("q1w2e3r4", ("utterance-1.wav",), age=time.time())
    other_content = legacy("z9y8x7w6", ("utterance-1.wav", "notes.txt"))
    removed = remove_stale(WORK_FOLDER_PREFIX)
    assert sorted(removed) == sorted([abandoned, empty])
    assert recent.exists() and other_content.exists()
