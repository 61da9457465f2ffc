"""One spoken reply's life, and the order of its sentences. Starts no thread and plays nothing.

A reply's text streams in (`add_text`, `end`); the sentence splitter (core.sentences) passes on each
complete sentence at once, numbered within its reply, to be rendered and played in that order. The reply's
life is one state:

    NEW ──add_text──▶ OPEN ──end──▶ CLOSING ──every clip over──▶ DONE
     └──────────────end──────────────▲
    NEW, OPEN, CLOSING ──interrupt (stop), begin (the next reply), fail──▶ INTERRUPTED

  * NEW: begun by `begin()`; nothing received yet. Cut short now, it ends without a word.
  * OPEN: text arriving; each complete sentence is sent to be rendered.
  * CLOSING: `end()` came: DONE as soon as every sentence sent has played (at once when there is none).
    Text that still arrives joins it (a further `end()` says what it left unfinished).
  * DONE: everything played: SpeakingFinished(interrupted=False). Text now starts a new reply.
  * INTERRUPTED: `interrupt()`, `begin()` or `fail()` cut it short. Its sentences and clips are ignored from
    then on, and its text is dropped until the next `begin()`. A reply that had begun (was not NEW)
    announces SpeakingFinished(interrupted=True) once the player is silent (`finish_cut`).

So every reply that received text or `end()` ends with exactly one SpeakingFinished, and SpeakingStarted
comes at most once, when its first clip reaches the device.

Thread-safe. Under its one lock the queue only changes state and queues: `send` (a sentence for the engine)
and `announce` (an event for the listener) must return at once (a SimpleQueue put). Queuing under the lock
keeps the sentences and the events in the order their changes happened; nothing else is called there.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from desktop_app.core.errors import AppError
from desktop_app.core.events import Event, SpeakingFinished, SpeakingStarted, TurnFailed
from desktop_app.core.sentences import DEFAULT_MAX_CHARS, SentenceSplitter


class ReplyState(Enum):
    NEW = "new"
    OPEN = "open"
    CLOSING = "closing"
    DONE = "done"
    INTERRUPTED = "interrupted"


# Every move a reply may make; anything else is a bug.
TRANSITIONS: dict[ReplyState, frozenset[ReplyState]] = {
    ReplyState.NEW: frozenset({ReplyState.OPEN, ReplyState.CLOSING, ReplyState.INTERRUPTED}),
    ReplyState.OPEN: frozenset({ReplyState.CLOSING, ReplyState.INTERRUPTED}),
    ReplyState.CLOSING: frozenset({ReplyState.DONE, ReplyState.INTERRUPTED}),
    ReplyState.DONE: frozenset(),
    ReplyState.INTERRUPTED: frozenset(),
}
LIVE = frozenset({ReplyState.NEW, ReplyState.OPEN, ReplyState.CLOSING})


@dataclass
class ReplyTimings:
    """Monotonic times for one reply; the benchmark reads these."""

    first_text_at: float | None = None  # the add_text()/end_reply() call that completed the first sentence
    first_audio_at: float | None = None  # when the first sound reached the device (SpeakingStarted.at)
    first_render_seconds: float | None = None
    first_cached: bool | None = None
    sentences: list[str] = field(default_factory=list)
    rendered_at: list[float] = field(default_factory=list)  # when each sentence was ready to play
    clip_starts: list[float] = field(default_factory=list)  # when each sentence's sound began at the device
    clip_ends: list[float] = field(default_factory=list)  # ... and ended
    finished_at: float | None = None
    interrupted: bool | None = None

    @property
    def first_audio_latency(self) -> float | None:
        """Seconds from the first complete sentence of text to its first sound."""
        if self.first_text_at is None or self.first_audio_at is None:
            return None
        return self.first_audio_at - self.first_text_at


@dataclass(frozen=True, slots=True)
class Sentence:
    """One sentence to render and play; it is also the tag of its clip in the player."""

    reply_id: int
    index: int  # 0 for the reply's first
    text: str


@dataclass
class Reply:
    id: int
    splitter: SentenceSplitter
    state: ReplyState = ReplyState.NEW
    sent: int = 0  # sentences sent to be rendered
    played: int = 0  # of them, clips over (played to the end or cut short)
    timings: ReplyTimings = field(default_factory=ReplyTimings)


@dataclass(frozen=True, slots=True)
class Cut:
    """A live reply just moved to INTERRUPTED. Whoever cut it silences the player, then calls `finish_cut`."""

    reply: Reply
    owes_finish: bool  # it had begun (was not NEW): SpeakingFinished(interrupted=True) is due


class ReplyQueue:
    def __init__(
        self,
        send: Callable[[Sentence], None],
        announce: Callable[[Event], None],
        max_sentence_chars: int = DEFAULT_MAX_CHARS,
    ) -> None:
        self._send = send
        self._announce = announce
        self._max_sentence_chars = max_sentence_chars
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._current: Reply | None = None
        self._last_begun: Reply | None = None  # the latest reply that received text or end()
        self._closed = False

    # -- from the Speaker's callers ---------------------------------------------------------------------

    def begin(self) -> Cut | None:
        """A new reply (NEW) becomes current; the one it replaces is cut short when it was live."""
        with self._lock:
            old = self._current
            self._current = self._new_reply()
            return self._cut(old)

    def add_text(self, text: str, now: float) -> None:
        with self._lock:
            reply = self._reply_for_text()
            if reply is None:
                return
            if reply.state is ReplyState.NEW:
                self._move(reply, ReplyState.OPEN)
            self._send_sentences(reply, reply.splitter.feed(text), now)

    def end(self, now: float) -> None:
        with self._lock:
            reply = self._reply_for_text()
            if reply is None:
                return
            if reply.state is not ReplyState.CLOSING:
                self._move(reply, ReplyState.CLOSING)
            self._send_sentences(reply, reply.splitter.flush(), now)
            self._finish_if_played(reply, now)

    def interrupt(self) -> Cut | None:
        """Cuts the current reply short when it is live (stop())."""
        with self._lock:
            return self._cut(self._current)

    def close(self) -> bool:
        """No more text is taken from now on; False when already closed."""
        with self._lock:
            was_open, self._closed = not self._closed, True
            return was_open

    # -- from the engine and the player -----------------------------------------------------------------

    def is_live(self, reply_id: int) -> bool:
        with self._lock:
            return self._live(reply_id) is not None

    def rendered(self, sentence: Sentence, render_seconds: float, cached: bool, at: float) -> bool:
        """`sentence` is ready to play: True when its reply is still live (then its timings are noted)."""
        with self._lock:
            reply = self._live(sentence.reply_id)
            if reply is None:
                return False
            reply.timings.rendered_at.append(at)
            if sentence.index == 0:
                reply.timings.first_render_seconds = render_seconds
                reply.timings.first_cached = cached
            return True

    def clip_started(self, sentence: Sentence, at: float) -> None:
        with self._lock:
            reply = self._live(sentence.reply_id)
            if reply is None:
                return
            reply.timings.clip_starts.append(at)
            if reply.timings.first_audio_at is None:
                reply.timings.first_audio_at = at
                self._announce(SpeakingStarted(sentence.text, at=at))

    def clip_finished(self, sentence: Sentence, at: float) -> None:
        """Its clip is over, played or cut short."""
        with self._lock:
            reply = self._live(sentence.reply_id)
            if reply is None:
                return
            reply.timings.clip_ends.append(at)
            reply.played += 1
            self._finish_if_played(reply, at)

    def fail(self, reply_id: int | None, error: AppError) -> Cut | None:
        """The current reply (when `reply_id` is None, or it is that one) failed: when it is live, TurnFailed
        is announced and it is cut short."""
        with self._lock:
            reply = self._current
            if reply is None or reply.state not in LIVE or reply_id not in (None, reply.id):
                return None
            self._announce(TurnFailed(error.code, error.message))
            return self._cut(reply)

    def finish_cut(self, cut: Cut, at: float) -> None:
        """The player is silent since `at`: the cut reply's end is noted and, when due, announced."""
        with self._lock:
            cut.reply.timings.finished_at = at
            cut.reply.timings.interrupted = True
            if cut.owes_finish:
                self._announce(SpeakingFinished(True, at=at))

    # -- reading ---------------------------------------------------------------------------------------

    @property
    def state(self) -> ReplyState | None:
        """The current reply's state; None before the first."""
        with self._lock:
            return None if self._current is None else self._current.state

    def pending(self) -> bool:
        """The current reply has sentences sent whose clips are not over yet."""
        with self._lock:
            reply = self._current
            return reply is not None and reply.state in LIVE and reply.sent > reply.played

    def last_timings(self) -> ReplyTimings | None:
        """The timings of the latest reply that received text or end()."""
        with self._lock:
            return None if self._last_begun is None else self._last_begun.timings

    # -- with the lock held ----------------------------------------------------------------------------

    def _new_reply(self) -> Reply:
        return Reply(next(self._ids), SentenceSplitter(self._max_sentence_chars))

    def _reply_for_text(self) -> Reply | None:
        """The reply text goes to: the current one, or a new one when there is none or the last is DONE.
        None once closed, and after a cut until the next begin(): an interrupted reply's text is not said."""
        if self._closed:
            return None
        reply = self._current
        if reply is None or reply.state is ReplyState.DONE:
            reply = self._current = self._new_reply()
        return None if reply.state is ReplyState.INTERRUPTED else reply

    def _live(self, reply_id: int) -> Reply | None:
        reply = self._current
        if reply is None or reply.id != reply_id or reply.state not in LIVE:
            return None
        return reply

    def _move(self, reply: Reply, to: ReplyState) -> None:
        if to not in TRANSITIONS[reply.state]:
            raise RuntimeError(f"reply {reply.id} cannot go from {reply.state.name} to {to.name}")
        if reply.state is ReplyState.NEW and to is not ReplyState.INTERRUPTED:
            self._last_begun = reply  # it received text or end(): its timings are the ones to read now
        reply.state = to

    def _send_sentences(self, reply: Reply, sentences: list[str], now: float) -> None:
        for text in sentences:
            if not any(char.isalnum() for char in text):
                continue  # nothing to say ("...", "-")
            if reply.timings.first_text_at is None:
                reply.timings.first_text_at = now
            reply.timings.sentences.append(text)
            self._send(Sentence(reply.id, reply.sent, text))
            reply.sent += 1

    def _finish_if_played(self, reply: Reply, at: float) -> None:
        if reply.state is ReplyState.CLOSING and reply.played >= reply.sent:
            self._move(reply, ReplyState.DONE)
            reply.timings.finished_at = at
            reply.timings.interrupted = False
            self._announce(SpeakingFinished(False, at=at))

    def _cut(self, reply: Reply | None) -> Cut | None:
        if reply is None or reply.state not in LIVE:
            return None
        owes_finish = reply.state is not ReplyState.NEW
        self._move(reply, ReplyState.INTERRUPTED)
        return Cut(reply, owes_finish)
