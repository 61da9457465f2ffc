"""Spoken sums ("what is twelve times seven", "what's 15 percent of 80") and unit conversions ("convert
five miles to kilometres", "how many grams in a pound"). Parsed word by word, never evaluated as code."""

from __future__ import annotations

from desktop_app.core.brain.arithmetic import CalculationError, calculate, format_number
from desktop_app.core.brain.skill import Answer, Match, SkillContext, Utterance
from desktop_app.core.brain.templates import Templates
from desktop_app.core.brain.units import ConversionError, convert, parse_conversion


def rounded(value: float) -> str:
    """Enough digits to be useful when spoken: 8.04672 -> "8.05", 0.0254 -> "0.0254", 1609.344 -> "1609.34"."""
    if value != 0 and abs(value) < 0.1:
        return format_number(float(f"{value:.3g}"))
    return format_number(round(value, 2))


_TEMPLATES = Templates(
    {
        "sum": [
            "<what_is> {number} (plus|minus|times|multiplied by|divided by) {number}",
            "{number} (plus|minus|times|divided by) {number}",
            "add {count} and {count}",
            "<what_is> {few} to the power of {few}",
            "<what_is> {percent} percent of {number}",
            "(what is|what's) a {percent} percent tip on {number} dollars",
            "<what_is> {fraction} of {number}",
            "<what_is> the square root of {number}",
            "<what_is> {number} squared",
            "subtract {number} from {number}",
        ],
    },
    example="what is twelve times seven",
)


class CalculatorSkill:
    name = "calculator"
    summary = "do sums"
    templates = _TEMPLATES

    def match(self, said: Utterance) -> Match | None:
        try:
            calculation = calculate(said.text)
        except CalculationError as error:
            return Match(0.9, "refused", {"why": str(error)})
        if calculation is None:
            return None
        return Match(0.95, "sum", {"question": calculation.question, "value": calculation.value})

    def run(self, match: Match, said: Utterance, context: SkillContext) -> Answer:
        if match.intent == "refused":
            return Answer(match.data["why"])
        question: str = match.data["question"]
        return Answer(f"{question[0].upper()}{question[1:]} is {format_number(match.data['value'])}.")


_UNIT_TEMPLATES = Templates(
    {
        "convert": [
            "convert {number} ({length} (to|into) {length}|{weight} (to|into) {weight}|{volume} (to|into) {volume})",
            "(what is|what's) {number} ({length} in {length}|{weight} in {weight}|{volume} in {volume})",
            "how many ({length} are in|{length} in) {number} {length}",
            "how many ({weight} are in|{weight} in) {number} {weight}",
            "how many ({volume} are in|{volume} in) {number} {volume}",
            "how many {length} in (a|one) {length}",
            "how many {weight} in (a|one) {weight}",
            "(what is|what's) {number} degrees {temperature} in {temperature}",
            "convert {number} degrees {temperature} to {temperature}",
        ],
    },
    example="convert five miles to kilometres",
)


class UnitsSkill:
    name = "units"
    summary = "convert units"
    templates = _UNIT_TEMPLATES

    def match(self, said: Utterance) -> Match | None:
        request = parse_conversion(said.words)
        if request is None:
            return None
        return Match(0.95, "convert", {"request": request})

    def run(self, match: Match, said: Utterance, context: SkillContext) -> Answer:
        request = match.data["request"]
        try:
            result = convert(request.value, request.source, request.target)
        except ConversionError as error:  # "5 k in miles" may mean kilometres: a model, if any, can tell
            return Answer(str(error), last_resort=True)
        amount = format_number(request.value)
        return Answer(
            f"{amount} {request.source.say(request.value)} is {rounded(result)} {request.target.say(result)}."
        )
