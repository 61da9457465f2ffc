"""Global push-to-talk on X11: a passive key grab (XGrabKey) on the root window, through python-xlib.

Why a grab rather than pynput's keyboard Listener, which only observes:
- the program that has the focus does not also get the key (with a listener, an editor would type a space
  every time the user talks with Ctrl+Alt+Space);
- when another program already holds the combination the grab fails with BadAccess, so the user is told,
  instead of two programs firing on one key;
- each event carries the X server's timestamp, which tells an auto-repeat release/press pair (one stamp
  for both halves) from a real release (see core/hold_key.py);
- `stop()` returns at once, where pynput's X listener ends only after one more key event arrives;
- python-xlib is pure Python, and the library pynput itself uses on X11.

The grab is made once per lock-key state (Caps Lock, Num Lock, Scroll Lock), since X matches modifiers
exactly and the hotkey must work whatever those lights show. While the key is held the X server gives the
whole keyboard to this client (that is how a key grab works): the hold ends when the main key goes up,
whatever order the modifiers are let go in, and other keys typed during a hold reach no program.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import select
import threading
import warnings
from dataclasses import dataclass

from Xlib import XK, X
from Xlib.display import Display
from Xlib.error import BadAccess, CatchError, ConnectionClosedError, DisplayError, XError
from Xlib.protocol import rq

from desktop_app.core.errors import ErrorCode
from desktop_app.hotkey.backend import (
    BackendKind,
    HotkeyError,
    KeyCallback,
    StatusCallback,
    Unavailable,
)
from desktop_app.hotkey.hold import DebouncedHold
from desktop_app.hotkey.keys import Modifier
from desktop_app.hotkey.spec import HotkeySpec

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 2.0
_INSTEAD = "Use the Talk button or the key in the app's window instead."


@dataclass(frozen=True)
class _Grab:
    keycode: int
    modifier_sets: tuple[int, ...]  # the hotkey's modifier mask with each combination of lock keys


@dataclass(frozen=True)
class _Connection:
    """What the backend's thread owns: the X connection with its grab, and its end of the wake-up pipe."""

    display: Display
    grab: _Grab
    wake_r: int
    stopping: threading.Event


def _mask_of(display: Display, *keysyms: str) -> int:
    """The modifier bit (Mod1...) that the X server's modifier map gives these keys, 0 when none does."""
    codes = {display.keysym_to_keycode(XK.string_to_keysym(name)) for name in keysyms} - {0}
    for index, row in enumerate(display.get_modifier_mapping()):
        if codes & set(row):
            return 1 << index
    return 0


def _modifier_sets(display: Display, spec: HotkeySpec) -> tuple[int, ...]:
    masks = {
        Modifier.CTRL: X.ControlMask,
        Modifier.SHIFT: X.ShiftMask,
        # Alt and Super are whichever ModN the keyboard map puts them on (nearly always Mod1 and Mod4).
        Modifier.ALT: _mask_of(display, "Alt_L", "Alt_R") or X.Mod1Mask,
        Modifier.SUPER: _mask_of(display, "Super_L", "Super_R") or X.Mod4Mask,
    }
    base = 0
    for modifier in spec.modifiers:
        base |= masks[modifier]
    locks = {X.LockMask, _mask_of(display, "Num_Lock"), _mask_of(display, "Scroll_Lock")} - {0}
    locks = {mask for mask in locks if not mask & base}
    sets = {base}
    for count in range(1, len(locks) + 1):
        for combination in itertools.combinations(sorted(locks), count):
            extra = 0
            for mask in combination:
                extra |= mask
            sets.add(base | extra)
    return tuple(sorted(sets))


def _log_x_error(error: XError, request: rq.Request | None) -> None:
    log.warning("X error on the hotkey's connection: %s", error)


