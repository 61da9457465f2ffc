"""The assistant's brain: built-in skills first, then the language model when one is set up, otherwise
an offline answer that says what it can do and how to add a model. Every reply names its source."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from datetime import datetime

from desktop_app.core.brain.alarm_watch import WakingAlarmBook
from desktop_app.core.brain.language_model import LanguageModel
from desktop_app.core.brain.skill import Match, Skill, SkillContext, Utterance, local_now, utterance
from desktop_app.core.brain.skills.alarms import AlarmSkill
from desktop_app.core.brain.skills.calculator import CalculatorSkill, UnitsSkill
from desktop_app.core.brain.skills.clock import ClockSkill
from desktop_app.core.brain.skills.control import OFFLINE_HELP, ControlSkill, help_text
from desktop_app.core.brain.skills.dates import DatesSkill
from desktop_app.core.brain.skills.history import HistorySkill
from desktop_app.core.brain.skills.remembering import MemorySkill
from desktop_app.core.brain.skills.reminders import ReminderSkill
from desktop_app.core.brain.skills.small_talk import SmallTalkSkill
from desktop_app.core.brain.skills.timers import TimerSkill
from desktop_app.core.errors import AppError, ErrorCode
from desktop_app.core.ports import AlarmBook, ConversationStore, ReplyPiece
from desktop_app.core.reply_source import OFFLINE_ANSWER, ReplySource

log = logging.getLogger(__name__)

# A skill answers when it is at least this sure; below it, the question goes to the language model.
SKILL_THRESHOLD = 0.6
# Enough sentences per template for the language model to see every word in every place, few enough to build fast.
PHRASES_PER_TEMPLATE = 60
# Said (not shown) after an answer the skills cannot give: the window shows the whole list.
SPOKEN_HELP_HINT = "Ask me what I can do, or see the window for how to add a language model."
SPOKEN_MODEL_UNREACHABLE = "I can't reach the language model, so for now I can only use my built-in skills."
# Failures after which the offline answer is the most useful thing to say.
_FALL_BACK_OFFLINE = frozenset({ErrorCode.LLM_UNREACHABLE, ErrorCode.LLM_TIMEOUT})


def default_skills() -> tuple[Skill, ...]:
    return (
        ClockSkill(),
        AlarmSkill(),
        TimerSkill(),
        ReminderSkill(),
        CalculatorSkill(),
        UnitsSkill(),
        DatesSkill(),
        MemorySkill(),
        HistorySkill(),
        ControlSkill(),
        SmallTalkSkill(),
    )


def command_phrases(skills: Sequence[Skill], per_template: int = PHRASES_PER_TEMPLATE) -> list[str]:
    """Sentences the skills' templates make (all of a template's, or `per_template` drawn with a fixed
    seed), once each: what the recogniser's domain language model is made from."""
    rng = random.Random(0)  # noqa: S311 - a fixed sample, not a secret
    phrases = (sentence for skill in skills for _, sentence in skill.templates.sample(rng, per_template))
    return list(dict.fromkeys(phrases))


def best_match(skills: Sequence[Skill], said: Utterance) -> tuple[Skill, Match] | None:
    """The most confident skill's match (on a tie, the skill listed first); None when no skill matches."""
    found = [(match.confidence, index, skill, match) for index, skill in enumerate(skills)
             if (match := skill.match(said)) is not None]  # fmt: skip
    if not found:
        return None
    _, _, skill, match = max(found, key=lambda item: (item[0], -item[1]))
    return skill, match


def understood(skills: Sequence[Skill], text: str) -> bool:
    """Whether a skill is sure enough of `text` to answer it."""
    best = best_match(skills, utterance(text))
    return best is not None and best[1].confidence >= SKILL_THRESHOLD


