"""Remembered facts in plain speech: "remember this: I like Python", "remember that my sister is called
Ana", "what do I like?", "what do you know about me?", "forget that I like Python".

Facts are kept as the user said them (first person). Answers turn them round to the second person ("You
like Python."). Matching is by shared content words, forgiving of the small differences speech
recognition introduces ("likes", "liked").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_REMEMBER = re.compile(
    r"^(?:please\s+)?(?:remember|note|make a note|don't forget|do not forget)(?:\s+(?:of\s+)?(?:this|that))?\s*[:,]?"
    r"\s+(.+)$",
    re.IGNORECASE,
)
# The fact first: "my favourite colour is blue, remember that".
_REMEMBER_AFTER = re.compile(
    r"^(.+?)[\s,.;:-]+(?:please\s+)?(?:remember|note|don't forget|do not forget)\s+(?:that|this|it)$", re.IGNORECASE
)
_FORGET = re.compile(r"^(?:please\s+)?forget(?:\s+(?:this|that|about))?\s*[:,]?\s+(.+)$", re.IGNORECASE)
_ALL_ABOUT_ME = re.compile(
    r"^(?:tell me )?(?:what do you know about me|what have i told you(?: about me)?|what do you remember"
    r"(?: about me)?|what do you know of me)$"
)
_WHAT_DO_I = re.compile(r"^(?:what|who|which)\s+(?:do|did)\s+i\s+(.+)$")
_WHO_IS_MY = re.compile(r"^(?:what|who)(?:'s|\s+is|\s+are)\s+my\s+(.+?)(?:\s+called|\s+named)?$")

_STOP_TEXT = (
    "a an the is are am was were be to of and or that this it i me my you your we our do did does what who "
    "which about please"
)
# Words that mean the same thing in a fact and a question ("my dog is called Rex", "what's my dog's name").
_SAME = {"called": "name", "named": "name", "names": "name"}
STOP = frozenset(_STOP_TEXT.split(" "))
_NOT_A_FACT = frozenset({"when", "how", "what", "where", "why", "who", "whether", "if"})
SWAP = {"i": "you", "me": "you", "my": "your", "mine": "yours", "am": "are", "i'm": "you're", "myself": "yourself"}


@dataclass(frozen=True, slots=True)
class Recall:
    """What the user asked to be reminded of: the content words to match, or everything."""

    words: frozenset[str]
    everything: bool = False


def _clean(text: str) -> str:
    """Single spaces, no question or exclamation marks, no final full stop; the user's own casing kept."""
    return " ".join(text.replace("?", " ").replace("!", " ").split()).rstrip(".")


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def content_words(text: str) -> frozenset[str]:
    words = (w.removesuffix("'s").strip("'") for w in re.findall(r"[a-z0-9']+", text.lower()))
    return frozenset(_SAME.get(w, _stem(w)) for w in words if w and w not in STOP)


def fact_to_remember(said: str) -> str | None:
    """The fact in "remember that my sister is called Ana", as said (first person), or None."""
    match = _REMEMBER.match(_clean(said)) or _REMEMBER_AFTER.match(_clean(said))
    if match is None:
        return None
    fact = match.group(1).strip(" :,")
    # "remember when we went to Paris" is a memory to talk about, not a fact to keep.
    if not content_words(fact) or fact.split()[0].lower() in _NOT_A_FACT:
        return None
    return "I" + fact[1:] if fact[:2] == "i " else fact


def fact_to_forget(said: str) -> str | None:
    match = _FORGET.match(_clean(said))
    return match.group(1).strip(" :,") if match else None


def recall_question(said: str) -> Recall | None:
    """ "what do I like" -> words {like}; "who is my sister" -> {sister}; "what do you know about me" -> all."""
    text = _clean(said).lower()
    if _ALL_ABOUT_ME.search(text):
        return Recall(frozenset(), everything=True)
    match = _WHAT_DO_I.match(text) or _WHO_IS_MY.match(text)
    if match is None:
        return None
    words = content_words(match.group(1))
    return Recall(words) if words else None


def best_match(text: str, facts: list[str]) -> int | None:
    """The index of the fact that shares the most content words with `text` (at least half of them)."""
    wanted = content_words(text)
    if not wanted:
        return None
    scored = [(len(wanted & content_words(fact)), index) for index, fact in enumerate(facts)]
    best = max(scored, default=(0, -1))
    return best[1] if best[0] * 2 >= len(wanted) and best[0] > 0 else None


def matching_facts(recall: Recall, facts: list[str]) -> list[str]:
    """The facts holding every word asked about; of those, the ones saying least besides ("what is my
    name" finds "my name is Sam" rather than "my dog is called Rex")."""
    if recall.everything:
        return list(facts)
    words_of = [(content_words(fact), fact) for fact in facts]
    full = [(len(words - recall.words), fact) for words, fact in words_of if recall.words <= words]
    fewest = min((extra for extra, _ in full), default=0)
    return [fact for extra, fact in full if extra == fewest]


def second_person(fact: str) -> str:
    """ "I like Python" -> "You like Python."; "my sister is called Ana" -> "Your sister is called Ana."."""
    words = fact.split()
    turned = [SWAP.get(word.lower(), word) for word in words]
    sentence = " ".join(turned)
    sentence = sentence[0].upper() + sentence[1:]
    return sentence if sentence.endswith((".", "!", "?")) else sentence + "."
