"""Conversations answered but not kept ("Don't save this conversation", history switched off): the real turn
and assistant on a real SQLite store behind the record switch. Nothing of an unsaved conversation reaches the
database file (its bytes are searched), yet the assistant has its context; what the user asks to be
remembered, and timers, are kept as always; switching back saves the next conversation."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from recorder import Recorder

from desktop_app.core.brain.assistant import Assistant
from desktop_app.core.events import EventHub, ReplyChunk, TurnFinished
from desktop_app.core.off_record import RecordSwitch, is_unsaved
from desktop_app.core.talk_controls import TalkControls
from desktop_app.storage.engine import sqlite_url
from desktop_app.storage.store import SqlConversationStore
from desktop_app.voice import start_text_only

SECRET_WORDS = "zanzibar quokka"


class Talk:
    """The app's text turn behind the talk controls, as the window drives it."""

    def __init__(self, store: SqlConversationStore) -> None:
        self.record = RecordSwitch(store, store.alarms)
        self.hub = EventHub()
        self.events = Recorder()
        self.hub.subscribe(self.events)
        self.voice = start_text_only(self.record, self.hub, Assistant(self.record, self.record.alarms))
        self.controls = TalkControls(self.hub.publish)
        self.controls.attach(self.voice, self.record)

    def ask(self, text: str) -> str:
        finished = len(self.events.of(TurnFinished))
        assert self.controls.ask(text)
        assert self.events.wait_for(TurnFinished, finished + 1), f"no answer to {text!r}"
        chunks = self.events.of(ReplyChunk)
        return chunks[-1].text if chunks else ""

    def close(self) -> None:
        self.voice.close()


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    return tmp_path / "assistant.db"


@pytest.fixture
def talk(db_file: Path) -> Iterator[Talk]:
    store = SqlConversationStore.open(sqlite_url(db_file))
    opened = Talk(store)
    yield opened
    opened.close()
    store.close()


def database_bytes(db_file: Path) -> bytes:
    """The database and its side files, as a person with the disk would read them."""
    return b"".join(path.read_bytes() for path in db_file.parent.glob(db_file.name + "*"))


def stored_messages(db_file: Path) -> list[str]:
    with sqlite3.connect(db_file) as connection:
        return [row[0] for row in connection.execute("SELECT content FROM messages ORDER BY id")]


def test_an_unsaved_conversation_is_answered_with_its_context_and_never_written(talk: Talk, db_file: Path) -> None:
    assert talk.controls.set_private(True)
    talk.ask(f"my code words are {SECRET_WORDS}")
    answer = talk.ask("what did I just ask")  # the history skill reads this conversation: from memory
    assert SECRET_WORDS in answer.lower()
    assert "144" in talk.ask("what is 12 times 12")
    current = talk.voice.pipeline.conversation_id
    assert is_unsaved(current)
    assert len(talk.record.get_history(current or 0)) == 6
    assert stored_messages(db_file) == []
    assert talk.record.list_conversations() == [] and talk.record.search("quokka") == []
    assert SECRET_WORDS.split()[1].encode() not in database_bytes(db_file)


def test_facts_and_timers_asked_for_in_an_unsaved_conversation_are_kept(talk: Talk, db_file: Path) -> None:
    talk.controls.set_private(True)
    talk.ask("remember that my sister is called Ana")
    talk.ask("set a timer for 5 minutes")
    assert [fact.text for fact in talk.record.list_facts()] == ["my sister is called Ana"]
    (timer,) = talk.record.alarms.pending()
    assert timer.conversation_id is None  # kept, without a link to a conversation that is not
    assert stored_messages(db_file) == []


def test_switching_back_saves_the_next_conversation_and_history_off_saves_none(talk: Talk, db_file: Path) -> None:
    talk.controls.set_private(True)
    talk.ask("what time is it")
    talk.controls.set_private(False)
    talk.ask("what is 2 plus 2")
    assert stored_messages(db_file)[0] == "what is 2 plus 2" and len(stored_messages(db_file)) == 2
    assert not is_unsaved(talk.voice.pipeline.conversation_id)
    talk.record.history_on = False  # history.save off (AppServices follows the setting this way)
    talk.controls.new_conversation()
    talk.ask("what is 3 plus 3")
    assert len(stored_messages(db_file)) == 2


def test_before_the_turn_runs_the_switch_says_so_and_changes_nothing(db_file: Path) -> None:
    store = SqlConversationStore.open(sqlite_url(db_file))
    try:
        seen = Recorder()
        controls = TalkControls(seen)
        assert controls.set_private(True) is False
        record = RecordSwitch(store, store.alarms)
        assert record.saving and not record.private
    finally:
        store.close()


@pytest.mark.slow
def test_an_unsaved_answer_is_spoken_but_its_speech_is_not_cached(pulse_audio, data_dir: Path) -> None:
    """The speaker keeps each sentence it renders on disk (speech.tts_cache) so that it starts at once next
    time; an answer in a conversation that is not saved is spoken, and not kept there either."""
    from desktop_app.core.events import SpeakingFinished
    from desktop_app.core.settings import Settings
    from desktop_app.paths import AppPaths
    from desktop_app.voice import start_voice

    paths = AppPaths.resolve(data_dir).ensure()
    store = SqlConversationStore.open(sqlite_url(paths.database_file))
    record = RecordSwitch(store, store.alarms)
    hub = EventHub()
    heard = Recorder()
    hub.subscribe(heard)
    services = start_voice(Settings(paths.settings_file), paths, record, hub, Assistant(record, record.alarms))
    controls = TalkControls(hub.publish)
    controls.attach(services, record)
    cached = paths.cache_dir / "speech"

    def spoken_answer(question: str) -> None:
        finished = len(heard.of(SpeakingFinished))
        assert controls.ask(question)
        assert heard.wait_for(SpeakingFinished, finished + 1), f"{question!r} was not answered aloud"
        (end,) = heard.of(SpeakingFinished)[finished:]
        assert not end.interrupted

    try:
        assert controls.set_private(True)
        spoken_answer("what is 7 times 6")
        assert not any(cached.glob("**/*.pcm")) and stored_messages(paths.database_file) == []
        assert controls.set_private(False)
        spoken_answer("what is 7 times 6")
        assert any(cached.glob("**/*.pcm"))
        deadline = time.monotonic() + 10  # the answer is kept once it has been said
        while len(stored_messages(paths.database_file)) < 2:
            assert time.monotonic() < deadline, stored_messages(paths.database_file)
            time.sleep(0.05)
    finally:
        services.close()
        store.close()
