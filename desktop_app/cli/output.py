"""Formatting for people (aligned tables, local times, no terminal control characters) and for programs
(one JSON document, ISO 8601 UTC times).

Text that reaches a terminal is shown, never obeyed: control characters (escape sequences, carriage
returns, bells), bidi controls (a right-to-left override reverses what follows it on the line) and line or
paragraph separators are printed as escapes (``\x1b``, ``\u202e``). `one_line`, `text_block` and
`terminal_text` do it for text; `json_document` for JSON, whose strings keep every character."""

from __future__ import annotations

import json
import shutil
import unicodedata
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TextIO

from desktop_app.cli.errors import EXIT_FAILURE, CommandError
from desktop_app.core.errors import ErrorCode
from desktop_app.core.export import ROLE_LABELS, UNTITLED, conversation_to_dict, iso_utc
from desktop_app.core.models import Conversation, ConversationSummary, Message, SearchHit

ELLIPSIS = "…"
_KEPT_IN_BLOCKS = frozenset("\n\t")
# Unicode's bidirectional formatting characters: embeddings, overrides, isolates and the directional marks.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Characters that change how a terminal shows what follows them: never printed as they are.
_OBEYED_CATEGORIES = frozenset({"Cc", "Zl", "Zp"})


class OutputFailed(CommandError):
    """Standard output could not be written (a full disk, a closed stdout): exit 1, `output_failed`."""

    def __init__(self, why: str) -> None:
        super().__init__(
            ErrorCode.OUTPUT_FAILED,
            f"Could not write the output: {why}. Check where the output goes (a full disk, a closed stdout).",
            EXIT_FAILURE,
        )


class Output:
    """Standard output for a command: what goes wrong writing it becomes OutputFailed, so the command reports
    it in one line instead of a traceback (or, with no stdout at all, instead of printing nowhere).
    BrokenPipeError (the reader went away, `| head`) passes through: nobody is left to tell."""

    def __init__(self, stream: TextIO | None) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        stream = self._open()
        try:
            return stream.write(text)
        except BrokenPipeError:
            raise
        except OSError as error:
            raise OutputFailed(error.strerror or str(error)) from None

    def flush(self) -> None:
        stream = self._open()
        try:
            stream.flush()
        except BrokenPipeError:
            raise
        except OSError as error:
            raise OutputFailed(error.strerror or str(error)) from None

    def _open(self) -> TextIO:
        if self._stream is None:
            raise OutputFailed("standard output is closed")
        return self._stream

    def __getattr__(self, name: str) -> Any:
        return getattr(self._open(), name)


def json_document(value: Any, *, indent: int | None = 2) -> str:
    """`value` as JSON text, non-ASCII kept readable. JSON already escapes control characters inside
    strings; bidi controls and line separators are escaped too (``\u202e``), so the document is safe on a
    terminal and still decodes to exactly the same text."""
    text = json.dumps(value, ensure_ascii=False, indent=indent)  # its only raw control characters: the indent's
    return "".join(f"\\u{ord(char):04x}" if char != "\n" and _obeyed(char) else char for char in text)


def print_json(value: Any, out: TextIO) -> None:
    out.write(json_document(value))
    out.write("\n")


def summary_to_dict(summary: ConversationSummary) -> dict[str, Any]:
    document = conversation_to_dict(summary.conversation)
    document["message_count"] = summary.conversation.message_count
    document["preview"] = summary.preview
    return document


def hit_to_dict(hit: SearchHit) -> dict[str, Any]:
    return {
        "message_id": hit.message_id,
        "conversation_id": hit.conversation_id,
        "conversation_title": hit.conversation_title,
        "role": hit.role.value,
        "created_at": iso_utc(hit.created_at),
        "snippet": hit.snippet,
        "score": hit.score,
    }


def conversation_document(conversation: Conversation, messages: Sequence[Message]) -> dict[str, Any]:
    document = conversation_to_dict(conversation, messages)
    document["message_count"] = len(messages)
    return document


# -- text for people ---------------------------------------------------------------------------------------