class Assistant:
    """Implements core.ports.Brain. `on_alarm_set` is called after any skill adds a timer, reminder or alarm
    (the alarm watch's `wake`)."""

    def __init__(
        self,
        store: ConversationStore,
        alarms: AlarmBook,
        *,
        language_model: LanguageModel | None = None,
        skills: Sequence[Skill] | None = None,
        now: Callable[[], datetime] = local_now,
        on_alarm_set: Callable[[], None] | None = None,
    ) -> None:
        self._store = store
        self._alarms = alarms if on_alarm_set is None else WakingAlarmBook(alarms, on_alarm_set)
        self._model = language_model
        self._skills = tuple(skills) if skills is not None else default_skills()
        self._now = now

    @property
    def skills(self) -> tuple[Skill, ...]:
        return self._skills

    def command_phrases(self) -> list[str]:
        return command_phrases(self._skills)

    def best_match(self, text: str) -> tuple[Skill, Match] | None:
        return best_match(self._skills, utterance(text))

    def understands(self, text: str) -> bool:
        return understood(self._skills, text)

    def prepare(self) -> None:
        """Matches an example of every template, so that each skill's matcher is built now rather than while
        someone waits for an answer: the template library builds a template's expressions the first time a
        sentence could match it (175 ms for the first "remember that ...", 0.3 ms after)."""
        for skill in self._skills:
            for intent in skill.templates.intents:
                for example in skill.templates.examples(intent):
                    understood(self._skills, example)

    def reply(
        self, text: str, conversation_id: int, cancel: threading.Event | None = None
    ) -> Generator[ReplyPiece, None, None]:
        said = utterance(text)
        best = best_match(self._skills, said)
        model = self._model if self._model is not None and self._model.usable() else None
        if best is not None and best[1].confidence >= SKILL_THRESHOLD:
            skill, match = best
            context = SkillContext(self._store, self._alarms, self._now(), conversation_id, self._skills)
            answer = skill.run(match, said, context)
            log.info("skill %s answered (%s, %.2f)", skill.name, match.intent, match.confidence)
            if not (answer.last_resort and model is not None):
                yield ReplyPiece(answer.text, ReplySource.skill(skill.name), action=answer.action)
                return
        if model is not None:
            yield from self._from_model(model, text, conversation_id, cancel)
            return
        yield self._offline_answer(conversation_id)

    def _from_model(
        self, model: LanguageModel, text: str, conversation_id: int, cancel: threading.Event | None
    ) -> Iterator[ReplyPiece]:
        said_something = False
        source = OFFLINE_ANSWER
        answer = model.answer(text, conversation_id, cancel)
        try:
            for piece in answer:
                source = piece.source
                said_something = said_something or bool(piece.text.strip())
                yield piece
        except AppError as error:
            if error.code is ErrorCode.LLM_CANCELLED:
                return
            log.warning("language model failed: %s [%s]", error.message, error.code)
            if said_something:
                yield ReplyPiece(f" … The answer was cut short: {error.message}", source)
            elif error.code in _FALL_BACK_OFFLINE:
                offline = self._offline_answer(conversation_id)
                yield ReplyPiece(
                    f"{error.message} {offline.text}",
                    OFFLINE_ANSWER,
                    spoken=SPOKEN_MODEL_UNREACHABLE,
                )
            else:
                yield ReplyPiece.failure(error.code, error.message)
        finally:
            answer.close()  # the voice loop stopped listening: end the request and its accounting now

    def _offline_answer(self, conversation_id: int) -> ReplyPiece:
        """What the built-in skills can do, and how to add a model: shown in full, said in one sentence
        and a hint."""
        context = SkillContext(self._store, self._alarms, self._now(), conversation_id, self._skills)
        if self._model is not None and self._model.offline() and self._model.config() is not None:
            lead, shown = "Offline mode is on, so I can only use my built-in skills.", help_text(context)
        else:
            lead, shown = "I can't answer that offline.", f"{help_text(context)} {OFFLINE_HELP}"
        return ReplyPiece(f"{lead} {shown}", OFFLINE_ANSWER, spoken=f"{lead} {SPOKEN_HELP_HINT}")
