"""The X11 key grab on a real (virtual) X screen, as a user has it: key auto-repeat on with X's defaults,
another program's window holding the keyboard focus, keys pressed with xdotool (XTEST, so they go through
the server's grabs and auto-repeat like a keyboard's)."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from gui_app import set_auto_repeat, xdotool
from Xlib import XK, X
from Xlib.display import Display
from xvfb_server import XvfbServer

from desktop_app.core.errors import ErrorCode
from desktop_app.hotkey import BackendKind, GlobalHotkey, HotkeyError, HotkeySpec, Listening, Unavailable
from desktop_app.hotkey.backend import HotkeyStatus
from desktop_app.hotkey.keys import KEYS
from desktop_app.hotkey.x11 import X11GrabBackend

pytestmark = pytest.mark.gui

DEFAULT = HotkeySpec.parse("ctrl+alt+space")


class Recorder:
    """Collects the callbacks, which arrive on the backend's thread."""

    def __init__(self) -> None:
        self.events: list[tuple[str, float]] = []
        self.statuses: list[HotkeyStatus] = []
        self._changed = threading.Condition()

    def press(self) -> None:
        self._add("press")

    def release(self) -> None:
        self._add("release")

    def status(self, status: HotkeyStatus) -> None:
        with self._changed:
            self.statuses.append(status)
            self._changed.notify_all()

    def _add(self, kind: str) -> None:
        with self._changed:
            self.events.append((kind, time.monotonic()))
            self._changed.notify_all()

    @property
    def kinds(self) -> list[str]:
        with self._changed:
            return [kind for kind, _ in self.events]

    def wait_for(self, done: Callable[[], bool], timeout: float = 5.0) -> bool:
        with self._changed:
            return self._changed.wait_for(done, timeout)

    def wait_for_kinds(self, expected: list[str], timeout: float = 5.0) -> list[str]:
        self.wait_for(lambda: len(self.events) >= len(expected), timeout)
        time.sleep(0.3)  # and nothing more comes
        return self.kinds


class FocusedWindow:
    """Another program's window with the keyboard focus: a separate X client that records the keys it gets."""

    def __init__(self, display_name: str) -> None:
        self.display = Display(display_name)
        screen = self.display.screen()
        self.window = screen.root.create_window(
            0,
            0,
            320,
            200,
            0,
            screen.root_depth,
            event_mask=X.KeyPressMask | X.KeyReleaseMask | X.StructureNotifyMask,
        )
        self.window.map()
        self.display.sync()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if self.display.pending_events() and self.display.next_event().type == X.MapNotify:
                break
            time.sleep(0.01)
        self.window.set_input_focus(X.RevertToParent, X.CurrentTime)
        self.display.sync()
        self.space = self.display.keysym_to_keycode(XK.string_to_keysym("space"))

    def received(self) -> list[tuple[str, int]]:
        """The key events received since the last call: ("press" | "release", keycode)."""
        self.display.sync()
        received = []
        while self.display.pending_events():
            event = self.display.next_event()
            if event.type in (X.KeyPress, X.KeyRelease):
                received.append(("press" if event.type == X.KeyPress else "release", event.detail))
        return received

    def close(self) -> None:
        self.window.destroy()
        self.display.close()


def _hotkey_threads() -> list[str]:
    return [thread.name for thread in threading.enumerate() if thread.name.startswith("hotkey-")]


@pytest.fixture
def screen(xvfb_display: str) -> Iterator[str]:
    """The shared virtual screen with X's default auto-repeat (660 ms, 25 a second), as users have it."""
    set_auto_repeat(xvfb_display, True)
    yield xvfb_display
    # Whatever a failed test left down is let go, so the next test starts with no key held.
    xdotool("keyup", "space", "ctrl", "alt", "shift", "a", "super", "F9", display=xvfb_display)
    set_auto_repeat(xvfb_display, True)
    assert _hotkey_threads() == []


