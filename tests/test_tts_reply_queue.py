"""A spoken reply's life (speech.reply_queue) without sound: the sentences it sends, the events it announces
and the state it is in, as text, clips, stops and failures arrive."""

from __future__ import annotations

import threading

import pytest

from desktop_app.core.errors import AppError, ErrorCode
from desktop_app.core.events import Event, SpeakingFinished, SpeakingStarted, TurnFailed
from desktop_app.speech.reply_queue import LIVE, TRANSITIONS, Cut, ReplyQueue, ReplyState, Sentence

RENDER_FAILED = AppError(ErrorCode.TTS_RENDER_FAILED, "This answer could not be spoken; it is shown.")


class Sink:
    """What the queue sent to be rendered and announced."""

    def __init__(self) -> None:
        self.sentences: list[Sentence] = []
        self.events: list[Event] = []

    def kinds(self) -> list[type]:
        return [type(event) for event in self.events]


@pytest.fixture
def sink() -> Sink:
    return Sink()


@pytest.fixture
def replies(sink: Sink) -> ReplyQueue:
    return ReplyQueue(sink.sentences.append, sink.events.append)


def play(replies: ReplyQueue, sentence: Sentence, start: float, end: float) -> None:
    """The sentence is rendered, and its clip heard from `start` to `end`."""
    assert replies.rendered(sentence, 0.05, False, start - 0.01)
    replies.clip_started(sentence, start)
    replies.clip_finished(sentence, end)


def test_a_reply_is_sent_sentence_by_sentence_and_ends_done_when_all_is_played(replies: ReplyQueue, sink: Sink) -> None:
    assert replies.state is None
    assert replies.begin() is None
    assert replies.state is ReplyState.NEW
    replies.add_text("Good morning. It is", now=1.0)
    assert replies.state is ReplyState.OPEN
    assert sink.sentences == [Sentence(1, 0, "Good morning.")]  # complete: sent at once
    replies.add_text(" ten to four", now=1.1)
    replies.end(now=1.2)
    assert replies.state is ReplyState.CLOSING
    first, second = sink.sentences
    assert second == Sentence(1, 1, "It is ten to four")
    assert replies.pending()

    assert replies.rendered(first, 0.05, False, 1.3)
    replies.clip_started(first, 1.4)
    assert sink.events == [SpeakingStarted("Good morning.", at=1.4)]
    replies.clip_finished(first, 2.0)
    assert replies.state is ReplyState.CLOSING  # one more to play
    play(replies, second, 2.0, 3.5)

    assert replies.state is ReplyState.DONE
    assert sink.events == [SpeakingStarted("Good morning.", at=1.4), SpeakingFinished(False, at=3.5)]
    assert not replies.pending()
    timings = replies.last_timings()
    assert timings is not None
    assert timings.sentences == ["Good morning.", "It is ten to four"]
    assert (timings.first_text_at, timings.first_audio_at, timings.finished_at) == (1.0, 1.4, 3.5)
    assert timings.first_audio_latency == pytest.approx(0.4)
    assert timings.clip_starts == [1.4, 2.0]
    assert timings.clip_ends == [2.0, 3.5]
    assert timings.interrupted is False


def test_stop_while_a_sentence_renders_drops_it_and_ends_interrupted_once_silent(
    replies: ReplyQueue, sink: Sink
) -> None:
    replies.begin()
    replies.add_text("This is being rendered. And", now=1.0)
    (sentence,) = sink.sentences

    cut = replies.interrupt()
    assert cut is not None and cut.owes_finish
    assert replies.state is ReplyState.INTERRUPTED
    assert not replies.is_live(sentence.reply_id)
    assert not replies.rendered(sentence, 0.05, False, 1.1)  # the engine does not hand it to the player
    assert not replies.pending()
    assert sink.events == []  # said once the player is silent
    replies.finish_cut(cut, at=1.02)
    assert sink.events == [SpeakingFinished(True, at=1.02)]
    timings = replies.last_timings()
    assert timings is not None and (timings.finished_at, timings.interrupted) == (1.02, True)

    # Text of the interrupted reply is not said; the next reply is.
    replies.add_text("Nor is this. ", now=1.2)
    replies.end(now=1.3)
    assert replies.interrupt() is None
    assert len(sink.sentences) == 1 and len(sink.events) == 1
    assert replies.begin() is None
    replies.add_text("Next one. And", now=2.0)
    assert sink.sentences[-1] == Sentence(2, 0, "Next one.")


