"""Durations and clock times as people say them: "ten minutes", "an hour and a half", "half past six",
"a quarter to four", "five pm", "ten thirty", "noon", "tomorrow at nine".

Times without am/pm mean the next time the clock shows them after `now`, as people mean "remind me at
five". Everything takes `now` from the caller, so tests control time instead of sleeping.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from desktop_app.core.brain.numbers import normalise_words, read_number

UNITS = {
    "second": 1, "seconds": 1, "sec": 1, "secs": 1,
    "minute": 60, "minutes": 60, "min": 60, "mins": 60,
    "hour": 3600, "hours": 3600, "hr": 3600, "hrs": 3600,
    "day": 86400, "days": 86400,
}  # fmt: skip
TIME_PREPOSITIONS = frozenset({"at", "for", "by", "until", "till", "tomorrow", "to", "remind"})
PERIOD_WORDS = {
    "am": "am", "a.m.": "am", "morning": "am",
    "pm": "pm", "p.m.": "pm", "afternoon": "pm", "evening": "pm", "night": "pm", "tonight": "pm",
}  # fmt: skip


def _amount(words: list[str], index: int) -> tuple[float, int] | None:
    """A count before a unit: a number, "a"/"an" (one), "half a"/"half an" (0.5), with "and a half"."""
    if words[index : index + 2] in (["half", "a"], ["half", "an"]):
        return 0.5, 2
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
        if words[after : after + 3] == ["and", "a", "half"]:
            value += 0.5
            after += 3
        if after < len(words) and words[after] in UNITS:
            seconds = value * UNITS[words[after]]
            after += 1
            if words[after : after + 3] == ["and", "a", "half"]:
                seconds += 0.5 * UNITS[words[after - 1]]
                after += 3
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


def parse_clock_time(text: str, now: datetime) -> datetime | None:
    """The moment meant by "at five pm", "half past six", "tomorrow at nine", after `now` (same zone)."""
    words = [w.replace(".", "") if w in ("a.m.", "p.m.") else w for w in normalise_words(text)]
    words = _join_am_pm(words)
    tomorrow = "tomorrow" in words
    for index in range(len(words)):
        # A clock time follows "at", "by", "tomorrow"...; "noon" or "half past" stand on their own.
        after_preposition = index == 0 or words[index - 1] in TIME_PREPOSITIONS
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
        return _next_occurrence(now, hour, minute, period, tomorrow)
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


def _next_occurrence(now: datetime, hour: int, minute: int, period: str | None, tomorrow: bool) -> datetime:
    hour %= 24
    if period == "pm" and hour < 12:
        hour += 12
    elif period == "am" and hour == 12:
        hour = 0
    day = now.replace(second=0, microsecond=0) + timedelta(days=1 if tomorrow else 0)
    candidates = [day.replace(hour=hour, minute=minute)]
    if period is None and hour < 12:
        candidates.append(day.replace(hour=hour + 12, minute=minute))  # "at five" may mean 5 pm
    if tomorrow:
        return candidates[0]
    future = [c for c in candidates if c > now]
    return min(future) if future else candidates[0] + timedelta(days=1)
