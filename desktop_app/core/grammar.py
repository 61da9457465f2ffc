"""A JSGF grammar of the assistant's command phrases, for grammar-based recognition.

The phrases come from the skills (each skill lists what people say to it), so commands are written once.
Words the recogniser's dictionary does not know are left out with their phrase, never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

_NOT_WORD = re.compile(r"[^a-z' ]+")
_STOPWORDS_TEXT = "a an the is it of to for in on at and or me my i you what whats what's please can could would do"
STOPWORDS = frozenset(_STOPWORDS_TEXT.split(" "))


def normalise_phrase(phrase: str) -> str:
    """Lower case, letters and apostrophes only, single spaces: how a recogniser writes text."""
    return " ".join(_NOT_WORD.sub(" ", phrase.lower()).split())


def jsgf_grammar(phrases: Iterable[str], known: Callable[[str], bool], name: str = "commands") -> str:
    """A grammar with one public rule that matches any of the phrases whose words are all `known`."""
    kept = sorted({p for p in (normalise_phrase(x) for x in phrases) if p and all(known(w) for w in p.split())})
    if not kept:
        raise ValueError("no command phrase has only known words")
    alternatives = "\n    | ".join(kept)
    return f"#JSGF V1.0;\ngrammar {name};\npublic <command> =\n    {alternatives}\n    ;\n"


def agreement(command: str, free_text: str) -> float:
    """How much a free transcription backs a grammar match: the share of the command's content words
    (all its words when it has no content word) that also occur in the free text."""
    words = command.split()
    content = [w for w in words if w not in STOPWORDS] or words
    if not content:
        return 0.0
    heard = set(free_text.split())
    return sum(1 for w in content if w in heard) / len(content)
