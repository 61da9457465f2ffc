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
    r"^(?:tell me )?(?:what (?:do )?you know about me|what have i told you(?: about me)?|what (?:do )?you remember"
    r"(?: about me)?|what do you know of me|everything you know about me)$"
)
# A question about the user's own things ("where did I park my car", "when is my sister's birthday", "am I
# allergic to anything"): asked by meaning, so any wording that names the thing finds the fact.
_ABOUT_MINE = re.compile(
    r"^(?:(?:do you know|can you tell me|remind me|tell me)\s+)?(?:what|who|where|when|which|whose)\b.*"
    r"\b(?:my|mine|i|i'm)\b|^(?:am i|do i|did i|is my|are my|was my|have i)\b"
    r"|^how\b.*\b(?:my|mine)\b"
)
# Questions about the user that other skills answer, or that are not about something they told.
_NOT_RECALL = re.compile(
    r"\b(?:should|could|would|can|shall|will)\s+i\b|\bwhat (?:do|did) i (?:ask|say|said)\b|^how (?:do|to) i\b"
    r"|\bhow (?:many|long|soon)\b.*\b(?:until|till|til|before|to|away|off)\b"
)
_WHAT_DO_I = re.compile(r"^(?:what|who|which)\s+(?:do|did)\s+i\s+(.+)$")
_WHO_IS_MY = re.compile(r"^(?:what|who)(?:'s|\s+is|\s+are)\s+my\s+(.+?)(?:\s+called|\s+named)?$")

_STOP_TEXT = (
    "a an the is are am was were be to of and or that this it i me my you your we our do did does what who "
    "which about please"
)
# Words that mean the same thing in a fact and a question ("my dog is called Rex", "what's my dog's name").
_SAME = {
    "called": "name", "named": "name", "names": "name", "call": "name",
    "color": "colour", "favorite": "favourite", "like": "favourite", "best": "favourite", "love": "favourite",
    "prefer": "favourite",
    "floor": "level", "storey": "level",
    "mum": "mother", "mom": "mother", "mummy": "mother", "dad": "father", "daddy": "father",
    "born": "birthday", "bday": "birthday",
    "home": "live", "address": "live", "stay": "live",
    "job": "work", "office": "work",
    "code": "number", "pin": "number", "combination": "number",
    "wife": "partner", "husband": "partner", "girlfriend": "partner", "boyfriend": "partner",
}  # fmt: skip
# Question words and verbs of asking: they say how something is asked, not what about.
_ASKING = frozenset(
    [
        "where",
        "when",
        "which",
        "whose",
        "how",
        "again",
        "anything",
        "know",
        "tell",
        "remind",
        "go",
        "put",
        "leave",
        "left",
        "keep",
        "kept",
    ]
)
STOP = frozenset(_STOP_TEXT.split(" "))
_NOT_A_FACT = frozenset({"when", "how", "what", "where", "why", "who", "whether", "if"})
SWAP = {"i": "you", "me": "you", "my": "your", "mine": "yours", "am": "are", "i'm": "you're", "myself": "yourself"}


@dataclass(frozen=True, slots=True)
class Recall:
    """What the user asked to be reminded of: the content words to match, or everything."""

    words: frozenset[str]
    everything: bool = False
    # Asked in other words than the fact's ("where did I park my car"): facts sharing most words are found.
    by_meaning: bool = False


def _clean(text: str) -> str:
    """Single spaces, no question or exclamation marks, no final full stop; the user's own casing kept."""
    return " ".join(text.replace("?", " ").replace("!", " ").split()).rstrip(".")


def lemma(word: str) -> str:
    """The dictionary form ("parked" -> "park", "colours" -> "colour"), by simplemma's English tables, with
    words of the same meaning made one ("favorite", "like" -> "favourite")."""
    import simplemma  # its English tables load on first use, not at start-up

    word = _SAME.get(word, word)
    # low_memory: the tables stay one compressed stream with a sparse index, looked up in place, rather
    # than being decoded into a 181,000-entry dict: the same lemmas, about half the loading time, 17 MB
    # less memory, and no growth of one huge dict that holds the interpreter lock for 15 ms and more.
    found = simplemma.lemmatize(word, lang="en", low_memory=True).lower()
    return _SAME.get(found, found)


def content_words(text: str) -> frozenset[str]:
    words = (w.removesuffix("'s").strip("'") for w in re.findall(r"[a-z0-9']+", text.lower()))
    return frozenset(lemma(w) for w in words if w and w not in STOP)


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
    if match is not None:
        words = content_words(match.group(1))
        return Recall(words) if words else None
    if _ABOUT_MINE.search(text) and not _NOT_RECALL.search(text):
        words = content_words(text) - _ASKING
        return Recall(words, by_meaning=True) if words else None
    return None


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
    if recall.by_meaning:
        # At least half the words asked about (one of one or two), the most shared first.
        shared = [(len(recall.words & words), -len(words - recall.words), fact) for words, fact in words_of]
        enough = max(1, (len(recall.words) + 1) // 2)
        best = max(((count, extra) for count, extra, _ in shared), default=(0, 0))
        return [fact for count, extra, fact in shared if count >= enough and (count, extra) == best]
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
