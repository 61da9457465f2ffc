"""One hold of a push-to-talk key is one press and one release, whatever the keyboard's auto-repeat sends.

While a key is held, X11 (and other systems) repeat it: after a delay (660 ms by default) it sends a
release and a press 25 times a second. Those pairs must not end the turn. Two signs tell a repeat from a
real release, and either is enough:
- the press comes within `RELEASE_DEBOUNCE_MS` of the release (the caller waits that long before calling
  `settle()`);
- the press carries the release's own timestamp: the X server stamps both halves of a repeat with the same
  time, so even a press that is handled late (a busy machine) is still known as a repeat.
The window's in-app key and the global hotkey both feed this one class.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

# How long a release waits for a repeat's press before it counts. Auto-repeat sends its release and press
# together, so a short wait is enough; it is added to every turn's end.
RELEASE_DEBOUNCE_MS = 60
# A press stamped this close to the last release is the second half of an auto-repeat pair. A person's
# release and new press are hundreds of milliseconds apart.
REPEAT_PAIR_MS = 2


class HoldKey:
    """Turns raw key-down and key-up reports into `on_press` and `on_release`, once per hold.

    `key_up` returns True when the caller must call `settle()` after `RELEASE_DEBOUNCE_MS` (with a timer of
    its own: this class keeps no clock). Timestamps are the event's own, in milliseconds; 0 means unknown.
    """

    def __init__(self, on_press: Callable[[], None], on_release: Callable[[], None]) -> None:
        self._on_press = on_press
        self._on_release = on_release
        self._held = False
        self._release_pending = False
        self._last_up_ms = 0
        self.repeats_ignored = 0

    @property
    def held(self) -> bool:
        return self._held

    def key_down(self, timestamp_ms: int = 0, auto_repeat: bool = False) -> None:
        if auto_repeat or self._is_repeat_of_last_release(timestamp_ms):
            self._release_pending = False
            self.repeats_ignored += 1
            return
        if self._held:
            # The release just before was a repeat's first half, seen without a timestamp.
            self._release_pending = False
            self.repeats_ignored += 1
            return
        self._held = True
        self._on_press()

    def key_up(self, timestamp_ms: int = 0, auto_repeat: bool = False) -> bool:
        if auto_repeat:
            return False
        if timestamp_ms:
            self._last_up_ms = timestamp_ms
        if not self._held:
            return False
        self._release_pending = True
        return True

    def settle(self) -> None:
        """The wait after a release is over: with no press since, the key was let go."""
        if not (self._held and self._release_pending):
            return
        self._held = False
        self._release_pending = False
        self._on_release()

    def reset(self) -> None:
        """Forgets a hold without reporting it (the window lost the key, e.g. it was hidden mid-hold)."""
        self._held = False
        self._release_pending = False

    def _is_repeat_of_last_release(self, timestamp_ms: int) -> bool:
        return bool(timestamp_ms and self._last_up_ms and 0 <= timestamp_ms - self._last_up_ms <= REPEAT_PAIR_MS)
