"""The voice turn: idle -> listening -> recognising -> thinking -> speaking -> idle.

Push-to-talk drives it: press/release (hold) or press/press (toggle); every stage can be cancelled, and a
press while the assistant thinks or speaks interrupts it (barge-in) and starts listening at once.

Threads: the microphone's converter thread calls `on_audio`; the UI or the hotkey calls `press`, `release`
and `cancel`; one turn worker owns the recogniser, asks the brain and feeds the speaker; the speaker
reports back through `on_speaker_event`. Everything that happens goes out through one event listener as
the records of core.events, with the monotonic time it happened.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from desktop_app.core.errors import AppError, ErrorCode
from desktop_app.core.events import (
    Announced,
    AudioLevel,
    Event,
    FinalTranscript,
    Notice,
    PartialTranscript,
    ReplyChunk,
    SpeakingFinished,
    SpeakingStarted,
    StateChanged,
    TurnFailed,
    TurnFinished,
    TurnStarted,
    TurnState,
)
from desktop_app.core.models import INTERRUPTED_AT_MS, SPOKEN_CHARS, Role, spoken_prefix_length
from desktop_app.core.ports import (
    Brain,
    CollectedReply,
    ConversationStore,
    Recognizer,
    ReplyAction,
    ReplyPiece,
    Speaker,
)
from desktop_app.core.preroll import PrerollBuffer
from desktop_app.core.privacy import for_log

log = logging.getLogger(__name__)

# A press that stops the assistant and is let go within this long is a tap: it means "stop" only.
TAP_S = 0.35
# Sound captured this long after the assistant stopped speaking can still hold its voice (the output's
# buffer, the room): it is kept out of the preroll, so a press never hears the assistant as the user.
ECHO_TAIL_S = 0.3
# After a barge-in the turn hears the user at once, but not while the stopped speech is still fading out.
BARGE_IN_TAIL_S = 0.1

Listener = Callable[[Event], None]
# Returns the recogniser to use, or None while its model is still loading.
RecognizerSource = Callable[[], Recognizer | None]


@dataclass
class _Turn:
    turn_id: int
    pressed_at: float
    released_at: float | None = None
    final_at: float | None = None
    first_reply_at: float | None = None
    first_audio_at: float | None = None
    transcript: str = ""
    reply: CollectedReply = field(default_factory=CollectedReply)
    # Set when the turn is cancelled; the brain is given it too, so a language model's request is abandoned
    # at once.
    cancel: threading.Event = field(default_factory=threading.Event)
    speech_done: threading.Event = field(default_factory=threading.Event)
    preroll_ms: float = 0.0
    # The press stopped the assistant (barge-in): a tap then means "stop" only, not a new question.
    barged_in: bool = False
    cancelled_at: float | None = None
    # The reply's sentences as they started playing: what the user heard of it.
    spoken: list[str] = field(default_factory=list)

    @property
    def cancelled(self) -> bool:
        return self.cancel.is_set()


class _Finish:
    pass


class _Stop:
    pass


class VoicePipeline:
    def __init__(
        self,
        recognizer: RecognizerSource,
        brain: Brain,
        speaker: Speaker | None,
        store: ConversationStore,
        on_event: Listener,
        *,
        mode: str = "hold",
        preroll_ms: int = 500,
        keep_preroll: bool = True,
    ) -> None:
        self._recognizer_source = recognizer
        self._brain = brain
        self._speaker = speaker
        self._store = store
        self._emit = on_event
        self.mode = mode
        self.keep_preroll = keep_preroll
        self._preroll = PrerollBuffer(preroll_ms)
        # What the speaker last reported (it started or stopped playing) and when: the microphone hears it
        # while it plays and for a moment after. `is_speaking()` alone would miss a report still on its way.
        self._speaking = False
        self._quiet_since = 0.0
        self._lock = threading.Lock()
        self._state = TurnState.IDLE
        self._turn: _Turn | None = None
        self._turn_ids = 0
        self._conversation_id: int | None = None
        self._work: queue.SimpleQueue[tuple[_Turn, bytes | _Finish] | _Stop] = queue.SimpleQueue()
        self._worker = threading.Thread(target=self._run, name="voice-turn", daemon=True)
        self._worker.start()

    # -- controls (any thread) ------------------------------------------------------------------------

    @property
    def state(self) -> TurnState:
        return self._state

    @property
    def conversation_id(self) -> int | None:
        return self._conversation_id

    def new_conversation(self) -> None:
        self._conversation_id = None

    def press(self) -> None:
        """Push-to-talk pressed: start listening (interrupting an answer), or, in toggle mode while
        listening, stop listening."""
        with self._lock:
            if self.mode == "toggle" and self._state is TurnState.LISTENING:
                self._release_locked()
                return
            if self._state is TurnState.LISTENING:
                return
            barged_in = self._state is not TurnState.IDLE
            if barged_in:
                self._cancel_locked("interrupted")
            elif self._speaker is not None and self._speaker.is_speaking():
                barged_in = True
                self._speaker.stop()  # an announcement ("Time's up…") is silenced like an answer
            recognizer = self._recognizer_source()
            if recognizer is None:
                self._emit(Notice("speech_model_loading", "Loading speech model… try again in a moment."))
                return
            self._turn_ids += 1
            turn = _Turn(self._turn_ids, time.monotonic(), barged_in=barged_in)
            self._turn = turn
            # The preroll is only ever the user's own sound: none of it while the assistant was speaking.
            preroll = self._preroll.take() if self.keep_preroll and self._preroll_is_clean() else b""
            self._preroll.clear()
            turn.preroll_ms = len(preroll) / 32
            log.info("turn %d: listening (%.0f ms of preroll)", turn.turn_id, turn.preroll_ms)
            self._emit(TurnStarted(turn.turn_id, at=turn.pressed_at))
            self._set_state(TurnState.LISTENING)
            if preroll:
                self._work.put((turn, preroll))

    def release(self) -> None:
        """Push-to-talk released (hold mode): stop listening and recognise what was said."""
        with self._lock:
            if self.mode != "hold" or self._state is not TurnState.LISTENING:
                return
            turn = self._turn
            if turn is not None and turn.barged_in and time.monotonic() - turn.pressed_at < TAP_S:
                # A tap that stopped the assistant: it was "stop", not a question.
                self._cancel_locked("stopped by a tap", report=False)
                return
            self._release_locked()

    def cancel(self) -> None:
        with self._lock:
            if self._state is not TurnState.IDLE:
                self._cancel_locked("cancelled")

    def close(self) -> None:
        self.cancel()
        self._work.put(_Stop())
        self._worker.join(timeout=10)

    # -- audio side (the microphone's thread) ---------------------------------------------------------

    def on_audio(self, pcm16: bytes) -> None:
        turn = self._turn
        if self._state is TurnState.LISTENING and turn is not None:
            if turn.barged_in and not self._preroll_is_clean(BARGE_IN_TAIL_S):
                return  # the assistant's last words, still coming out as the user starts
            self._work.put((turn, pcm16))
        elif self.keep_preroll and self._preroll_is_clean():
            self._preroll.add(pcm16)

    def _preroll_is_clean(self, tail_s: float = ECHO_TAIL_S) -> bool:
        """No assistant speech now or in the last `tail_s` (the speaker's own reports say when)."""
        if self._speaking or (self._speaker is not None and self._speaker.is_speaking()):
            return False
        return time.monotonic() - self._quiet_since >= tail_s

    def on_level(self, rms_dbfs: float, peak_dbfs: float) -> None:
        self._emit(AudioLevel(rms_dbfs, peak_dbfs))

    def on_device_error(self, error: AppError | None) -> None:
        """The microphone failed (or, with None, came back)."""
        if error is None:
            self._emit(Notice("audio_input_back", "Microphone available again."))
            return
        self._emit(TurnFailed(error.code.value, error.message))
        with self._lock:
            if self._state is TurnState.LISTENING:
                self._cancel_locked("device lost", report=False)

    # -- speaker side (the speaker's threads) ----------------------------------------------------------

    def on_speaker_event(self, event: object) -> None:
        turn = self._turn
        if isinstance(event, SpeakingStarted | SpeakingFinished):
            self._speaking = isinstance(event, SpeakingStarted)
            self._quiet_since = time.monotonic()
            self._preroll.clear()
        if isinstance(event, SpeakingStarted):
            if turn is not None and self._state in (TurnState.THINKING, TurnState.SPEAKING):
                turn.spoken.append(event.text)
            if turn is not None and turn.first_audio_at is None:
                turn.first_audio_at = event.at
                with self._lock:
                    if self._turn is turn and self._state is TurnState.THINKING:
                        self._set_state(TurnState.SPEAKING)
            self._emit(event)
        elif isinstance(event, SpeakingFinished | TurnFailed):
            self._emit(event)
            if turn is not None:
                turn.speech_done.set()
        elif isinstance(event, Event):  # notices: speaker missing, voice missing, back again
            self._emit(event)

    # -- internals --------------------------------------------------------------------------------------

    def _set_state(self, state: TurnState) -> None:
        self._state = state
        self._emit(StateChanged(state))

    def _release_locked(self) -> None:
        turn = self._turn
        if turn is None:
            return
        turn.released_at = time.monotonic()
        log.info("turn %d: released after %.0f ms", turn.turn_id, (turn.released_at - turn.pressed_at) * 1000)
        self._set_state(TurnState.RECOGNISING)
        self._work.put((turn, _Finish()))

    def _cancel_locked(self, why: str, report: bool = True) -> None:
        turn = self._turn
        if turn is not None:
            log.info("turn %d: %s", turn.turn_id, why)
            turn.cancelled_at = time.monotonic()
            turn.cancel.set()
            turn.speech_done.set()
        if self._speaker is not None:
            self._speaker.stop()
        self._turn = None
        if report:
            self._emit(TurnFailed(ErrorCode.TURN_CANCELLED.value, f"Turn {why}."))
        self._set_state(TurnState.IDLE)

    def _run(self) -> None:
        active: _Turn | None = None
        recognizer: Recognizer | None = None
        while True:
            item = self._work.get()
            if isinstance(item, _Stop):
                if recognizer is not None and active is not None:
                    recognizer.cancel()
                return
            turn, payload = item
            if turn.cancelled:
                if active is turn and recognizer is not None:
                    recognizer.cancel()
                    active = None
                continue
            if active is not turn:
                if recognizer is not None and active is not None:
                    recognizer.cancel()
                recognizer = self._recognizer_source()
                if recognizer is None:
                    continue
                recognizer.start_utterance()
                active = turn
            assert recognizer is not None
            try:
                if isinstance(payload, _Finish):
                    active = None
                    self._finish_turn(turn, recognizer)
                else:
                    partial = recognizer.feed(payload)
                    if partial is not None and not turn.cancelled:
                        self._emit(PartialTranscript(partial))
            except AppError as error:
                active = None
                self._fail(turn, error.code.value, error.message)
            except Exception as error:  # a recogniser or brain bug must not kill the worker
                log.exception("voice turn failed")
                active = None
                self._fail(turn, "turn_failed", f"Something went wrong in this turn: {error}")

    def _finish_turn(self, turn: _Turn, recognizer: Recognizer) -> None:
        transcript = recognizer.finish()
        turn.final_at = time.monotonic()
        if turn.cancelled:
            return
        log.info("turn %d: heard %s", turn.turn_id, for_log(transcript.text))
        self._emit(FinalTranscript(transcript.text, transcript.confidence, at=turn.final_at))
        if not transcript.text.strip():
            self._fail(turn, ErrorCode.NOTHING_HEARD.value, "I did not catch that. Hold the key and try again.")
            return
        turn.transcript = transcript.text
        # Shown, so kept: the question is stored before anything else can stop the turn.
        conversation_id = self._conversation()
        self._store.add_message(conversation_id, Role.USER, transcript.text)
        with self._lock:
            if turn.cancelled:
                return
            self._set_state(TurnState.THINKING)
        speaker = self._speaker
        if speaker is not None:
            # An interrupted announcement may still report that it finished: only this reply's end counts.
            turn.speech_done.clear()
            if turn.cancelled:  # cancelled just now: its wake-up must not be lost
                return
            speaker.start_reply()
        answer = self._brain.reply(transcript.text, conversation_id, turn.cancel)
        try:
            for piece in answer:
                if turn.cancelled:
                    break
                turn.reply.add(piece)
                self._show_and_say(turn, piece, speaker)
        finally:
            answer.close()  # a cancelled turn closes the brain's stream (and a model's connection) now
        if not turn.cancelled:
            if turn.reply.action is ReplyAction.STOP and speaker is not None:
                speaker.stop()
            elif speaker is not None:
                speaker.end_reply()
                turn.speech_done.wait()
        if turn.cancelled:  # stopped while it was written or spoken: kept as far as it was shown
            self._store_interrupted_answer(turn, conversation_id)
            return
        done = time.monotonic()
        timings = self._timings(turn, done)
        self._store_answer(turn, conversation_id, timings)
        if turn.reply.action is ReplyAction.NEW_CONVERSATION:
            self.new_conversation()
        with self._lock:
            if self._turn is turn:
                self._turn = None
                self._emit(TurnFinished(turn.turn_id, timings, at=done))
                self._set_state(TurnState.IDLE)

    def _store_answer(self, turn: _Turn, conversation_id: int, timings: dict[str, float]) -> None:
        self._store.add_message(
            conversation_id,
            Role.ASSISTANT,
            turn.reply.text,
            timings=timings,
            source=turn.reply.source,
            tokens_input=turn.reply.tokens_input,
            tokens_output=turn.reply.tokens_output,
        )

    def _store_interrupted_answer(self, turn: _Turn, conversation_id: int) -> None:
        """What the window showed of a stopped answer is kept, marked with when it was stopped and how much
        of it had been spoken (see core.models.Message.interrupted and .spoken_text)."""
        if not turn.reply.parts:
            return  # nothing was shown
        stopped = turn.cancelled_at or time.monotonic()
        timings = self._timings(turn, stopped)
        timings[INTERRUPTED_AT_MS] = timings.pop("release_to_done_ms")
        timings[SPOKEN_CHARS] = float(spoken_prefix_length(turn.reply.text, turn.spoken))
        log.info("turn %d: stored the interrupted answer", turn.turn_id)
        self._store_answer(turn, conversation_id, timings)

    def _show_and_say(self, turn: _Turn, piece: ReplyPiece, speaker: Speaker | None) -> None:
        if not piece.text:
            return
        if turn.first_reply_at is None:
            turn.first_reply_at = time.monotonic()
        self._emit(ReplyChunk(piece.text, piece.source))
        if speaker is not None and piece.to_say:
            speaker.add_text(piece.to_say)

    def _timings(self, turn: _Turn, done: float) -> dict[str, float]:
        released = turn.released_at or turn.pressed_at

        def since(moment: float | None) -> float | None:
            return None if moment is None else round((moment - released) * 1000, 1)

        values = {
            "release_to_final_ms": since(turn.final_at),
            "release_to_first_reply_ms": since(turn.first_reply_at),
            "release_to_first_audio_ms": since(turn.first_audio_at),
            "release_to_done_ms": since(done),
            "listening_ms": round((released - turn.pressed_at) * 1000, 1),
            "preroll_ms": round(turn.preroll_ms, 1),
        }
        return {key: value for key, value in values.items() if value is not None}

    def announce(self, text: str, source: str) -> None:
        """Says something unprompted (a timer ran out): stored in the current conversation, shown, and
        spoken unless the user is talking or being answered (then it is shown and kept only). When it cannot
        be kept (the store is read-only or full), it is still shown and said."""
        conversation_id: int | None
        try:
            conversation_id = self._conversation()
            self._store.add_message(conversation_id, Role.ASSISTANT, text, source=source)
        except AppError as error:
            log.warning("an announcement could not be kept: %s", error.message)
            conversation_id = None
        self._emit(Announced(text, source, conversation_id))
        with self._lock:
            idle = self._state is TurnState.IDLE
        if idle and self._speaker is not None:
            self._speaker.start_reply()
            self._speaker.add_text(text)
            self._speaker.end_reply()

    def _conversation(self) -> int:
        if self._conversation_id is None:
            self._conversation_id = self._store.create_conversation().id
        return self._conversation_id

    def _fail(self, turn: _Turn, code: str, message: str) -> None:
        with self._lock:
            if self._turn is not turn:
                return
            self._turn = None
            self._emit(TurnFailed(code, message))
            self._set_state(TurnState.IDLE)
