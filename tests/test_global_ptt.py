"""Push-to-talk from anywhere, as a person uses it: the app runs; another program's window has the keyboard;
Ctrl+Alt+Space is held (with X's key auto-repeat on) while the question plays into the virtual microphone.
The transcript and the answer appear in the window, are stored, and the answer is heard on the virtual
speaker. Then the same through the remote (`voice-assistant ptt press` / `release`), and a second start of
the app shows the running window instead of opening another.

The app runs in this process (its window on Qt's offscreen screen, so the test can read it), while its global
key is a real X key grab on the private X screen, where xdotool presses keys and the other window has focus.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from gui_app import VOICE_READY_LOG, first_run_done, set_auto_repeat, stored_messages, wait_for_log, xdotool
from test_hotkey_x11 import FocusedWindow
from window_text import shown_text

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

BOUND_S = 60.0


def _wait(condition: Callable[[], bool], what: str, timeout: float = BOUND_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout:.0f} s"
        time.sleep(0.1)


def _loud_seconds(wav_path: Path, after_s: float) -> float:
    """Seconds of sound (above -40 dBFS, in 50 ms blocks) recorded after `after_s`."""
    with wave.open(str(wav_path)) as recorded:
        rate = recorded.getframerate()
        samples = np.frombuffer(recorded.readframes(recorded.getnframes()), np.int16).astype(np.float32) / 32768
    block = rate // 20
    tail = samples[int(after_s * rate) :]
    blocks = tail[: len(tail) // block * block].reshape(-1, block)
    rms = np.sqrt((blocks**2).mean(axis=1))
    return float((rms > 0.01).sum()) / 20


def _ptt(data_dir: Path, action: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "desktop_app", "ptt", action, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.gui
@pytest.mark.audio
@pytest.mark.slow
def test_holding_the_global_key_over_another_window_asks_and_answers(
    qtbot, xvfb_display: str, pulse_audio, data_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from speech_audio import say_to_wav

    from desktop_app.app import AppOptions, run_gui
    from desktop_app.ui.main_window import MainWindow
    from desktop_app.ui.qt import QApplication, QTimer

    monkeypatch.setenv("DISPLAY", xvfb_display)  # the global key grabs on the X screen
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    set_auto_repeat(xvfb_display, True)  # as users have it
    first = say_to_wav("what time is it", tmp_path / "first.wav")
    second = say_to_wav("what is two plus two", tmp_path / "second.wav")
    recording = tmp_path / "speaker.wav"
    seen: dict[str, object] = {}
    failures: list[BaseException] = []

    def person() -> None:
        """What the user does, on their own thread while the app's loop runs."""
        other: FocusedWindow | None = None
        try:
            wait_for_log(data_dir, VOICE_READY_LOG, timeout=BOUND_S)
            wait_for_log(data_dir, "speech recognition:", timeout=BOUND_S)
            wait_for_log(data_dir, "capturing from", timeout=BOUND_S)
            other = FocusedWindow(xvfb_display)  # another program has the keyboard
            recorder = pulse_audio.record(recording)
            started = time.monotonic()
            xdotool("keydown", "ctrl+alt+space", display=xvfb_display)
            time.sleep(0.9)  # held past X's 660 ms repeat delay: the key repeats while the question plays
            pulse_audio.play(first)
            time.sleep(0.3)
            xdotool("keyup", "ctrl+alt+space", display=xvfb_display)
            seen["question_ended_s"] = time.monotonic() - started
            _wait(lambda: len(stored_messages(data_dir)) >= 2, "the first answer")
            time.sleep(3.0)  # the answer is spoken
            recorder.terminate()
            recorder.wait(timeout=10)
            seen["other_window_keys"] = [kind for kind, code in other.received() if code == other.space]
            # The remote, as a desktop's own key binding drives it (sway, GNOME, a Wayland compositor).
            pressed = _ptt(data_dir, "press")
            seen["ptt_press"] = (pressed.returncode, pressed.stderr)
            time.sleep(0.3)
            pulse_audio.play(second)
            time.sleep(0.3)
            released = _ptt(data_dir, "release")
            seen["ptt_release"] = (released.returncode, released.stderr)
            _wait(lambda: len(stored_messages(data_dir)) >= 4, "the second answer")
            again = subprocess.run(  # a second start: shows this window, opens no other
                [sys.executable, "-m", "desktop_app", "--data-dir", str(data_dir)],
                capture_output=True,
                text=True,
                timeout=60,
                env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
            )
            seen["second_start"] = (again.returncode, again.stderr)
        except BaseException as error:  # reported by the test's thread
            failures.append(error)
        finally:
            if other is not None:
                other.close()

    def look() -> None:
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)]
        if windows:
            seen["transcript"] = shown_text(windows[0])
        if not user.is_alive():
            poll.stop()
            for window in windows:
                window.close()  # as a person ends it: closing the window quits the app (no tray here)

    user = threading.Thread(target=person, name="test-person", daemon=True)
    user.start()
    poll = QTimer()
    poll.timeout.connect(look)
    poll.start(100)
    first_run_done(data_dir)
    try:
        assert run_gui(AppOptions(data_dir=str(data_dir))) == 0
    finally:
        poll.stop()
        xdotool("keyup", "ctrl", "alt", "space", display=xvfb_display)
    user.join(timeout=BOUND_S)
    log = (data_dir / "logs" / "voice-assistant.log").read_text()
    if failures:
        raise AssertionError(f"{failures[0]}\n{log[-4000:]}") from failures[0]
    messages = stored_messages(data_dir)
    assert messages[0] == ("user", "what time is it"), (messages, log[-3000:])
    assert messages[1][0] == "assistant" and messages[1][1].startswith("It is"), messages
    assert messages[2] == ("user", "what is two plus two"), (messages, log[-3000:])
    assert messages[3] == ("assistant", "Two plus two is 4."), messages
    transcript = str(seen["transcript"])
    assert "You: what time is it" in transcript and "You: what is two plus two" in transcript
    assert f"Assistant: {messages[1][1]}" in transcript
    assert log.count(": listening (") == 2  # one turn per hold, however the key repeated
    assert seen["other_window_keys"] == []  # the grabbed key never reached the focused program
    assert _loud_seconds(recording, float(str(seen["question_ended_s"]))) > 0.5  # the answer was heard
    assert seen["ptt_press"] == (0, "") and seen["ptt_release"] == (0, "")
    assert seen["second_start"] == (0, ""), seen["second_start"]
    assert "asking it to show its window" in log
