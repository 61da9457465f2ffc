"""The files PocketSphinx decodes the assistant's own sentences with: a language model made from the skills'
sentence templates (see core.ngram) and a pronouncing dictionary for its words.

The dictionary is the model's own US English one, with a non-rhotic variant added wherever a word has an
"r" after a vowel: "timer" as T AY M AH, "four" as F AO. Most English accents outside North America drop
that "r", and without the variant "set a timer" in a British or Australian voice was heard as "set a ta".
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from desktop_app.core.ngram import arpa_model

VOWELS = frozenset({"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"})
# How many of the general model's most likely words may still be heard when no template holds them, and the
# share of the unigram probability they get.
BACKGROUND_WORDS = 5000
BACKGROUND_SHARE = 0.02
# Raised whenever the model made from the same inputs changes (here or in core.ngram): cached models made
# by an earlier version are then not used (speech.domain_cache).
BUILDER_VERSION = 1
_ALTERNATIVE = re.compile(r"\(\d+\)$")


def non_rhotic(phones: list[str]) -> list[str]:
    """The pronunciation with every "r" that follows a vowel and precedes no vowel left unsaid (ER becomes
    AH): "quarter" K W AO R T ER -> K W AO T AH."""
    said: list[str] = []
    for index, phone in enumerate(phones):
        following = phones[index + 1] if index + 1 < len(phones) else None
        before_vowel = following is not None and following in VOWELS
        if phone == "ER" and not before_vowel:
            said.append("AH")
        elif phone == "R" and said and said[-1] in VOWELS and not before_vowel:
            continue
        else:
            said.append(phone)
    return said


def read_dictionary(path: Path, wanted: Callable[[str], bool]) -> dict[str, list[list[str]]]:
    """word -> its pronunciations, for the words `wanted` accepts."""
    return {word: [p.split() for p in said] for word, said in _pronunciations(path).items() if wanted(word)}


def _pronunciations(path: Path) -> dict[str, list[str]]:
    """word -> its pronunciations as written: split only when used, since few of the words ever are."""
    found: dict[str, list[str]] = {}
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            head, _, phones = line.strip().partition(" ")
            if head.endswith(")"):  # "word(2)": another pronunciation of "word"
                head = _ALTERNATIVE.sub("", head)
            if phones:
                found.setdefault(head, []).append(phones)
    return found


def dictionary_text(pronunciations: Mapping[str, list[list[str]]]) -> str:
    """In PocketSphinx's format, each word's non-rhotic variants added after its own pronunciations."""
    lines: list[str] = []
    for word in sorted(pronunciations):
        variants = list(pronunciations[word])
        for phones in pronunciations[word]:
            dropped = non_rhotic(phones)
            if dropped not in variants:
                variants.append(dropped)
        for number, phones in enumerate(variants, start=1):
            lines.append(f"{word if number == 1 else f'{word}({number})'} {' '.join(phones)}")
    return "\n".join(lines) + "\n"


def builder_id() -> str:
    """What the model's text depends on besides its inputs: a cached model made by another builder is not it."""
    return f"domain-model {BUILDER_VERSION} background {BACKGROUND_WORDS} {BACKGROUND_SHARE}"


def build_domain_model(
    sentences: Iterable[str],
    general_dictionary: Path,
    word_log_probability: Callable[[str], float | None],
) -> tuple[str, str]:
    """The language model (ARPA) and the dictionary, as text.

    `word_log_probability`: the general model's log10 unigram probability of a word (None when it has
    none); its most likely words are the background that lets words outside the templates be heard."""
    everything = _pronunciations(general_dictionary)
    kept = [
        words for words in (sentence.split() for sentence in sentences) if words and all(w in everything for w in words)
    ]
    if not kept:
        raise ValueError("no command sentence has only words the dictionary knows")
    scored = ((word, word_log_probability(word)) for word in everything)
    likely = heapq.nlargest(BACKGROUND_WORDS, ((p, w) for w, p in scored if p is not None))
    background = {word: 10.0**log_probability for log_probability, word in likely}
    arpa = arpa_model(kept, background=background, background_share=BACKGROUND_SHARE)
    vocabulary = {word for words in kept for word in words} | set(background)
    return arpa, dictionary_text({w: [p.split() for p in everything[w]] for w in vocabulary})


def write_domain_files(folder: Path, arpa: bytes, dictionary: bytes) -> tuple[Path, Path]:
    """domain.lm and domain.dict in `folder`; their paths."""
    lm_path, dict_path = folder / "domain.lm", folder / "domain.dict"
    lm_path.write_bytes(arpa)
    dict_path.write_bytes(dictionary)
    return lm_path, dict_path


def write_domain_model(
    folder: Path,
    sentences: Iterable[str],
    general_dictionary: Path,
    word_log_probability: Callable[[str], float | None],
) -> tuple[Path, Path]:
    """Writes domain.lm (ARPA) and domain.dict into `folder` (see `build_domain_model`); their paths."""
    arpa, dictionary = build_domain_model(sentences, general_dictionary, word_log_probability)
    return write_domain_files(folder, arpa.encode("utf-8"), dictionary.encode("utf-8"))
