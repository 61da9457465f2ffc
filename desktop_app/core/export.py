"""Conversation exports: JSON, Markdown and CSV, written incrementally to a text stream.

Each writer takes an iterable of ``(Conversation, messages)`` pairs and a text stream, and writes one
conversation at a time, so a caller that fetches conversations page by page never holds the whole history
in memory.

JSON and CSV are lossless for the text: reading them back gives every title and message exactly as stored,
including newlines, quotes, commas, emoji and any other character. Markdown is for reading: message text is
written as it is (nothing is escaped, so nothing is lost), but Markdown syntax inside a message will render
as Markdown, and a title's line breaks become spaces in its heading.

CSV follows RFC 4180 (comma separated, fields with commas, quotes or line breaks in double quotes, quotes
doubled, CRLF between records). Open the stream with ``newline=""`` so the writer's line endings are not
translated. Content is never altered: a cell that starts with ``=``, ``+``, ``-`` or ``@`` is written as it
is, so a spreadsheet program may treat it as a formula; import the file as text if that matters. Prefixing
such cells, the usual defence, would change the text, and this export promises the text back exactly.
Conversations without messages have no rows in CSV.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from desktop_app.core.errors import NotFoundError
from desktop_app.core.models import Conversation, Message, Role
from desktop_app.core.validation import parse_choice

if TYPE_CHECKING:
    from desktop_app.core.ports import ConversationStore

FORMAT_VERSION = 1
# Conversations fetched per page when exporting everything: memory holds one page, the messages of one
# conversation and the ids already written, whatever the size of the history.
EXPORT_PAGE = 100

ExportItem = tuple[Conversation, Sequence[Message]]

CSV_COLUMNS = (
    "conversation_id",
    "conversation_title",
    "message_id",
    "role",
    "created_at",
    "content",
    "tokens_input",
    "tokens_output",
    "source",
)

ROLE_LABELS = {Role.USER: "You", Role.ASSISTANT: "Assistant", Role.SYSTEM: "System"}
UNTITLED = "Untitled conversation"


class ExportFormat(StrEnum):
    JSON = "json"
    MARKDOWN = "md"
    CSV = "csv"


@dataclass(frozen=True, slots=True)
class ExportResult:
    """What a writer wrote."""

    conversations: int
    messages: int


def iso_utc(moment: datetime) -> str:
    """ISO 8601 in UTC with microseconds and a ``Z``: ``2024-05-01T12:00:00.000000Z``. Naive means UTC."""
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return aware.isoformat(timespec="microseconds").replace("+00:00", "Z")


def _finite_timings(timings: dict[str, float] | None) -> dict[str, float | None] | None:
    # JSON has no NaN or infinity; a stage that never finished is better shown as null than as invalid JSON.
    if timings is None:
        return None
    return {stage: (value if math.isfinite(value) else None) for stage, value in timings.items()}


def message_to_dict(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "role": message.role.value,
        "content": message.content,
        "created_at": iso_utc(message.created_at),
        "tokens_input": message.tokens_input,
        "tokens_output": message.tokens_output,
        "timings": _finite_timings(message.timings),
        "source": message.source,
        "interrupted": message.interrupted,
        "spoken_text": message.spoken_text,
    }


def conversation_to_dict(conversation: Conversation, messages: Sequence[Message] | None = None) -> dict[str, Any]:
    """The conversation's fields, and its messages when given."""
    document: dict[str, Any] = {
        "id": conversation.id,
        "title": conversation.title,
        "created_at": iso_utc(conversation.created_at),
        "updated_at": iso_utc(conversation.updated_at),
    }
    if messages is not None:
        document["messages"] = [message_to_dict(message) for message in messages]
    return document


def write_json(items: Iterable[ExportItem], out: TextIO, *, exported_at: datetime | None = None) -> ExportResult:
    """``{"format_version", "exported_at", "conversations": [...]}``, one conversation written at a time."""
    at = exported_at or datetime.now(UTC)
    out.write("{\n")
    out.write(f'  "format_version": {FORMAT_VERSION},\n')
    out.write(f'  "exported_at": {json.dumps(iso_utc(at))},\n')
    out.write('  "conversations": [')
    conversations = messages = 0
    for conversation, history in items:
        body = json.dumps(conversation_to_dict(conversation, history), ensure_ascii=False, indent=2)
        # JSON never has a raw line feed inside a string, so indenting at "\n" cannot touch the text.
        # (str.splitlines would also split at U+2028 and friends, which ensure_ascii=False leaves raw.)
        out.write(("\n" if conversations == 0 else ",\n") + "    " + body.replace("\n", "\n    "))
        conversations += 1
        messages += len(history)
    out.write("\n  ]\n}\n" if conversations else "]\n}\n")
    return ExportResult(conversations, messages)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _time_label(moment: datetime, day: str) -> str:
    utc = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return utc.strftime("%H:%M:%S") if utc.strftime("%Y-%m-%d") == day else utc.strftime("%Y-%m-%d %H:%M:%S")


