"""One turn, whoever asks it (the voice loop, `voice-assistant ask`): the question is kept, the brain is
asked, each piece of the answer goes to the front end as it comes, and the answer is kept (whole, or as far
as it was shown when the turn was stopped or the brain failed part-way), then the reply's action is done.
Announcements (a timer ran out) are kept in the same conversation.

Front ends only feed it: the front end shows and says the pieces, decides when the turn is stopped (its
cancel event, and `show` refusing a piece) and times it.

Locks: one per conversation it keeps track of (the current one, the one for announcements), guarding only
which conversation that is; the store, the brain and the front end are never called while one is held.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Protocol

from desktop_app.core.errors import AppError, ErrorCode, NotFoundError
from desktop_app.core.models import INTERRUPTED_AT_MS, SPOKEN_CHARS, Role, spoken_prefix_length
from desktop_app.core.ports import Brain, CollectedReply, ConversationStore, ReplyAction, ReplyPiece
from desktop_app.core.reply_source import ReplySource

log = logging.getLogger(__name__)

# Where announcements go when no conversation is under way (the window without voice).
ANNOUNCEMENTS_TITLE = "Timers and reminders"
# How many of the latest conversations are looked through for the one named for announcements.
NAMED_LOOKUP = 50
# How long a thread waits for a conversation another thread is making.
STORE_BOUND_S = 10.0


@dataclass(frozen=True, slots=True)
class TurnTimings:
    """How long a turn took, as its front end measures it. `total_ms` is kept under `total_key` when the
    answer was complete, and under INTERRUPTED_AT_MS when it was stopped; `spoken` are the sentences of it
    that started playing (how much of a stopped answer was heard)."""

    stages: Mapping[str, float]
    total_key: str
    total_ms: float
    spoken: Sequence[str] = ()


class TurnFront(Protocol):
    """What a turn is run for: the window's voice turn, a terminal."""

    def thinking(self) -> bool:
        """The question is kept and the brain is about to be asked; False when the turn was stopped
        meanwhile (the brain is not asked)."""
        ...

    def show(self, piece: ReplyPiece) -> bool:
        """Shows (and says) a piece of the answer; False when the turn was stopped first: the piece was not
        shown, and the answer ends here."""
        ...

    def answered(self, reply: CollectedReply) -> None:
        """The brain is done and the turn was not stopped: finish saying the answer (a bounded wait)."""
        ...

    def timings(self, stopped: bool) -> TurnTimings:
        """The turn's figures, to the end of the answer or (`stopped`) to when the turn was stopped."""
        ...


@dataclass(frozen=True, slots=True)
class TurnOutcome:
    """`stopped`: the turn was stopped before its answer was complete (what was shown of it is kept).
    `timings`: as kept with the answer; empty when no answer was kept."""

    conversation_id: int
    reply: CollectedReply
    stopped: bool
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def failure(self) -> ErrorCode | None:
        """Why the answer is a failure's message, when it is."""
        return self.reply.error


