"""Spoken arithmetic, parsed and computed without eval: "what is twelve times seven", "what's 15 percent
of 80", "square root of eighty one", "two to the power of ten", "add three and four".

A small recursive-descent parser over the words: sums of products of powers, with percent-of and square
roots. It refuses anything else (returns None), so a sentence that merely contains numbers is not taken
for a sum. Results stay within sane bounds: no power beyond 1e100.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from desktop_app.core.brain.numbers import Number, normalise_words, read_number

LEADS = (
    ("what", "is"), ("what's",), ("whats",), ("how", "much", "is"), ("calculate",), ("compute",),
    ("what", "does"), ("tell", "me"), ("can", "you", "tell", "me"), ("please",),
    ("what", "do", "you", "get", "if", "you"), ("what", "do", "i", "get", "if", "i"), ("how", "much", "should", "i"),
)  # fmt: skip
TRAILS = ("please", "equal", "equals", "make")
MAX_MAGNITUDE = 1e100

# Operator phrases, longest first so "multiplied by" wins over a bare word.
ADD = (("plus",), ("+",), ("and",))
SUBTRACT = (("minus",), ("-",), ("take", "away"), ("less",))
MULTIPLY = (("multiplied", "by"), ("times",), ("x",), ("*",), ("of",))  # "of": "2/3 of 90"
DIVIDE = (("divided", "by"), ("over",), ("/",))
POWER = (("to", "the", "power", "of"), ("to", "the", "power"), ("raised", "to"), ("^",))
# "half of", "two thirds of", "three quarters of": the parts a whole is said to be cut into.
DENOMINATORS = {
    "half": 2, "halves": 2, "third": 3, "thirds": 3, "quarter": 4, "quarters": 4, "fourth": 4, "fourths": 4,
    "fifth": 5, "fifths": 5, "sixth": 6, "sixths": 6, "eighth": 8, "eighths": 8, "tenth": 10, "tenths": 10,
}  # fmt: skip
# "15 percent of 80", and of a bill: "a 15 percent tip on 60 dollars".
PERCENT_OF = (
    ("percent", "of"), ("per", "cent", "of"), ("percent", "tip", "on"), ("percent", "tip", "of"),
    ("percent", "tip", "for"), ("percent", "on"),
)  # fmt: skip
# Money named after an amount changes nothing in the sum.
CURRENCY = frozenset({"dollars", "dollar", "euros", "euro", "bucks", "quid", "cents", "pounds", "bill"})


class CalculationError(ValueError):
    """A sum that cannot be computed, with what to say about it."""


@dataclass(frozen=True, slots=True)
class Calculation:
    question: str
    value: Number


class _Parser:
    def __init__(self, words: list[str]) -> None:
        self.words = words
        self.index = 0
        self.operators = 0  # a lone number is not a sum

    def at(self, *phrase: str) -> bool:
        return tuple(self.words[self.index : self.index + len(phrase)]) == phrase

    def take(self, options: tuple[tuple[str, ...], ...]) -> bool:
        for phrase in options:
            if self.at(*phrase):
                self.index += len(phrase)
                self.operators += 1
                return True
        return False

    def done(self) -> bool:
        return self.index >= len(self.words)

    def expression(self) -> Number:
        value = self.term()
        while True:
            if self.take(ADD):
                value = value + self.term()
            elif self.take(SUBTRACT):
                value = value - self.term()
            else:
                return value

    def term(self) -> Number:
        value = self.power()
        while True:
            if self.take(MULTIPLY):
                value = value * self.power()
            elif self.take(DIVIDE):
                divisor = self.power()
                if divisor == 0:
                    raise CalculationError("Dividing by zero has no answer.")
                value = value / divisor
            else:
                return value

    def power(self) -> Number:
        base = self.unary()
        if self.take(POWER):
            exponent = self.unary()
            if abs(exponent) > 1000 or (base != 0 and abs(exponent) * math.log10(abs(base) or 1) > 100):
                raise CalculationError("That number is too large to say.")
            if base == 0 and exponent < 0:
                raise CalculationError("Zero to a negative power has no answer.")
            return base**exponent
        return base

    def unary(self) -> Number:
        if self.take((("the", "square", "root", "of"), ("square", "root", "of"), ("root", "of"))):
            value = self.unary()
            if value < 0:
                raise CalculationError("A negative number has no real square root.")
            return math.sqrt(value)
        if self.words[self.index : self.index + 1] in (["a"], ["one"]) or self.at("half", "of"):
            whole = self.fraction_of(1 if not self.at("half", "of") else None)
            if whole is not None:
                return whole
        if self.words[self.index : self.index + 1] in (["a"], ["an"]) and read_number(self.words, self.index + 1):
            self.index += 1  # "a 15 percent tip on a 60 dollar bill"
        number = read_number(self.words, self.index)
        if number is None:
            raise _NotArithmetic
        self.index += number.words_used
        value = number.value
        while self.index < len(self.words) and self.words[self.index] in CURRENCY:  # "sixty five dollar bill"
            self.index += 1
        part = self.fraction_of(value, counted=True)
        if part is not None:
            return part
        if self.take((("squared",),)):
            value = value * value
        elif self.take((("cubed",),)):
            value = value**3
        if self.take(PERCENT_OF):
            return value / 100 * self.unary()
        return value

    def fraction_of(self, count: Number | None, *, counted: bool = False) -> Number | None:
        """ "half of 250", "a quarter of 80" (`count` 1 for the "a" or "one" not yet taken), "two thirds of
        ninety" (`counted`: the count was just read). None, having taken nothing, when no fraction follows."""
        start = self.index
        if not counted and count is not None:
            self.index += 1  # "a" or "one"
        word = self.words[self.index] if self.index < len(self.words) else ""
        if word not in DENOMINATORS or not self.at(word, "of"):
            self.index = start
            return None
        self.index += 2
        self.operators += 1
        return (1 if count is None else count) / DENOMINATORS[word] * self.unary()


