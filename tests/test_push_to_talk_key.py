"""One hold of the push-to-talk key is exactly one turn, with the keyboard's auto-repeat on (as users have
it), on a busy machine too, and with it off."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from gui_app import (
    log_text,
    quit_app,
    running_app,
    set_auto_repeat,
    turns_started,
    wait_for_messages,
    wait_until_listening_ready,
    xdotool,
)

from desktop_app.core.hold_key import HoldKey


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.key = HoldKey(lambda: self.calls.append("press"), lambda: self.calls.append("release"))


def test_auto_repeat_pairs_inside_the_wait_do_not_end_the_hold() -> None:
    recorder = _Recorder()
    key = recorder.key
    key.key_down(1000)
    for stamp in range(1660, 3000, 40):  # X: after 660 ms, a release and a press every 40 ms, same stamp
        assert key.key_up(stamp)
        key.key_down(stamp)
        key.settle()  # the wait ran out only after the press (normal case)
    assert key.key_up(3100)
    key.settle()
    assert recorder.calls == ["press", "release"]


def test_a_repeat_press_handled_after_the_wait_is_still_known_by_its_timestamp() -> None:
    """A busy machine: the timer fired before the repeat's press was handled. The press carries the
    release's own timestamp, so it does not start a second turn, and neither do the pairs after it."""
    recorder = _Recorder()
    key = recorder.key
    key.key_down(1000)
    assert key.key_up(1660)
    key.settle()  # too early: counted as a release
    key.key_down(1660)  # the repeat's press, late
    for stamp in range(1700, 2500, 40):
        key.key_up(stamp)
        key.key_down(stamp)
    key.key_up(2600)
    key.settle()
    assert recorder.calls == ["press", "release"]
    assert key.repeats_ignored >= 20


def test_qt_marked_repeats_and_repeats_without_timestamps_are_ignored() -> None:
    recorder = _Recorder()
    key = recorder.key
    key.key_down()
    key.key_down(auto_repeat=True)
    assert not key.key_up(auto_repeat=True)
    assert key.key_up()  # unmarked release, no timestamp ...
    key.key_down()  # ... and the press before the wait ran out: a repeat
    key.settle()
    assert recorder.calls == ["press"]
    assert key.key_up()
    key.settle()
    assert recorder.calls == ["press", "release"]


def test_two_real_holds_are_two_turns() -> None:
    recorder = _Recorder()
    key = recorder.key
    key.key_down(1000)
    key.key_up(1400)
    key.settle()
    key.key_down(1900)
    key.key_up(2500)
    key.settle()
    assert recorder.calls == ["press", "release", "press", "release"]


def _busy_processes(count: int) -> list[subprocess.Popen[bytes]]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]


@pytest.mark.gui
@pytest.mark.slow
@pytest.mark.parametrize(
    ("auto_repeat", "busy"),
    [(True, 0), (True, 3), (False, 0)],
    ids=["auto-repeat-on", "auto-repeat-on-busy-machine", "auto-repeat-off"],
)
def test_holding_ctrl_space_for_three_seconds_is_one_turn(
    xvfb_display: str, pulse_audio, data_dir: Path, auto_repeat: bool, busy: int
) -> None:
    from speech_audio import say_to_wav

    question = say_to_wav("what time is it", data_dir.parent / "question.wav")
    set_auto_repeat(xvfb_display, auto_repeat)
    with running_app(xvfb_display, data_dir, PULSE_SERVER=pulse_audio.server) as (app, window):
        wait_until_listening_ready(data_dir)
        hogs = _busy_processes(busy)
        try:
            xdotool("windowfocus", "--sync", window, display=xvfb_display)
            xdotool("keydown", "ctrl+space", display=xvfb_display)
            time.sleep(0.8)  # past X's 660 ms repeat delay before the question starts
            pulse_audio.play(question)
            time.sleep(3.0 - 0.8 - 1.2)
            xdotool("keyup", "ctrl+space", display=xvfb_display)
            messages = wait_for_messages(data_dir, 2)
        finally:
            for hog in hogs:
                hog.kill()
                hog.wait()
        assert turns_started(data_dir) == 1, log_text(data_dir)[-3000:]
        assert messages[0] == ("user", "what time is it"), (messages, log_text(data_dir)[-3000:])
        assert messages[1][0] == "assistant" and messages[1][1].startswith("It is")
        time.sleep(0.5)
        assert len(wait_for_messages(data_dir, 3, timeout=1)) == 2  # nothing more came of the hold
        quit_app(app, xvfb_display)
    set_auto_repeat(xvfb_display, True)
