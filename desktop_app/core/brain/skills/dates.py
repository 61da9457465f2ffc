"""Dates and times a while away: "how many days until christmas", "how long until the fourth of july",
"what time will it be in two hours", "what's the date in ten days".

The date itself is read by `dateparser` (weekdays, "the 3rd of march", "next tuesday"), after the ordinal
words a recogniser writes ("fourth", "twenty first", read with unicode-rbnf's English ordinals, the
library hassil already brings) are turned into "4th", "21st". Holidays that are one day a year are a small
table, since dateparser knows no holidays.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from functools import cache
from string import capwords

from desktop_app.core.brain.memory import Recall, content_words, matching_facts
from desktop_app.core.brain.skill import Answer, Match, SkillContext, Utterance
from desktop_app.core.brain.spoken import clock_phrase, date_words, day_phrase, ordinal, plural
from desktop_app.core.brain.templates import Templates
from desktop_app.core.brain.when import parse_duration

_TEMPLATES = Templates(
    {
        "days_until": [
            "how many [more] (days|sleeps|weeks) [are there|is it|left|to go] (until|till|til|to|before) {when}",
            "how long [is it] to go (until|till|til) {when}",
            "how (long|soon) [is it] (until|till|til|before) {when}",
            "how many days (away|off) is {when}",
            "days (until|till|to) {when}",
            "count down to {when}",
        ],
        "time_in": [
            "what time will it be in {span}",
            "what will the time be in {span}",
            "what time (is it going to|would it|will it) be in {span}",
            "what's the time going to be in {span}",
            "what time is it in {span}",
            "what (is|will be) the time in {span}",
            "what's the time in {span}",
        ],
        "date_in": [
            "what (day|date) will it be in {span}",
            "what will the (day|date) be in {span}",
            "what (day|date) is it in {span}",
            "what day of the week will it be in {span}",
            "(what's|what is|what will be) the date {span} from now",
            "what (is|will be) the date in {span}",
            "what's the date in {span}",
        ],
    },
    wildcards=("when", "span"),
)
# One day a year, every year: (month, day).
_HOLIDAYS = {
    "christmas": (12, 25),
    "christmas day": (12, 25),
    "christmas eve": (12, 24),
    "boxing day": (12, 26),
    "new year": (1, 1),
    "new years": (1, 1),
    "new year's": (1, 1),
    "new year's day": (1, 1),
    "new years day": (1, 1),
    "new year's eve": (12, 31),
    "the end of the year": (12, 31),
    "end of the year": (12, 31),
    "new years eve": (12, 31),
    "halloween": (10, 31),
    "valentine's day": (2, 14),
    "valentines day": (2, 14),
    "valentine's": (2, 14),
    "independence day": (7, 4),
    "bonfire night": (11, 5),
    "st patrick's day": (3, 17),
}


@cache
def _ordinal_words() -> tuple[dict[str, str], re.Pattern[str]]:
    """ "fourth" -> "4th", "twenty first" -> "21st", for the days of a month, and a pattern finding them
    (longest first, so "twenty first" is not read as "twenty" and "first")."""
    from unicode_rbnf import FormatPurpose, RbnfEngine

    english = RbnfEngine.for_language("en")
    table = {}
    for day in range(1, 32):
        words = english.format_number(day, purpose=FormatPurpose.ORDINAL).text.replace("-", " ")
        table[words] = ordinal(day)
    alternatives = "|".join(sorted((re.escape(w) for w in table), key=len, reverse=True))
    return table, re.compile(rf"\b({alternatives})\b")


def _with_ordinal_numbers(text: str) -> str:
    table, pattern = _ordinal_words()
    return pattern.sub(lambda found: table[found.group(1)], text)


def read_day(text: str, today: date) -> date | None:
    """The next day `text` names, from `today` on ("friday" on a Friday is today)."""
    name = " ".join(text.split()).removeprefix("the ")
    if name in _HOLIDAYS:
        month, day = _HOLIDAYS[name]
        this_year = date(today.year, month, day)
        return this_year if this_year >= today else date(today.year + 1, month, day)
    import dateparser  # about 0.25 s to import: only when a date is asked about

    settings = {"RELATIVE_BASE": datetime(today.year, today.month, today.day), "PREFER_DATES_FROM": "future"}
    found = dateparser.parse(_with_ordinal_numbers(text), languages=["en"], settings=settings)
    return found.date() if found is not None else None


def _day_told(named: str, context: SkillContext) -> date | None:
    """The day a remembered fact gives for "my birthday" ("my birthday is on the third of march")."""
    if not re.search(r"\b(my|our)\b", named):
        return None
    facts = matching_facts(Recall(content_words(named), by_meaning=True), [f.text for f in context.store.list_facts()])
    for fact in facts:
        said_day = re.search(r"\b(?:is|are|was|falls)(?: on)?\s+(.+)$", fact.lower())
        if said_day is not None and (day := read_day(said_day.group(1), context.now.date())) is not None:
            return day
    return None


class DatesSkill:
    name = "dates"
    summary = "count the days to a date"
    templates = _TEMPLATES

    def match(self, said: Utterance) -> Match | None:
        found = _TEMPLATES.recognise(said.text)
        if found is None:
            return None
        slots = {name: str(value).strip() for name, value in found.slots.items()}
        if found.intent != "days_until":
            # "what is the time in tokyo" is not a span of time: a question for the language model.
            return Match(0.85, found.intent, slots) if parse_duration(slots.get("span", "")) else None
        # Sure only when the words name a day: "how long until the pasta timer is done" is the timers'
        # question, and "how many days until my birthday" may be the language model's, which knows the facts.
        known = read_day(slots.get("when", ""), date.today()) is not None
        return Match(0.85 if known else 0.6, found.intent, slots)

    def run(self, match: Match, said: Utterance, context: SkillContext) -> Answer:
        now = context.now
        if match.intent in ("time_in", "date_in"):
            span = parse_duration(match.data.get("span", ""))
            if span is None or span <= timedelta(0):
                return Answer("How long from now? Say, for example, in two hours or in ten days.")
            later = now + span
            if match.intent == "time_in":
                which_day = day_phrase(later, now)
                return Answer(
                    f"In {match.data['span']} it will be {clock_phrase(later)}"
                    + (f" {which_day}." if which_day != "today" else ".")
                )
            return Answer(f"In {match.data['span']} it will be {date_words(later)}.")
        named = match.data.get("when", "")
        day = read_day(named, now.date()) or _day_told(named, context)
        shown = capwords(named) if named in _HOLIDAYS else re.sub(r"\bmy\b", "your", said.as_said(named))
        if day is None:
            return Answer(f"I don't know which day {shown} is. Try a date, like the 4th of July.", last_resort=True)
        days = (day - now.date()).days
        if days in (0, 1):
            return Answer(f"That's {'today' if days == 0 else 'tomorrow'}, {date_words(day)}.")
        return Answer(f"There are {plural(days, 'day')} until {shown}: {date_words(day)}.")