def local_time(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def _obeyed(char: str) -> bool:
    return char in BIDI_CONTROLS or unicodedata.category(char) in _OBEYED_CATEGORIES


def _visible(char: str) -> str:
    # Stored text is shown, never obeyed: an escape sequence in a message must not drive the terminal.
    if not _obeyed(char):
        return char
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def one_line(text: str) -> str:
    """Whitespace runs (line breaks included) become one space; control characters are made visible."""
    return "".join(_visible(char) for char in " ".join(text.split()))


def terminal_text(text: str) -> str:
    """Text as printed on a terminal: line breaks (``\r\n`` as ``\n``) and tabs kept, every other control,
    bidi or separator character made visible."""
    normalized = text.replace("\r\n", "\n")
    return "".join(char if char in _KEPT_IN_BLOCKS else _visible(char) for char in normalized)


def text_block(text: str, indent: str = "    ") -> str:
    """Multi-line text, indented, with line breaks and tabs kept and other control characters made visible."""
    return "\n".join(indent + line if line else line for line in terminal_text(text).split("\n"))


def char_width(char: str) -> int:
    if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def display_width(text: str) -> int:
    return sum(char_width(char) for char in text)


def fit(text: str, width: int) -> str:
    """Cut to `width` terminal columns (ending in an ellipsis when cut); no padding."""
    if display_width(text) <= width:
        return text
    kept: list[str] = []
    used = 0
    for char in text:
        w = char_width(char)
        if used + w > width - 1:
            break
        kept.append(char)
        used += w
    return "".join(kept) + ELLIPSIS


def pad(text: str, width: int, *, right: bool = False) -> str:
    gap = " " * max(0, width - display_width(text))
    return gap + text if right else text + gap


def terminal_columns() -> int:
    return max(60, shutil.get_terminal_size((100, 24)).columns)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool], width: int) -> list[str]:
    """Aligned columns in `width` terminal columns: the last one gets what is left (at least 12) and is cut
    to fit. Cells must already be one line."""
    last = len(headers) - 1
    widths = [display_width(header) for header in headers]
    for row in rows:
        for index in range(last):
            widths[index] = max(widths[index], display_width(row[index]))
    room = max(12, width - sum(widths[:last]) - 2 * last)
    lines = []
    for row in [list(headers), *rows]:
        cells = [pad(row[i], widths[i], right=right[i]) for i in range(last)] + [fit(row[last], room)]
        lines.append("  ".join(cells).rstrip())
    return lines


def title_of(title: str) -> str:
    return one_line(title) or UNTITLED


def conversation_lines(summaries: Sequence[ConversationSummary], width: int | None = None) -> list[str]:
    rows = [
        [
            str(s.conversation.id),
            local_time(s.conversation.updated_at),
            str(s.conversation.message_count),
            fit(title_of(s.conversation.title), 40),
            one_line(s.preview),
        ]
        for s in summaries
    ]
    return table(
        ["ID", "Updated", "Messages", "Title", "Last message"],
        rows,
        [True, False, True, False],
        width or terminal_columns(),
    )


def hit_lines(hits: Sequence[SearchHit], width: int | None = None) -> list[str]:
    rows = [
        [
            str(hit.conversation_id),
            local_time(hit.created_at),
            ROLE_LABELS.get(hit.role, hit.role.value),
            fit(title_of(hit.conversation_title), 30),
            one_line(hit.snippet),
        ]
        for hit in hits
    ]
    return table(
        ["ID", "When", "Who", "Title", "Match"], rows, [True, False, False, False], width or terminal_columns()
    )


def transcript_lines(conversation: Conversation, messages: Sequence[Message]) -> list[str]:
    count = len(messages)
    lines = [
        f"Conversation {conversation.id}: {title_of(conversation.title)}",
        f"Started {local_time(conversation.created_at)}, last activity {local_time(conversation.updated_at)}, "
        f"{count} message{'' if count == 1 else 's'}",
    ]
    for message in messages:
        label = ROLE_LABELS.get(message.role, message.role.value)
        source = f" via {one_line(message.source)}" if message.source else ""
        lines += ["", f"{label} · {local_time(message.created_at)}{source}", text_block(message.content)]
        if message.interrupted:
            heard = one_line(message.spoken_text or "")
            lines.append(f"    (interrupted; heard: {heard!r})" if heard else "    (interrupted before it was heard)")
    return lines
