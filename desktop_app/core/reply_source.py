"""Where an answer came from: a built-in skill, a language model, the offline help, or a failure.

It is stored with each answer as text ("skill:timer", "model:llama3.2", "offline:help", "error:llm_timeout"),
which the history, exports and searches show and filter on; everywhere else it travels typed."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from desktop_app.core.errors import ErrorCode

# The stored text's longest form (the messages table's column).
STORED_SOURCE_MAX = 120


class SourceKind(StrEnum):
    SKILL = "skill"
    MODEL = "model"
    OFFLINE = "offline"  # what the built-in skills can do, when nothing else could answer
    ERROR = "error"  # the answer is a failure's message; the name is its ErrorCode


@dataclass(frozen=True, slots=True)
class ReplySource:
    kind: SourceKind
    name: str

    @classmethod
    def skill(cls, name: str) -> ReplySource:
        return cls(SourceKind.SKILL, name)

    @classmethod
    def model(cls, name: str) -> ReplySource:
        return cls(SourceKind.MODEL, name)

    @classmethod
    def failure(cls, code: ErrorCode) -> ReplySource:
        return cls(SourceKind.ERROR, code.value)

    @classmethod
    def parse(cls, stored: str | None) -> ReplySource | None:
        """The stored text back as a source; None for no source or text of another form (an imported
        history may hold anything)."""
        if not stored:
            return None
        kind, colon, name = stored.partition(":")
        if not colon or not name or kind not in SourceKind.__members__.values():
            return None
        return cls(SourceKind(kind), name)

    @property
    def error(self) -> ErrorCode | None:
        """The failure's code, when the answer is a failure's message."""
        if self.kind is not SourceKind.ERROR:
            return None
        try:
            return ErrorCode(self.name)
        except ValueError:
            return None

    @property
    def stored(self) -> str:
        return f"{self.kind.value}:{self.name}"[:STORED_SOURCE_MAX]

    def describe(self) -> str:
        """In the words of the window's quiet "from …" line: "timer skill", "llama3.2", "offline"."""
        if self.kind is SourceKind.SKILL:
            return f"{self.name.replace('_', ' ')} skill"
        if self.kind is SourceKind.MODEL:
            return self.name
        if self.kind is SourceKind.OFFLINE:
            return "offline"
        return "error"

    def __str__(self) -> str:
        return self.stored


OFFLINE_ANSWER = ReplySource(SourceKind.OFFLINE, "help")
CONTROL_SKILL = ReplySource.skill("control")