def write_markdown(items: Iterable[ExportItem], out: TextIO, *, exported_at: datetime | None = None) -> ExportResult:
    """A heading per conversation with its date, then each message as ``**You** (time):`` and its text.

    Times are UTC. Message text is written verbatim.
    """
    at = (exported_at or datetime.now(UTC)).astimezone(UTC)
    out.write("# Conversations\n\n")
    out.write(f"Exported {at.strftime('%Y-%m-%d %H:%M')} UTC. Times are UTC.\n")
    conversations = messages = 0
    for conversation, history in items:
        started = conversation.created_at.astimezone(UTC)
        day = started.strftime("%Y-%m-%d")
        out.write(f"\n## {_one_line(conversation.title) or UNTITLED}\n\n")
        count = len(history)
        out.write(
            f"_{started.strftime('%Y-%m-%d %H:%M')} UTC · conversation {conversation.id} · "
            f"{count} message{'' if count == 1 else 's'}_\n"
        )
        for message in history:
            label = ROLE_LABELS.get(message.role, message.role.value.title())
            out.write(f"\n**{label}** ({_time_label(message.created_at, day)}):\n\n")
            out.write(message.content)
            out.write("\n")
        conversations += 1
        messages += count
    if conversations == 0:
        out.write("\nNo conversations.\n")
    return ExportResult(conversations, messages)


def _cell(value: object) -> str | int:
    if value is None:
        return ""
    if isinstance(value, int):
        return value
    return str(value)


def write_csv(items: Iterable[ExportItem], out: TextIO) -> ExportResult:
    """One RFC 4180 row per message, under a header row of ``CSV_COLUMNS``."""
    writer = csv.writer(out, dialect="excel", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    conversations = messages = 0
    for conversation, history in items:
        for message in history:
            writer.writerow(
                [
                    _cell(conversation.id),
                    conversation.title,
                    _cell(message.id),
                    message.role.value,
                    iso_utc(message.created_at),
                    message.content,
                    _cell(message.tokens_input),
                    _cell(message.tokens_output),
                    _cell(message.source),
                ]
            )
        conversations += 1
        messages += len(history)
    return ExportResult(conversations, messages)


FILE_SUFFIXES = {
    ".json": ExportFormat.JSON,
    ".md": ExportFormat.MARKDOWN,
    ".markdown": ExportFormat.MARKDOWN,
    ".csv": ExportFormat.CSV,
}


def format_of_file(path: Path) -> ExportFormat | None:
    """The format a file's name asks for by its ending; None for another ending."""
    return FILE_SUFFIXES.get(path.suffix.lower())


def parse_format(value: ExportFormat | str) -> ExportFormat:
    return parse_choice(ExportFormat, value, "export format")


def write_export(
    format_: ExportFormat | str,
    items: Iterable[ExportItem],
    out: TextIO,
    *,
    exported_at: datetime | None = None,
) -> ExportResult:
    chosen = parse_format(format_)
    if chosen is ExportFormat.JSON:
        return write_json(items, out, exported_at=exported_at)
    if chosen is ExportFormat.MARKDOWN:
        return write_markdown(items, out, exported_at=exported_at)
    return write_csv(items, out)


def record_export(
    store: ConversationStore, format_: ExportFormat, result: ExportResult, destination: str, target: str | None
) -> None:
    """The export in the audit log: its format, how much went where (`target`: the one conversation
    exported, None for several or all)."""
    store.record_audit(
        "conversations_exported",
        target,
        {
            "format": format_.value,
            "conversations": result.conversations,
            "messages": result.messages,
            "destination": destination,
        },
    )


def exported_sentence(result: ExportResult, destination: object) -> str:
    """What an export to a file says when it is done."""
    plural = "" if result.conversations == 1 else "s"
    return f"Exported {result.conversations} conversation{plural} ({result.messages} messages) to {destination}."


def all_conversations(
    store: ConversationStore, page_size: int = EXPORT_PAGE, max_passes: int = 3
) -> Iterator[ExportItem]:
    """Every conversation with its messages, newest first, fetched one page at a time, each exactly once.

    Pages are by offset, so a conversation that changes or is deleted meanwhile (the window may be open)
    shifts the rest and one could be missed. So the list is read again until a pass finds nothing new:
    listing is cheap (no messages), and usually the second pass confirms the first.
    """
    seen: set[int] = set()
    for _ in range(max_passes):
        found_new = False
        offset = 0
        while True:
            page = store.list_conversations(limit=page_size, offset=offset)
            for summary in page:
                cid = summary.conversation.id
                if cid in seen:
                    continue
                seen.add(cid)
                found_new = True
                try:
                    messages = store.get_history(cid)
                except NotFoundError:
                    continue  # deleted since the page was read
                yield summary.conversation, messages
            if len(page) < page_size:
                break
            offset += page_size
        if not found_new:
            return
