"""Unit conversion for the everyday units people ask about: length, weight, volume (US cups, pints and
gallons) and temperature.

Units are found by their spoken names, singular or plural, British or American spelling, and the short
forms recognisers and people type ("km", "lbs", "fl oz"). Linear units convert through a base unit;
temperature through kelvin.
"""

from __future__ import annotations

from dataclasses import dataclass

from desktop_app.core.brain.numbers import Number, read_number


@dataclass(frozen=True, slots=True)
class Unit:
    name: str  # singular, as spoken in answers
    plural: str
    dimension: str  # "length", "weight", "volume", "temperature"
    factor: float = 1.0  # in the dimension's base unit (metre, gram, millilitre); unused for temperature

    def say(self, value: float) -> str:
        return self.name if value == 1 else self.plural


def _u(name: str, plural: str, dimension: str, factor: float, *aliases: str) -> list[tuple[str, Unit]]:
    unit = Unit(name, plural, dimension, factor)
    return [(alias, unit) for alias in (name, plural, *aliases)]


_TABLE = [
    *_u("millimetre", "millimetres", "length", 0.001, "millimeter", "millimeters", "mm"),
    *_u("centimetre", "centimetres", "length", 0.01, "centimeter", "centimeters", "cm"),
    *_u("metre", "metres", "length", 1.0, "meter", "meters", "m"),
    *_u("kilometre", "kilometres", "length", 1000.0, "kilometer", "kilometers", "km", "kms"),
    *_u("inch", "inches", "length", 0.0254),
    *_u("foot", "feet", "length", 0.3048, "ft", "foots"),
    *_u("yard", "yards", "length", 0.9144, "yd", "yds"),
    *_u("mile", "miles", "length", 1609.344, "mi"),
    *_u("milligram", "milligrams", "weight", 0.001, "milligramme", "milligrammes", "mg"),
    *_u("gram", "grams", "weight", 1.0, "gramme", "grammes", "g"),
    *_u("kilogram", "kilograms", "weight", 1000.0, "kilogramme", "kilogrammes", "kg", "kgs", "kilo", "kilos"),
    *_u("tonne", "tonnes", "weight", 1_000_000.0, "metric ton", "metric tons"),
    *_u("ounce", "ounces", "weight", 28.349523125, "oz"),
    *_u("pound", "pounds", "weight", 453.59237, "lb", "lbs"),
    *_u("stone", "stone", "weight", 6350.29318, "stones", "st"),
    *_u("millilitre", "millilitres", "volume", 1.0, "milliliter", "milliliters", "ml"),
    *_u("centilitre", "centilitres", "volume", 10.0, "centiliter", "centiliters", "cl"),
    *_u("litre", "litres", "volume", 1000.0, "liter", "liters", "l"),
    *_u("teaspoon", "teaspoons", "volume", 4.92892159375, "tsp"),
    *_u("tablespoon", "tablespoons", "volume", 14.78676478125, "tbsp"),
    *_u("fluid ounce", "fluid ounces", "volume", 29.5735295625, "fl oz"),
    *_u("cup", "cups", "volume", 236.5882365),
    *_u("pint", "pints", "volume", 473.176473, "pt"),
    *_u("quart", "quarts", "volume", 946.352946, "qt"),
    *_u("gallon", "gallons", "volume", 3785.411784, "gal"),
    *_u("degree Celsius", "degrees Celsius", "temperature", 0.0, "celsius", "centigrade", "c", "degrees c"),
    *_u("degree Fahrenheit", "degrees Fahrenheit", "temperature", 0.0, "fahrenheit", "f", "degrees f"),
    *_u("kelvin", "kelvin", "temperature", 0.0, "kelvins"),
]
UNITS: dict[str, Unit] = {alias.lower(): unit for alias, unit in _TABLE}
_LONGEST = max(len(alias.split()) for alias in UNITS)


class ConversionError(ValueError):
    """Units that cannot be converted into each other, with what to say."""


def find_unit(words: list[str], start: int) -> tuple[Unit, int] | None:
    """The longest unit name at words[start:] ("fluid ounces", "degrees celsius"), and words used."""
    index = start
    if words[index : index + 1] in (["degrees"], ["degree"]) and index + 1 < len(words):
        found = find_unit(words, index + 1)
        if found is not None and found[0].dimension == "temperature":
            return found[0], found[1] + 1
    for size in range(min(_LONGEST, len(words) - index), 0, -1):
        unit = UNITS.get(" ".join(words[index : index + size]))
        if unit is not None:
            return unit, size
    return None


def _to_celsius(value: float, unit: Unit) -> float:
    if "Fahrenheit" in unit.name:
        return (value - 32) * 5 / 9
    if unit.name == "kelvin":
        return value - 273.15
    return value


def _from_celsius(value: float, unit: Unit) -> float:
    if "Fahrenheit" in unit.name:
        return value * 9 / 5 + 32
    if unit.name == "kelvin":
        return value + 273.15
    return value


def convert(value: Number, source: Unit, target: Unit) -> float:
    if source.dimension != target.dimension:
        raise ConversionError(
            f"I can't convert {source.plural} to {target.plural}: one is a {source.dimension} "
            f"and the other a {target.dimension}."
        )
    if source.dimension == "temperature":
        return _from_celsius(_to_celsius(float(value), source), target)
    return float(value) * source.factor / target.factor


@dataclass(frozen=True, slots=True)
class ConversionRequest:
    value: Number
    source: Unit
    target: Unit


def _request(value: Number, source: Unit, target: Unit) -> ConversionRequest:
    """ "Ounces" beside a volume means fluid ounces ("how many ounces in a cup")."""
    if source.name == "ounce" and target.dimension == "volume":
        source = UNITS["fluid ounce"]
    if target.name == "ounce" and source.dimension == "volume":
        target = UNITS["fluid ounce"]
    return ConversionRequest(value, source, target)


def _amount_and_unit(words: list[str], start: int) -> tuple[Number, Unit, int] | None:
    """ "5 miles", "a pound", "twenty one degrees celsius" at words[start:]."""
    if words[start : start + 1] in (["a"], ["an"], ["one"]):
        value: Number = 1
        used = 1
    else:
        number = read_number(words, start)
        if number is None:
            return None
        value, used = number.value, number.words_used
    found = find_unit(words, start + used)
    if found is None:
        return None
    return value, found[0], used + found[1]


def parse_conversion(words: list[str]) -> ConversionRequest | None:
    """ "convert 5 miles to km", "what is 100 fahrenheit in celsius", "how many grams in a pound",
    "10 kg in pounds"."""
    if words[:2] == ["how", "many"] or words[:2] == ["how", "much"]:
        target = find_unit(words, 2)
        if target is None:
            return None
        rest = words[2 + target[1] :]
        for marker in ("in", "is", "are"):
            while marker in rest:
                rest = rest[rest.index(marker) + 1 :]
                for start in range(len(rest)):
                    found = _amount_and_unit(rest, start)
                    if found is not None:
                        return _request(found[0], found[1], target[0])
        return None
    for start in range(len(words)):
        found = _amount_and_unit(words, start)
        if found is None:
            continue
        value, source, used = found
        after = words[start + used :]
        if after[:1] and after[0] in ("to", "in", "into", "as"):
            after = after[1:]
            target = find_unit(after, 0) if after else None
            if target is not None and target[1] == len(after):
                return _request(value, source, target[0])
        return None
    return None
