"""Durations and clock times as people say them: "ten minutes", "an hour and a half", "half past six",
"a quarter to four", "five pm", "ten thirty", "noon", "tomorrow at nine".

Times without am/pm mean the next time the clock shows them after `now`, as people mean "remind me at
five". Everything takes `now` from the caller, so tests control time instead of sleeping.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from desktop_app.core.brain.numbers import normalise_words, read_number

UNITS = {
    "second": 1, "seconds": 1, "sec": 1, "secs": 1,
    "minute": 60, "minutes": 60, "min": 60, "mins": 60,
    "hour": 3600, "hours": 3600, "hr": 3600, "hrs": 3600,
    "day": 86400, "days": 86400,
    "week": 604800, "weeks": 604800, "fortnight": 1209600, "fortnights": 1209600,
}  # fmt: skip
TIME_PREPOSITIONS = frozenset({"at", "for", "by", "until", "till", "tomorrow", "to", "remind"})
PERIOD_WORDS = {
    "am": "am", "a.m.": "am", "morning": "am",
    "pm": "pm", "p.m.": "pm", "afternoon": "pm", "evening": "pm", "night": "pm", "tonight": "pm",
}  # fmt: skip


# Parts of a unit said before it: "half an hour", "a quarter of an hour", "three quarters of an hour".
_PARTS = (
    (("three", "quarters", "of", "an"), 0.75), (("three", "quarters", "of", "a"), 0.75),
    (("a", "quarter", "of", "an"), 0.25), (("a", "quarter", "of", "a"), 0.25),
    (("quarter", "of", "an"), 0.25), (("quarter", "of", "a"), 0.25), (("quarter", "an"), 0.25),
    (("half", "an"), 0.5), (("half", "a"), 0.5), (("a", "half"), 0.5),
)  # fmt: skip
# Fractions added after a count or a unit: "two and a half hours", "an hour and a quarter".
_AND_PARTS = ((("and", "a", "half"), 0.5), (("and", "a", "quarter"), 0.25), (("and", "three", "quarters"), 0.75))


def _part(words: list[str], index: int, table: tuple[tuple[tuple[str, ...], float], ...]) -> tuple[float, int]:
    for phrase, value in table:
        if tuple(words[index : index + len(phrase)]) == phrase:
            return value, len(phrase)
    return 0.0, 0


def _amount(words: list[str], index: int) -> tuple[float, int] | None:
    """A count before a unit: a number, "a"/"an" (one), "half an", "a quarter of an", "three quarters of a"."""
    part, used = _part(words, index, _PARTS)
    if used:
        return part, used
    if words[index] in ("a", "an"):
        return 1.0, 1
    number = read_number(words, index)
    if number is None:
        return None
    return float(number.value), number.words_used


def parse_duration(text: str) -> timedelta | None:
    """The first duration in the text: "ten minutes", "1 hour 30 minutes", "two and a half hours"."""
    words = normalise_words(text)
    total = 0.0
    found = False
    index = 0
    while index < len(words):
        amount = _amount(words, index)
        if amount is None:
            if found and words[index] not in ("and",):
                break
            index += 1
            continue
        value, used = amount
        after = index + used
        extra, extra_used = _part(words, after, _AND_PARTS)
        value, after = value + extra, after + extra_used
        if after < len(words) and words[after] in UNITS:
            unit = UNITS[words[after]]
            seconds = value * unit
            after += 1
            extra, extra_used = _part(words, after, _AND_PARTS)
            seconds, after = seconds + extra * unit, after + extra_used
            total += seconds
            found = True
            index = after
        elif found:
            break
        else:
            index += 1
    return timedelta(seconds=round(total)) if found and total > 0 else None


def _clock(words: list[str], index: int) -> tuple[int, int, int] | None:
    """(hour, minute, words used) for "half past six", "quarter to four", "ten thirty", "10:30", "noon"."""
    word = words[index]
    if word in ("noon", "midday"):
        return 12, 0, 1
    if word == "midnight":
        return 0, 0, 1
    if ":" in word:
        hour_text, _, minute_text = word.partition(":")
        if hour_text.isdigit() and minute_text[:2].isdigit():
            return int(hour_text), int(minute_text[:2]), 1
        return None
    offsets = {
        ("half", "past"): 30,
        ("quarter", "past"): 15,
        ("a", "quarter", "past"): 15,
        ("quarter", "to"): -15,
        ("a", "quarter", "to"): -15,
    }
    for phrase, minutes in offsets.items():
        if tuple(words[index : index + len(phrase)]) == phrase:
            hour = read_number(words, index + len(phrase))
            if hour is None or not isinstance(hour.value, int):
                return None
            if minutes < 0:
                return (hour.value - 1) % 24, 60 + minutes, len(phrase) + hour.words_used
            return hour.value, minutes, len(phrase) + hour.words_used
    minutes_first = read_number(words, index)
    if minutes_first is not None and index + minutes_first.words_used < len(words):
        link = words[index + minutes_first.words_used]
        if link in ("past", "to") and isinstance(minutes_first.value, int):
            hour = read_number(words, index + minutes_first.words_used + 1)
            if hour is not None and isinstance(hour.value, int):
                used = minutes_first.words_used + 1 + hour.words_used
                if link == "past":
                    return hour.value, minutes_first.value, used
                return (hour.value - 1) % 24, 60 - minutes_first.value, used
    hour = read_number(words, index)
    if hour is None or not isinstance(hour.value, int) or not 0 <= hour.value <= 24:
        return None
    used = hour.words_used
    minute = 0
    if words[index + used : index + used + 1] == ["o'clock"]:
        used += 1
    elif index + used < len(words):
        if words[index + used] == "oh":
            after = read_number(words, index + used + 1)
            if after is not None and isinstance(after.value, int) and after.value < 10:
                minute, used = after.value, used + 1 + after.words_used
        else:
            after = read_number(words, index + used)
            if after is not None and isinstance(after.value, int) and 10 <= after.value < 60:
                minute, used = after.value, used + after.words_used
    return hour.value, minute, used


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# A part of the day said without a clock time, and the hour meant: "tonight" is 8 pm.
DEFAULT_HOURS = (
    (("this", "morning"), 9), (("tomorrow", "morning"), 9), (("this", "afternoon"), 15),
    (("tomorrow", "afternoon"), 15), (("this", "evening"), 18), (("tomorrow", "evening"), 18),
    (("tomorrow", "night"), 20), (("tonight",), 20), (("morning",), 9), (("afternoon",), 15), (("evening",), 18),
)  # fmt: skip
DEFAULT_DAY_HOUR = 9  # "tomorrow", "on friday": in the morning
_GLUED_PERIOD = re.compile(r"^(\d{1,2}(?::\d{2})?)(am|pm)$")


def clock_words(text: str) -> list[str]:
    """Words as `normalise_words` gives them, with "a m"/"p.m." as "am"/"pm" and "5pm" as "5", "pm"."""
    words: list[str] = []
    for said in normalise_words(text):
        word = said.replace(".", "") if said in ("a.m.", "p.m.") else said
        glued = _GLUED_PERIOD.match(word)
        words.extend(glued.groups() if glued else (word,))
    return _join_am_pm(words)


def _days_ahead(words: list[str], now: datetime) -> int | None:
    """0 today, 1 "tomorrow", n for "on friday" (a week ahead when today is Friday); None when no day is said."""
    if "tomorrow" in words:
        return 1
    for word in words:
        if word in WEEKDAYS:
            return (WEEKDAYS.index(word) - now.weekday() - 1) % 7 + 1
    if "tonight" in words or "today" in words or "this" in words:
        return 0
    return None


def parse_clock_time(text: str, now: datetime) -> datetime | None:
    """The moment meant by "at five pm", "half past six", "tomorrow at nine", "on friday at 5pm", "tonight",
    after `now`, in `now`'s zone (a zone-aware `now` gives the right offset across a daylight-saving change)."""
    words = clock_words(text)
    days = _days_ahead(words, now)
    for index in range(len(words)):
        # A clock time follows "at", "by", "tomorrow"...; "noon" or "half past" stand on their own.
        after_preposition = index == 0 or words[index - 1] in TIME_PREPOSITIONS or words[index - 1] in WEEKDAYS
        if not after_preposition and words[index] not in ("noon", "midnight", "midday", "half", "quarter"):
            continue
        clock = _clock(words, index)
        if clock is None:
            continue
        hour, minute, used = clock
        if not (0 <= hour <= 24 and 0 <= minute < 60) or words[index + used : index + used + 1] in (
            [unit] for unit in UNITS
        ):
            continue  # "for ten minutes" is a duration, not ten o'clock
        period = next((PERIOD_WORDS[w] for w in words[index + used : index + used + 4] if w in PERIOD_WORDS), None)
        if words[index] in ("noon", "midday", "midnight") or hour > 12:
            period = "exact"  # never shifted by twelve hours
        elif period is None and "tonight" in words:
            period = "pm"
        return _next_occurrence(now, hour, minute, period, days)
    for phrase, hour in DEFAULT_HOURS:
        if any(tuple(words[i : i + len(phrase)]) == phrase for i in range(len(words))):
            return _next_occurrence(now, hour, 0, "exact", days if days is not None else 0)
    if days is not None and days > 0:
        return _next_occurrence(now, DEFAULT_DAY_HOUR, 0, "exact", days)
    return None


