"""A JSGF grammar of the assistant's command phrases, for grammar-based recognition.

The phrases come from the skills (each skill lists what people say to it), so commands are written once.
A phrase may hold slots, "set a timer for {number} {unit}", that stand for any of their words (one to
fifty-nine; seconds, minutes, hours), so a recogniser limited to the grammar still hears "seven minutes".
Words the recogniser's dictionary does not know are left out with their phrase, never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from desktop_app.core.brain.numbers import say_number

_NOT_WORD = re.compile(r"[^a-z' ]+")
_STOPWORDS_TEXT = "a an the is it of to for in on at and or me my i you what whats what's please can could would do"
STOPWORDS = frozenset(_STOPWORDS_TEXT.split(" "))


SLOTS: dict[str, tuple[str, ...]] = {
    "number": tuple(say_number(n) for n in range(1, 60)),
    "unit": ("second", "seconds", "minute", "minutes", "hour", "hours"),
}
_SLOT = re.compile(r"\{(\w+)\}")


def example_of(phrase: str) -> str:
    """The phrase with each slot filled by its first choice: what a person might actually say."""
    return _SLOT.sub(lambda m: SLOTS[m.group(1)][0], phrase)


def normalise_phrase(phrase: str) -> str:
    """Lower case, letters and apostrophes only, single spaces: how a recogniser writes text."""
    return " ".join(_NOT_WORD.sub(" ", phrase.lower()).split())


def _grammar_phrase(phrase: str) -> str:
    """Normalised words with each {slot} turned into its <slot> rule reference."""
    parts = _SLOT.split(phrase)
    words = [normalise_phrase(part) if index % 2 == 0 else f"<{part}>" for index, part in enumerate(parts)]
    return " ".join(word for word in words if word)


def jsgf_grammar(phrases: Iterable[str], known: Callable[[str], bool], name: str = "commands") -> str:
    """A grammar with one public rule that matches any of the phrases whose words are all `known`, and a
    rule for each slot the phrases use (with the slot's known words)."""
    kept = sorted(
        {
            p
            for p in (_grammar_phrase(x) for x in phrases)
            if p and all(w.startswith("<") or known(w) for w in p.split())
        }
    )
    if not kept:
        raise ValueError("no command phrase has only known words")
    used = sorted({w[1:-1] for phrase in kept for w in phrase.split() if w.startswith("<")})
    alternatives = "\n    | ".join(kept)
    rules = "".join(
        f"<{slot}> = {' | '.join(v for v in SLOTS[slot] if all(known(w) for w in v.split()))};\n" for slot in used
    )
    return f"#JSGF V1.0;\ngrammar {name};\npublic <command> =\n    {alternatives}\n    ;\n{rules}"


def agreement(command: str, free_text: str) -> float:
    """How much a free transcription backs a grammar match: the share of the command's content words
    (all its words when it has no content word) that also occur in the free text."""
    words = command.split()
    content = [w for w in words if w not in STOPWORDS] or words
    if not content:
        return 0.0
    heard = set(free_text.split())
    return sum(1 for w in content if w in heard) / len(content)
