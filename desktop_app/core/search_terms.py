"""The words of a search, as the store matches them and as the window marks them in what it shows."""

from __future__ import annotations

import re

from desktop_app.core.errors import ErrorCode, ValidationError

MAX_WORDS = 16
_WORD = re.compile(r"\w+", re.UNICODE)


def query_words(query: str) -> list[str]:
    """The words of what the user typed; operators and punctuation are not syntax here."""
    words = _WORD.findall(query.lower())
    if not words:
        raise ValidationError(ErrorCode.INVALID_ARGUMENT, "Search needs at least one word.")
    return words[:MAX_WORDS]


def marking_pattern(query: str) -> re.Pattern[str] | None:
    """Where the search's words are in a text: each word, and what it may go on as (the store matches
    stems, "timer" finds "timers", and the last word as the start of a word while it is being typed).
    None when the query has no word."""
    words = _WORD.findall(query.lower())[:MAX_WORDS]
    if not words:
        return None
    alternatives = "|".join(re.escape(word) for word in sorted(set(words), key=len, reverse=True))
    return re.compile(rf"\b(?:{alternatives})\w*", re.IGNORECASE)
