"""Scripted parts for the voice turn: a recogniser, a brain and a speaker that implement the core's ports with
timing the test controls, so the turn's state machine runs in milliseconds with no audio, model or device.

"Audio" here is text: each chunk fed to the recogniser is a word (b"time "), and the transcript is the words
fed since the utterance started. The brain answers from the question's words, which choose what it does:

    "stop"   a control reply that silences (ReplyAction.STOP)
    "new"    a reply that starts a new conversation
    "fail"   raises an AppError after its first piece
    "refused" answers with a failure's message (ReplyPiece.failure), as the assistant does when a model
             refuses the request
    "bug"    raises a plain exception (a bug) before answering
    "slow"   takes `slow_s` between pieces
    else     answers "You said <words>." in two pieces
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator

from desktop_app.core.errors import AppError, ErrorCode
from desktop_app.core.events import Event, SpeakingFinished, SpeakingStarted, TurnFailed
from desktop_app.core.ports import CollectedReply, ReplyAction, ReplyPiece, Transcript, VoiceInfo
from desktop_app.core.reply_source import CONTROL_SKILL, ReplySource
from desktop_app.core.turn_runner import TurnTimings

# Where the scripted brain says its echoes come from.
SCRIPTED = ReplySource.model("scripted")

# How long a stuck part waits for its gate before giving up, so a test that forgets to open it still ends.
GATE_BOUND_S = 20.0
# How long a test waits for the turn to get somewhere.
SETTLE_S = 10.0


def wait_until(condition: Callable[[], bool], timeout: float = SETTLE_S) -> None:
    """Waits (polling every 2 ms) until `condition()` holds; fails the test when it does not in time."""
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.002)
    assert condition()


class ScriptedRecognizer:
    name = "scripted"

    def __init__(self) -> None:
        self._words: list[str] = []
        self.fail_next: Exception | None = None  # raised by the next finish()
        self.finish_s = 0.0  # how long finish() takes
        self.finish_gate = threading.Event()  # cleared: finish() is stuck until it is set again
        self.finish_gate.set()

    def start_utterance(self) -> None:
        self._words = []

    def feed(self, pcm16: bytes) -> str | None:
        words = pcm16.decode("ascii").split()
        if not words:
            return None
        self._words.extend(words)
        return " ".join(self._words)

    def finish(self) -> Transcript:
        self.finish_gate.wait(GATE_BOUND_S)
        if self.finish_s:
            time.sleep(self.finish_s)
        failure, self.fail_next = self.fail_next, None
        if failure is not None:
            raise failure
        text = " ".join(self._words)
        self._words = []
        return Transcript(text, 1.0 if text else None)

    def cancel(self) -> None:
        self._words = []


def word(text: str) -> bytes:
    """A chunk of "audio" that the scripted recogniser hears as `text` (whole 16-bit samples)."""
    chunk = f"{text} ".encode("ascii")
    return chunk + b" " * (len(chunk) % 2)


class ScriptedBrain:
    def __init__(self, slow_s: float = 0.005) -> None:
        self.slow_s = slow_s

    def reply(
        self, text: str, conversation_id: int, cancel: threading.Event | None = None
    ) -> Generator[ReplyPiece, None, None]:
        words = text.split()
        if "bug" in words:
            raise RuntimeError("a scripted bug")
        if "stop" in words:
            yield ReplyPiece("Okay.", CONTROL_SKILL, action=ReplyAction.STOP)
            return
        if "new" in words:
            yield ReplyPiece("Starting a new conversation.", CONTROL_SKILL, action=ReplyAction.NEW_CONVERSATION)
            return
        if "refused" in words:
            yield ReplyPiece.failure(ErrorCode.LLM_KEY_REJECTED, "The scripted model refused the key.")
            return
        yield ReplyPiece("You said ", SCRIPTED)
        if "fail" in words:
            raise AppError(ErrorCode.LLM_UNREACHABLE, "The scripted model is unreachable.")
        if "slow" in words and cancel is not None:
            cancel.wait(self.slow_s)
        yield ReplyPiece(f"{text}.", SCRIPTED)

    def command_phrases(self) -> list[str]:
        return []

    def understands(self, text: str) -> bool:
        return True


class ScriptedSpeaker:
    """Plays each reply on a thread of its own for `play_s`, reporting as the real speech output does:
    SpeakingStarted when its first sentence starts, SpeakingFinished when it ends or is stopped. `stop` takes
    `stop_s`, as stopping a real output device waits for it, and is stuck while `stop_gate` is cleared;
    `fail_next` makes the next reply end with the output device lost."""

    def __init__(self, on_event: Callable[[Event], None], play_s: float = 0.002, stop_s: float = 0.0) -> None:
        self._on_event = on_event
        self.play_s = play_s
        self.stop_s = stop_s
        self.fail_next = False
        self.stop_gate = threading.Event()
        self.stop_gate.set()
        self._lock = threading.Lock()
        self._reply = 0  # which reply is current; a player whose reply is no longer current stops
        self._texts: list[str] = []
        self._playing = False
        self._players: list[threading.Thread] = []
        self.said: list[str] = []  # every sentence that started playing
        self.kept: list[bool] = []  # each reply's `keep`: False in a conversation that is not saved

    def start_reply(self, keep: bool = True) -> None:
        self.kept.append(keep)
        self._silence()
        with self._lock:
            self._reply += 1
            self._texts = []

    def add_text(self, text: str) -> None:
        with self._lock:
            self._texts.append(text)

    def end_reply(self) -> None:
        with self._lock:
            reply, texts, fail = self._reply, list(self._texts), self.fail_next
            self.fail_next = False
            self._playing = True
        player = threading.Thread(target=self._play, args=(reply, texts, fail), name="scripted-player", daemon=True)
        self._players.append(player)
        player.start()

    def stop(self) -> None:
        self.stop_gate.wait(GATE_BOUND_S)
        if self.stop_s:
            time.sleep(self.stop_s)  # the device takes a while to fall silent
        self._silence()

    def is_speaking(self) -> bool:
        with self._lock:
            return self._playing

    def voices(self) -> list[VoiceInfo]:
        return [VoiceInfo("scripted", "Scripted")]

    def close(self) -> None:
        self._silence()
        for player in self._players:
            player.join(timeout=5)

    def _silence(self) -> None:
        with self._lock:
            self._reply += 1
            was_playing, self._playing = self._playing, False
        if was_playing:
            self._on_event(SpeakingFinished(interrupted=True))

    def _play(self, reply: int, texts: list[str], fail: bool) -> None:
        for text in texts:
            with self._lock:
                if self._reply != reply:
                    return
            self.said.append(text)
            self._on_event(SpeakingStarted(text))
            time.sleep(self.play_s)
        with self._lock:
            if self._reply != reply:
                return
            self._playing = False
        if fail:
            self._on_event(TurnFailed(ErrorCode.AUDIO_OUTPUT_UNAVAILABLE, "The scripted speaker was lost."))
        else:
            self._on_event(SpeakingFinished(interrupted=False))


class ScriptedFront:
    """A turn runner's front end (core.turn_runner.TurnFront) that records what it was shown. `stop_at_thinking`
    stops the turn before the brain is asked; `stop_after` sets `cancel` once that many pieces with text were
    shown (as a press would); `refuse_after` refuses the next piece once that many were shown (as a cancel
    that comes while a piece is on its way); `spoken` are the sentences it reports as said."""

    def __init__(
        self,
        cancel: threading.Event | None = None,
        *,
        stop_at_thinking: bool = False,
        stop_after: int | None = None,
        refuse_after: int | None = None,
        spoken: tuple[str, ...] = (),
    ) -> None:
        self.cancel = cancel if cancel is not None else threading.Event()
        self.stop_at_thinking = stop_at_thinking
        self.stop_after = stop_after
        self.refuse_after = refuse_after
        self.spoken = spoken
        self.shown: list[ReplyPiece] = []
        self.calls: list[str] = []
        self.started = time.monotonic()
        self.stopped_at: float | None = None

    @property
    def text(self) -> str:
        return "".join(piece.text for piece in self.shown)

    def thinking(self) -> bool:
        self.calls.append("thinking")
        if self.stop_at_thinking:
            self._stop()
        return not self.cancel.is_set()

    def show(self, piece: ReplyPiece) -> bool:
        if self.cancel.is_set() or (self.refuse_after is not None and len(self.shown) >= self.refuse_after):
            self.calls.append("refused")
            return False
        self.shown.append(piece)
        self.calls.append("show")
        if self.stop_after is not None and len([p for p in self.shown if p.text]) >= self.stop_after:
            self._stop()
        return True

    def answered(self, reply: CollectedReply) -> None:
        self.calls.append("answered")

    def timings(self, stopped: bool) -> TurnTimings:
        end = (self.stopped_at or time.monotonic()) if stopped else time.monotonic()
        return TurnTimings(
            {"scripted_ms": 1.0}, "scripted_total_ms", round((end - self.started) * 1000, 1), self.spoken
        )

    def _stop(self) -> None:
        self.stopped_at = time.monotonic()
        self.cancel.set()