@pytest.fixture
def window(screen: str) -> Iterator[FocusedWindow]:
    focused = FocusedWindow(screen)
    yield focused
    focused.close()


@pytest.fixture
def grabbed(screen: str) -> Iterator[tuple[X11GrabBackend, Recorder]]:
    recorder = Recorder()
    backend = X11GrabBackend(DEFAULT, screen)
    backend.start(recorder.press, recorder.release, recorder.status)
    yield backend, recorder
    backend.stop()


def _hold(display: str, keys: str, seconds: float) -> tuple[float, float]:
    """Holds the keys for `seconds`; returns when they went down and when they came up (monotonic)."""
    xdotool("keydown", keys, display=display)
    down = time.monotonic()
    time.sleep(seconds)
    up = time.monotonic()
    xdotool("keyup", keys, display=display)
    return down, up


def test_auto_repeat_is_on_as_x_sets_it(screen: str) -> None:
    shown = subprocess.run(
        ["xset", "q"], env={**os.environ, "DISPLAY": screen}, capture_output=True, text=True, check=True
    ).stdout
    assert "auto repeat:  on" in shown
    assert "auto repeat delay:  660    repeat rate:  25" in shown


def test_a_long_hold_is_one_press_and_one_release_and_the_focused_window_never_gets_the_key(
    screen: str, window: FocusedWindow
) -> None:
    assert xdotool("getwindowfocus", display=screen).stdout.strip() == str(window.window.id)
    # Without the grab the focused window does get the key: the check below can see it.
    xdotool("key", "ctrl+alt+space", display=screen)
    assert ("press", window.space) in window.received()

    recorder = Recorder()
    backend = X11GrabBackend(DEFAULT, screen)
    backend.start(recorder.press, recorder.release, recorder.status)
    try:
        _, up = _hold(screen, "ctrl+alt+space", 1.5)
        assert recorder.wait_for_kinds(["press", "release"]) == ["press", "release"]
        assert recorder.events[1][1] >= up  # the hold ended when the key came up, not at a repeat
        # X repeated the key about 20 times (after 660 ms, 25 a second): all of them were dropped.
        assert backend.repeats_ignored >= 10
        assert [key for key in window.received() if key[1] == window.space] == []
    finally:
        backend.stop()
    assert recorder.statuses == []


def test_a_quick_tap_is_one_press_and_one_release(screen: str, grabbed: tuple[X11GrabBackend, Recorder]) -> None:
    _, recorder = grabbed
    xdotool("key", "ctrl+alt+space", display=screen)
    assert recorder.wait_for_kinds(["press", "release"]) == ["press", "release"]


def test_two_holds_are_two_presses_and_two_releases(screen: str, grabbed: tuple[X11GrabBackend, Recorder]) -> None:
    _, recorder = grabbed
    _hold(screen, "ctrl+alt+space", 0.9)
    time.sleep(0.4)
    _hold(screen, "ctrl+alt+space", 0.9)
    expected = ["press", "release", "press", "release"]
    assert recorder.wait_for_kinds(expected) == expected


def test_letting_go_of_the_modifiers_first_does_not_end_the_hold(
    screen: str, grabbed: tuple[X11GrabBackend, Recorder]
) -> None:
    _, recorder = grabbed
    xdotool("keydown", "ctrl+alt+space", display=screen)
    time.sleep(1.0)
    xdotool("keyup", "ctrl", display=screen)
    xdotool("keyup", "alt", display=screen)
    time.sleep(0.6)  # space still held, still repeating, now with no modifiers
    assert recorder.kinds == ["press"]
    up = time.monotonic()
    xdotool("keyup", "space", display=screen)
    assert recorder.wait_for_kinds(["press", "release"]) == ["press", "release"]
    assert recorder.events[1][1] >= up


