"""What every skill shares: the utterance as recognisers write it, a match with a confidence, and the
context a skill acts in.

Routing asks every skill to `match` (pure, cheap, no side effects) and runs only the most confident one,
so a skill that sets a timer never runs just to be compared.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfoNotFoundError

import tzlocal

from desktop_app.core.brain.numbers import normalise_words
from desktop_app.core.brain.templates import Templates
from desktop_app.core.models import Alarm, AlarmStatus
from desktop_app.core.ports import AlarmBook, ConversationStore, ReplyAction

# Said before or around a request without changing it: "um", "hey", "can you", "please", "thanks".
_LEADING_FILLERS = (
    ("hey",), ("hi",), ("hello",), ("good", "morning"), ("good", "afternoon"), ("good", "evening"),
    ("ok",), ("okay",), ("so",), ("well",), ("um",), ("uh",), ("er",), ("erm",), ("hmm",),
    ("please",), ("assistant",), ("computer",), ("can", "you"), ("could", "you"), ("would", "you"),
    ("will", "you"), ("i", "want", "you", "to"), ("i'd", "like", "you", "to"), ("i", "need", "you", "to"),
)  # fmt: skip
_ANYWHERE_FILLERS = frozenset({"um", "uh", "er", "erm", "hmm", "uhm"})
_TRAILING_FILLERS = (("please",), ("thanks",), ("thank", "you"), ("now", "please"))


def local_now() -> datetime:
    """Now in the machine's time zone (a named zone, so "tomorrow at nine" across a daylight-saving change
    gets that day's offset): what "at five pm" and "yesterday" are measured against."""
    try:
        return datetime.now(tzlocal.get_localzone())
    except (ZoneInfoNotFoundError, ValueError, OSError):  # no zone database: today's offset will do
        return datetime.now().astimezone()


def start_of_day(moment: datetime) -> datetime:
    """Midnight at the start of `moment`'s day, in its zone."""
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass(frozen=True, slots=True)
class Utterance:
    """What was said: `raw` as given (casing kept for facts and names) and `text`, the same words lower
    case, without punctuation or fillers, single-spaced."""

    raw: str
    text: str

    @property
    def words(self) -> list[str]:
        return self.text.split()

    def as_said(self, part: str) -> str:
        """`part` of `text` with the casing it had in `raw` ("call ana" -> "call Ana"), when it can be found."""
        if not part:
            return part
        pattern = r"\W+".join(re.escape(word) for word in part.split())
        found = re.search(pattern, self.raw, re.IGNORECASE)
        return found.group(0) if found else part


def utterance(raw: str) -> Utterance:
    words = [w for w in normalise_words(raw.replace(",", " , ")) if w not in _ANYWHERE_FILLERS and w != ","]
    changed = True
    while changed and words:
        changed = False
        for filler in sorted(_LEADING_FILLERS, key=len, reverse=True):
            if tuple(words[: len(filler)]) == filler and len(words) > len(filler):
                words = words[len(filler) :]
                changed = True
                break
    for filler in _TRAILING_FILLERS:
        if tuple(words[-len(filler) :]) == filler and len(words) > len(filler):
            words = words[: -len(filler)]
    return Utterance(raw.strip(), " ".join(w.rstrip(".") if not w[:1].isdigit() else w for w in words))


@dataclass(frozen=True, slots=True)
class Match:
    """A skill's claim on an utterance: how sure it is (0..1) and what it understood."""

    confidence: float
    intent: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Answer:
    """What a skill says. `last_resort`: the skill understood the question but has nothing to tell ("what
    do I need to buy?" with no such fact): a language model, when there is one, answers instead."""

    text: str
    action: ReplyAction | None = None
    last_resort: bool = False


@dataclass(frozen=True, slots=True)
class SkillContext:
    """What a skill may use while answering: the store, the alarm book, the time, the conversation."""

    store: ConversationStore
    alarms: AlarmBook
    now: datetime
    conversation_id: int
    skills: tuple[Skill, ...] = ()


class Skill(Protocol):
    @property
    def name(self) -> str:
        """The reply's source is `ReplySource.skill(name)`, stored as "skill:<name>"."""
        ...

    @property
    def summary(self) -> str:
        """What it does, for "what can you do?": "set, list and cancel timers"."""
        ...

    @property
    def templates(self) -> Templates:
        """What people say to it: for the recogniser's domain language model, the help answer and the phrase
        corpus that checks the skill understands every sentence its templates make."""
        ...

    def match(self, said: Utterance) -> Match | None: ...

    def run(self, match: Match, said: Utterance, context: SkillContext) -> Answer: ...


def pick_by_words(said: str, labels: list[str]) -> list[int]:
    """Which of `labels` the words in `said` name: an exact match if there is one ("pasta" over "pasta
    sauce"), else those sharing the most words with it (several when they tie); none when nothing is shared."""
    wanted = said.lower().split()
    if not wanted:
        return []
    exact = [index for index, label in enumerate(labels) if label.lower().split() == wanted]
    if exact:
        return exact
    scores = [len(set(wanted) & set(label.lower().split())) for label in labels]
    best = max(scores, default=0)
    return [index for index, score in enumerate(scores) if score == best] if best else []


def cancel_alarms(
    chosen: list[Alarm],
    pending: list[Alarm],
    everything: bool,
    context: SkillContext,
    *,
    ask_which: str,
    said_one: Callable[[Alarm], str],
    plural: str,
) -> Answer:
    """Cancels what was named (`chosen`), or every pending one when "all" was said or there is only one;
    asks `ask_which` when that leaves more than one and "all" was not said."""
    if not chosen and (everything or len(pending) == 1):
        chosen = pending
    if not chosen or (len(chosen) > 1 and not everything):
        return Answer(ask_which)
    for alarm in chosen:
        context.alarms.claim(alarm.id, AlarmStatus.CANCELLED, context.now)
    return Answer(f"Cancelled {said_one(chosen[0])}." if len(chosen) == 1 else f"Cancelled {len(chosen)} {plural}.")


def first(patterns: tuple[tuple[str, str], ...], said: Utterance) -> str | None:
    """The intent of the first regular expression that matches the utterance's text."""
    for pattern, intent in patterns:
        if re.search(pattern, said.text):
            return intent
    return None


Now = Callable[[], datetime]
