"""The export formats: JSON and CSV give back exactly the stored text; Markdown shows it verbatim."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop_app.core.errors import ValidationError
from desktop_app.core.export import (
    CSV_COLUMNS,
    FORMAT_VERSION,
    ExportFormat,
    ExportItem,
    iso_utc,
    write_csv,
    write_export,
    write_json,
    write_markdown,
)
from desktop_app.core.models import Conversation, Message, Role

START = datetime(2024, 5, 1, 9, 30, 15, 123456, tzinfo=UTC)
EXPORTED_AT = datetime(2024, 6, 2, 18, 0, tzinfo=UTC)

# Text that trips up naive exporters: separators, quotes, line breaks of every kind, formulas, emoji.
TRICKY_TEXTS = [
    "Hello, world",
    'She said "hi", then left\nSecond line\r\nThird line\rFourth',
    "=SUM(A1:A3)",
    "+cmd|' /C calc'!A0",
    "-1, @user",
    "Emoji 😀👍🏽👨‍👩‍👧 and 東京 and café",
    'tab\tcommas,,, ""doubled"" and a trailing newline\n',
    "\u2028line separator, \u2029paragraph separator, \x85next line, \x1c\x1d\x1e",
    "  leading and trailing spaces  ",
    "\\backslash \\n not a newline",
    "\x1b[31mterminal escape",
]


def conversation(cid: int = 1, title: str = "Weather", start: datetime = START) -> Conversation:
    return Conversation(cid, title, start, start + timedelta(minutes=5), message_count=0)


def message(
    mid: int,
    content: str,
    role: Role = Role.USER,
    *,
    cid: int = 1,
    at: datetime = START,
    tokens: tuple[int | None, int | None] = (None, None),
    timings: dict[str, float] | None = None,
    source: str | None = None,
) -> Message:
    return Message(mid, cid, role, content, at, tokens[0], tokens[1], timings, source)


def sample_items() -> list[ExportItem]:
    first = conversation(1, "Weather in Paris")
    second = conversation(2, 'Quotes, "commas"\nand lines', START + timedelta(days=1))
    return [
        (
            first,
            [
                message(1, "What's the weather, today?", at=START),
                message(
                    2,
                    "Sunny, 21 °C.\nTake sunglasses 😎",
                    Role.ASSISTANT,
                    at=START + timedelta(seconds=2),
                    tokens=(12, 8),
                    timings={"stt": 0.25, "llm": 1.5},
                    source="ollama",
                ),
            ],
        ),
        (
            second,
            [
                message(10 + i, text, Role.USER if i % 2 == 0 else Role.ASSISTANT, cid=2, at=second.created_at)
                for i, text in enumerate(TRICKY_TEXTS)
            ],
        ),
        (conversation(3, "", START + timedelta(days=2)), []),
    ]


def render(writer: str, items: Sequence[ExportItem]) -> str:
    buffer = io.StringIO(newline="")
    write_export(writer, items, buffer, exported_at=EXPORTED_AT)
    return buffer.getvalue()


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


# -- JSON ---------------------------------------------------------------------------------------------------


def test_json_document_shape_and_values() -> None:
    items = sample_items()
    document = json.loads(render("json", items))

    assert document["format_version"] == FORMAT_VERSION
    assert document["exported_at"] == "2024-06-02T18:00:00.000000Z"
    assert [c["id"] for c in document["conversations"]] == [1, 2, 3]
    first = document["conversations"][0]
    assert set(first) == {"id", "title", "created_at", "updated_at", "messages"}
    assert first["title"] == "Weather in Paris"
    assert first["created_at"] == "2024-05-01T09:30:15.123456Z"
    assert first["updated_at"] == "2024-05-01T09:35:15.123456Z"
    assert first["messages"][1] == {
        "id": 2,
        "role": "assistant",
        "content": "Sunny, 21 °C.\nTake sunglasses 😎",
        "created_at": "2024-05-01T09:30:17.123456Z",
        "tokens_input": 12,
        "tokens_output": 8,
        "timings": {"stt": 0.25, "llm": 1.5},
        "source": "ollama",
        "interrupted": False,
        "spoken_text": None,
    }
    assert first["messages"][0]["tokens_input"] is None
    assert first["messages"][0]["timings"] is None
    assert document["conversations"][2]["messages"] == []
    # Times parse back to the same instants.
    assert datetime.fromisoformat(first["created_at"]) == START


def test_json_keeps_every_character_of_titles_and_messages() -> None:
    items = sample_items()
    document = json.loads(render("json", items))

    for (conv, messages), exported in zip(items, document["conversations"], strict=True):
        assert exported["title"] == conv.title
        assert [m["content"] for m in exported["messages"]] == [m.content for m in messages]


def test_json_of_nothing_is_a_valid_empty_document() -> None:
    document = json.loads(render("json", []))
    assert document["conversations"] == []


def test_json_writes_non_finite_timings_as_null() -> None:
    item = (conversation(), [message(1, "hi", timings={"stt": math.nan, "tts": math.inf, "llm": 1.0})])
    text = render("json", [item])
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text)["conversations"][0]["messages"][0]["timings"] == {"stt": None, "tts": None, "llm": 1.0}


def test_iso_utc_converts_other_zones_and_treats_naive_as_utc() -> None:
    paris = datetime(2024, 5, 1, 11, 0, tzinfo=timezone(timedelta(hours=2)))
    assert iso_utc(paris) == "2024-05-01T09:00:00.000000Z"
    assert iso_utc(datetime(2024, 5, 1, 9, 0)) == "2024-05-01T09:00:00.000000Z"


# -- CSV ----------------------------------------------------------------------------------------------------


def test_csv_has_one_row_per_message_under_a_header() -> None:
    items = sample_items()
    text = render("csv", items)
    rows = read_csv(text)

    assert text.startswith(",".join(CSV_COLUMNS) + "\r\n")
    assert len(rows) == sum(len(messages) for _, messages in items)
    assert rows[1] == {
        "conversation_id": "1",
        "conversation_title": "Weather in Paris",
        "message_id": "2",
        "role": "assistant",
        "created_at": "2024-05-01T09:30:17.123456Z",
        "content": "Sunny, 21 °C.\nTake sunglasses 😎",
        "tokens_input": "12",
        "tokens_output": "8",
        "source": "ollama",
    }
    assert rows[0]["tokens_input"] == "" and rows[0]["source"] == ""


def test_csv_keeps_every_character_and_never_defuses_formulas() -> None:
    items = sample_items()
    rows = read_csv(render("csv", items))

    expected = [(conv.title, m.content) for conv, messages in items for m in messages]
    assert [(r["conversation_title"], r["content"]) for r in rows] == expected
    formula = next(r for r in rows if r["content"].startswith("="))
    assert formula["content"] == "=SUM(A1:A3)"  # kept as it is: no quote or apostrophe prefix


def test_csv_quotes_as_rfc_4180_says() -> None:
    item = (conversation(title="plain"), [message(1, 'a "quoted", value\nnext')])
    lines = render("csv", [item]).split("\r\n")
    assert lines[1].endswith('"a ""quoted"", value\nnext",,,')


# -- Markdown -----------------------------------------------------------------------------------------------


def test_markdown_heading_per_conversation_then_each_message_verbatim() -> None:
    items = sample_items()
    text = render("md", items)

    assert text.startswith("# Conversations\n")
    assert "Exported 2024-06-02 18:00 UTC" in text
    assert "\n## Weather in Paris\n" in text
    assert "_2024-05-01 09:30 UTC · conversation 1 · 2 messages_" in text
    # A title's line break becomes a space in its heading; an empty title gets a name.
    assert '\n## Quotes, "commas" and lines\n' in text
    assert "\n## Untitled conversation\n" in text
    assert "\n**You** (09:30:15):\n\nWhat's the weather, today?\n" in text
    assert "\n**Assistant** (09:30:17):\n\nSunny, 21 °C.\nTake sunglasses 😎\n" in text
    for _, messages in items:
        for m in messages:
            assert m.content in text
    assert text.index("Weather in Paris") < text.index("Quotes,") < text.index("Untitled")


def test_markdown_shows_the_date_of_a_message_from_another_day() -> None:
    later = START + timedelta(days=1, hours=1)
    item = (conversation(), [message(1, "first", at=START), message(2, "next day", Role.ASSISTANT, at=later)])
    text = render("md", [item])
    assert "**You** (09:30:15):" in text
    assert "**Assistant** (2024-05-02 10:30:15):" in text


def test_markdown_labels_system_messages() -> None:
    text = render("md", [(conversation(), [message(1, "Be brief.", Role.SYSTEM)])])
    assert "**System** (09:30:15):\n\nBe brief.\n" in text


# -- all formats --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("format_", list(ExportFormat))
def test_writers_stream_one_conversation_at_a_time(format_: ExportFormat) -> None:
    """The first conversation is written before the second is even fetched."""
    buffer = io.StringIO(newline="")
    first_text = "first conversation's text"

    def items() -> Iterator[ExportItem]:
        yield conversation(1, "one"), [message(1, first_text)]
        assert first_text in buffer.getvalue()
        yield conversation(2, "two"), [message(2, "second", cid=2)]

    result = write_export(format_, items(), buffer, exported_at=EXPORTED_AT)
    assert (result.conversations, result.messages) == (2, 2)


def test_write_functions_report_what_they_wrote() -> None:
    items = sample_items()
    for writer in (write_json, write_markdown):
        assert writer(items, io.StringIO(), exported_at=EXPORTED_AT).messages == 2 + len(TRICKY_TEXTS)
    assert write_csv(items, io.StringIO(newline="")).conversations == 3


def test_unknown_format_is_a_validation_error() -> None:
    with pytest.raises(ValidationError) as raised:
        write_export("xml", [], io.StringIO())
    assert raised.value.code == "invalid_argument"


# -- property: any text survives JSON and CSV ---------------------------------------------------------------

texts = st.text(min_size=1).filter(lambda s: "\x00" not in s)


@settings(max_examples=300, deadline=None)
@given(contents=st.lists(texts, min_size=1, max_size=4), title=st.text().filter(lambda s: "\x00" not in s))
def test_any_text_round_trips_through_json_and_csv(contents: list[str], title: str) -> None:
    roles = [Role.USER, Role.ASSISTANT]
    item = (conversation(7, title), [message(i + 1, c, roles[i % 2], cid=7) for i, c in enumerate(contents)])

    document = json.loads(render("json", [item]))
    exported = document["conversations"][0]
    assert exported["title"] == title
    assert [m["content"] for m in exported["messages"]] == contents

    rows = read_csv(render("csv", [item]))
    assert [r["content"] for r in rows] == contents
    assert {r["conversation_title"] for r in rows} == {title}
    assert [r["role"] for r in rows] == [roles[i % 2].value for i in range(len(contents))]


def test_an_interrupted_answer_says_so_and_what_was_heard_of_it() -> None:
    from desktop_app.cli.output import transcript_lines
    from desktop_app.core.export import message_to_dict

    text = "The first part. The second part that nobody heard."
    stopped = message(
        2, text, Role.ASSISTANT, timings={"release_to_final_ms": 80.0, "interrupted_at_ms": 900.0, "spoken_chars": 15}
    )
    assert stopped.interrupted and stopped.spoken_text == "The first part."
    assert message_to_dict(stopped)["interrupted"] is True
    assert message_to_dict(stopped)["spoken_text"] == "The first part."
    lines = transcript_lines(conversation(1, "Parts"), [stopped])
    assert lines[-2:] == [f"    {text}", "    (interrupted; heard: 'The first part.')"]
    never_heard = message(3, text, Role.ASSISTANT, timings={"interrupted_at_ms": 50.0, "spoken_chars": 0})
    assert transcript_lines(conversation(1, "Parts"), [never_heard])[-1] == "    (interrupted before it was heard)"
    whole = message(4, text, Role.ASSISTANT, timings={"release_to_done_ms": 900.0})
    assert not whole.interrupted and whole.spoken_text is None
