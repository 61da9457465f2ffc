"""Times, dates and durations worded the way an answer is spoken."""

from __future__ import annotations

from datetime import date, datetime, timedelta


def plural(count: int, word: str) -> str:
    """ "1 message", "2 messages", "70,028 messages"."""
    return f"{count:,} {word}" if count == 1 else f"{count:,} {word}s"


def spoken_duration(span: timedelta) -> str:
    """ "1 hour and 5 minutes", "7 minutes 40 seconds", "30 seconds"; never negative."""
    seconds = max(0, round(span.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return plural(hours, "hour") + (f" and {plural(minutes, 'minute')}" if minutes else "")
    if minutes:
        return plural(minutes, "minute") + (f" {plural(seconds, 'second')}" if seconds else "")
    return plural(seconds, "second")


def clock_phrase(moment: datetime) -> str:
    """ "5 pm", "5:30 pm", "noon", "midnight"."""
    if (moment.hour, moment.minute) == (12, 0):
        return "noon"
    if (moment.hour, moment.minute) == (0, 0):
        return "midnight"
    hour = moment.hour % 12 or 12
    suffix = "am" if moment.hour < 12 else "pm"
    return f"{hour} {suffix}" if moment.minute == 0 else f"{hour}:{moment.minute:02d} {suffix}"


def day_phrase(moment: datetime, now: datetime) -> str:
    """ "today", "tomorrow", "yesterday" or "on Friday 4 December", in `now`'s zone."""
    moment = moment.astimezone(now.tzinfo)
    days = (moment.date() - now.date()).days
    if days == 0:
        return "today"
    if days == 1:
        return "tomorrow"
    if days == -1:
        return "yesterday"
    return f"on {moment:%A} {moment.day} {moment:%B}"


def when_phrase(moment: datetime, now: datetime) -> str:
    """ "at 5 pm", "tomorrow at 9 am", "on Friday 4 December at noon", in `now`'s zone."""
    moment = moment.astimezone(now.tzinfo)
    day = day_phrase(moment, now)
    if day == "tomorrow" and (moment.hour, moment.minute) == (0, 0):
        return "at midnight tonight"
    return f"at {clock_phrase(moment)}" if day == "today" else f"{day} at {clock_phrase(moment)}"


def spoken_time(moment: datetime) -> str:
    hour = moment.hour % 12 or 12
    part = "in the morning" if moment.hour < 12 else "in the afternoon" if moment.hour < 18 else "in the evening"
    if moment.minute == 0:
        return f"It is {hour} o'clock {part}."
    return f"It is {hour}:{moment.minute:02d} {part}."


def ordinal(day: int) -> str:
    """1 -> "1st", 12 -> "12th", 22 -> "22nd" (speech engines read these as words)."""
    if 11 <= day % 100 <= 13:
        return f"{day}th"
    return f"{day}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(day % 10, 'th') }"


def date_words(moment: datetime | date) -> str:
    """ "Friday, the 25th of December 2026"."""
    return f"{moment:%A}, the {ordinal(moment.day)} of {moment:%B} {moment.year}"


def spoken_date(moment: datetime) -> str:
    return f"Today is {date_words(moment)}."
