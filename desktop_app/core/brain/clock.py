"""The smallest useful brain: it tells the time. It runs the voice loop until the skills arrive."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

from desktop_app.core.grammar import normalise_phrase
from desktop_app.core.ports import ReplyPiece

TIME_PHRASES = (
    "what time is it",
    "what is the time",
    "what's the time",
    "tell me the time",
    "what time is it now",
)
SOURCE = "skill:time"


def spoken_time(moment: datetime) -> str:
    hour = moment.hour % 12 or 12
    suffix = "in the morning" if moment.hour < 12 else "in the afternoon" if moment.hour < 18 else "in the evening"
    if moment.minute == 0:
        return f"It is {hour} o'clock {suffix}."
    return f"It is {hour}:{moment.minute:02d} {suffix}."


class ClockBrain:
    def __init__(self, now: Callable[[], datetime] = datetime.now) -> None:
        self._now = now

    def command_phrases(self) -> list[str]:
        return list(TIME_PHRASES)

    def reply(self, text: str, conversation_id: int) -> Iterator[ReplyPiece]:
        said = normalise_phrase(text)
        if "time" in said.split():
            yield ReplyPiece(spoken_time(self._now()), SOURCE)
        else:
            yield ReplyPiece(
                "I can tell you the time for now. Ask me: what time is it?",
                "offline:help",
            )
