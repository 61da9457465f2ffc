"""An assistant on a real SQLite store with a clock the test moves (no sleeping)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from desktop_app.core.brain.assistant import Assistant
from desktop_app.core.ports import ReplyPiece
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


class Conversation:
    """Says things to the assistant the way the voice loop does: the question is stored, then answered,
    then the answer stored with its source."""

    def __init__(self, path: Path, clock: Clock) -> None:
        self.path = path
        self.clock = clock
        self.store = SqlConversationStore.open(sqlite_url(path))
        self.assistant = Assistant(self.store, self.store.alarms, now=clock)
        self.conversation_id = self.store.create_conversation().id
        self.last_pieces: list[ReplyPiece] = []

    def say(self, text: str) -> str:
        self.store.add_message(self.conversation_id, "user", text)
        self.last_pieces = list(self.assistant.reply(text, self.conversation_id))
        answer = "".join(piece.text for piece in self.last_pieces).strip()
        self.store.add_message(self.conversation_id, "assistant", answer, source=self.source)
        return answer

    @property
    def source(self) -> str:
        return self.last_pieces[-1].source

    def close(self) -> None:
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
