"""Unit conversion and durations, checked on random values said in words (property tests)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop_app.core.brain.numbers import say_number
from desktop_app.core.brain.skill import utterance
from desktop_app.core.brain.units import UNITS, ConversionError, Unit, convert, parse_conversion
from desktop_app.core.brain.when import parse_duration

DISTINCT_UNITS = sorted({unit.name: unit for unit in UNITS.values()}.values(), key=lambda unit: unit.name)
BY_DIMENSION: dict[str, list[Unit]] = {}
for _unit in DISTINCT_UNITS:
    BY_DIMENSION.setdefault(_unit.dimension, []).append(_unit)

same_dimension_pairs = st.sampled_from(sorted(BY_DIMENSION)).flatmap(
    lambda dimension: st.tuples(st.sampled_from(BY_DIMENSION[dimension]), st.sampled_from(BY_DIMENSION[dimension]))
)


@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), same_dimension_pairs)
def test_converting_there_and_back_gives_the_value_again(value: float, pair: tuple[Unit, Unit]) -> None:
    source, target = pair
    assert convert(convert(value, source, target), target, source) == pytest.approx(value, rel=1e-9, abs=1e-9)


@given(st.integers(min_value=2, max_value=99_999), same_dimension_pairs)
def test_a_conversion_said_in_words_is_understood(amount: int, pair: tuple[Unit, Unit]) -> None:
    source, target = pair
    for sentence in (
        f"convert {say_number(amount)} {source.plural} to {target.plural}",
        f"what is {amount} {source.plural} in {target.plural}",
    ):
        request = parse_conversion(sentence.lower().split())
        assert request is not None, sentence
        assert (request.value, request.source, request.target) == (amount, source, target)


def test_known_values() -> None:
    assert convert(1, UNITS["mile"], UNITS["km"]) == pytest.approx(1.609344)
    assert convert(100, UNITS["celsius"], UNITS["fahrenheit"]) == pytest.approx(212)
    assert convert(0, UNITS["kelvin"], UNITS["celsius"]) == pytest.approx(-273.15)
    assert convert(1, UNITS["gallon"], UNITS["cups"]) == pytest.approx(16)
    assert convert(1, UNITS["stone"], UNITS["pounds"]) == pytest.approx(14)
    with pytest.raises(ConversionError, match="one is a length and the other a weight"):
        convert(1, UNITS["metre"], UNITS["gram"])


def test_sentences_that_are_not_conversions() -> None:
    for sentence in ("what time is it", "set a timer for ten minutes", "what is five plus five", "convert it"):
        assert parse_conversion(sentence.split()) is None, sentence


@given(st.integers(min_value=0, max_value=23), st.integers(min_value=0, max_value=59), st.integers(0, 59))
def test_durations_said_in_words(hours: int, minutes: int, seconds: int) -> None:
    parts = [
        f"{say_number(count)} {unit}{'' if count == 1 else 's'}"
        for count, unit in ((hours, "hour"), (minutes, "minute"), (seconds, "second"))
        if count
    ]
    expected = timedelta(hours=hours, minutes=minutes, seconds=seconds)
    said = "set a timer for " + " and ".join(parts)
    assert parse_duration(said) == (expected if parts else None)


def test_ounces_beside_a_volume_are_fluid_ounces() -> None:
    request = parse_conversion(utterance("how many ounces in a cup").words)
    assert request is not None and request.source.name == "cup" and request.target.name == "fluid ounce"
    assert convert(request.value, request.source, request.target) == pytest.approx(8)
    weight = parse_conversion(utterance("convert 8 ounces to grams").words)
    assert weight is not None and weight.source.name == "ounce"
