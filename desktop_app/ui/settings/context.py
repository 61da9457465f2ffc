"""What every settings section works with: the settings, the store, the app's folders, and a way to run work
off the main thread."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from desktop_app.core.keys import KeyStore
from desktop_app.core.ports import AppStore, VoiceInfo
from desktop_app.core.settings import Settings
from desktop_app.paths import AppPaths
from desktop_app.ui.background import Background

Post = Callable[[Callable[[], object]], None]


class SpeechSample(Protocol):
    """The running app's speaker, for Settings > Voice (core.talk_controls.TalkControls has it)."""

    def voices(self) -> list[VoiceInfo]:
        """Blocks while the engine lists them: call from a worker."""
        ...

    def say_sample(self, text: str) -> bool: ...


def system_keys() -> KeyStore:
    from desktop_app.brain import system_key_store

    return system_key_store()


@dataclass(frozen=True)
class SettingsContext:
    settings: Settings
    store: AppStore
    paths: AppPaths
    # Runs work on a worker and hands its result back on the main thread; `post` runs a call on the main
    # thread from any thread (a settings subscriber, a download's progress).
    background: Background
    post: Post
    # The system keychain, opened on a worker when a section first needs it (D-Bus can be slow to answer).
    key_store: Callable[[], KeyStore] = system_keys
    # The voices and a sample spoken in the one in use; None when the window has no voice services.
    speech: SpeechSample | None = None
