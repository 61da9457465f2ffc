"""The phrase corpus: everyday phrasings of what people say to the built-in skills, written the way a speech
recogniser writes them, each with the skill and intent it should reach, the slots that matter and the shape of
the answer. A yardstick, not a description of what the code accepts today: the test passes while at least
PASS_TARGET of the lines do, and lists every line that does not.

Every line runs through the real assistant on a real SQLite store, with the fixed clock of tests/test_skills.py
(Tuesday 1 December 2026, 10 am), from a fresh state: no timers, reminders or facts, a new conversation (and no
earlier ones before a question about them), then the block's "given:" utterances said in that conversation
before the phrase. The corpus's own header (tests/data/phrase_corpus.txt) describes the format.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from assistant_setup import ZONE, Clock, Conversation

from desktop_app.core.brain.assistant import SKILL_THRESHOLD, default_skills
from desktop_app.core.brain.memory import Recall, content_words
from desktop_app.core.brain.skills.reminders import split_task
from desktop_app.core.models import AlarmStatus

CORPUS = Path(__file__).parent / "data" / "phrase_corpus.txt"
PASS_TARGET = 0.95
MIN_PHRASINGS = 500
# What a line expects when no skill should answer: the question is left to the language model.
NO_SKILL = "none"
# The store stamps messages with the real time, so questions about earlier conversations ("what did I ask you
# today?") are asked at the real time, as tests/test_skills.py does; every other line keeps the fixed clock.
REAL_TIME_SKILLS = frozenset({"history"})
_YES = frozenset({"yes", "true"})
_NO = frozenset({"no", "false"})


@dataclass(frozen=True, slots=True)
class Line:
    number: int
    expected: str  # "skill.intent", or NO_SKILL
    phrase: str
    slots: dict[str, str]
    answer: re.Pattern[str] | None
    given: tuple[str, ...]

    @property
    def skill(self) -> str:
        return self.expected.split(".", 1)[0]

    def __str__(self) -> str:
        given = f"  (given: {'; '.join(self.given)})" if self.given else ""
        return f"line {self.number}: {self.expected} | {self.phrase}{given}"


@dataclass(frozen=True, slots=True)
class Outcome:
    got: str  # "skill.intent" of the skill that answered, or NO_SKILL
    slots: dict[str, Any]
    answer: str
    source: str
    now: datetime  # the assistant's time when it answered


def _slots(text: str, where: str) -> dict[str, str]:
    slots: dict[str, str] = {}
    for part in (piece.strip() for piece in text.split(";")):
        if not part or part == "-":
            continue
        key, equals, value = part.partition("=")
        if not equals:
            raise ValueError(f"{where}: a slot is written key=value, not {part!r}")
        slots[key.strip()] = value.strip()
    return slots


def load_corpus(path: Path = CORPUS) -> list[Line]:
    """The corpus's lines, each with the "given:" utterances of its block (a block ends at a blank line)."""
    lines: list[Line] = []
    given: tuple[str, ...] = ()
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = raw.strip()
        where = f"{path.name}:{number}"
        if not text:
            given = ()
            continue
        if text.startswith("#"):
            continue
        if text.startswith("given:"):
            given = tuple(said.strip() for said in text.removeprefix("given:").split(";") if said.strip())
            continue
        columns = [column.strip() for column in text.split(" | ", 3)]
        if len(columns) < 2:
            raise ValueError(f"{where}: expected 'skill.intent | phrasing | slots | answer', got {text!r}")
        expected, phrase, slots, answer = [*columns, "", ""][:4]
        if expected != NO_SKILL and "." not in expected:
            raise ValueError(f"{where}: the expectation is skill.intent or {NO_SKILL}, not {expected!r}")
        pattern = re.compile(answer) if answer and answer != "-" else None
        lines.append(Line(number, expected, phrase, _slots(slots, where), pattern, given))
    return lines


def _day_and_time(moment: datetime, now: datetime) -> str:
    """ "today 17:00", "tomorrow 09:30" or "2026-12-04 09:00", in `now`'s zone."""
    moment = moment.astimezone(now.tzinfo)
    days = (moment.date() - now.date()).days
    day = {0: "today", 1: "tomorrow"}.get(days, moment.date().isoformat())
    return f"{day} {moment:%H:%M}"


def slot_view(skill: str, data: dict[str, Any], now: datetime) -> dict[str, Any]:
    """What a skill put in Match.data, with the parts a corpus line names: a reminder's task and due time (as
    the skill will split them), a conversion's value and units, a recall's words."""
    view = dict(data)
    if skill == "reminder" and "rest" in data:
        view["task"], view["due"] = split_task(data["rest"], now)
    request = data.get("request")
    if skill == "units" and request is not None:
        view.update(value=request.value, source=request.source.name, target=request.target.name)
    return view


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


