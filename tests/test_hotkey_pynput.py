"""The pynput backend (the app's choice on Windows and macOS), run for real here through pynput's X11
listener on the virtual screen, with X's auto-repeat on: sorting the keys, the modifier state and the hold
are the same code on every system. Windows and macOS themselves cannot run on this Linux machine, so their
own hooks (and macOS's Input Monitoring permission) are not exercised here."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
from gui_app import set_auto_repeat, xdotool

from desktop_app.hotkey import BackendKind, GlobalHotkey, HotkeySpec, Listening
from desktop_app.hotkey.pynput_backend import PynputBackend

pytestmark = pytest.mark.gui


class Recorder:
    def __init__(self) -> None:
        self.kinds: list[str] = []
        self._changed = threading.Condition()

    def press(self) -> None:
        self._add("press")

    def release(self) -> None:
        self._add("release")

    def _add(self, kind: str) -> None:
        with self._changed:
            self.kinds.append(kind)
            self._changed.notify_all()

    def settled(self, count: int, timeout: float = 5.0) -> list[str]:
        """The callbacks once `count` have come (or the time ran out) and nothing more followed."""
        with self._changed:
            self._changed.wait_for(lambda: len(self.kinds) >= count, timeout)
        time.sleep(0.3)
        with self._changed:
            return list(self.kinds)


def _stop(stop: Callable[[], None], display: str) -> None:
    """Stops, nudging pynput's X listener with a harmless key until it ends: it only notices the stop at
    its next key event."""
    stopper = threading.Thread(target=stop)
    stopper.start()
    deadline = time.monotonic() + 10
    while stopper.is_alive() and time.monotonic() < deadline:
        xdotool("key", "shift", display=display)
        stopper.join(0.1)
    assert not stopper.is_alive()


@pytest.fixture
def screen(xvfb_display: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    # pynput opens the display named by DISPLAY (when pynput.keyboard is first imported, and per listener).
    monkeypatch.setenv("DISPLAY", xvfb_display)
    set_auto_repeat(xvfb_display, True)
    before = set(threading.enumerate())
    yield xvfb_display
    xdotool("keyup", "space", "ctrl", "alt", "shift", "a", display=xvfb_display)
    assert [thread.name for thread in set(threading.enumerate()) - before] == []


@pytest.fixture
def listening(screen: str) -> Iterator[tuple[PynputBackend, Recorder]]:
    recorder = Recorder()
    backend = PynputBackend(HotkeySpec.parse("ctrl+alt+space"))
    backend.start(recorder.press, recorder.release)
    yield backend, recorder
    _stop(backend.stop, screen)


def test_a_long_hold_with_auto_repeat_is_one_press_and_one_release(
    screen: str, listening: tuple[PynputBackend, Recorder]
) -> None:
    backend, recorder = listening
    xdotool("keydown", "ctrl+alt+space", display=screen)
    time.sleep(1.5)
    xdotool("keyup", "ctrl+alt+space", display=screen)
    assert recorder.settled(2) == ["press", "release"]
    assert backend.repeats_ignored >= 10  # X repeated the key about 20 times


def test_a_quick_tap_and_a_second_hold(screen: str, listening: tuple[PynputBackend, Recorder]) -> None:
    _, recorder = listening
    xdotool("key", "ctrl+alt+space", display=screen)
    time.sleep(0.4)
    xdotool("key", "ctrl+alt+space", display=screen)
    assert recorder.settled(4) == ["press", "release", "press", "release"]


def test_letting_go_of_the_modifiers_first_does_not_end_the_hold(
    screen: str, listening: tuple[PynputBackend, Recorder]
) -> None:
    _, recorder = listening
    xdotool("keydown", "ctrl+alt+space", display=screen)
    time.sleep(1.0)
    xdotool("keyup", "ctrl", display=screen)
    xdotool("keyup", "alt", display=screen)
    time.sleep(0.6)  # space still held and repeating, with no modifiers now
    assert recorder.kinds == ["press"]
    xdotool("keyup", "space", display=screen)
    assert recorder.settled(2) == ["press", "release"]


def test_another_key_down_is_fine_but_an_extra_modifier_is_another_combination(
    screen: str, listening: tuple[PynputBackend, Recorder]
) -> None:
    _, recorder = listening
    xdotool("keydown", "ctrl+alt+shift+space", display=screen)
    time.sleep(0.3)
    xdotool("keyup", "ctrl+alt+shift+space", display=screen)
    assert recorder.settled(1, timeout=0.5) == []
    xdotool("keydown", "a", display=screen)
    time.sleep(0.3)
    xdotool("key", "ctrl+alt+space", display=screen)
    xdotool("keyup", "a", display=screen)
    assert recorder.settled(2) == ["press", "release"]


def test_the_facade_picks_pynput_on_windows_and_macos(screen: str) -> None:
    for platform in ("win32", "darwin"):
        recorder = Recorder()
        hotkey = GlobalHotkey(recorder.press, recorder.release, environment={}, platform=platform)
        assert hotkey.start("ctrl+alt+space") == Listening(BackendKind.PYNPUT, "Ctrl+Alt+Space")
        xdotool("key", "ctrl+alt+space", display=screen)
        assert recorder.settled(2) == ["press", "release"]
        _stop(hotkey.stop, screen)
