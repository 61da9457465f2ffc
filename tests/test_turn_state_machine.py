"""The voice turn driven by random sequences of everything that can happen to it, from several threads:
press, release, cancel and barge-in, speech, announcements, recogniser failures and bugs, a lost microphone,
a speech model unloaded mid-turn, slow speech and a slow-to-stop speaker, a lost speaker, talk-mode changes,
and a listener that calls back into the pipeline from inside an event.

The recogniser, brain and speaker are scripted (tests/turn_harness.py); the store is the real SQLite one.
After every step: the call returned within its bound. The speaker's stop and the recogniser's finish can be
stuck (waiting on a gate the sequence opens only at its end), so a control that waited for either, or for a
lock held across a call-out, would not return at all. After every sequence: each turn ended with exactly one
TurnFinished or TurnFailed; the states followed the machine's edges and ended idle; no thread was left behind;
and what the store holds is exactly what the events showed (each question heard, each answer or part of one
shown, each announcement kept).

TURN_SEQUENCES sets how many sequences run (2,000 by default).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from functools import partial
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from turn_harness import ScriptedBrain, ScriptedRecognizer, ScriptedSpeaker, word

from desktop_app.core.errors import AppError, ErrorCode
from desktop_app.core.events import (
    Announced,
    Event,
    FinalTranscript,
    ReplyChunk,
    StateChanged,
    TalkMode,
    TurnFailed,
    TurnFinished,
    TurnStarted,
    TurnState,
)
from desktop_app.core.models import Role
from desktop_app.core.pipeline import VoicePipeline
from desktop_app.core.reply_source import ReplySource
from desktop_app.storage.engine import sqlite_url
from desktop_app.storage.store import SqlConversationStore

SEQUENCES = int(os.environ.get("TURN_SEQUENCES", "2000"))
# A control returns at once (well under a millisecond when the machine is quiet). The bound only has to tell
# "returned" from "waited for something": what it could wait for is stuck far longer, and the machine may be
# busy with other work.
CONTROL_BOUND_S = 2.0
SLOW_STOP_S = 0.4
SETTLE_BOUND_S = 10.0

EDGES = {
    TurnState.IDLE: {TurnState.LISTENING, TurnState.THINKING},  # thinking at once: a typed question
    TurnState.LISTENING: {TurnState.RECOGNISING, TurnState.IDLE},
    TurnState.RECOGNISING: {TurnState.THINKING, TurnState.IDLE},
    TurnState.THINKING: {TurnState.SPEAKING, TurnState.IDLE},
    TurnState.SPEAKING: {TurnState.IDLE},
}
WORDS = ("what", "time", "hello", "stop", "new", "fail", "bug", "slow")
OUR_THREADS = ("voice-", "scripted-")


class TurnMachine(RuleBasedStateMachine):
    store: SqlConversationStore  # one real store for the whole run, set by the test
    highest_conversation = 0  # conversations up to this one belong to earlier sequences

    def __init__(self) -> None:
        super().__init__()
        self.events: list[Event] = []
        self.longest_call_s = 0.0
        self.model_loaded = True
        self.calls_back = False
        self.threads_before = {t.ident for t in threading.enumerate()}
        self.conversations_before = TurnMachine.highest_conversation
        self.caller = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scripted-window")
        self.recognizer = ScriptedRecognizer()
        self.pipeline = VoicePipeline(
            lambda: self.recognizer if self.model_loaded else None,
            ScriptedBrain(),
            ScriptedSpeaker,
            self.store,
            self._listen,
            preroll_ms=50,
        )
        assert isinstance(self.pipeline.speaker, ScriptedSpeaker)
        self.speaker = self.pipeline.speaker

    def _listen(self, event: Event) -> None:
        self.events.append(event)
        if self.calls_back and isinstance(event, StateChanged):
            # As a window might: react to an event by calling the pipeline (here re-applying the talk mode it
            # shows, which takes the pipeline's lock and changes nothing). Were an event delivered while the
            # pipeline holds its lock, this would deadlock, and the control that caused it would never return.
            self.pipeline.mode = self.pipeline.mode

    def _control(self, call: Callable[[], None], on_thread: bool) -> None:
        """Runs a control on the sequence's own caller thread (as a window's) or on a new one; it must return
        within CONTROL_BOUND_S. Never on the test's thread: a control that deadlocks fails the test rather
        than hanging it."""
        took: list[float] = []

        def timed() -> None:
            started = time.perf_counter()
            call()
            took.append(time.perf_counter() - started)

        if on_thread:
            thread = threading.Thread(target=timed, name="scripted-caller", daemon=True)
            thread.start()
            thread.join(timeout=SETTLE_BOUND_S)
        else:
            with contextlib.suppress(FutureTimeout):  # reported below
                self.caller.submit(timed).result(timeout=SETTLE_BOUND_S)
        assert took, f"{call.__name__} did not return within {SETTLE_BOUND_S:.0f} s: {self._story()}"
        self.longest_call_s = max(self.longest_call_s, took[0])
        assert took[0] < CONTROL_BOUND_S, f"{call.__name__} took {took[0] * 1000:.0f} ms"

    # -- what can happen ------------------------------------------------------------------------------

    @initialize(calls_back=st.booleans(), toggle=st.booleans())
    def setup(self, calls_back: bool, toggle: bool) -> None:
        self.calls_back = calls_back
        self.pipeline.mode = TalkMode.TOGGLE if toggle else TalkMode.HOLD

    @rule(on_thread=st.booleans())
    def press(self, on_thread: bool) -> None:
        self._control(self.pipeline.press, on_thread)

    @rule(on_thread=st.booleans())
    def release(self, on_thread: bool) -> None:
        self._control(self.pipeline.release, on_thread)

    @rule(on_thread=st.booleans())
    def cancel(self, on_thread: bool) -> None:
        self._control(self.pipeline.cancel, on_thread)

    @rule(words=st.lists(st.sampled_from(WORDS), min_size=1, max_size=3), on_thread=st.booleans())
    def type_question(self, words: list[str], on_thread: bool) -> None:
        def ask() -> None:
            self.pipeline.ask(" ".join(words))

        self._control(ask, on_thread)

    @rule(words=st.lists(st.sampled_from(WORDS), min_size=1, max_size=3))
    def speak(self, words: list[str]) -> None:
        for spoken in words:
            self.pipeline.on_audio(word(spoken))

    @rule(text=st.sampled_from(("Time's up.", "Reminder: tea.")), on_thread=st.booleans())
    def announce(self, text: str, on_thread: bool) -> None:
        def announce() -> None:
            self.pipeline.announce(text, ReplySource.skill("timer"))

        self._control(announce, on_thread)

    @rule(bug=st.booleans())
    def recogniser_fails(self, bug: bool) -> None:
        self.recognizer.fail_next = (
            RuntimeError("a recogniser bug")
            if bug
            else AppError(ErrorCode.SPEECH_MODEL_UNAVAILABLE, "The scripted model failed.")
        )

    @rule()
    def microphone_lost(self) -> None:
        self._control(
            lambda: self.pipeline.on_device_error(AppError(ErrorCode.AUDIO_INPUT_UNAVAILABLE, "Microphone lost.")),
            False,
        )

    @rule()
    def microphone_back(self) -> None:
        self._control(lambda: self.pipeline.on_device_error(None), False)

    @rule(loaded=st.booleans())
    def speech_model(self, loaded: bool) -> None:
        self.model_loaded = loaded

    @rule(play_s=st.sampled_from((0.0, 0.002, 0.02)), slow_stop=st.booleans())
    def speaker_speed(self, play_s: float, slow_stop: bool) -> None:
        self.speaker.play_s = play_s
        self.speaker.stop_s = SLOW_STOP_S if slow_stop else 0.0

    @rule(stuck=st.booleans())
    def speaker_stuck(self, stuck: bool) -> None:
        (self.speaker.stop_gate.clear if stuck else self.speaker.stop_gate.set)()

    @rule(stuck=st.booleans())
    def recogniser_stuck(self, stuck: bool) -> None:
        (self.recognizer.finish_gate.clear if stuck else self.recognizer.finish_gate.set)()

    @rule()
    def speaker_lost(self) -> None:
        self.speaker.fail_next = True

    @rule(toggle=st.booleans())
    def talk_mode(self, toggle: bool) -> None:
        self.pipeline.mode = TalkMode.TOGGLE if toggle else TalkMode.HOLD

    @rule(ms=st.sampled_from((0, 1, 5, 15)))
    def wait(self, ms: int) -> None:
        time.sleep(ms / 1000)

    @invariant()
    def one_state(self) -> None:
        assert isinstance(self.pipeline.state, TurnState)

    # -- after the sequence -----------------------------------------------------------------------------

    def teardown(self) -> None:
        self.speaker.stop_s = 0.0
        self.speaker.stop_gate.set()
        self.recognizer.finish_gate.set()
        self.caller.shutdown(wait=False)  # a caller stuck in a deadlock must not hang the test too
        self._control(self.pipeline.close, True)  # cancels what is under way, stops the workers (bounded)
        self.speaker.close()
        assert self.pipeline.state is TurnState.IDLE
        self._check_turns_end_once()
        self._check_states()
        self._check_no_thread_left()
        self._check_store_matches_events()

    def _check_turns_end_once(self) -> None:
        started = [e.turn_id for e in self.events if isinstance(e, TurnStarted)]
        ended = Counter(
            e.turn_id
            for e in self.events
            if isinstance(e, TurnFinished) or (isinstance(e, TurnFailed) and e.turn_id is not None)
        )
        assert len(started) == len(set(started))
        for turn_id in started:
            assert ended[turn_id] == 1, f"turn {turn_id} ended {ended[turn_id]} times: {self._story()}"
        assert set(ended) <= set(started)

    def _check_states(self) -> None:
        states = [e.state for e in self.events if isinstance(e, StateChanged)]
        previous = TurnState.IDLE
        for state in states:
            assert state in EDGES[previous], f"{previous} -> {state}: {self._story()}"
            previous = state
        assert previous is TurnState.IDLE

    def _check_no_thread_left(self) -> None:
        deadline = time.monotonic() + SETTLE_BOUND_S
        while True:
            left = [
                t.name
                for t in threading.enumerate()
                if t.ident not in self.threads_before and t.name.startswith(OUR_THREADS) and t.is_alive()
            ]
            if not left or time.monotonic() > deadline:
                break
            time.sleep(0.001)
        assert not left, left

    def _check_store_matches_events(self) -> None:
        stored: Counter[tuple[Role, str]] = Counter()
        for summary in self.store.list_conversations(limit=200):  # the latest: this sequence's come first
            conversation_id = summary.conversation.id
            if conversation_id > self.conversations_before:
                stored.update((m.role, m.content) for m in self.store.get_history(conversation_id))
                TurnMachine.highest_conversation = max(TurnMachine.highest_conversation, conversation_id)
        shown: Counter[tuple[Role, str]] = Counter()
        answer: list[str] | None = None
        for event in self.events:
            if isinstance(event, TurnStarted):
                answer = []
                continue
            if isinstance(event, FinalTranscript) and event.text:
                shown[(Role.USER, event.text)] += 1
            elif isinstance(event, ReplyChunk) and answer is not None:
                answer.append(event.text)
            elif isinstance(event, TurnFinished | TurnFailed) and event.turn_id is not None and answer:
                shown[(Role.ASSISTANT, "".join(answer).strip())] += 1  # the store keeps text without edge spaces
                answer = None
            elif isinstance(event, Announced) and event.conversation_id is not None:
                shown[(Role.ASSISTANT, event.text)] += 1
        assert stored == shown, self._story()

    def _story(self) -> str:
        return "\n".join(f"  {type(e).__name__} {e}" for e in self.events if type(e).__name__ != "AudioLevel")


def test_the_turn_survives_any_sequence_from_any_thread(tmp_path: Path) -> None:
    store = SqlConversationStore.open(sqlite_url(tmp_path / "assistant.db"))
    TurnMachine.store = store
    started = time.perf_counter()
    try:
        run_state_machine_as_test(
            TurnMachine,
            settings=settings(
                max_examples=SEQUENCES,
                stateful_step_count=12,
                deadline=None,
                derandomize=False,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            ),
        )
    finally:
        store.close()
    print(f"{SEQUENCES} sequences in {time.perf_counter() - started:.1f} s")


@pytest.mark.parametrize("on_thread", [False, True])
def test_a_press_returns_at_once_while_the_speaker_takes_long_to_stop(tmp_path: Path, on_thread: bool) -> None:
    """Barge-in: the speaker's stop waits for its device (here 0.4 s); the press does not wait for it."""
    store = SqlConversationStore.open(sqlite_url(tmp_path / "assistant.db"))
    events: list[Event] = []
    recognizer = ScriptedRecognizer()
    pipeline = VoicePipeline(
        lambda: recognizer,
        ScriptedBrain(),
        partial(ScriptedSpeaker, play_s=1.0, stop_s=SLOW_STOP_S),
        store,
        events.append,
    )
    speaker = pipeline.speaker
    assert isinstance(speaker, ScriptedSpeaker)
    try:
        pipeline.press()
        pipeline.on_audio(word("hello"))
        pipeline.release()
        deadline = time.monotonic() + SETTLE_BOUND_S
        while pipeline.state is not TurnState.SPEAKING and time.monotonic() < deadline:
            time.sleep(0.001)
        assert pipeline.state is TurnState.SPEAKING
        took: list[float] = []

        def press() -> None:
            started = time.perf_counter()
            pipeline.press()
            took.append(time.perf_counter() - started)

        if on_thread:
            caller = threading.Thread(target=press)
            caller.start()
            caller.join(timeout=SETTLE_BOUND_S)
        else:
            press()
        assert took and took[0] < SLOW_STOP_S, took
        assert pipeline.state is TurnState.LISTENING  # type: ignore[comparison-overlap]  # the call above changed it
        failed = [e for e in events if isinstance(e, TurnFailed)]
        assert [(e.code, e.turn_id) for e in failed] == [(ErrorCode.TURN_CANCELLED.value, 1)]
    finally:
        pipeline.close()
        speaker.close()
        store.close()
