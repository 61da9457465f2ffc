"""Push-to-talk from every source (the window's button and key, the global key, the tray, the remote command)
to the voice turn, once it is running.

The window opens before the voice services have started (they load in the background), and the global key
and the remote may fire from their own threads at any moment: until the turn is attached, a press is
answered with a notice instead of being lost silently. Every method returns at once, from any thread.
"""

from __future__ import annotations

import threading
from typing import Protocol

from desktop_app.core.events import Event, Notice, NoticeCode, TurnState
from desktop_app.core.off_record import RecordSwitch
from desktop_app.core.ports import VoiceInfo

STARTING_MESSAGE = "Still starting the voice services… try again in a moment."


class VoiceTurn(Protocol):
    """What the controls drive: voice.VoiceServices."""

    @property
    def toggle_mode(self) -> bool: ...

    @property
    def state(self) -> TurnState: ...

    def press(self) -> None: ...

    def release(self) -> None: ...

    def cancel(self) -> None: ...

    def ask(self, text: str) -> None: ...

    def new_conversation(self) -> None: ...

    def continue_conversation(self, conversation_id: int) -> None: ...

    def voices(self) -> list[VoiceInfo]: ...

    def say_sample(self, text: str) -> bool: ...


class Publish(Protocol):
    def __call__(self, event: Event, /) -> None: ...


class TalkControls:
    def __init__(self, publish: Publish) -> None:
        self._publish = publish
        self._lock = threading.Lock()
        self._voice: VoiceTurn | None = None
        self._record: RecordSwitch | None = None
        # Wall-clock time of the last remote release: a remote press issued before it arrived late (one
        # process per key event: a release can overtake its press) and must not start a turn no release ends.
        self._last_release_issued = 0.0

    def attach(self, voice: VoiceTurn | None, record: RecordSwitch | None = None) -> None:
        """The turn to drive, and the store's switch between saved and unsaved conversations."""
        with self._lock:
            self._voice = voice
            self._record = record

    @property
    def voice(self) -> VoiceTurn | None:
        return self._voice

    @property
    def toggle_mode(self) -> bool:
        voice = self._voice
        return voice is not None and voice.toggle_mode

    @property
    def state(self) -> TurnState:
        voice = self._voice
        return TurnState.IDLE if voice is None else voice.state

    def press(self, issued_at: float | None = None) -> None:
        voice = self._ready()
        if voice is None:
            return
        if issued_at is not None:
            with self._lock:
                if issued_at <= self._last_release_issued:
                    return
        voice.press()

    def release(self, issued_at: float | None = None) -> None:
        if issued_at is not None:
            with self._lock:
                self._last_release_issued = max(self._last_release_issued, issued_at)
        voice = self._voice
        if voice is not None:
            voice.release()

    def toggle(self) -> None:
        """Start a turn, or send the one being spoken (a menu entry or a key that only reports presses)."""
        voice = self._ready()
        if voice is None:
            return
        if voice.state is TurnState.LISTENING and not voice.toggle_mode:
            voice.release()
        else:
            voice.press()  # in toggle mode a press while listening sends

    def cancel(self) -> None:
        voice = self._voice
        if voice is not None:
            voice.cancel()

    def ask(self, text: str) -> bool:
        """A typed question; False (and a notice) while the turn is not running yet."""
        voice = self._ready()
        if voice is None:
            return False
        voice.ask(text)
        return True

    def new_conversation(self) -> None:
        voice = self._voice
        if voice is not None:
            voice.new_conversation()

    def continue_conversation(self, conversation_id: int) -> bool:
        """The next question, spoken or typed, goes into this earlier conversation; False (with a notice)
        while the voice services are still starting."""
        voice = self._ready()
        if voice is None:
            return False
        voice.continue_conversation(conversation_id)
        return True

    def set_private(self, private: bool) -> bool:
        """Don't save this conversation: on, a new conversation starts that is answered but kept in memory
        only; off, the next one is saved again. False (with a notice while starting) when it cannot be
        switched now."""
        voice = self._ready()
        record = self._record
        if voice is None or record is None:
            return False
        record.private = private
        voice.new_conversation()
        return True

    def voices(self) -> list[VoiceInfo]:
        """The voices answers can be spoken in (none until the voice services run); call from a worker."""
        voice = self._voice
        return voice.voices() if voice is not None else []

    def say_sample(self, text: str) -> bool:
        """Says `text` in the voice in use now, kept nowhere; False (with a notice while starting) when it
        cannot be said now."""
        voice = self._ready()
        return voice is not None and voice.say_sample(text)

    def _ready(self) -> VoiceTurn | None:
        voice = self._voice
        if voice is None:
            self._publish(Notice(NoticeCode.VOICE_STARTING, STARTING_MESSAGE))
        return voice
