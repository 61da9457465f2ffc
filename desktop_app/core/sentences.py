"""Reply text into sentences as it streams in, so speech can start before the reply is complete.

`SentenceSplitter.feed` takes pieces of text as a language model produces them and returns each sentence
as soon as it is certainly complete; `flush` returns what is left at the end. A sentence ends at `.`, `!`,
`?` or an ellipsis followed by white space (closing quotes and brackets stay with it), or at a line break.
A full stop is not an end after a title or a common abbreviation ("Dr. Smith", "e.g. this"), a single
initial ("J. R. Tolkien"), a list number opening a sentence ("1. Eggs"), or when the next word starts
with a small letter; decimals (3.5), times (5:30) and addresses (example.com) have no space after the dot,
so they never end one.

A sentence that runs on past `max_chars` without an end is cut early, so the first words can be spoken
while the rest is still arriving: after the last comma, semicolon, colon or dash in the first `max_chars`
characters, else at the last space, else at `max_chars` itself.

Where the pieces of text are split never changes the result: a boundary is only decided once the text
after it is known, so feeding a reply word by word gives the same sentences as feeding it at once. The
sentences are slices of the input with surrounding white space removed, so joining them gives the input
back apart from white space.
"""

from __future__ import annotations

DEFAULT_MAX_CHARS = 200

_TERMINALS = frozenset(".!?…")
_CLOSERS = frozenset("\"'\u201d\u2019\u00bb)]}")  # closing quotes (also typographic) and brackets
_SOFT_BREAKS = frozenset(",;:\u2014\u2013")  # and dashes; a hyphen counts only between spaces (" - ")

# fmt: off
# Never end a sentence: a name or a number follows.
_CONTINUERS = frozenset(
    {
        "mr", "mrs", "ms", "mx", "dr", "prof", "st", "sr", "jr", "rev", "hon", "gen", "capt", "lt", "col", "sgt",
        "mt", "ft", "vs", "cf", "e.g", "i.e", "eg", "ie", "approx", "fig", "figs", "dept", "vol", "vols", "ch",
        "pp", "ca", "op", "viz", "al",
    }
)
# End a sentence only when a capital letter follows ("at 5 p.m. Then" but "5 p.m. tomorrow").
_MAYBE_FINAL = frozenset(
    {"etc", "a.m", "p.m", "am", "pm", "inc", "ltd", "co", "corp", "jan", "feb", "mar", "apr", "jun", "jul", "aug",
     "sep", "sept", "oct", "nov", "dec", "mon", "tue", "wed", "thu", "fri", "sat", "sun", "u.s", "u.k", "no"}
)
# fmt: on


class SentenceSplitter:
    """Incremental: `feed` pieces, take the complete sentences it returns, `flush` at the end."""

    def __init__(self, max_chars: int = DEFAULT_MAX_CHARS) -> None:
        if max_chars < 10:
            raise ValueError("max_chars must be at least 10")
        self.max_chars = max_chars
        self._buffer = ""

    @property
    def pending(self) -> str:
        """Text received but not yet returned as a sentence."""
        return self._buffer

    def feed(self, text: str) -> list[str]:
        """Adds text; returns the sentences it completed (possibly none)."""
        self._buffer += text
        return self._take(final=False)

    def flush(self) -> list[str]:
        """The end of the text: returns the remaining sentences and empties the splitter."""
        sentences = self._take(final=True)
        self._buffer = ""
        return sentences

    def _take(self, final: bool) -> list[str]:
        sentences: list[str] = []
        buffer = self._buffer
        start = 0
        while True:
            start = _skip_space(buffer, start)
            if start >= len(buffer):
                break
            cut = _next_cut(buffer, start, self.max_chars, final)
            if cut is None:
                break
            sentence = buffer[start:cut].strip()
            if sentence:
                sentences.append(sentence)
            start = cut
        self._buffer = buffer[start:]
        return sentences


def _skip_space(text: str, index: int) -> int:
    while index < len(text) and text[index].isspace():
        index += 1
    return index


def _next_cut(text: str, start: int, max_chars: int, final: bool) -> int | None:
    """Where the sentence beginning at `start` ends (exclusive), or None while that depends on text not yet
    received. `start` is not white space."""
    limit = start + max_chars
    index = start
    while index < len(text):
        if index >= limit:
            return _soft_cut(text, start, limit)
        char = text[index]
        if char in "\n\r":
            return index + 1
        if char not in _TERMINALS:
            index += 1
            continue
        end = index
        while end < len(text) and text[end] in _TERMINALS:
            end += 1
        while end < len(text) and text[end] in _CLOSERS:
            end += 1
        if end >= len(text):
            return end if final else None
        if not text[end].isspace():  # 3.5, e.g.x, example.com, "?!x"
            index = end
            continue
        following = _skip_space(text, end)
        if "\n" in text[end:following] or "\r" in text[end:following]:
            return end
        if following >= len(text):
            if not final:
                return None
            return end
        if _ends_sentence(text, start, index, end, text[following]):
            return end
        index = end
    if final:
        return len(text)
    if len(text) > limit:
        return _soft_cut(text, start, limit)
    return None


def _ends_sentence(text: str, start: int, first: int, end: int, next_char: str) -> bool:
    """Whether the punctuation text[first:end] (followed by white space, then next_char) ends a sentence."""
    marks = text[first:end].rstrip("".join(_CLOSERS))
    if "!" in marks or "?" in marks:
        return True
    if next_char.islower():  # "approx. five", "wait... what"
        return False
    if marks != ".":
        return True  # an ellipsis before a capital letter or a digit
    word_start = first
    while word_start > start and (text[word_start - 1].isalnum() or text[word_start - 1] == "."):
        word_start -= 1
    word = text[word_start:first]
    lowered = word.lower()
    if lowered in _CONTINUERS:
        return False
    if lowered in _MAYBE_FINAL:
        return next_char.isupper()
    if len(word) == 1 and word.isupper():  # an initial: J. R. Tolkien
        return False
    if "." in word and all(len(part) <= 1 for part in word.split(".")):  # U.S.A., a.k.a
        return next_char.isupper()
    # A number opening a sentence is a list item ("1. Eggs"), not a sentence of its own. (Only the sentence
    # itself decides: what came before it may no longer be in the buffer.)
    return not (word.isdigit() and word_start == start)


def _soft_cut(text: str, start: int, limit: int) -> int:
    """The best place to cut a run-on sentence within text[start:limit]: after a comma or similar, else at a
    space, else at the limit. Only the characters up to `limit` decide."""
    window_end = min(limit, len(text))
    earliest = start + (limit - start) // 3
    for index in range(window_end - 2, earliest - 1, -1):
        char = text[index]
        after = text[index + 1]
        if not after.isspace():
            continue
        if char in _SOFT_BREAKS or (char == "-" and index > start and text[index - 1].isspace()):
            return index + 1
    for index in range(window_end - 1, start, -1):
        if text[index].isspace():
            return index
    return window_end