def test_stop_between_sentences_ignores_what_the_player_reports_afterwards(replies: ReplyQueue, sink: Sink) -> None:
    replies.begin()
    replies.add_text("One. Two. Three. Four", now=1.0)
    first, second, third = sink.sentences
    play(replies, first, 1.1, 1.5)
    assert replies.rendered(second, 0.05, False, 1.2)  # queued in the player, not heard yet

    cut = replies.interrupt()
    assert cut is not None
    replies.clip_finished(second, 1.51)  # the player drops it
    replies.clip_started(third, 1.6)  # (cannot happen; ignored all the same)
    assert replies.state is ReplyState.INTERRUPTED
    replies.finish_cut(cut, at=1.51)
    assert sink.events == [SpeakingStarted("One.", at=1.1), SpeakingFinished(True, at=1.51)]


def test_a_reply_with_nothing_to_say_ends_done_at_once(replies: ReplyQueue, sink: Sink) -> None:
    replies.begin()
    replies.add_text("  ... ", now=1.0)
    assert replies.state is ReplyState.OPEN
    replies.end(now=1.1)
    assert sink.sentences == []
    assert replies.state is ReplyState.DONE  # type: ignore[comparison-overlap]  # the call above changed it
    assert sink.events == [SpeakingFinished(False, at=1.1)]
    assert replies.interrupt() is None  # over already: nothing to cut


def test_end_alone_ends_the_reply(replies: ReplyQueue, sink: Sink) -> None:
    replies.begin()
    replies.end(now=1.0)
    assert replies.state is ReplyState.DONE
    assert sink.events == [SpeakingFinished(False, at=1.0)]


def test_stop_before_any_text_ends_the_reply_without_a_word(replies: ReplyQueue, sink: Sink) -> None:
    replies.begin()
    cut = replies.interrupt()
    assert cut is not None and not cut.owes_finish
    replies.finish_cut(cut, at=1.0)
    assert replies.state is ReplyState.INTERRUPTED
    assert sink.events == []
    assert replies.last_timings() is None
    replies.add_text("Dropped. ", now=1.1)
    assert sink.sentences == []


def test_a_render_failure_is_a_turn_failure_then_the_end(replies: ReplyQueue, sink: Sink) -> None:
    replies.begin()
    replies.add_text("Good morning. Good night. Bye", now=1.0)
    first, second = sink.sentences

    cut = replies.fail(first.reply_id, RENDER_FAILED)
    assert cut is not None and cut.owes_finish
    assert replies.state is ReplyState.INTERRUPTED
    assert not replies.is_live(second.reply_id)  # the next sentence is not rendered
    replies.finish_cut(cut, at=1.2)
    assert sink.kinds() == [TurnFailed, SpeakingFinished]
    failed, finished = sink.events
    assert isinstance(failed, TurnFailed) and failed.code == ErrorCode.TTS_RENDER_FAILED
    assert failed.message == RENDER_FAILED.message
    assert finished == SpeakingFinished(True, at=1.2)
    # A second failure of the same reply (the player's, say) is not reported again.
    assert replies.fail(first.reply_id, RENDER_FAILED) is None
    assert replies.fail(None, RENDER_FAILED) is None
    assert len(sink.events) == 2


def test_a_failure_of_a_reply_already_replaced_is_ignored(replies: ReplyQueue, sink: Sink) -> None:
    replies.begin()
    replies.add_text("Old. Gone", now=1.0)
    old = sink.sentences[0]
    cut = replies.begin()
    assert cut is not None and cut.reply.id == old.reply_id
    assert replies.fail(old.reply_id, RENDER_FAILED) is None
    assert replies.state is ReplyState.NEW


def test_a_device_failure_before_any_text_is_reported_without_an_end(replies: ReplyQueue, sink: Sink) -> None:
    replies.begin()
    lost = AppError(ErrorCode.AUDIO_OUTPUT_UNAVAILABLE, "The speaker stopped working.")
    cut = replies.fail(None, lost)
    assert cut is not None and not cut.owes_finish
    replies.finish_cut(cut, at=1.0)
    assert sink.kinds() == [TurnFailed]


def test_the_next_reply_cuts_short_the_one_still_playing(replies: ReplyQueue, sink: Sink) -> None:
    replies.begin()
    replies.add_text("First reply. And", now=1.0)
    old = sink.sentences[0]
    replies.rendered(old, 0.05, False, 1.1)
    replies.clip_started(old, 1.2)

    cut = replies.begin()
    assert isinstance(cut, Cut) and cut.owes_finish
    replies.clip_finished(old, 1.3)  # cut short by the player: no longer this reply's business
    replies.finish_cut(cut, at=1.3)
    replies.add_text("Second reply. ", now=1.4)
    replies.end(now=1.4)
    new = sink.sentences[1]
    assert new == Sentence(2, 0, "Second reply.")
    play(replies, new, 1.5, 2.0)
    assert sink.events == [
        SpeakingStarted("First reply.", at=1.2),
        SpeakingFinished(True, at=1.3),
        SpeakingStarted("Second reply.", at=1.5),
        SpeakingFinished(False, at=2.0),
    ]