class X11GrabBackend:
    kind = BackendKind.X11

    def __init__(self, spec: HotkeySpec, display: str) -> None:
        self._spec = spec
        self._display_name = display
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._wake_w = -1
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
            if self._thread is not None:
                raise RuntimeError("the X11 hotkey is already started")
            display = self._connect()
            try:
                grab = self._grab(display)
            except BaseException:
                _close(display)
                raise
            wake_r, self._wake_w = os.pipe()
            self._stopping = threading.Event()
            self._hold = hold = DebouncedHold(on_press, on_release)
            self._thread = threading.Thread(
                target=self._run,
                args=(
                    _Connection(display, grab, wake_r, self._stopping),
                    hold,
                    on_status,
                ),
                name="hotkey-x11",
                daemon=True,
            )
            self._thread.start()
        log.info("global hotkey %s grabbed on X display %s", self._spec.display(), self._display_name)

    def stop(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
            wake_w, self._wake_w = self._wake_w, -1
            self._stopping.set()
        if thread is None:
            return
        # OSError: the thread has already ended (the display went away) and closed its end.
        with contextlib.suppress(OSError):
            os.write(wake_w, b"\0")
        if thread is not threading.current_thread():
            thread.join(STOP_TIMEOUT_S)
            if thread.is_alive():
                log.warning("the X11 hotkey thread did not end within %.0f s", STOP_TIMEOUT_S)
        os.close(wake_w)

    def _connect(self) -> Display:
        name = self._display_name
        if not name:
            raise HotkeyError(
                ErrorCode.HOTKEY_UNAVAILABLE,
                f"No X display is set (DISPLAY is empty), so there is no global key. {_INSTEAD}",
            )
        display: Display | None = None
        problem = ""
        # python-xlib leaves the sockets of a failed attempt for the garbage collector, which warns about each;
        # they are freed (with the exception that holds them) before this block ends.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            try:
                display = Display(name)
            except (DisplayError, ConnectionClosedError, OSError) as exc:
                problem = str(exc)
        if display is None:
            raise HotkeyError(
                ErrorCode.HOTKEY_UNAVAILABLE,
                f"The X display {name} does not answer ({problem}), so {self._spec.display()} cannot work as the "
                f"push-to-talk key anywhere on the desktop. {_INSTEAD}",
            )
        display.set_error_handler(_log_x_error)
        return display

    def _grab(self, display: Display) -> _Grab:
        keycode = display.keysym_to_keycode(XK.string_to_keysym(self._spec.keysym))
        if not keycode:
            raise HotkeyError(
                ErrorCode.HOTKEY_UNAVAILABLE,
                f"This keyboard layout has no {self._spec.key_name.label} key, so {self._spec.display()} cannot be "
                "the push-to-talk key. Choose another key in Settings.",
            )
        grab = _Grab(keycode, _modifier_sets(display, self._spec))
        root = display.screen().root
        taken = CatchError(BadAccess)
        for modifiers in grab.modifier_sets:
            root.grab_key(keycode, modifiers, False, X.GrabModeAsync, X.GrabModeAsync, onerror=taken)
        display.sync()  # the replies (BadAccess or nothing) have all arrived after this
        if taken.get_error() is not None:
            raise HotkeyError(
                ErrorCode.HOTKEY_TAKEN,
                f"{self._spec.display()} is already taken by another program, so it cannot be the push-to-talk "
                "key. Choose another key in Settings, or free it in the other program.",
            )
        return grab

    def _run(self, connection: _Connection, hold: DebouncedHold, on_status: StatusCallback | None) -> None:
        display, grab, wake_r, stopping = connection.display, connection.grab, connection.wake_r, connection.stopping
        lost: Exception | None = None
        try:
            while not stopping.is_set():
                # Everything already sent is read before a pending release may count: the auto-repeat press
                # that cancels it usually arrives in the same batch. (python-xlib may also hold events it read
                # earlier, which select() would not announce.)
                while display.pending_events() and not stopping.is_set():
                    event = display.next_event()
                    if event.type == X.KeyPress and event.detail == grab.keycode:
                        hold.down(event.time)
                    elif event.type == X.KeyRelease and event.detail == grab.keycode:
                        hold.up(event.time)
                if stopping.is_set():
                    break
                hold.tick()
                ready, _, _ = select.select([display.fileno(), wake_r], [], [], hold.timeout())
                if wake_r in ready:
                    break
        except (ConnectionClosedError, OSError) as exc:
            lost = exc
        finally:
            os.close(wake_r)
            if lost is None:
                _ungrab(display, grab)
            _close(display)
        if lost is not None and not stopping.is_set():
            log.warning("lost the X display %s: %s", self._display_name, lost)
            hold.end()
            if on_status is not None:
                on_status(
                    Unavailable(
                        ErrorCode.HOTKEY_UNAVAILABLE,
                        f"The connection to the X display {self._display_name} was lost, so "
                        f"{self._spec.display()} no longer works as the push-to-talk key. Restart the app.",
                    )
                )


def _ungrab(display: Display, grab: _Grab) -> None:
    root = display.screen().root
    try:
        for modifiers in grab.modifier_sets:
            root.ungrab_key(grab.keycode, modifiers)
        display.sync()
    except (ConnectionClosedError, OSError) as exc:
        log.debug("could not release the key grab: %s", exc)


def _close(display: Display) -> None:
    try:
        display.close()
    except (ConnectionClosedError, OSError) as exc:
        log.debug("could not close the X connection: %s", exc)
