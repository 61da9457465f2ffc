"""The voice turn: idle -> listening -> recognising -> thinking -> speaking -> idle.

Push-to-talk drives it: press/release (hold) or press/press (toggle); every stage can be cancelled, and a
press while the assistant thinks or speaks interrupts it (barge-in) and starts listening at once.

Threads: the microphone's converter thread calls `on_audio`; the UI or the hotkey calls `press`, `release`
and `cancel`; one turn worker owns the recogniser, runs the turn (core.turn_runner keeps the question and
the answer and asks the brain; this module shows and says each piece) and feeds the speaker; the speaker
reports back through `on_speaker_event`. Everything that happens goes out through one event listener as
the records of core.events, with the monotonic time it happened.

Locks: one, guarding the turn's state, and nothing is called while it is held. Under it the state changes
and the events that say so are queued (core.delivery.Outbox); they are delivered after it is released, in
order. The speaker is only ever driven through one serial worker (stopping audio waits for the device), so
`press`, `release`, `cancel` and `announce` return at once from any thread. Every wait has a bound; a bound
that runs out is logged and reported as the turn's failure.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from desktop_app.core.audio_format import SPEECH_FORMAT
from desktop_app.core.delivery import Outbox, SerialCalls
from desktop_app.core.errors import AppError, ErrorCode
from desktop_app.core.events import (
    Announced,
    AudioLevel,
    Event,
    FinalTranscript,
    Notice,
    NoticeCode,
    PartialTranscript,
    ReplyChunk,
    SpeakingFinished,
    SpeakingStarted,
    StateChanged,
    TalkMode,
    TalkModeChanged,
    TurnFailed,
    TurnFinished,
    TurnStarted,
    TurnState,
)
from desktop_app.core.off_record import is_unsaved
from desktop_app.core.ports import (
    Brain,
    CollectedReply,
    ConversationStore,
    Recognizer,
    ReplyAction,
    ReplyPiece,
    Speaker,
    VoiceInfo,
)
from desktop_app.core.preroll import PrerollBuffer
from desktop_app.core.privacy import for_log
from desktop_app.core.reply_source import ReplySource
from desktop_app.core.turn_diary import TurnDiary
from desktop_app.core.turn_runner import TurnRunner, TurnTimings

log = logging.getLogger(__name__)

# A press that stops the assistant and is let go within this long is a tap: it means "stop" only.
TAP_S = 0.35
# Sound captured this long after the assistant stopped speaking can still hold its voice (the output's
# buffer, the room): it is kept out of the preroll, so a press never hears the assistant as the user.
ECHO_TAIL_S = 0.3
# After a barge-in the turn hears the user at once, but not while the stopped speech is still fading out.
BARGE_IN_TAIL_S = 0.1

# Bounds on waits. Speaking an answer: a generous rate (espeak-ng says about 15 characters a second) plus a
# margin for a slow first sentence; closing down. (The store's bound is core.turn_runner's.)
SPEECH_BOUND_BASE_S = 30.0
SPEECH_BOUND_PER_CHAR_S = 0.25
CLOSE_BOUND_S = 10.0


def speech_bound_s(text: str) -> float:
    return SPEECH_BOUND_BASE_S + SPEECH_BOUND_PER_CHAR_S * len(text)


Listener = Callable[[Event], None]
# The speaker reports (SpeakingStarted, SpeakingFinished, TurnFailed, notices) to the pipeline that uses it, so
# the pipeline makes it: it is given a function that makes the speaker from where to report.
SpeakerReports = Callable[[object], None]
SpeakerFactory = Callable[[SpeakerReports], Speaker]
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
    done_at: float | None = None
    transcript: str = ""
    spoken_in_time: bool = True  # False when saying the answer outlasted its bound
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
    speaker: Speaker | None = None  # what says this turn's answer: chosen when the answer starts
    # Set on the speaker's worker once this answer's reply has begun (anything said before it, such as an
    # announcement still fading out, is not this answer's audio).
    reply_begun: bool = False

    @property
    def cancelled(self) -> bool:
        return self.cancel.is_set()


class _Finish:
    pass


@dataclass(frozen=True, slots=True)
class _Typed:
    text: str


class _Stop:
    pass


class VoicePipeline:
    def __init__(
        self,
        recognizer: RecognizerSource,
        brain: Brain,
        speaker: SpeakerFactory | None,
        store: ConversationStore,
        on_event: Listener,
        *,
        mode: TalkMode | str = TalkMode.HOLD,
        preroll_ms: int = 500,
        keep_preroll: bool = True,
        speak_replies: bool = True,
    ) -> None:
        self._recognizer_source = recognizer
        self._runner = TurnRunner(brain, store)
        self._speaker: Speaker | None = None
        self._listener = on_event
        self._mode = TalkMode(mode)
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
        self.diary = TurnDiary()
        self._events: Outbox[Event] = Outbox(self._deliver)
        self._speech = SerialCalls("voice-speaker")
        self._announcements = SerialCalls("voice-announce")
        self._work: queue.SimpleQueue[tuple[_Turn, bytes | _Finish | _Typed] | _Stop] = queue.SimpleQueue()
        self._make_speaker = speaker
        self._speak_replies = speak_replies and speaker is not None
        self._speaker = speaker(self.on_speaker_event) if self._speak_replies and speaker is not None else None
        self._worker = threading.Thread(target=self._run, name="voice-turn", daemon=True)
        self._worker.start()

    @property
    def speaker(self) -> Speaker | None:
        """The speaker made from the factory: None until answers are first spoken. The pipeline closes it."""
        return self._speaker

    @property
    def speak_replies(self) -> bool:
        return self._speak_replies

    @speak_replies.setter
    def speak_replies(self, on: bool) -> None:
        """Off: what is being said stops now and answers are only shown. On: the next answer is spoken (the
        speaker is made on its worker the first time, so this returns at once)."""
        make = self._make_speaker
        with self._lock:
            self._speak_replies = on and make is not None
            speaker = self._speaker
        if not on and speaker is not None:
            self._speech.submit(speaker.stop)
        elif on and speaker is None and make is not None:
            self._speech.submit(partial(self._create_speaker, make))

    def _create_speaker(self, make: SpeakerFactory) -> None:
        with self._lock:
            if self._speaker is not None:
                return
        speaker = make(self.on_speaker_event)  # off the lock: an engine may take a moment to start
        with self._lock:
            self._speaker = speaker

    def _voice_out(self) -> Speaker | None:
        """The speaker to say an answer with, when answers are spoken."""
        return self._speaker if self._speak_replies else None

    # -- controls (any thread; each returns at once) -------------------------------------------------------

    @property
    def state(self) -> TurnState:
        return self._state

    @property
    def mode(self) -> TalkMode:
        return self._mode

    @mode.setter
    def mode(self, mode: TalkMode | str) -> None:
        wanted = TalkMode(mode)  # an unknown mode is refused here, not silently treated as "hold"
        with self._lock:
            changed = wanted is not self._mode
            self._mode = wanted
            if changed:
                self._events.put(TalkModeChanged(wanted))  # the window's words for the button follow it
        self._events.flush()

    @property
    def conversation_id(self) -> int | None:
        return self._runner.conversation_id

    def new_conversation(self) -> None:
        self._runner.new_conversation()

    def continue_conversation(self, conversation_id: int) -> None:
        self._runner.continue_conversation(conversation_id)

    def press(self) -> None:
        """Push-to-talk pressed: start listening (interrupting an answer), or, in toggle mode while
        listening, stop listening."""
        # Read before taking the lock: both reach into other objects.
        speaker_busy = self._speaker is not None and self._speaker.is_speaking()
        recognizer = self._recognizer_source()
        with self._lock:
            self._press_locked(speaker_busy, recognizer is not None)
        self._events.flush()

    def _press_locked(self, speaker_busy: bool, recognizer_ready: bool) -> None:
        if self._mode is TalkMode.TOGGLE and self._state is TurnState.LISTENING:
            self._release_locked()
            return
        if self._state is TurnState.LISTENING:
            return
        barged_in = self._state is not TurnState.IDLE
        if barged_in:
            self._cancel_locked("interrupted")
        elif speaker_busy and self._speaker is not None:
            barged_in = True
            self._speech.submit(self._speaker.stop)  # an announcement ("Time's up…") is silenced like an answer
        if not recognizer_ready:
            self._events.put(Notice(NoticeCode.SPEECH_MODEL_LOADING, "Loading speech model… try again in a moment."))
            return
        self._turn_ids += 1
        turn = _Turn(self._turn_ids, time.monotonic(), barged_in=barged_in)
        self._turn = turn
        # The preroll is only ever the user's own sound: none of it while the assistant was speaking.
        clean = not speaker_busy and self._quiet_for(ECHO_TAIL_S)
        preroll = self._preroll.take() if self.keep_preroll and clean else b""
        self._preroll.clear()
        turn.preroll_ms = SPEECH_FORMAT.milliseconds(len(preroll))
        log.info("turn %d: listening (%.0f ms of preroll)", turn.turn_id, turn.preroll_ms)
        self._events.put(TurnStarted(turn.turn_id, at=turn.pressed_at))
        self._set_state(TurnState.LISTENING)
        if preroll:
            self._work.put((turn, preroll))

    def release(self) -> None:
        """Push-to-talk released (hold mode): stop listening and recognise what was said."""
        with self._lock:
            if self._mode is TalkMode.HOLD and self._state is TurnState.LISTENING:
                turn = self._turn
                if turn is not None and turn.barged_in and time.monotonic() - turn.pressed_at < TAP_S:
                    # A tap that stopped the assistant: it was "stop", not a question.
                    self._cancel_locked("stopped by a tap", ErrorCode.TURN_STOPPED, "Stopped.")
                else:
                    self._release_locked()
        self._events.flush()

    def cancel(self) -> None:
        with self._lock:
            if self._state is not TurnState.IDLE:
                self._cancel_locked("cancelled")
        self._events.flush()

    def ask(self, text: str) -> None:
        """A typed question: answered (and spoken, when answers are) like a spoken one, through the same turn.
        It stops whatever the assistant was doing, as a press does. Returns at once."""
        question = text.strip()
        if not question:
            return
        speaker = self._speaker
        speaker_busy = speaker is not None and speaker.is_speaking()  # read before the lock, as press does
        with self._lock:
            if self._state is not TurnState.IDLE:
                self._cancel_locked("interrupted")
            elif speaker_busy and speaker is not None:
                self._speech.submit(speaker.stop)
            self._turn_ids += 1
            now = time.monotonic()
            turn = _Turn(self._turn_ids, now, released_at=now)
            self._turn = turn
            log.info("turn %d: typed", turn.turn_id)
            self._events.put(TurnStarted(turn.turn_id, at=now))
            self._set_state(TurnState.THINKING)
            self._work.put((turn, _Typed(question)))
        self._events.flush()

    def announce(self, text: str, source: ReplySource) -> None:
        """Says something unprompted (a timer ran out): stored in the current conversation, shown, and
        spoken unless the user is talking or being answered (then it is shown and kept only). When it cannot
        be kept (the store is read-only or full), it is still shown and said. Returns at once: the store is
        written on a worker of its own."""
        self._announcements.submit(lambda: self._announce(text, source))

    def voices(self) -> list[VoiceInfo]:
        """The voices answers can be spoken in; none while there is no speaker. The engine is asked and
        answers on its own thread: call this from a worker."""
        speaker = self._speaker
        return speaker.voices() if speaker is not None else []

    def say_sample(self, text: str) -> bool:
        """Says `text` with the voice settings in use now (Settings > Voice > Preview), kept nowhere. False
        when it cannot be said now: a turn is under way, or answers are not spoken."""
        speaker = self._voice_out()
        with self._lock:
            if self._state is not TurnState.IDLE or speaker is None:
                return False
            self._speech.submit(lambda: _say_alone(speaker, text))
        return True

    def close(self) -> None:
        self.cancel()
        self._work.put(_Stop())
        self._worker.join(timeout=CLOSE_BOUND_S)
        for name, worker in (("announcements", self._announcements), ("speaker", self._speech)):
            if not worker.close(CLOSE_BOUND_S):
                log.error("the %s worker did not stop within %.0f s", name, CLOSE_BOUND_S)
        if self._speaker is not None:
            self._speaker.close()
        if self._worker.is_alive():
            log.error("the voice turn worker did not stop within %.0f s", CLOSE_BOUND_S)
        self._events.flush()

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
        if self._speaker is not None and self._speaker.is_speaking():
            return False
        return self._quiet_for(tail_s)

    def _quiet_for(self, tail_s: float) -> bool:
        return not self._speaking and time.monotonic() - self._quiet_since >= tail_s

    def on_level(self, rms_dbfs: float, peak_dbfs: float) -> None:
        self._events.put(AudioLevel(rms_dbfs, peak_dbfs))
        self._events.flush()

    def on_device_error(self, error: AppError | None) -> None:
        """The microphone failed (or, with None, came back)."""
        with self._lock:
            if error is None:
                self._events.put(Notice(NoticeCode.AUDIO_INPUT_BACK, "Microphone available again."))
            elif self._state is TurnState.LISTENING:
                self._cancel_locked("device lost", error.code, error.message)
            else:
                self._events.put(TurnFailed(error.code, error.message))
        self._events.flush()

    # -- speaker side (the speaker's threads) ----------------------------------------------------------

    def on_speaker_event(self, event: object) -> None:
        turn = self._turn
        if isinstance(event, SpeakingStarted | SpeakingFinished):
            self._speaking = isinstance(event, SpeakingStarted)
            self._quiet_since = time.monotonic()
            self._preroll.clear()
        if turn is not None and not turn.reply_begun:
            turn = None  # not this turn's answer: an announcement, or the end of an earlier answer
        with self._lock:
            if isinstance(event, SpeakingStarted):
                if turn is not None and self._state in (TurnState.THINKING, TurnState.SPEAKING):
                    turn.spoken.append(event.text)
                if turn is not None and turn.first_audio_at is None:
                    turn.first_audio_at = event.at
                    if self._turn is turn and self._state is TurnState.THINKING:
                        self._set_state(TurnState.SPEAKING)
                self._events.put(event)
            elif isinstance(event, SpeakingFinished | TurnFailed):
                self._events.put(event)
                if turn is not None:
                    turn.speech_done.set()
            elif isinstance(event, Event):  # notices: speaker missing, voice missing, back again
                self._events.put(event)
        self._events.flush()

    # -- internals (under the lock: state and queued events only) ------------------------------------------

    def _deliver(self, event: Event) -> None:
        self.diary.record(event)
        self._listener(event)

    def _emit(self, event: Event) -> None:
        """For the worker threads, which hold no lock."""
        self._events.put(event)
        self._events.flush()

    def _set_state(self, state: TurnState) -> None:
        self._state = state
        self._events.put(StateChanged(state))

    def _release_locked(self) -> None:
        turn = self._turn
        if turn is None:
            return
        turn.released_at = time.monotonic()
        log.info("turn %d: released after %.0f ms", turn.turn_id, (turn.released_at - turn.pressed_at) * 1000)
        self._set_state(TurnState.RECOGNISING)
        self._work.put((turn, _Finish()))

    def _cancel_locked(self, why: str, code: ErrorCode = ErrorCode.TURN_CANCELLED, message: str | None = None) -> None:
        """Ends the turn under way (reported as its failure with `code`) and silences the speaker."""
        turn = self._turn
        if turn is not None:
            log.info("turn %d: %s", turn.turn_id, why)
            turn.cancelled_at = time.monotonic()
            turn.cancel.set()
            turn.speech_done.set()
        if self._speaker is not None:
            self._speech.submit(self._speaker.stop)
        self._turn = None
        if turn is not None:
            self._events.put(TurnFailed(code, message or f"Turn {why}.", turn_id=turn.turn_id))
        self._set_state(TurnState.IDLE)

    def _speak(self, turn: _Turn, call: Callable[[], object]) -> None:
        """Runs a speaker call for `turn` on the speaker's worker, in order with every stop, unless the turn has
        been cancelled by the time its turn comes (then the stop already silenced it)."""
        self._speech.submit(lambda: None if turn.cancelled else call())

    # -- the turn worker ------------------------------------------------------------------------------------

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
            if turn.cancelled or self._turn is not turn:  # ended (cancelled, failed): its audio is dropped
                if active is turn and recognizer is not None:
                    recognizer.cancel()
                    active = None
                continue
            try:
                if isinstance(payload, _Typed):
                    if recognizer is not None and active is not None:
                        recognizer.cancel()  # a spoken question cut short by the typed one
                    active = None
                    self._answer(turn, payload.text)
                    continue
                if active is not turn:
                    if recognizer is not None and active is not None:
                        recognizer.cancel()
                    active, recognizer = None, self._recognizer_source()
                    if recognizer is not None:
                        recognizer.start_utterance()
                        active = turn
                if recognizer is None:  # unloaded since the press (a model being switched)
                    raise AppError(
                        ErrorCode.SPEECH_MODEL_UNAVAILABLE, "The speech model is being loaded. Try again soon."
                    )
                if isinstance(payload, _Finish):
                    active = None
                    self._finish_turn(turn, recognizer)
                else:
                    heard_so_far = recognizer.feed(payload)
                    if heard_so_far is not None and not turn.cancelled:
                        self._emit(PartialTranscript(heard_so_far))
            except AppError as error:
                active = None
                self._fail(turn, error.code, error.message)
            except Exception as error:  # a recogniser or brain bug must not kill the worker
                log.exception("voice turn failed")
                active = None
                self._fail(turn, ErrorCode.TURN_FAILED, f"Something went wrong in this turn: {error}")

    def _finish_turn(self, turn: _Turn, recognizer: Recognizer) -> None:
        text = self._hear(turn, recognizer)
        if text is None:
            return
        self._answer(turn, text)

    def _answer(self, turn: _Turn, text: str) -> None:
        if turn.final_at is None:  # typed: the question is final as it arrives
            turn.final_at = time.monotonic()
            turn.transcript = text
            self._emit(FinalTranscript(text, 1.0, at=turn.final_at))
        # Shown, so kept: the runner keeps the question before anything else can stop the turn.
        outcome = self._runner.run(text, _VoiceFront(self, turn), turn.cancel)
        if outcome.stopped:
            return
        if not turn.spoken_in_time:
            bound = speech_bound_s(outcome.reply.text)
            log.error("turn %d: the answer was not spoken within %.0f s", turn.turn_id, bound)
            if self._speaker is not None:
                self._speech.submit(self._speaker.stop)
            self._fail(turn, ErrorCode.SPEECH_TIMED_OUT, "The answer is shown, but speaking it took too long.")
            return
        with self._lock:
            if self._turn is turn:
                self._turn = None
                self._events.put(TurnFinished(turn.turn_id, outcome.timings, at=turn.done_at or time.monotonic()))
                self._set_state(TurnState.IDLE)
        self._events.flush()

    def _hear(self, turn: _Turn, recognizer: Recognizer) -> str | None:
        """The final transcript, shown; None when the turn ends here (cancelled, or nothing was heard)."""
        transcript = recognizer.finish()
        turn.final_at = time.monotonic()
        if turn.cancelled:
            return None
        log.info("turn %d: heard %s", turn.turn_id, for_log(transcript.text))
        self._emit(FinalTranscript(transcript.text, transcript.confidence, at=turn.final_at))
        if not transcript.text.strip():
            self._fail(turn, ErrorCode.NOTHING_HEARD, "I did not catch that. Hold the key and try again.")
            return None
        turn.transcript = transcript.text
        return transcript.text

    # -- the turn as the runner runs it (the turn worker; see _VoiceFront) -----------------------------------

    def _begin_answer(self, turn: _Turn) -> bool:
        with self._lock:
            if not turn.cancelled and self._state is not TurnState.THINKING:  # a typed turn starts thinking
                self._set_state(TurnState.THINKING)
        self._events.flush()
        if turn.cancelled:
            return False
        speaker = turn.speaker = self._voice_out()
        keep = not is_unsaved(self._runner.conversation_id)  # an unsaved conversation's answer is not cached
        if speaker is not None:

            def begin_reply() -> None:
                # An interrupted announcement may still report that it finished: only this reply's end counts.
                turn.speech_done.clear()
                if turn.cancelled:  # cancelled just now: its wake-up must not be lost
                    turn.speech_done.set()
                    return
                speaker.start_reply(keep)
                turn.reply_begun = True

            self._speak(turn, begin_reply)
        return True

    def _show_piece(self, turn: _Turn, piece: ReplyPiece) -> bool:
        with self._lock:  # checked and shown at once: a piece shown is kept, one refused is neither
            if turn.cancelled:
                return False
            if piece.text:
                turn.first_reply_at = turn.first_reply_at or time.monotonic()
                self._events.put(ReplyChunk(piece.text, piece.source))
        self._events.flush()
        speaker = turn.speaker if self._speak_replies else None  # switched off mid-answer: silent from now on
        if speaker is not None and piece.text and piece.to_say:
            self._speak(turn, partial(speaker.add_text, piece.to_say))
        return True

    def _end_answer(self, turn: _Turn, reply: CollectedReply) -> None:
        """Says the rest of the answer and waits for it to be said, within its bound."""
        speaker = turn.speaker if self._speak_replies else None
        if speaker is None:
            return
        if reply.action is ReplyAction.STOP:
            self._speech.submit(speaker.stop)
            return
        self._speak(turn, speaker.end_reply)
        turn.spoken_in_time = turn.speech_done.wait(speech_bound_s(reply.text))

    def _timings(self, turn: _Turn, stopped: bool) -> TurnTimings:
        done = (turn.cancelled_at or time.monotonic()) if stopped else time.monotonic()
        if not stopped:
            turn.done_at = done
        released = turn.released_at or turn.pressed_at

        def since(moment: float | None) -> float | None:
            return None if moment is None else round((moment - released) * 1000, 1)

        stages = {
            "release_to_final_ms": since(turn.final_at),
            "release_to_first_reply_ms": since(turn.first_reply_at),
            "release_to_first_audio_ms": since(turn.first_audio_at),
            "listening_ms": round((released - turn.pressed_at) * 1000, 1),
            "preroll_ms": round(turn.preroll_ms, 1),
        }
        with self._lock:  # the speaker's reports add to it
            spoken = list(turn.spoken)
        return TurnTimings(
            {key: value for key, value in stages.items() if value is not None},
            "release_to_done_ms",
            round((done - released) * 1000, 1),
            spoken,
        )

    def _announce(self, text: str, source: ReplySource) -> None:
        conversation_id = self._runner.announce(text, source)
        speaker = self._voice_out()
        with self._lock:
            self._events.put(Announced(text, source, conversation_id))
            if self._state is TurnState.IDLE and speaker is not None:
                # Queued under the lock (a queue put, not a call), so a press after this stops it in order.
                self._speech.submit(lambda: _say_alone(speaker, text))
        self._events.flush()

    def _fail(self, turn: _Turn, code: ErrorCode, message: str) -> None:
        with self._lock:
            if self._turn is turn:
                self._turn = None
                self._events.put(TurnFailed(code, message, turn_id=turn.turn_id))
                self._set_state(TurnState.IDLE)
        self._events.flush()


def _say_alone(speaker: Speaker, text: str) -> None:
    speaker.start_reply()
    speaker.add_text(text)
    speaker.end_reply()


@dataclass(frozen=True, slots=True)
class _VoiceFront:
    """One voice turn as the turn runner sees it (core.turn_runner.TurnFront)."""

    pipeline: VoicePipeline
    turn: _Turn

    def thinking(self) -> bool:
        return self.pipeline._begin_answer(self.turn)

    def show(self, piece: ReplyPiece) -> bool:
        return self.pipeline._show_piece(self.turn, piece)

    def answered(self, reply: CollectedReply) -> None:
        self.pipeline._end_answer(self.turn, reply)

    def timings(self, stopped: bool) -> TurnTimings:
        return self.pipeline._timings(self.turn, stopped)