def test_text_after_a_finished_reply_starts_the_next_one(replies: ReplyQueue, sink: Sink) -> None:
    replies.add_text("No begin() needed. ", now=1.0)  # the very first reply, too
    replies.end(now=1.0)
    play(replies, sink.sentences[0], 1.1, 1.5)
    assert replies.state is ReplyState.DONE
    replies.add_text("Another. And", now=2.0)
    assert replies.state is ReplyState.OPEN  # type: ignore[comparison-overlap]  # the call above changed it
    assert sink.sentences[-1] == Sentence(2, 0, "Another.")


def test_text_after_end_joins_the_closing_reply(replies: ReplyQueue, sink: Sink) -> None:
    replies.begin()
    replies.add_text("One. ", now=1.0)
    replies.end(now=1.0)
    replies.add_text("Two. ", now=1.1)
    replies.end(now=1.1)  # says the rest
    assert replies.state is ReplyState.CLOSING
    assert [s.index for s in sink.sentences] == [0, 1]
    play(replies, sink.sentences[0], 1.2, 1.5)
    assert replies.state is ReplyState.CLOSING  # "Two." is still to play
    play(replies, sink.sentences[1], 1.5, 2.0)
    assert replies.state is ReplyState.DONE  # type: ignore[comparison-overlap]  # the call above changed it


def test_end_after_every_clip_is_over_ends_at_once(replies: ReplyQueue, sink: Sink) -> None:
    replies.begin()
    replies.add_text("Quick.\n", now=1.0)  # a line break ends it at once
    play(replies, sink.sentences[0], 1.1, 1.3)
    assert replies.state is ReplyState.OPEN  # more text may come
    replies.end(now=2.0)
    assert sink.events[-1] == SpeakingFinished(False, at=2.0)


def test_the_timings_are_the_latest_reply_that_received_anything(replies: ReplyQueue, sink: Sink) -> None:
    assert replies.last_timings() is None
    replies.begin()
    replies.add_text("First. And", now=1.0)
    first = replies.last_timings()
    assert first is not None and first.sentences == ["First."]
    cut = replies.begin()
    assert cut is not None
    replies.finish_cut(cut, at=1.1)
    assert replies.last_timings() is first  # the new reply has received nothing yet
    replies.add_text("Second. And", now=1.2)
    second = replies.last_timings()
    assert second is not None and second is not first and second.sentences == ["Second."]


def test_a_closed_queue_takes_no_more_text(replies: ReplyQueue, sink: Sink) -> None:
    assert replies.close()
    assert not replies.close()
    replies.add_text("Too late. ", now=1.0)
    replies.end(now=1.0)
    assert sink.sentences == [] and sink.events == []


def test_sentences_keep_their_order_when_text_comes_from_several_threads(replies: ReplyQueue, sink: Sink) -> None:
    replies.begin()
    go = threading.Barrier(4)

    def feed() -> None:
        go.wait()
        for _ in range(200):
            replies.add_text("Yes. ", now=1.0)

    threads = [threading.Thread(target=feed) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(sink.sentences) == 799  # the last "Yes." waits for what follows it
    assert [s.index for s in sink.sentences] == list(range(799))  # sent in the order they were numbered


def test_every_state_is_reached_from_new_and_done_and_interrupted_are_final() -> None:
    assert set(TRANSITIONS) == set(ReplyState)
    assert {state for state, moves in TRANSITIONS.items() if moves} == LIVE
    reached = {ReplyState.NEW}
    while True:
        more = set().union(*(TRANSITIONS[state] for state in reached)) - reached
        if not more:
            break
        reached |= more
    assert reached == set(ReplyState)
    for state in LIVE:
        assert ReplyState.INTERRUPTED in TRANSITIONS[state]  # stop() works in every live state


def test_a_move_the_table_does_not_allow_is_a_bug(replies: ReplyQueue, sink: Sink) -> None:
    replies.begin()
    replies.end(now=1.0)
    reply = replies._current
    assert reply is not None and reply.state is ReplyState.DONE
    with pytest.raises(RuntimeError, match="DONE to OPEN"):
        replies._move(reply, ReplyState.OPEN)
