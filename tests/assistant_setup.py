"""An assistant on a real SQLite store with a clock the test moves (no sleeping)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from desktop_app.brain import connect_model
from desktop_app.core.brain.assistant import Assistant
from desktop_app.core.brain.language_model import LanguageModel
from desktop_app.core.ports import CollectedReply, ReplyPiece
from desktop_app.core.settings import Settings
from desktop_app.storage.engine import sqlite_url
from desktop_app.storage.store import SqlConversationStore

# A fixed zone away from UTC, so a mix-up between local time and stored UTC shows.
ZONE = timezone(timedelta(hours=1), "CET")


@dataclass
class Clock:
    moment: datetime = field(default_factory=lambda: datetime(2026, 12, 1, 10, 0, tzinfo=ZONE))

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **span: float) -> None:
        self.moment += timedelta(**span)


def local_model(store: SqlConversationStore, base_url: str, settings: Settings | None = None) -> LanguageModel:
    """The language model as the app builds it, pointed at the test's local server (no key needed)."""
    settings = settings if settings is not None else Settings(None)
    settings.set("llm.base_url", base_url)
    settings.set("llm.model", "test-model")
    return LanguageModel(settings, store, store.keys, keys=None, connect=connect_model)


class Conversation:
    """Says things to the assistant the way the voice loop does: the question is stored, then answered,
    then the answer stored with its source. With `model_settings`, a language model on `base_url` is set up
    in them."""

    def __init__(self, path: Path, clock: Clock, model_settings: Settings | None = None, base_url: str = "") -> None:
        self.path = path
        self.clock = clock
        self.store = SqlConversationStore.open(sqlite_url(path))
        self.model = local_model(self.store, base_url, model_settings) if model_settings is not None else None
        self.assistant = Assistant(self.store, self.store.alarms, language_model=self.model, now=clock)
        self.conversation_id = self.store.create_conversation().id
        self.last_pieces: list[ReplyPiece] = []

    def ask(self, text: str, cancel: threading.Event | None = None) -> list[ReplyPiece]:
        """The answer's pieces, as the brain gave them."""
        self.store.add_message(self.conversation_id, "user", text)
        self.last_pieces = list(self.assistant.reply(text, self.conversation_id, cancel))
        answer = CollectedReply()
        for piece in self.last_pieces:
            answer.add(piece)
        self.store.add_message(self.conversation_id, "assistant", answer.text, source=answer.source)
        return self.last_pieces

    def say(self, text: str) -> str:
        """The answer's text."""
        return "".join(piece.text for piece in self.ask(text)).strip()

    @property
    def source(self) -> str:
        """The last answer's source as stored ("skill:timer")."""
        return self.last_pieces[-1].source.stored

    def close(self) -> None:
        if self.model is not None:
            self.model.close()
        self.store.close()


@pytest.fixture
def clock() -> Clock:
    """Ten in the morning on 1 December 2026, in CET, until the test moves it."""
    return Clock()


@pytest.fixture
def chat(tmp_path: Path, clock: Clock) -> Iterator[Conversation]:
    """The assistant on a fresh store, spoken to through `chat.say(...)`."""
    conversation = Conversation(tmp_path / "assistant.db", clock)
    try:
        yield conversation
    finally:
        conversation.close()
