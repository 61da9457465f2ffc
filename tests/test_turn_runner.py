"""The one turn runner (core.turn_runner) with the real SQLite store and the scripted brain: what is kept of a
question and its answer (whole, stopped, failed part-way), the typed failure of an answer, the reply's
new-conversation action, announcements (current or named conversation, made once however many ask at the
same time), and that the store and the front end are never called while the runner holds its lock."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator, Mapping
from typing import Any

import pytest
from turn_harness import ScriptedBrain, ScriptedFront

from desktop_app.core.errors import AppError, ErrorCode, StorageError
from desktop_app.core.models import INTERRUPTED_AT_MS, SPOKEN_CHARS, Conversation, Message, Role
from desktop_app.core.ports import CollectedReply, ReplyAction, ReplyPiece
from desktop_app.core.reply_source import OFFLINE_ANSWER, ReplySource
from desktop_app.core.turn_runner import ANNOUNCEMENTS_TITLE, TurnRunner, TurnTimings, keep_announcement
from desktop_app.storage.store import SqlConversationStore

# A call that does not wait for a lock returns in well under this, however busy the machine is.
AT_ONCE_S = 2.0


class PiecesBrain:
    """Answers every question with the same pieces; counts how often it was asked and closed."""

    def __init__(self, *pieces: ReplyPiece) -> None:
        self.pieces = pieces
        self.asked = 0
        self.closed = 0

    def reply(
        self, text: str, conversation_id: int, cancel: threading.Event | None = None
    ) -> Generator[ReplyPiece, None, None]:
        self.asked += 1
        try:
            yield from self.pieces
        finally:
            self.closed += 1

    def command_phrases(self) -> list[str]:
        return []

    def understands(self, text: str) -> bool:
        return True


class WatchedStore:
    """The real store (a ConversationStore: what is not overridden comes through __getattr__), with a hook
    run before each conversation is made and each message is added, and an optional delay in making a
    conversation (so threads can meet there)."""

    def __init__(self, store: SqlConversationStore, make_s: float = 0.0) -> None:
        self._store = store
        self.make_s = make_s
        self.made = 0
        self.before: Callable[[], None] = lambda: None
        self.fail_adds: AppError | None = None

    def create_conversation(self, title: str | None = None) -> Conversation:
        self.before()
        time.sleep(self.make_s)
        self.made += 1
        return self._store.create_conversation(title)

    def add_message(self, conversation_id: int, role: Role | str, content: str, **kwargs: Any) -> Message:
        self.before()
        if self.fail_adds is not None:
            raise self.fail_adds
        return self._store.add_message(conversation_id, role, content, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def history(store: SqlConversationStore, conversation_id: int | None) -> list[tuple[Role, str, str | None]]:
    assert conversation_id is not None
    return [(m.role, m.content, m.source) for m in store.get_history(conversation_id)]


def returns_at_once(call: Callable[[], object]) -> None:
    """Runs `call` on another thread; it must return within AT_ONCE_S (it would not if it waited for a lock
    the caller holds)."""
    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(AT_ONCE_S)
    assert not thread.is_alive(), f"{call} waited: a lock was held while calling out"


# -- a turn ---------------------------------------------------------------------------------------------------


def test_a_whole_answer_is_kept_with_its_source_tokens_and_timings(store: SqlConversationStore) -> None:
    brain = PiecesBrain(
        ReplyPiece("Rust is ", ReplySource.model("test")),
        ReplyPiece("a good next step.", ReplySource.model("test")),
        ReplyPiece("", ReplySource.model("test"), tokens_input=40, tokens_output=7),
    )
    runner = TurnRunner(brain, store)
    front = ScriptedFront()
    outcome = runner.run("what should I learn next", front)
    assert front.calls == ["thinking", "show", "show", "show", "answered"]
    assert not outcome.stopped and outcome.failure is None and brain.closed == 1
    assert outcome.conversation_id == runner.conversation_id
    assert history(store, outcome.conversation_id) == [
        (Role.USER, "what should I learn next", None),
        (Role.ASSISTANT, "Rust is a good next step.", "model:test"),
    ]
    answer = store.get_history(outcome.conversation_id)[-1]
    assert (answer.tokens_input, answer.tokens_output) == (40, 7)
    assert answer.timings == outcome.timings
    assert set(outcome.timings) == {"scripted_ms", "scripted_total_ms"} and not answer.interrupted


def test_turns_continue_one_conversation_until_a_reply_starts_a_new_one(store: SqlConversationStore) -> None:
    runner = TurnRunner(ScriptedBrain(), store)
    first = runner.run("hello", ScriptedFront())
    fresh = runner.run("new", ScriptedFront())
    assert fresh.conversation_id == first.conversation_id
    assert fresh.reply.action is ReplyAction.NEW_CONVERSATION
    assert runner.conversation_id is None  # the next turn opens a new conversation
    after = runner.run("hello again", ScriptedFront())
    assert after.conversation_id != first.conversation_id
    assert history(store, first.conversation_id) == [
        (Role.USER, "hello", None),
        (Role.ASSISTANT, "You said hello.", "model:scripted"),
        (Role.USER, "new", None),
        (Role.ASSISTANT, "Starting a new conversation.", "skill:control"),
    ]
    assert history(store, after.conversation_id) == [
        (Role.USER, "hello again", None),
        (Role.ASSISTANT, "You said hello again.", "model:scripted"),
    ]


def test_a_runner_continues_the_conversation_it_is_given(store: SqlConversationStore) -> None:
    earlier = store.create_conversation().id
    store.create_conversation()  # a later one, not the one asked for
    runner = TurnRunner(ScriptedBrain(), store, conversation_id=earlier)
    assert runner.run("hello", ScriptedFront()).conversation_id == earlier
    assert [m.role for m in store.get_history(earlier)] == [Role.USER, Role.ASSISTANT]


def test_a_stopped_answer_is_kept_as_far_as_it_was_shown_with_what_was_said(store: SqlConversationStore) -> None:
    brain = PiecesBrain(
        ReplyPiece("The sea is wide. ", ReplySource.model("test")),
        ReplyPiece("The sea is deep. ", ReplySource.model("test")),
        ReplyPiece("The end.", ReplySource.model("test")),
    )
    runner = TurnRunner(brain, store)
    front = ScriptedFront(stop_after=2, spoken=("The sea is wide.",))
    outcome = runner.run("tell me about the sea", front)
    assert outcome.stopped and front.calls == ["thinking", "show", "show", "refused"]
    assert brain.closed == 1  # the brain's stream was ended at once
    assert outcome.reply.text == front.text.strip() == "The sea is wide. The sea is deep."
    answer = store.get_history(outcome.conversation_id)[-1]
    assert (answer.role, answer.content, answer.source) == (Role.ASSISTANT, outcome.reply.text, "model:test")
    assert answer.interrupted and answer.spoken_text == "The sea is wide."
    assert answer.timings is not None and "scripted_total_ms" not in answer.timings
    assert answer.timings[INTERRUPTED_AT_MS] >= 0 and answer.timings[SPOKEN_CHARS] == len("The sea is wide.")
    assert answer.timings == outcome.timings


def test_a_piece_refused_without_the_cancel_event_still_stops_the_answer(store: SqlConversationStore) -> None:
    front = ScriptedFront(refuse_after=1)
    outcome = TurnRunner(ScriptedBrain(), store).run("hello", front)
    assert outcome.stopped and not front.cancel.is_set() and "answered" not in front.calls
    answer = store.get_history(outcome.conversation_id)[-1]
    assert answer.content == "You said" and answer.interrupted and answer.spoken_text == ""


def test_a_turn_stopped_before_the_brain_is_asked_keeps_only_the_question(store: SqlConversationStore) -> None:
    brain = PiecesBrain(ReplyPiece("Never shown.", ReplySource.model("test")))
    outcome = TurnRunner(brain, store).run("hello", ScriptedFront(stop_at_thinking=True))
    assert outcome.stopped and outcome.timings == {} and brain.asked == 0
    assert history(store, outcome.conversation_id) == [(Role.USER, "hello", None)]


def test_a_turn_cancelled_by_its_caller_passes_the_cancel_to_the_brain(store: SqlConversationStore) -> None:
    cancel = threading.Event()
    front = ScriptedFront(cancel, stop_after=1)  # "slow" waits on the cancel event between its pieces
    started = time.monotonic()
    outcome = TurnRunner(ScriptedBrain(slow_s=30.0), store).run("slow", front, cancel)
    assert time.monotonic() - started < AT_ONCE_S  # the brain stopped waiting when the turn was stopped
    assert outcome.stopped and store.get_history(outcome.conversation_id)[-1].content == "You said"


def test_a_brain_failing_part_way_keeps_what_was_shown_and_raises(store: SqlConversationStore) -> None:
    runner = TurnRunner(ScriptedBrain(), store)
    front = ScriptedFront()
    with pytest.raises(AppError) as failed:
        runner.run("fail now", front)
    assert failed.value.code is ErrorCode.LLM_UNREACHABLE
    assert front.calls == ["thinking", "show"]
    kept = store.get_history(runner.conversation())
    assert [(m.role, m.content) for m in kept] == [(Role.USER, "fail now"), (Role.ASSISTANT, "You said")]
    assert kept[1].interrupted and kept[1].source == "model:scripted"


def test_a_brain_failing_before_it_answers_keeps_only_the_question(store: SqlConversationStore) -> None:
    runner = TurnRunner(ScriptedBrain(), store)
    with pytest.raises(RuntimeError, match="scripted bug"):
        runner.run("bug", ScriptedFront())
    assert history(store, runner.conversation()) == [(Role.USER, "bug", None)]


def test_an_answer_that_is_a_failure_carries_its_code_and_keeps_its_stored_source(
    store: SqlConversationStore,
) -> None:
    outcome = TurnRunner(ScriptedBrain(), store).run("refused", ScriptedFront())
    assert not outcome.stopped
    assert outcome.failure is ErrorCode.LLM_KEY_REJECTED and outcome.reply.error is ErrorCode.LLM_KEY_REJECTED
    answer = store.get_history(outcome.conversation_id)[-1]
    # What the database holds for such an answer is what it always held.
    assert (answer.content, answer.source) == ("The scripted model refused the key.", "error:llm_key_rejected")
    assert not answer.interrupted


def test_the_last_piece_decides_whether_a_reply_is_a_failure() -> None:
    reply = CollectedReply()
    reply.add(ReplyPiece.failure(ErrorCode.LLM_TIMEOUT, "Too slow."))
    assert (reply.error, reply.source) == (ErrorCode.LLM_TIMEOUT, ReplySource.failure(ErrorCode.LLM_TIMEOUT))
    reply.add(ReplyPiece(" Here is what I know.", OFFLINE_ANSWER))
    assert (reply.error, reply.source) == (None, OFFLINE_ANSWER)


# -- announcements --------------------------------------------------------------------------------------------


def test_announcements_are_kept_in_the_current_conversation(store: SqlConversationStore) -> None:
    runner = TurnRunner(ScriptedBrain(), store, announcements_title=ANNOUNCEMENTS_TITLE)
    turn = runner.run("hello", ScriptedFront())
    assert runner.announce("Time's up: the pasta timer is done.", ReplySource.skill("timer")) == turn.conversation_id
    assert history(store, turn.conversation_id)[-1] == (
        Role.ASSISTANT,
        "Time's up: the pasta timer is done.",
        "skill:timer",
    )


def test_without_a_named_conversation_an_announcement_starts_the_one_the_next_turn_continues(
    store: SqlConversationStore,
) -> None:
    runner = TurnRunner(ScriptedBrain(), store)
    kept = runner.announce("Reminder: tea.", ReplySource.skill("reminder"))
    assert kept is not None and runner.conversation_id == kept
    assert runner.run("thanks", ScriptedFront()).conversation_id == kept
    assert [m.content for m in store.get_history(kept)] == ["Reminder: tea.", "thanks", "You said thanks."]


def test_with_no_conversation_announcements_share_one_named_conversation(store: SqlConversationStore) -> None:
    runner = TurnRunner(ScriptedBrain(), store, announcements_title=ANNOUNCEMENTS_TITLE)
    first = runner.announce("Time's up: the pasta timer is done.", ReplySource.skill("timer"))
    second = runner.announce("Reminder: tea.", ReplySource.skill("reminder"))
    assert first is not None and first == second
    assert runner.conversation_id is None  # the named conversation is not where the next turn goes
    assert store.get_conversation(first).title == ANNOUNCEMENTS_TITLE
    # Another process (a new runner, the window without voice) keeps using the same one.
    later = TurnRunner(ScriptedBrain(), store, announcements_title=ANNOUNCEMENTS_TITLE)
    assert later.announce("Time's up: the egg timer is done.", ReplySource.skill("timer")) == first
    assert keep_announcement(store, "Reminder: stretch.", ReplySource.skill("reminder")) == first
    turn = runner.run("hello", ScriptedFront())
    assert turn.conversation_id != first
    titles = [s.conversation.title for s in store.list_conversations()]
    assert titles.count(ANNOUNCEMENTS_TITLE) == 1
    assert [m.content for m in store.get_history(first)] == [
        "Time's up: the pasta timer is done.",
        "Reminder: tea.",
        "Time's up: the egg timer is done.",
        "Reminder: stretch.",
    ]


def test_an_announcement_whose_conversation_was_deleted_is_kept_all_the_same(store: SqlConversationStore) -> None:
    runner = TurnRunner(ScriptedBrain(), store, announcements_title=ANNOUNCEMENTS_TITLE)
    turn = runner.run("hello", ScriptedFront())
    store.delete_conversation(turn.conversation_id)  # the current one, deleted in the history browser
    kept = runner.announce("Time's up: the pasta timer is done.", ReplySource.skill("timer"))
    assert kept is not None and kept != turn.conversation_id
    assert [m.content for m in store.get_history(kept)] == ["Time's up: the pasta timer is done."]
    store.delete_conversation(kept)  # and then the one it went into
    again = runner.announce("Reminder: tea.", ReplySource.skill("reminder"))
    assert again is not None and [m.content for m in store.get_history(again)] == ["Reminder: tea."]


def test_an_announcement_that_cannot_be_kept_is_reported_as_not_kept(store: SqlConversationStore) -> None:
    full = WatchedStore(store)
    runner = TurnRunner(ScriptedBrain(), full, announcements_title=ANNOUNCEMENTS_TITLE)
    full.fail_adds = StorageError(ErrorCode.DISK_FULL, "The disk is full.")
    assert runner.announce("Reminder: tea.", ReplySource.skill("reminder")) is None
    assert keep_announcement(full, "Reminder: tea.", ReplySource.skill("reminder")) is None


# -- threads ----------------------------------------------------------------------------------------------------


def test_a_turn_and_announcements_at_the_same_time_make_one_conversation(store: SqlConversationStore) -> None:
    slow = WatchedStore(store, make_s=0.2)
    runner = TurnRunner(ScriptedBrain(), slow)
    start = threading.Barrier(5)
    kept: list[int | None] = []

    def announce(n: int) -> None:
        start.wait()
        kept.append(runner.announce(f"Reminder {n}.", ReplySource.skill("reminder")))

    def turn() -> None:
        start.wait()
        kept.append(runner.run("hello", ScriptedFront()).conversation_id)

    threads = [threading.Thread(target=announce, args=(n,)) for n in range(4)] + [threading.Thread(target=turn)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert slow.made == 1
    assert len(kept) == 5 and set(kept) == {runner.conversation_id}
    assert len(history(store, kept[0])) == 6


def test_a_new_conversation_asked_while_one_is_made_is_not_lost(store: SqlConversationStore) -> None:
    slow = WatchedStore(store, make_s=0.3)
    runner = TurnRunner(ScriptedBrain(), slow)
    made: list[int] = []
    maker = threading.Thread(target=lambda: made.append(runner.conversation()))
    maker.start()
    time.sleep(0.1)  # the conversation is being made
    runner.new_conversation()
    maker.join(10)
    assert made and runner.conversation_id is None  # made for the asker, but not kept as current
    assert runner.conversation() != made[0]


def test_nothing_is_called_while_the_runner_holds_its_lock(store: SqlConversationStore) -> None:
    """Each call out (the store making a conversation or adding a message, the front end) asks, from another
    thread, for something that takes the runner's lock: it would wait if the lock were held."""
    probing = WatchedStore(store)
    runner = TurnRunner(ScriptedBrain(), probing, announcements_title=ANNOUNCEMENTS_TITLE)
    probes: list[str] = []

    def probe() -> None:
        probes.append("probe")
        returns_at_once(runner.new_conversation)

    class ProbingFront(ScriptedFront):
        def thinking(self) -> bool:
            probe()
            return super().thinking()

        def show(self, piece: ReplyPiece) -> bool:
            probe()
            return super().show(piece)

        def answered(self, reply: CollectedReply) -> None:
            probe()
            super().answered(reply)

        def timings(self, stopped: bool) -> TurnTimings:
            probe()
            return super().timings(stopped)

    probing.before = probe
    runner.announce("Reminder: tea.", ReplySource.skill("reminder"))
    runner.run("hello", ProbingFront())
    runner.announce("Time's up.", ReplySource.skill("timer"))
    runner.run("new", ProbingFront(stop_after=1))
    assert len(probes) >= 12


def test_timings_from_the_front_end_are_kept_as_given(store: SqlConversationStore) -> None:
    class Timed(ScriptedFront):
        def timings(self, stopped: bool) -> TurnTimings:
            stages: Mapping[str, float] = {"release_to_final_ms": 80.0, "preroll_ms": 500.0}
            return TurnTimings(stages, "release_to_done_ms", 900.0)

    outcome = TurnRunner(ScriptedBrain(), store).run("hello", Timed())
    assert outcome.timings == {"release_to_final_ms": 80.0, "preroll_ms": 500.0, "release_to_done_ms": 900.0}
    assert store.get_history(outcome.conversation_id)[-1].timings == outcome.timings