def test_the_hotkey_works_while_another_key_is_down(screen: str, grabbed: tuple[X11GrabBackend, Recorder]) -> None:
    _, recorder = grabbed
    xdotool("keydown", "a", display=screen)
    time.sleep(0.8)  # "a" is repeating in the focused program
    _hold(screen, "ctrl+alt+space", 1.0)
    xdotool("keyup", "a", display=screen)
    assert recorder.wait_for_kinds(["press", "release"]) == ["press", "release"]


def test_an_extra_modifier_is_another_combination(screen: str, grabbed: tuple[X11GrabBackend, Recorder]) -> None:
    """Ctrl+Alt+Shift+Space is not Ctrl+Alt+Space: X matches modifiers exactly, as every desktop does."""
    _, recorder = grabbed
    _hold(screen, "ctrl+alt+shift+space", 0.3)
    time.sleep(0.3)
    assert recorder.kinds == []


@pytest.mark.parametrize("lock", ["Caps_Lock", "Num_Lock"])
def test_the_hotkey_works_with_a_lock_key_on(screen: str, grabbed: tuple[X11GrabBackend, Recorder], lock: str) -> None:
    xdotool("key", lock, display=screen)  # on
    try:
        _hold(screen, "ctrl+alt+space", 0.3)
        _, recorder = grabbed
        assert recorder.wait_for_kinds(["press", "release"]) == ["press", "release"]
    finally:
        xdotool("key", lock, display=screen)  # off again


def test_a_key_another_program_holds_is_reported_by_name_and_code(screen: str) -> None:
    other = Display(screen)  # another X client that grabbed Ctrl+Alt+Space first
    root = other.screen().root
    space = other.keysym_to_keycode(XK.string_to_keysym("space"))
    root.grab_key(space, X.ControlMask | X.Mod1Mask, False, X.GrabModeAsync, X.GrabModeAsync)
    other.sync()
    try:
        with pytest.raises(HotkeyError) as raised:
            X11GrabBackend(DEFAULT, screen).start(lambda: None, lambda: None)
        assert raised.value.code is ErrorCode.HOTKEY_TAKEN
        assert "Ctrl+Alt+Space is already taken by another program" in raised.value.message

        facade = GlobalHotkey(lambda: None, lambda: None, environment={"DISPLAY": screen}, platform="linux")
        status = facade.start("ctrl+alt+space")
        assert isinstance(status, Unavailable) and status.code is ErrorCode.HOTKEY_TAKEN
        assert _hotkey_threads() == []
    finally:
        other.close()  # its grab goes with its connection
    # The refused attempts left no grab behind: the key can be taken now.
    recorder = Recorder()
    backend = X11GrabBackend(DEFAULT, screen)
    backend.start(recorder.press, recorder.release)
    try:
        xdotool("key", "ctrl+alt+space", display=screen)
        assert recorder.wait_for_kinds(["press", "release"]) == ["press", "release"]
    finally:
        backend.stop()


def test_stop_is_prompt_drops_a_hold_and_leaves_no_thread(screen: str) -> None:
    recorder = Recorder()
    backend = X11GrabBackend(DEFAULT, screen)
    backend.start(recorder.press, recorder.release)
    assert _hotkey_threads() == ["hotkey-x11"]
    xdotool("keydown", "ctrl+alt+space", display=screen)
    try:
        assert recorder.wait_for(lambda: len(recorder.events) == 1)
        began = time.monotonic()
        backend.stop()
        assert time.monotonic() - began < 0.5
        assert _hotkey_threads() == []
    finally:
        xdotool("keyup", "ctrl+alt+space", display=screen)
    time.sleep(0.3)
    assert recorder.kinds == ["press"]  # nothing after stop()
    backend.stop()  # twice is fine
    # The key is free again: another client can grab it.
    other = Display(screen)
    try:
        other.screen().root.grab_key(
            other.keysym_to_keycode(XK.string_to_keysym("space")),
            X.ControlMask | X.Mod1Mask,
            False,
            X.GrabModeAsync,
            X.GrabModeAsync,
        )
        other.sync()
    finally:
        other.close()


