"""Global push-to-talk on Windows and macOS, through pynput's keyboard Listener.

The listener observes every key (it does not take the hotkey away from the focused program, which on these
systems would need a low-level hook of our own). pynput calls back on its own thread and must not be held
up, so its callbacks only sort a key (a modifier, the hotkey's key, or neither) and queue it; this
backend's worker thread keeps the modifier state and the hold. The hotkey fires when its key goes down
while exactly its modifiers are down (other, non-modifier keys may be down too), and the hold ends when
that key goes up, whatever order the modifiers are let go in.

pynput also runs on X11 (the tests use it there), but the app uses the X11 key grab there: pynput's X
listener only ends after one more key event, so `stop()` can take up to `LISTENER_JOIN_S` on X11.
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
from typing import TYPE_CHECKING, Literal

from desktop_app.core.errors import ErrorCode
from desktop_app.hotkey.backend import BackendKind, HotkeyError, KeyCallback, StatusCallback
from desktop_app.hotkey.hold import DebouncedHold
from desktop_app.hotkey.keys import Modifier
from desktop_app.hotkey.spec import HotkeySpec

if TYPE_CHECKING:
    from pynput import keyboard

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 2.0
LISTENER_JOIN_S = 1.0
_INSTEAD = "Use the Talk button or the key in the app's window instead."

_MAIN: Literal["main"] = "main"
_Token = Modifier | Literal["main"]
_Event = tuple[bool, _Token]  # (pressed, what)


class _Classifier:
    """Sorts pynput's keys into the hotkey's key, a modifier, or neither (None)."""

    def __init__(self, listener: keyboard.Listener, spec: HotkeySpec) -> None:
        from pynput.keyboard import Key, KeyCode

        self._canonical = listener.canonical
        name = spec.key_name.pynput
        if len(name) == 1:
            target = KeyCode.from_char(name)
        else:
            member = getattr(Key, name, None)
            if member is None:
                raise HotkeyError(
                    ErrorCode.HOTKEY_UNAVAILABLE,
                    f"This system has no {spec.key_name.label} key for pynput, so {spec.display()} cannot be the "
                    "push-to-talk key. Choose another key in Settings.",
                )
            target = member
        self._target = self._canonical(target)
        # Windows reports Ctrl+A as the character "\x01"; its virtual-key code is still the letter's ASCII code.
        self._target_vk = ord(name.upper()) if sys.platform == "win32" and name.isascii() and name.isalnum() else None
        self._modifiers = {
            self._canonical(Key.ctrl): Modifier.CTRL,
            self._canonical(Key.alt): Modifier.ALT,
            self._canonical(Key.shift): Modifier.SHIFT,
            self._canonical(Key.cmd): Modifier.SUPER,
        }

    def __call__(self, key: keyboard.Key | keyboard.KeyCode | None) -> _Token | None:
        if key is None:
            return None
        canonical = self._canonical(key)
        if canonical == self._target:
            return _MAIN
        vk = getattr(key, "vk", None)
        if self._target_vk is not None and vk == self._target_vk:
            return _MAIN
        return self._modifiers.get(canonical)


class PynputBackend:
    kind = BackendKind.PYNPUT

    def __init__(self, spec: HotkeySpec) -> None:
        self._spec = spec
        self._lock = threading.Lock()
        self._listener: keyboard.Listener | None = None
        self._worker: threading.Thread | None = None
        self._events: queue.SimpleQueue[_Event | None] = queue.SimpleQueue()
        self._hold: DebouncedHold | None = None

    @property
    def spec(self) -> HotkeySpec:
        return self._spec

    @property
    def repeats_ignored(self) -> int:
        """Auto-repeat events dropped since start (for logs and tests)."""
        return 0 if self._hold is None else self._hold.repeats_ignored

    def start(self, on_press: KeyCallback, on_release: KeyCallback, on_status: StatusCallback | None = None) -> None:
        with self._lock:
            if self._worker is not None:
                raise RuntimeError("the pynput hotkey is already started")
            try:
                from pynput import keyboard
            except ImportError as exc:  # pynput picks its system backend on import, and fails without one
                raise HotkeyError(
                    ErrorCode.HOTKEY_UNAVAILABLE,
                    f"This system offers no keyboard hook to watch {self._spec.display()} ({exc}). {_INSTEAD}",
                ) from exc
            events: queue.SimpleQueue[_Event | None] = queue.SimpleQueue()

            def report(pressed: bool, key: keyboard.Key | keyboard.KeyCode | None) -> None:
                token = classify(key)
                if token is not None:
                    events.put((pressed, token))

            listener = keyboard.Listener(
                on_press=lambda key: report(True, key), on_release=lambda key: report(False, key)
            )
            classify = _Classifier(listener, self._spec)
            listener.start()
            listener.wait()
            if getattr(listener, "IS_TRUSTED", True) is False:  # macOS without the Input Monitoring permission
                listener.stop()
                raise HotkeyError(
                    ErrorCode.HOTKEY_UNAVAILABLE,
                    "macOS does not let this app watch the keyboard, so the push-to-talk key works only in the "
                    "app's window. Allow the app in System Settings > Privacy & Security > Input Monitoring, "
                    "then restart it.",
                )
            self._events = events
            self._listener = listener
            self._hold = hold = DebouncedHold(on_press, on_release)
            self._worker = threading.Thread(
                target=_run,
                args=(events, self._spec.modifiers, hold),
                name="hotkey-pynput",
                daemon=True,
            )
            self._worker.start()
        log.info("global hotkey %s watched through pynput", self._spec.display())

    def stop(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            worker, self._worker = self._worker, None
        if listener is None or worker is None:
            return
        listener.stop()  # no callback comes from pynput after this returns
        self._events.put(None)
        if worker is not threading.current_thread():
            worker.join(STOP_TIMEOUT_S)
        listener.join(LISTENER_JOIN_S)
        if worker.is_alive() or listener.is_alive():
            log.warning("the pynput hotkey threads did not all end promptly")


def _run(events: queue.SimpleQueue[_Event | None], required: frozenset[Modifier], hold: DebouncedHold) -> None:
    down: set[Modifier] = set()
    while True:
        try:
            item = events.get(timeout=hold.timeout())
        except queue.Empty:
            hold.tick()
            continue
        if item is None:
            return
        pressed, token = item
        if isinstance(token, Modifier):
            if pressed:
                down.add(token)
            else:
                down.discard(token)
        elif not pressed:
            hold.up()
        elif hold.held or down == required:
            hold.down()  # while held, a press is the key's auto-repeat, whatever the modifiers are now
        hold.tick()
