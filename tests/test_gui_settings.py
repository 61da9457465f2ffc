"""The settings dialog in the real app on an X screen with the private sound server, driven with keys as a
person drives it: File > Settings… (Ctrl+,), the Privacy section found by typing its name in the list, history
switched off with its mnemonic (Alt+K). A question spoken while history is off is answered but never stored;
switched back on, the next one is."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from gui_app import (
    ask_by_voice,
    quit_app,
    running_app,
    stored_messages,
    wait_for_log,
    wait_for_messages,
    wait_until_listening_ready,
    xdotool,
)

pytestmark = pytest.mark.gui
BOUND_S = 30.0


def settings_file(data_dir: Path) -> dict[str, object]:
    path = data_dir / "config" / "settings.json"
    return dict(json.loads(path.read_text())) if path.exists() else {}


def wait_saved(data_dir: Path, key: str, value: object) -> None:
    deadline = time.monotonic() + BOUND_S
    while settings_file(data_dir).get(key) != value:
        assert time.monotonic() < deadline, f"{key} was not saved as {value!r}: {settings_file(data_dir)}"
        time.sleep(0.1)


def switch_history(display: str, data_dir: Path, window: str, on: bool) -> None:
    """Ctrl+, in the main window; "pri" typed in the section list; Alt+K; Esc closes the dialog."""
    xdotool("windowfocus", "--sync", window, display=display)
    xdotool("key", "ctrl+comma", display=display)
    found = xdotool("search", "--sync", "--onlyvisible", "--name", "^Settings$", display=display, timeout=30)
    dialog = found.stdout.split()[0]
    xdotool("windowfocus", "--sync", dialog, display=display)
    xdotool("type", "--delay", "50", "pri", display=display)  # the list jumps to the entry typed
    time.sleep(0.5)
    xdotool("key", "alt+k", display=display)
    wait_saved(data_dir, "history.save", on)
    xdotool("key", "Escape", display=display)


def test_history_switched_off_in_settings_keeps_a_spoken_question_out_of_the_database(
    xvfb_display: str, pulse_audio, data_dir: Path
) -> None:
    from speech_audio import say_to_wav

    question = say_to_wav("what time is it", data_dir.parent / "question.wav")
    with running_app(xvfb_display, data_dir, PULSE_SERVER=pulse_audio.server) as (app, window):
        wait_until_listening_ready(data_dir)
        ask_by_voice(xvfb_display, window, pulse_audio, question)
        assert [role for role, _ in wait_for_messages(data_dir, 2)] == ["user", "assistant"]

        switch_history(xvfb_display, data_dir, window, on=False)
        ask_by_voice(xvfb_display, window, pulse_audio, question)
        wait_for_log(data_dir, "turn 2: heard")

        switch_history(xvfb_display, data_dir, window, on=True)
        ask_by_voice(xvfb_display, window, pulse_audio, question)
        stored = wait_for_messages(data_dir, 4)
        # Turns run one after another: the third was answered after the second, which left nothing behind.
        assert [role for role, _ in stored] == ["user", "assistant", "user", "assistant"], stored
        assert len(stored_messages(data_dir)) == 4
        quit_app(app, xvfb_display)
