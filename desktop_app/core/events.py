"""Everything that happens in a voice turn, as small frozen records with a monotonic timestamp.

The UI, the latency display, the benchmark and the stored timings all read these same events: one source
of truth for what happened when. `at` is `time.monotonic()` seconds at the moment the event was made.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from desktop_app.core.errors import ErrorCode
from desktop_app.core.reply_source import ReplySource


class TurnState(StrEnum):
    IDLE = "idle"
    LISTENING = "listening"
    RECOGNISING = "recognising"
    THINKING = "thinking"
    SPEAKING = "speaking"


class TalkMode(StrEnum):
    HOLD = "hold"  # speak while the key is held
    TOGGLE = "toggle"  # press to start, press again to stop


def _now() -> float:
    return time.monotonic()


@dataclass(frozen=True, slots=True)
class Event:
    at: float = field(default_factory=_now, kw_only=True)


@dataclass(frozen=True, slots=True)
class StateChanged(Event):
    state: TurnState


@dataclass(frozen=True, slots=True)
class TalkModeChanged(Event):
    mode: TalkMode


@dataclass(frozen=True, slots=True)
class TurnStarted(Event):
    turn_id: int


@dataclass(frozen=True, slots=True)
class AudioLevel(Event):
    rms_dbfs: float
    peak_dbfs: float


@dataclass(frozen=True, slots=True)
class PartialTranscript(Event):
    text: str


@dataclass(frozen=True, slots=True)
class FinalTranscript(Event):
    text: str
    confidence: float | None


@dataclass(frozen=True, slots=True)
class ReplyChunk(Event):
    text: str
    source: ReplySource


@dataclass(frozen=True, slots=True)
class Announced(Event):
    """Something the assistant says unprompted: a timer ran out, a reminder is due, one was missed."""

    text: str
    source: ReplySource
    conversation_id: int | None  # None when it could not be kept (a read-only or full store): still shown


@dataclass(frozen=True, slots=True)
class SpeakingStarted(Event):
    text: str


@dataclass(frozen=True, slots=True)
class SpeakingFinished(Event):
    interrupted: bool


@dataclass(frozen=True, slots=True)
class TurnFinished(Event):
    turn_id: int
    timings: dict[str, float]


@dataclass(frozen=True, slots=True)
class TurnFailed(Event):
    """A turn (or a device, a model) failed; `code` is stable, `message` says what to do. `turn_id` names the
    turn it ended (each turn ends with exactly one TurnFinished or TurnFailed); None for a failure outside a
    turn (a device lost while idle, the speaker)."""

    code: ErrorCode
    message: str
    turn_id: int | None = field(default=None, kw_only=True)


class NoticeCode(StrEnum):
    """What a notice is about (failures have an ErrorCode instead)."""

    SPEECH_MODEL_LOADING = "speech_model_loading"
    SPEECH_MODEL_READY = "speech_model_ready"
    AUDIO_INPUT_BACK = "audio_input_back"
    VOICE_STARTING = "voice_starting"  # pressed before the voice services were up
    VOICE_READY = "voice_ready"  # the voice services are up (the window enables talking)
    HOTKEY_READY = "hotkey_ready"  # the global push-to-talk key is registered
    SHORTCUT_TEST = "shortcut_test"  # `voice-assistant ptt test` arrived: a desktop key binding works


@dataclass(frozen=True, slots=True)
class Notice(Event):
    """Something the user should see that is not a failure ("loading speech model", "microphone back"), or a
    failure that did not end a turn (a voice that is missing): then `code` is its ErrorCode."""

    code: ErrorCode | NoticeCode
    message: str


@dataclass(frozen=True, slots=True)
class HotkeyReady(Notice):
    """The global push-to-talk key is registered: `trigger` is the key as the user sees it."""

    trigger: str

    @classmethod
    def of(cls, trigger: str) -> HotkeyReady:
        return cls(NoticeCode.HOTKEY_READY, f"Push to talk from anywhere: {trigger}.", trigger)


EARLY_EVENTS_KEPT = 100


class EventHub:
    """Fans events out to whoever listens (the UI bridge, the stored metrics, a benchmark). Publish from any
    thread; listeners run on the publishing thread and must be quick."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[Event], None]] = []
        self._lock = threading.Lock()
        # What happened before anyone listened (start-up: a missed reminder, a microphone that is not
        # connected), handed to the first listener, the window, so nothing is only in the log.
        self._early: deque[Event] = deque(maxlen=EARLY_EVENTS_KEPT)

    def subscribe(self, listener: Callable[[Event], None]) -> None:
        with self._lock:
            early = list(self._early) if not self._listeners else []
            self._early.clear()
            for event in early:  # under the lock: later events wait, so the order is kept
                _deliver(listener, event)
            self._listeners = [*self._listeners, listener]

    def unsubscribe(self, listener: Callable[[Event], None]) -> None:
        # By equality, not identity: `obj.method` makes a new bound-method object at each access, and two of
        # them are equal when they bind the same function to the same object.
        with self._lock:
            self._listeners = [x for x in self._listeners if x != listener]

    def publish(self, event: Event) -> None:
        if not isinstance(event, Event):  # a bug in the caller: said at once, not dropped in silence
            raise TypeError(f"EventHub.publish takes an Event, not {type(event).__name__}")
        listeners = self._listeners
        if not listeners:
            with self._lock:
                listeners = self._listeners
                if not listeners:
                    if not isinstance(event, AudioLevel):  # a level is stale at once
                        self._early.append(event)
                    return
        for listener in listeners:
            _deliver(listener, event)


def _deliver(listener: Callable[[Event], None], event: Event) -> None:
    try:
        listener(event)
    except Exception:
        logging.getLogger(__name__).exception("event listener failed")
