"""Spoken sums ("what is twelve times seven", "what's 15 percent of 80") and unit conversions ("convert
five miles to kilometres", "how many grams in a pound"). Parsed word by word, never evaluated as code."""

from __future__ import annotations

from desktop_app.core.brain.arithmetic import CalculationError, calculate, format_number
from desktop_app.core.brain.skill import Answer, Match, SkillContext, Utterance
from desktop_app.core.brain.units import ConversionError, convert, parse_conversion


def rounded(value: float) -> str:
    """Enough digits to be useful when spoken: 8.04672 -> "8.05", 0.0254 -> "0.0254", 1609.344 -> "1609.34"."""
    if value != 0 and abs(value) < 0.1:
        return format_number(float(f"{value:.3g}"))
    return format_number(round(value, 2))


class CalculatorSkill:
    name = "calculator"
    summary = "do sums"

    def phrases(self) -> list[str]:
        return [
            "what is twelve times seven",
            "what is five plus three",
            "what is ten minus four",
            "what is one hundred divided by four",
            "what is fifteen percent of eighty",
            "what is the square root of eighty one",
            "what is two to the power of ten",
            "what is {number} times {number}",
            "what is {number} plus {number}",
            "what is {number} minus {number}",
            "what is {number} divided by {number}",
            "what is {number} percent of {number}",
        ]

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


class UnitsSkill:
    name = "units"
    summary = "convert units"

    def phrases(self) -> list[str]:
        return [
            "convert five miles to kilometres",
            "how many grams in a pound",
            "what is one hundred fahrenheit in celsius",
            "how many cups in a litre",
            "convert ten kilograms to pounds",
        ]

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
