"""The double-click bundle, built from build.spec with PyInstaller (about a minute) and started as a user
starts it, not the source tree: its own `--self-test` passes every check on a machine with sound and a
keychain, and on an X screen with the private sound server it answers a spoken question and keeps it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from gui_app import ask_by_voice, quit_app, running_app, wait_for_messages, wait_until_listening_ready

ROOT = Path(__file__).resolve().parents[1]
BUILD_BOUND_S = 900
RUN_BOUND_S = 180

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The bundle's executable, built once for the module into a temporary folder."""
    out = tmp_path_factory.mktemp("bundle")
    folders = ["--workpath", str(out / "work"), "--distpath", str(out / "dist")]
    built = subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", *folders, "build.spec"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=BUILD_BOUND_S,
    )
    assert built.returncode == 0, built.stderr[-4000:]
    executable = out / "dist" / "voice-assistant" / "voice-assistant"
    assert executable.is_file() and os.access(executable, os.X_OK)
    yield executable


def test_the_bundle_passes_its_self_test(bundle: Path, pulse_audio, system_keychain) -> None:
    env = {**os.environ, **pulse_audio.env(), **system_keychain.env(), "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([str(bundle), "--self-test"], env=env, capture_output=True, text=True, timeout=RUN_BOUND_S)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert [line.split()[:2] for line in lines[1:-1]] == [
        ["ok", name] for name in ("store", "recogniser", "speech", "turn", "window", "keychain", "sound")
    ], done.stdout
    assert "Traceback" not in done.stderr


@pytest.mark.gui
def test_the_bundle_answers_a_spoken_question(bundle: Path, xvfb_display: str, pulse_audio, data_dir: Path) -> None:
    from speech_audio import say_to_wav

    question = say_to_wav("what time is it", data_dir.parent / "question.wav")
    with running_app(xvfb_display, data_dir, program=[str(bundle)], PULSE_SERVER=pulse_audio.server) as (app, window):
        wait_until_listening_ready(data_dir)
        ask_by_voice(xvfb_display, window, pulse_audio, question)
        answered = wait_for_messages(data_dir, 2)
        assert answered[0] == ("user", "what time is it"), answered
        assert answered[1][0] == "assistant" and answered[1][1].startswith("It is")
        quit_app(app, xvfb_display)