class TurnRunner:
    def __init__(
        self,
        brain: Brain,
        store: ConversationStore,
        *,
        conversation_id: int | None = None,
        announcements_title: str | None = None,
    ) -> None:
        """`conversation_id`: the conversation to continue (None: one is made at the first turn).
        `announcements_title`: announcements made while no conversation is under way go to the conversation
        of that name (found among the latest, or made once); without it they start the current one."""
        self._brain = brain
        self._store = store
        self._current = _MadeOnce(lambda: store.create_conversation().id, conversation_id)
        self._named = (
            _MadeOnce(lambda: named_conversation(store, announcements_title))
            if announcements_title is not None
            else None
        )

    @property
    def conversation_id(self) -> int | None:
        """The current conversation; None until the next turn or announcement makes one."""
        return self._current.peek()

    def conversation(self) -> int:
        """The current conversation, made when there is none."""
        return self._current.get()

    def new_conversation(self) -> None:
        """The next turn starts a new conversation."""
        self._current.forget()

    def _add_message(
        self, into: _MadeOnce, role: Role, text: str, source: ReplySource | None = None, *, instead: _MadeOnce
    ) -> int:
        """Keeps a message in `into`'s conversation, or, when that one was deleted meanwhile (from the
        history browser, or by the keep-for rule), in `instead`'s, made anew; the conversation it went into."""
        conversation_id = into.get()
        try:
            self._store.add_message(conversation_id, role, text, source=source)
        except NotFoundError:
            into.forget()
            conversation_id = instead.get()
            self._store.add_message(conversation_id, role, text, source=source)
        return conversation_id

    def continue_conversation(self, conversation_id: int) -> None:
        """The next turn goes into this earlier conversation (it must exist: NotFoundError otherwise)."""
        self._current.use(self._store.get_conversation(conversation_id).id)

    def run(self, question: str, front: TurnFront, cancel: threading.Event | None = None) -> TurnOutcome:
        """Runs one turn. The question is kept before the brain is asked, so it is kept whatever happens
        next. `cancel` set stops the answer (the brain is given it too). An exception from the brain is
        raised again once what was shown of the answer is kept."""
        cancel = cancel if cancel is not None else threading.Event()
        conversation_id = self._add_message(self._current, Role.USER, question, instead=self._current)
        reply = CollectedReply()
        if not front.thinking():
            return TurnOutcome(conversation_id, reply, stopped=True)
        try:
            stopped = not self._collect(question, conversation_id, front, cancel, reply) or cancel.is_set()
            if not stopped:
                front.answered(reply)
        except Exception:
            self._keep_stopped(conversation_id, reply, front)
            raise
        if stopped or cancel.is_set():  # stopped while it was written or said: kept as far as it was shown
            return TurnOutcome(conversation_id, reply, True, self._keep_stopped(conversation_id, reply, front))
        timings = front.timings(stopped=False)
        figures = {**timings.stages, timings.total_key: timings.total_ms}
        self._keep(conversation_id, reply, figures)
        if reply.action is ReplyAction.NEW_CONVERSATION:
            self.new_conversation()
        return TurnOutcome(conversation_id, reply, False, figures)

    def announce(self, text: str, source: ReplySource) -> int | None:
        """Keeps something said unprompted in the current conversation (or, when there is none and the
        runner has a conversation for announcements, in that one). Returns where it was kept; None when it
        could not be (a read-only or full store): it is still to be shown and said."""
        # With no conversation under way (also once the current one was deleted), the named one.
        elsewhere = self._named or self._current
        into = self._current if self._current.peek() is not None else elsewhere
        try:
            return self._add_message(into, Role.ASSISTANT, text, source, instead=elsewhere)
        except AppError as error:
            log.warning("an announcement could not be kept: %s", error.message)
            return None

    def _collect(
        self, question: str, conversation_id: int, front: TurnFront, cancel: threading.Event, reply: CollectedReply
    ) -> bool:
        """Collects what the front end shows; False when it refused a piece (the turn was stopped)."""
        answer = self._brain.reply(question, conversation_id, cancel)
        try:
            for piece in answer:
                if not front.show(piece):
                    return False
                reply.add(piece)  # what was shown, and only that
        finally:
            answer.close()  # a stopped turn ends the brain's stream (and a model's request) now
        return True

    def _keep_stopped(self, conversation_id: int, reply: CollectedReply, front: TurnFront) -> dict[str, float]:
        """What was shown of a stopped answer, marked with when it was stopped and how much of it had been
        said (see core.models.Message.interrupted and .spoken_text)."""
        if not reply.parts:
            return {}  # nothing was shown
        timings = front.timings(stopped=True)
        figures = {
            **timings.stages,
            INTERRUPTED_AT_MS: timings.total_ms,
            SPOKEN_CHARS: float(spoken_prefix_length(reply.text, list(timings.spoken))),
        }
        log.info("kept an interrupted answer")
        self._keep(conversation_id, reply, figures)
        return figures

    def _keep(self, conversation_id: int, reply: CollectedReply, figures: dict[str, float]) -> None:
        self._store.add_message(
            conversation_id,
            Role.ASSISTANT,
            reply.text,
            timings=figures,
            source=reply.source,
            tokens_input=reply.tokens_input,
            tokens_output=reply.tokens_output,
        )


def named_conversation(store: ConversationStore, title: str) -> int:
    """The latest conversation called `title`, made when none of the latest NAMED_LOOKUP is."""
    for summary in store.list_conversations(limit=NAMED_LOOKUP):
        if summary.conversation.title == title:
            return summary.conversation.id
    return store.create_conversation(title).id


def keep_announcement(
    store: ConversationStore, text: str, source: ReplySource, title: str = ANNOUNCEMENTS_TITLE
) -> int | None:
    """An announcement with no turn runner around (the window without voice): kept in the conversation named
    `title`, as a runner made with that title keeps it. None when it could not be kept."""
    try:
        conversation_id = named_conversation(store, title)
        store.add_message(conversation_id, Role.ASSISTANT, text, source=source)
    except AppError as error:
        log.warning("an announcement could not be kept: %s", error.message)
        return None
    return conversation_id


class _MadeOnce:
    """A conversation made on first use: once however many threads ask at the same time (a turn and an
    announcement), and never while the lock is held."""

    def __init__(self, make: Callable[[], int], made: int | None = None) -> None:
        self._make = make
        self._lock = threading.Lock()
        self._id = made
        self._pending: Future[int] | None = None
        self._generation = 0  # counts `forget`s: one made meanwhile is not kept as the current one

    def peek(self) -> int | None:
        return self._id

    def forget(self) -> None:
        with self._lock:
            self._id = None
            self._generation += 1

    def use(self, made: int) -> None:
        """`made` is the current one from now on (one being made meanwhile is not kept)."""
        with self._lock:
            self._id = made
            self._generation += 1

    def get(self) -> int:
        with self._lock:
            if self._id is not None:
                return self._id
            pending = self._pending
            generation = self._generation
            owner = pending is None
            if pending is None:
                pending = self._pending = Future()
        if not owner:
            try:
                return pending.result(timeout=STORE_BOUND_S)
            except FutureTimeout:
                raise AppError(ErrorCode.DB_BUSY, "The conversation could not be started in time.") from None
        try:
            made = self._make()
        except BaseException as error:
            with self._lock:
                self._pending = None
            pending.set_exception(error)
            raise
        with self._lock:
            self._pending = None
            if self._generation == generation:
                self._id = made
        pending.set_result(made)
        return made
