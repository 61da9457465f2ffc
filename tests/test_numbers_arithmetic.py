"""Number words and spoken sums, the way speech recognition writes them."""

from __future__ import annotations

import operator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop_app.core.brain.arithmetic import CalculationError, calculate, format_number
from desktop_app.core.brain.numbers import normalise_words, read_number, say_number


@given(st.integers(min_value=-(10**9), max_value=10**10))
def test_every_whole_number_said_in_words_reads_back(value: int) -> None:
    words = say_number(value).split()
    read = read_number(words)
    assert read is not None and read.value == value and read.words_used == len(words)


@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=0, max_value=10**6))
def test_two_numbers_in_a_row_stay_two_numbers(first: int, second: int) -> None:
    """ "twelve seven" must not read as one number: the reader stops where the first one ends."""
    words = (say_number(first) + " times " + say_number(second)).split()
    read = read_number(words)
    assert read is not None and read.value == first


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("twenty one", 21),
        ("twenty-one", 21),
        ("a hundred and five", 105),
        ("one thousand two hundred and five", 1205),
        ("three point one four", 3.14),
        ("minus seven", -7),
        ("1,200", 1200),
        ("2.5", 2.5),
        ("seven hundred thousand", 700_000),
    ],
)
def test_number_words(text: str, value: float) -> None:
    read = read_number(normalise_words(text))
    assert read is not None and read.value == pytest.approx(value)


@pytest.mark.parametrize(
    ("said", "answer"),
    [
        ("what is twelve times seven", "84"),
        ("what's 15 percent of 80", "12"),
        ("whats fifteen percent of eighty", "12"),
        ("what is the square root of eighty one", "9"),
        ("what is two to the power of ten", "1024"),
        ("add three and four", "7"),
        ("subtract two from ten", "8"),
        ("what is ten divided by four", "2.5"),
        ("what is one plus two times three", "7"),
        ("how much is a hundred and five minus five please", "100"),
        ("what is 2 + 2", "4"),
        ("calculate five squared", "25"),
    ],
)
def test_spoken_sums(said: str, answer: str) -> None:
    result = calculate(said)
    assert result is not None and format_number(result.value) == answer


@pytest.mark.parametrize("said", ["what is the weather like", "i am twenty one", "what is five", "", "times times"])
def test_sentences_that_are_not_sums(said: str) -> None:
    assert calculate(said) is None


@pytest.mark.parametrize(
    "said", ["what is seven divided by zero", "what is ten to the power of ten thousand", "square root of minus four"]
)
def test_sums_with_no_answer_say_why(said: str) -> None:
    with pytest.raises(CalculationError) as caught:
        calculate(said)
    assert str(caught.value)


OPERATIONS = [("plus", operator.add), ("minus", operator.sub), ("times", operator.mul)]


@given(
    st.integers(min_value=0, max_value=10**6),
    st.sampled_from(OPERATIONS),
    st.integers(min_value=0, max_value=10**6),
)
def test_any_spoken_sum_of_two_whole_numbers_is_right(first: int, operation, second: int) -> None:
    word, function = operation
    result = calculate(f"what is {say_number(first)} {word} {say_number(second)}")
    assert result is not None and result.value == function(first, second)


@given(st.integers(min_value=1, max_value=10**4), st.integers(min_value=1, max_value=10**4))
def test_division_and_percent(first: int, second: int) -> None:
    divided = calculate(f"what is {first} divided by {second}")
    assert divided is not None and divided.value == pytest.approx(first / second)
    percent = calculate(f"what is {say_number(first)} percent of {say_number(second)}")
    assert percent is not None and percent.value == pytest.approx(first / 100 * second)