def slot_differs(key: str, expected: str, actual: Any, now: datetime) -> bool:
    if isinstance(actual, Recall):
        if expected == "*":
            return not actual.everything
        return actual.everything or actual.words != content_words(expected)
    if isinstance(actual, datetime):
        day, _, clock_time = _day_and_time(actual, now).partition(" ")
        wanted = expected.lower().split()
        wanted_time = next((w for w in wanted if ":" in w), None)
        wanted_day = next((w for w in wanted if ":" not in w), "today")
        return wanted_day != day or (wanted_time is not None and wanted_time != clock_time)
    if actual is None:
        return expected.lower() != "none"
    if isinstance(actual, bool):
        return not ((expected.lower() in _YES and actual) or (expected.lower() in _NO and not actual))
    if isinstance(actual, int | float):
        try:
            return not math.isclose(float(actual), float(expected), rel_tol=1e-9, abs_tol=1e-9)
        except ValueError:
            return True
    return _normal(str(actual)) != _normal(expected)


def _shown(value: Any, now: datetime) -> str:
    if isinstance(value, Recall):
        return "*" if value.everything else " ".join(sorted(value.words))
    if isinstance(value, datetime):
        return _day_and_time(value, now)
    return str(value)


def _fresh(chat: Conversation, clock: Clock, line: Line) -> None:
    """No timers, reminders or facts, a new conversation, the fixed time. Earlier conversations are deleted
    only before a question about them (deleting is the slow part, and only the history skill reads them)."""
    clock.moment = Clock().moment
    for alarm in chat.store.alarms.pending():
        chat.store.alarms.claim(alarm.id, AlarmStatus.CANCELLED, clock.moment)
    if chat.store.list_facts():
        chat.store.delete_all_facts()
    if line.skill in REAL_TIME_SKILLS:
        chat.store.delete_all_conversations()
    chat.conversation_id = chat.store.create_conversation().id


def run_line(chat: Conversation, clock: Clock, line: Line) -> Outcome:
    _fresh(chat, clock, line)
    for said in line.given:
        chat.say(said)
    if line.skill in REAL_TIME_SKILLS:
        clock.moment = datetime.now(ZONE)
    best = chat.assistant.best_match(line.phrase)
    now = clock.moment
    answer = chat.say(line.phrase)
    if best is None or best[1].confidence < SKILL_THRESHOLD:
        return Outcome(NO_SKILL, {}, answer, chat.source, now)
    skill, match = best
    return Outcome(f"{skill.name}.{match.intent}", slot_view(skill.name, match.data, now), answer, chat.source, now)


def problems(line: Line, outcome: Outcome) -> list[str]:
    """What is wrong with the outcome of `line`; empty when it is as expected."""
    now = outcome.now
    if outcome.got != line.expected:
        return [f"reached {outcome.got}"]
    found: list[str] = []
    expected_source = "offline:help" if line.expected == NO_SKILL else f"skill:{line.skill}"
    if outcome.source != expected_source:
        found.append(f"answered by {outcome.source}")
    for key, wanted in line.slots.items():
        if key not in outcome.slots:
            found.append(f"no slot {key} (has {', '.join(sorted(outcome.slots)) or 'none'})")
        elif slot_differs(key, wanted, outcome.slots[key], now):
            found.append(f"{key}={_shown(outcome.slots[key], now)!r}, not {wanted!r}")
    if line.answer is not None and not line.answer.search(outcome.answer):
        found.append(f"answer does not match /{line.answer.pattern}/")
    return found


def _report(misses: list[tuple[Line, Outcome, list[str]]], total: int) -> str:
    passed = total - len(misses)
    report = [f"{passed} of {total} phrasings passed ({passed / total:.1%}, target {PASS_TARGET:.0%}).", ""]
    by_intent: dict[str, list[tuple[Line, Outcome, list[str]]]] = {}
    for miss in misses:
        by_intent.setdefault(miss[0].expected, []).append(miss)
    for expected in sorted(by_intent):
        report.append(f"{expected} ({len(by_intent[expected])} missed):")
        for line, outcome, found in by_intent[expected]:
            report.append(f"  {line}")
            report.append(f"      {'; '.join(found)}")
            answer = outcome.answer if len(outcome.answer) <= 100 else f"{outcome.answer[:97]}..."
            report.append(f"      got {outcome.got}: {answer!r}")
        report.append("")
    return "\n".join(report)


def test_the_skills_understand_the_phrase_corpus(chat: Conversation, clock: Clock) -> None:
    lines = load_corpus()
    misses: list[tuple[Line, Outcome, list[str]]] = []
    for line in lines:
        outcome = run_line(chat, clock, line)
        found = problems(line, outcome)
        if found:
            misses.append((line, outcome, found))
    report = _report(misses, len(lines))
    pass_rate = (len(lines) - len(misses)) / len(lines)
    assert pass_rate >= PASS_TARGET, report
    print(report)  # the misses of a passing run, for `pytest -rP`


def test_the_corpus_is_large_and_covers_every_skill_and_intent() -> None:
    lines = load_corpus()
    assert len(lines) >= MIN_PHRASINGS
    said_with = Counter((line.phrase, line.given) for line in lines)
    twice = [str(line) for line in lines if said_with[line.phrase, line.given] > 1]
    assert twice == [], "listed twice, after the same given utterances"
    said = {line.expected for line in lines}
    missing = [
        f"{skill.name}.{intent}"
        for skill in default_skills()
        for intent in skill.templates.intents
        if f"{skill.name}.{intent}" not in said
    ]
    assert missing == [], f"no phrasing for {missing}"
    assert {line.skill for line in lines} >= {skill.name for skill in default_skills()}
