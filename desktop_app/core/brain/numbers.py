"""Numbers as speech recognition writes them: "twenty one", "a hundred and five", "three point five",
"minus two", "1,200", "twenty-one".

`read_number` reads one number from the start of a word list and says how many words it used, so a
sentence parser can walk through "what is twelve times seven". `say_number` writes a whole number the
way people say it; the property tests run the two against each other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ONES = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
SCALES = {"thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
NEGATIVE = {"minus", "negative"}
_DIGITS = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$|^-?\d+(\.\d+)?$")

Number = int | float


@dataclass(frozen=True, slots=True)
class ReadNumber:
    value: Number
    words_used: int


def normalise_words(text: str) -> list[str]:
    """Lower case, hyphens split ("twenty-one"), punctuation other than . , % and - in numbers dropped."""
    text = text.lower().replace("%", " percent ")
    text = re.sub(r"(?<=[a-z])-(?=[a-z])", " ", text)
    words = []
    for raw in text.split():
        word = raw.strip("?!;:\"'()")
        if word.endswith((".", ",")) and not _DIGITS.match(word):
            word = word.rstrip(".,")
        if word:
            words.append(word)
    return words


def _whole(words: list[str], start: int) -> tuple[int, int] | None:
    """A whole number in words from `start`: (value, words used), or None when there is none.

    "twelve seven" is two numbers: a word may only fill the tens-and-ones slot of the current group when
    it is empty, or add a unit to a bare ten ("twenty one")."""
    total = 0
    current = 0
    index = start
    seen = False
    while index < len(words):
        word = words[index]
        slot = current % 100
        if word in ONES and (slot == 0 or (slot % 10 == 0 and slot >= 20 and ONES[word] < 10)):
            if seen and slot == 0 and current == 0 and total == 0:
                break  # "zero seven": two numbers
            current += ONES[word]
        elif word in TENS and slot == 0:
            current += TENS[word]
        elif word == "hundred" and current % 1000 < 100:
            current = max(current, 1) * 100
        elif word in SCALES and total % (SCALES[word] * 1000) == 0:  # scales only grow smaller
            total += max(current, 1) * SCALES[word]
            current = 0
        elif (
            word == "and" and seen and index + 1 < len(words) and (words[index + 1] in ONES or words[index + 1] in TENS)
        ):
            index += 1  # "a hundred and five"
            continue
        elif word == "a" and not seen and index + 1 < len(words) and words[index + 1] in ("hundred", *SCALES):
            index += 1  # "a hundred", "a thousand"
            continue
        else:
            break
        seen = True
        index += 1
    if not seen:
        return None
    return total + current, index - start


def read_number(words: list[str], start: int = 0) -> ReadNumber | None:
    """One number at words[start:]: digits ("1,200", "3.5", "-2") or words, with "minus" and "point"."""
    if start >= len(words):
        return None
    sign = 1
    index = start
    if words[index] in NEGATIVE:
        sign = -1
        index += 1
        if index >= len(words):
            return None
    word = words[index]
    if _DIGITS.match(word):
        text = word.replace(",", "")
        value: Number = float(text) if "." in text else int(text)
        return ReadNumber(sign * value, index + 1 - start)
    whole = _whole(words, index)
    if whole is None:
        return None
    value, used = whole
    index += used
    if index + 1 < len(words) and words[index] == "point" and words[index + 1] in ONES:
        digits = []
        index += 1
        while index < len(words) and words[index] in ONES and ONES[words[index]] < 10:
            digits.append(str(ONES[words[index]]))
            index += 1
        return ReadNumber(sign * float(f"{value}.{''.join(digits)}"), index - start)
    return ReadNumber(sign * value, index - start)


_ONES_BY_VALUE = {value: word for word, value in ONES.items() if word != "oh"}
_TENS_BY_VALUE = {value: word for word, value in TENS.items()}


def say_number(value: int) -> str:
    """A whole number as words: 1205 -> "one thousand two hundred and five"."""
    if value < 0:
        return "minus " + say_number(-value)
    if value < 20:
        return _ONES_BY_VALUE[value]
    if value < 100:
        tens, ones = divmod(value, 10)
        return _TENS_BY_VALUE[tens * 10] + ("" if ones == 0 else " " + _ONES_BY_VALUE[ones])
    if value < 1000:
        hundreds, rest = divmod(value, 100)
        return _ONES_BY_VALUE[hundreds] + " hundred" + ("" if rest == 0 else " and " + say_number(rest))
    for scale_word, scale in sorted(SCALES.items(), key=lambda item: -item[1]):
        if value >= scale:
            high, rest = divmod(value, scale)
            spoken = say_number(high) + " " + scale_word
            if rest == 0:
                return spoken
            return spoken + (" and " if rest < 100 else " ") + say_number(rest)
    raise AssertionError("unreachable")