class _NotArithmetic(Exception):
    pass


def _strip(words: list[str]) -> list[str]:
    for lead in sorted(LEADS, key=len, reverse=True):
        if tuple(words[: len(lead)]) == lead:
            words = words[len(lead) :]
            break
    if words[:1] in (["a"], ["an"], ["the"]) and read_number(words, 1) is not None:  # "a 15 percent tip on 60"
        words = words[1:]
    while words and words[-1] in TRAILS:
        words = words[:-1]
    if words[:2] == ["take", "away"]:
        words = ["subtract", *words[2:]]
    if words[:3] == ["the", "sum", "of"] or words[:2] == ["sum", "of"]:
        words = ["add", *words[words.index("of") + 1 :]]
    if words[:1] in (["double"], ["twice"]):
        return ["two", "times", *words[1:]]
    if words[:1] in (["add"], ["multiply"], ["divide"], ["subtract"]):
        return _verb_first(words)
    return _tip_or_share(words)


def _tip_or_share(words: list[str]) -> list[str]:
    """ "the tip on fifty dollars at eighteen percent" -> "eighteen percent of fifty"; "what percentage is
    thirty of one hundred and twenty" -> "thirty over one hundred and twenty times one hundred"."""
    text = " ".join(words)
    tip = re.fullmatch(r"(?:the )?tip (?:on|for) (?:a |an )?(.+?) (?:at|with) (.+) percent", text)
    if tip is not None:
        return [*tip.group(2).split(), "percent", "of", *tip.group(1).split()]
    share = re.fullmatch(r"(?:what|which) (?:percentage|percent) is (.+?) of (.+)", text)
    if share is not None:
        return [*share.group(1).split(), "over", *share.group(2).split(), "times", "one", "hundred"]
    return words


def _verb_first(words: list[str]) -> list[str]:
    """ "add three and four" -> "three plus four"; "subtract two from ten" -> "ten minus two"."""
    verb, rest = words[0], words[1:]
    joiner = {"add": ("and", "to"), "multiply": ("by", "and"), "divide": ("by",), "subtract": ("from",)}[verb]
    for word in joiner:
        if word in rest:
            cut = rest.index(word)
            left, right = rest[:cut], rest[cut + 1 :]
            if verb == "subtract":
                return [*right, "minus", *left]
            operator = {"add": "plus", "multiply": "times", "divide": "over"}[verb]
            return [*left, operator, *right]
    return words


def calculate(text: str) -> Calculation | None:
    """The value of a spoken sum, or None when the text is not one. CalculationError for sums with no
    answer (division by zero, too large)."""
    words = _strip(normalise_words(re.sub(r"(\d)/(\d)", r"\1 / \2", text.replace("$", ""))))
    if not words:
        return None
    parser = _Parser(words)
    try:
        value = parser.expression()
    except _NotArithmetic:
        return None
    if not parser.done() or parser.operators == 0:
        return None
    if isinstance(value, float) and (math.isnan(value) or abs(value) > MAX_MAGNITUDE):
        raise CalculationError("That number is too large to say.")
    return Calculation(" ".join(words), value)


def format_number(value: Number) -> str:
    """12 -> "12"; 12.0 -> "12"; 2/3 -> "0.666667"; 1e20 -> "100000000000000000000"."""
    if isinstance(value, int):
        return str(value)
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return f"{value:.6g}" if abs(value) < 1e15 else f"{value:.6e}"
