"""The global push-to-talk key as the app wires it: one hotkey at a time, started, restarted when the
`talk.hotkey` setting changes, stopped on quit. It never raises for what the session cannot do: every
outcome is a HotkeyStatus, returned by `start` and also given to `on_status` (from the backend's thread for
later changes, such as the portal's dialog being answered)."""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Mapping

from desktop_app.core.errors import ErrorCode, ValidationError
from desktop_app.hotkey.backend import (
    BackendKind,
    HotkeyBackend,
    HotkeyError,
    HotkeyStatus,
    KeyCallback,
    Listening,
    StatusCallback,
    Unavailable,
    Waiting,
)
from desktop_app.hotkey.choose import choose_backend, create_backend
from desktop_app.hotkey.spec import HotkeySpec

log = logging.getLogger(__name__)

NOT_STARTED = Unavailable(ErrorCode.HOTKEY_UNAVAILABLE, "The global push-to-talk key is not started.")


class GlobalHotkey:
    """`on_press` and `on_release` come from the backend's thread, once per hold, and must return at once.
    `environment` (default: os.environ) and `platform` decide the backend; `app_id` is the app's desktop-file
    id, which the Wayland portal shows and some desktops need; `parent_window` is the portal's window
    identifier ("x11:<hex id>" or "wayland:<handle>") so its dialog sits over the app's window."""

    def __init__(
        self,
        on_press: KeyCallback,
        on_release: KeyCallback,
        on_status: StatusCallback | None = None,
        *,
        environment: Mapping[str, str] | None = None,
        platform: str = sys.platform,
        app_id: str | None = None,
        parent_window: str = "",
    ) -> None:
        self._on_press = on_press
        self._on_release = on_release
        self._on_status = on_status
        self._environment = dict(os.environ if environment is None else environment)
        self._platform = platform
        self._app_id = app_id
        self._parent_window = parent_window
        self._lock = threading.Lock()
        self._backend: HotkeyBackend | None = None
        self._generation = 0
        self._reported = False  # the current backend has reported a status of its own
        self._status: HotkeyStatus = NOT_STARTED

    @property
    def status(self) -> HotkeyStatus:
        with self._lock:
            return self._status

    @property
    def backend(self) -> BackendKind | None:
        with self._lock:
            return None if self._backend is None else self._backend.kind

    def start(self, hotkey: str | HotkeySpec) -> HotkeyStatus:
        """Watches `hotkey` (the setting's text or a parsed spec), stopping the one watched before."""
        self.stop()
        try:
            spec = hotkey if isinstance(hotkey, HotkeySpec) else HotkeySpec.parse(hotkey)
        except ValidationError as exc:
            return self._settle(Unavailable(exc.code, exc.message))
        choice = choose_backend(self._environment, self._platform)
        if isinstance(choice, Unavailable):
            return self._settle(choice)
        try:
            backend = create_backend(
                choice, spec, self._environment, app_id=self._app_id, parent_window=self._parent_window
            )
        except ImportError as exc:  # an installation without that backend's library
            return self._settle(
                Unavailable(
                    ErrorCode.HOTKEY_UNAVAILABLE,
                    f"The library for the {choice} hotkey is not installed ({exc}), so {spec.display()} works only "
                    "in the app's window. Reinstall the app.",
                )
            )
        with self._lock:
            generation = self._generation
        try:
            backend.start(*self._guarded(generation))
        except HotkeyError as exc:
            return self._settle(Unavailable(exc.code, exc.message))
        if choice is BackendKind.PORTAL:
            status: HotkeyStatus = Waiting(
                choice, f"Waiting for the desktop to allow {spec.display()} as the push-to-talk key."
            )
        else:
            status = Listening(choice, spec.display())
        with self._lock:
            self._backend = backend
            if self._reported:  # the backend's thread was quicker: its news is newer than ours
                return self._status
        return self._settle(status)

    def stop(self) -> None:
        """Stops watching; no callback comes after this returns. Safe to call at any time, and twice."""
        with self._lock:
            backend, self._backend = self._backend, None
            self._generation += 1
            self._reported = False
            self._status = NOT_STARTED
        if backend is not None:
            backend.stop()

    def _settle(self, status: HotkeyStatus) -> HotkeyStatus:
        with self._lock:
            self._status = status
        if isinstance(status, Unavailable):
            log.warning("no global push-to-talk key: %s (%s)", status.reason, status.code)
        if self._on_status is not None:
            self._on_status(status)
        return status

    def _guarded(self, generation: int) -> tuple[KeyCallback, KeyCallback, StatusCallback]:
        """Callbacks that fall silent once their backend is stopped (a thread that outlived its join)."""

        def current() -> bool:
            with self._lock:
                return generation == self._generation

        def press() -> None:
            if current():
                self._on_press()

        def release() -> None:
            if current():
                self._on_release()

        def status(status: HotkeyStatus) -> None:
            with self._lock:
                if generation != self._generation:
                    return
                self._reported = True
                self._status = status
            if isinstance(status, Unavailable):
                log.warning("global push-to-talk key lost: %s (%s)", status.reason, status.code)
            if self._on_status is not None:
                self._on_status(status)

        return press, release, status
