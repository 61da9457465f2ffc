"""The words of a search, as the store matches them and as the window marks them in what it shows."""

from __future__ import annotations

import re

from desktop_app.core.errors import ErrorCode, ValidationError

MAX_WORDS = 16
# While a search is typed its last word is taken as the start of a word from this many letters on; shorter,
# as a whole word. One or two letters start so many words that gathering them took 0.2-0.9 s (p95) over a
# million messages, against 35 ms from three letters (bench/storage.py, history_search_keystrokes).
MIN_PREFIX_CHARS = 3
_WORD = re.compile(r"\w+", re.UNICODE)


def _words(query: str) -> list[str]:
    return _WORD.findall(query.lower())[:MAX_WORDS]


def query_words(query: str) -> list[str]:
    """The words of what the user typed; operators and punctuation are not syntax here."""
    words = _words(query)
    if not words:
        raise ValidationError(ErrorCode.INVALID_ARGUMENT, "Search needs at least one word.")
    return words


def has_words(query: str) -> bool:
    """Whether what the user typed holds a word to search for (not only spaces or punctuation)."""
    return bool(_words(query))


def is_word_start(word: str) -> bool:
    """Whether a last word being typed is long enough to be taken as the start of a word."""
    return len(word) >= MIN_PREFIX_CHARS


def marking_pattern(query: str) -> re.Pattern[str] | None:
    """Where the search's words are in a text: each word, and what it may go on as (the store matches
    stems, "timer" finds "timers", and the last word as the start of a word while it is being typed).
    None when the query has no word."""
    words = _words(query)
    if not words:
        return None
    alternatives = "|".join(re.escape(word) for word in sorted(set(words), key=len, reverse=True))
    return re.compile(rf"\b(?:{alternatives})\w*", re.IGNORECASE)