def _join_am_pm(words: list[str]) -> list[str]:
    """ "p m" (how recognisers often write it) -> "pm"."""
    joined: list[str] = []
    for word in words:
        if word == "m" and joined and joined[-1] in ("a", "p"):
            joined[-1] += "m"
        else:
            joined.append(word)
    return joined


def _next_occurrence(now: datetime, hour: int, minute: int, period: str | None, days: int | None) -> datetime:
    """The clock time on the day `days` ahead, or, with no day said, the next time the clock shows it
    ("at five" without am/pm: whichever of 5 am and 5 pm comes first)."""
    hour %= 24
    if period == "pm" and hour < 12:
        hour += 12
    elif period == "am" and hour == 12:
        hour = 0
    day = now + timedelta(days=days or 0)
    # Wall-clock arithmetic: replace() keeps the zone, which gives the offset in force on that day.
    candidates = [day.replace(hour=hour, minute=minute, second=0, microsecond=0)]
    if period is None and 1 <= hour < 12:
        candidates.append(day.replace(hour=hour + 12, minute=minute, second=0, microsecond=0))
    if days:
        return candidates[0]
    future = [c for c in candidates if c > now]
    if future:
        return min(future)
    # "this morning" at noon has passed: say so rather than move it to tomorrow. A bare "at five" rolls over.
    return candidates[-1] if days == 0 else candidates[0] + timedelta(days=1)
