"""Streaming reply text into sentences: boundaries, the things that look like boundaries but are not, and
the promise that how the text is chunked never changes the sentences."""

from __future__ import annotations

import re
from collections.abc import Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop_app.core.sentences import DEFAULT_MAX_CHARS, SentenceSplitter


def split_sentences(text: str, max_chars: int = DEFAULT_MAX_CHARS) -> list[str]:
    """All the sentences of a complete text."""
    splitter = SentenceSplitter(max_chars)
    return splitter.feed(text) + splitter.flush()


def split_stream(pieces: Iterable[str], max_chars: int = DEFAULT_MAX_CHARS) -> list[str]:
    """The sentences of a text given in pieces, as the speaker gets them from a streamed answer."""
    splitter = SentenceSplitter(max_chars)
    sentences: list[str] = []
    for piece in pieces:
        sentences.extend(splitter.feed(piece))
    return sentences + splitter.flush()


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello there. How are you? I am fine!", ["Hello there.", "How are you?", "I am fine!"]),
        ("Ask Dr. Smith. Mr. Jones and Mrs. Lee agree.", ["Ask Dr. Smith.", "Mr. Jones and Mrs. Lee agree."]),
        ("Fruit, e.g. apples, i.e. red ones. Fine.", ["Fruit, e.g. apples, i.e. red ones.", "Fine."]),
        ("Pi is about 3.14 and e is 2.72. Next.", ["Pi is about 3.14 and e is 2.72.", "Next."]),
        ("The train leaves at 5:30. Be early.", ["The train leaves at 5:30.", "Be early."]),
        ("We meet at 5 p.m. tomorrow. See you at 6 p.m. Then dinner.",
         ["We meet at 5 p.m. tomorrow.", "See you at 6 p.m.", "Then dinner."]),
        ("Well... let me think. Hmm… Yes.", ["Well... let me think.", "Hmm…", "Yes."]),
        ("Really?! No way!! OK.", ["Really?!", "No way!!", "OK."]),
        ('He said "Stop." Then he left.', ['He said "Stop."', "Then he left."]),
        ("(It is late.) Go home.", ["(It is late.)", "Go home."]),
        ("J. R. R. Tolkien wrote it.", ["J. R. R. Tolkien wrote it."]),
        ("Visit example.com today. Or not.", ["Visit example.com today.", "Or not."]),
        ("Shopping:\n1. Eggs\n2. Milk\nThat is all", ["Shopping:", "1. Eggs", "2. Milk", "That is all"]),
        ("First line\n\nSecond line", ["First line", "Second line"]),
        ("Room No. 5 is free.", ["Room No. 5 is free."]),
        ("", []),
        ("   \n  ", []),
        ("no punctuation at all", ["no punctuation at all"]),
    ],
)  # fmt: skip
def test_boundaries(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_sentences_come_out_as_soon_as_they_are_certain() -> None:
    splitter = SentenceSplitter()
    assert splitter.feed("It is five") == []
    assert splitter.feed(" past three.") == []  # a decimal or "Dr." could still follow the dot
    assert splitter.feed(" ") == []  # still undecided: "3. five" vs "3. Five"
    assert splitter.feed("Any") == ["It is five past three."]
    assert splitter.feed("thing else? ") == []
    assert splitter.feed("N") == ["Anything else?"]
    assert splitter.flush() == ["N"]
    assert splitter.flush() == []


def test_a_decimal_split_across_pieces_stays_whole() -> None:
    assert split_stream(["It costs 3.", "5 dollars. Ok."]) == ["It costs 3.5 dollars.", "Ok."]
    assert split_stream(["Ask Dr", ". ", "Smith now."]) == ["Ask Dr. Smith now."]


def test_a_newline_ends_a_sentence_at_once() -> None:
    splitter = SentenceSplitter()
    assert splitter.feed("- milk\n- eg") == ["- milk"]
    assert splitter.pending == "- eg"


def test_a_long_sentence_is_cut_at_a_comma_so_speech_can_start() -> None:
    clause = "the quick brown fox jumps over the lazy dog"
    text = ", ".join([clause] * 8) + "."
    splitter = SentenceSplitter(max_chars=200)
    first = splitter.feed(text[:230])
    assert len(first) == 1
    assert first[0].endswith(",")
    assert 100 < len(first[0]) <= 200
    rest = splitter.feed(text[230:]) + splitter.flush()
    assert squash("".join(first + rest)) == squash(text)
    assert all(len(s) <= 200 for s in first + rest)


def test_a_long_run_without_commas_is_cut_at_a_space_or_hard() -> None:
    words = split_sentences("word " * 100, max_chars=50)
    assert all(len(s) <= 50 and not s.startswith(" ") for s in words)
    assert all(s.split() == ["word"] * len(s.split()) for s in words)  # never inside a word
    blob = split_sentences("x" * 120, max_chars=50)
    assert [len(s) for s in blob] == [50, 50, 20]


def test_max_chars_must_be_sensible() -> None:
    with pytest.raises(ValueError):
        SentenceSplitter(max_chars=3)


# Text made of the things that matter: words, numbers, abbreviations, punctuation and white space.
_tokens = st.sampled_from(
    [
        "Hello", "world", "it", "is", "five", "past", "three", "Dr.", "Mr.", "e.g.", "i.e.", "etc.", "p.m.",
        "3.5", "5:30", "1.", "J.", "U.S.", "example.com", ".", "..", "...", "…", "?", "!", "?!", ",", ";", ":",
        " - ", '"', "'", ")", "(", "No.", "x" * 30,
    ]
)  # fmt: skip
_spaces = st.sampled_from([" ", " ", " ", "  ", "\n", "\n\n", "\t", ""])
_texts = st.lists(st.tuples(_tokens, _spaces), max_size=120).map(lambda parts: "".join(a + b for a, b in parts))


@st.composite
def _chunked(draw: st.DrawFn) -> tuple[str, list[str]]:
    text = draw(_texts)
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=20)))
    pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    return text, pieces


@settings(max_examples=300, deadline=None)
@given(_chunked(), st.sampled_from([20, 60, 200]))
def test_joining_the_sentences_gives_back_the_text(case: tuple[str, list[str]], max_chars: int) -> None:
    text, pieces = case
    sentences = split_stream(pieces, max_chars)
    assert squash("".join(sentences)) == squash(text)
    assert all(s and s == s.strip() for s in sentences)
    # However the text was chunked, the sentences are the same.
    assert sentences == split_sentences(text, max_chars)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400), st.lists(st.integers(0, 400), max_size=10))
def test_any_text_round_trips(text: str, cuts: list[int]) -> None:
    bounds = sorted(min(c, len(text)) for c in cuts)
    pieces = [text[a:b] for a, b in zip([0, *bounds], [*bounds, len(text)], strict=True)]
    sentences = split_stream(pieces, 40)
    assert squash("".join(sentences)) == squash(text)
    assert sentences == split_sentences(text, 40)