def test_every_key_of_a_standard_keyboard_can_be_grabbed(screen: str) -> None:
    """Each keysym name the parser produces exists on the screen's standard (US, 105-key) keyboard map, which
    stops at F12."""
    for name in KEYS:
        if name in {f"f{n}" for n in range(13, 25)}:
            continue
        backend = X11GrabBackend(HotkeySpec.parse(f"ctrl+alt+{name}"), screen)
        backend.start(lambda: None, lambda: None)
        backend.stop()


def test_a_key_the_keyboard_lacks_is_reported_by_name(screen: str) -> None:
    with pytest.raises(HotkeyError) as raised:
        X11GrabBackend(HotkeySpec.parse("F24"), screen).start(lambda: None, lambda: None)
    assert raised.value.code is ErrorCode.HOTKEY_UNAVAILABLE
    assert "This keyboard layout has no F24 key" in raised.value.message


def test_super_f9_fires(screen: str) -> None:
    recorder = Recorder()
    backend = X11GrabBackend(HotkeySpec.parse("super+F9"), screen)
    backend.start(recorder.press, recorder.release)
    try:
        _hold(screen, "super+F9", 0.3)
        assert recorder.wait_for_kinds(["press", "release"]) == ["press", "release"]
    finally:
        backend.stop()


def test_a_display_that_does_not_answer_is_unavailable_not_a_crash() -> None:
    with pytest.raises(HotkeyError) as raised:
        X11GrabBackend(DEFAULT, ":987").start(lambda: None, lambda: None)
    assert raised.value.code is ErrorCode.HOTKEY_UNAVAILABLE
    assert "The X display :987 does not answer" in raised.value.message
    status = GlobalHotkey(lambda: None, lambda: None, environment={"DISPLAY": ":987"}, platform="linux").start(
        "ctrl+alt+space"
    )
    assert isinstance(status, Unavailable) and status.code is ErrorCode.HOTKEY_UNAVAILABLE


def test_losing_the_display_ends_the_hold_and_reports_it() -> None:
    with XvfbServer.start() as server:
        recorder = Recorder()
        backend = X11GrabBackend(DEFAULT, server.display)
        backend.start(recorder.press, recorder.release, recorder.status)
        xdotool("keydown", "ctrl+alt+space", display=server.display)
        assert recorder.wait_for(lambda: recorder.kinds == ["press"])
        server.stop()
        assert recorder.wait_for(lambda: len(recorder.statuses) == 1)
    status = recorder.statuses[0]
    assert isinstance(status, Unavailable) and status.code is ErrorCode.HOTKEY_UNAVAILABLE
    assert f"The connection to the X display {server.display} was lost" in status.reason
    assert recorder.kinds == ["press", "release"]  # the turn is not left listening forever
    backend.stop()
    assert _hotkey_threads() == []


def test_the_app_facade_restarts_with_a_new_key(screen: str) -> None:
    recorder = Recorder()
    hotkey = GlobalHotkey(
        recorder.press, recorder.release, recorder.status, environment={"DISPLAY": screen}, platform="linux"
    )
    assert hotkey.start("ctrl+alt+space") == Listening(BackendKind.X11, "Ctrl+Alt+Space")
    assert hotkey.start("super+F9") == Listening(BackendKind.X11, "Super+F9")  # the setting changed
    assert hotkey.backend is BackendKind.X11
    xdotool("key", "ctrl+alt+space", display=screen)  # the old key: nothing
    _hold(screen, "super+F9", 0.3)
    assert recorder.wait_for_kinds(["press", "release"]) == ["press", "release"]
    bad = hotkey.start("ctrl+alt+nokey")
    assert isinstance(bad, Unavailable) and bad.code is ErrorCode.HOTKEY_INVALID
    assert hotkey.backend is None and _hotkey_threads() == []
    hotkey.stop()
    assert [type(status) for status in recorder.statuses] == [Listening, Listening, Unavailable]
