"""One press and one release per physical hold, for a backend thread that runs its own event loop.

The rules are core's `HoldKey` (auto-repeat pairs are told apart by their shared timestamp, and a release
only counts after `RELEASE_DEBOUNCE_MS` with no press); this adds the clock. The loop asks `timeout()` how
long it may wait for the next event and calls `tick()` after each wait.
"""

from __future__ import annotations

import time

from desktop_app.core.hold_key import RELEASE_DEBOUNCE_MS, HoldKey
from desktop_app.hotkey.backend import KeyCallback


class DebouncedHold:
    """Not thread-safe: one backend thread owns it."""

    def __init__(self, on_press: KeyCallback, on_release: KeyCallback) -> None:
        self._key = HoldKey(on_press, on_release)
        self._settle_at: float | None = None

    @property
    def held(self) -> bool:
        return self._key.held

    @property
    def repeats_ignored(self) -> int:
        return self._key.repeats_ignored

    def down(self, timestamp_ms: int = 0) -> None:
        self._key.key_down(timestamp_ms)

    def up(self, timestamp_ms: int = 0) -> None:
        # The wait is counted from when the loop handles the release, so a late loop still waits for the
        # repeat's press that arrived together with it.
        if self._key.key_up(timestamp_ms):
            self._settle_at = time.monotonic() + RELEASE_DEBOUNCE_MS / 1000

    def timeout(self) -> float | None:
        """Seconds until a pending release counts; None when nothing is pending (wait for events only)."""
        if self._settle_at is None:
            return None
        return max(0.0, self._settle_at - time.monotonic())

    def tick(self) -> None:
        if self._settle_at is not None and time.monotonic() >= self._settle_at:
            self._settle_at = None
            self._key.settle()

    def end(self) -> None:
        """The key can no longer be watched (the display went away): a hold in progress is released."""
        if self._key.held:
            self._key.key_up()
            self._settle_at = None
            self._key.settle()
