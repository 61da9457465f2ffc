"""Which speaker the player plays on: the one the audio.output_device setting names, followed as it changes
(also in the middle of a sentence), or the system default while the chosen one is missing. After such a
fall-back the chosen speaker is tried again at the next reply."""

from __future__ import annotations

import threading
from typing import Protocol

from desktop_app.core.settings import AUDIO_OUTPUT_DEVICE, Settings


class DevicePlayer(Protocol):
    def set_device(self, name: str | None) -> None:
        """Plays there (None: the system default) from now on; returns at once."""
        ...


class OutputDeviceChoice:
    """Thread-safe; the player is told outside the lock."""

    def __init__(self, settings: Settings, player: DevicePlayer, chosen: str | None) -> None:
        """`chosen`: the device the player was made with."""
        self._settings = settings
        self._player = player
        self._lock = threading.Lock()
        self._chosen = chosen  # the setting as last seen
        self._target = chosen  # where the player should play: `_chosen`, or None after a fall-back
        self._subscription = settings.subscribe(AUDIO_OUTPUT_DEVICE, self._on_setting)

    def sync(self, retry_fallback: bool) -> None:
        """Catches up with the setting (in case a change is still on its way to the subscriber); with
        `retry_fallback`, the chosen speaker is tried again after a fall-back to the default."""
        wanted = self._settings.get(AUDIO_OUTPUT_DEVICE)
        with self._lock:
            fell_back = self._target != self._chosen
            if wanted == self._chosen and not (retry_fallback and fell_back):
                return
            self._chosen = self._target = wanted
        self._tell_player()

    def fall_back(self) -> bool:
        """The chosen speaker is missing: plays on the default until the next reply. False when the
        player already plays on the default (there is nothing to fall back to)."""
        with self._lock:
            if self._target is None:
                return False
            self._target = None
        self._tell_player()
        return True

    def close(self) -> None:
        self._subscription.unsubscribe()

    def _on_setting(self, name: str | None) -> None:
        """The setting changed (on the changing thread): the player moves there at once."""
        with self._lock:
            self._chosen = self._target = name
        self._tell_player()

    def _tell_player(self) -> None:
        # Two changes racing could reach the player in the wrong order. Whoever tells it looks again
        # afterwards and tells it anew when the target moved on meanwhile, so the last word is the latest.
        while True:
            with self._lock:
                target = self._target
            self._player.set_device(target)
            with self._lock:
                if self._target == target:
                    return
