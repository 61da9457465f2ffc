"""The words of the conversation view, without Qt: what each message says beside its text (time, source,
"stopped"), the date separators, the latency breakdown and the names a screen reader reads.

The painted text and the accessible text come from the same functions, so what a person sees and what a
screen reader says cannot drift apart, and tests can check both without painting.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from desktop_app.core.models import INTERRUPTED_AT_MS, Message, Role
from desktop_app.core.reply_source import ReplySource, SourceKind

SEPARATOR = " · "
_serials = itertools.count(1)

# The latency stages in the order a turn goes through them, each measured from the key's release (a typed
# question: from when it was sent). Stored with the answer by core.turn_runner / core.pipeline.
STAGES = (
    ("release_to_final_ms", "Transcript"),
    ("release_to_first_reply_ms", "First reply text"),
    ("release_to_first_audio_ms", "First audio"),
    ("release_to_done_ms", "Done"),
    (INTERRUPTED_AT_MS, "Stopped"),
)
# Measured around the turn rather than after the release.
EXTRAS = (
    ("listening_ms", "Key held"),
    ("preroll_ms", "Pre-roll (heard before the press)"),
)


class Speaker(StrEnum):
    USER = "user"
    ASSISTANT = "assistant"


@dataclass(slots=True, eq=False)
class ChatEntry:
    """One bubble. Mutable: a partial transcript and a streamed answer change in place; `revision` counts
    the changes, so a cached layout knows when it is stale."""

    speaker: Speaker
    text: str
    at: datetime | None  # None while the user is still speaking
    source: ReplySource | None = None
    timings: dict[str, float] | None = None
    announcement: bool = False  # said unprompted (a timer ran out)
    failed: bool = False  # a failed turn's message
    interrupted: bool = False
    spoken_chars: int | None = None  # how much of a stopped answer was heard, when known
    provisional: bool = False  # the live partial transcript
    streaming: bool = False  # an answer still being written
    day_header: bool = False  # the first message of its day: a date separator above it
    expanded: bool = False  # the latency details are shown
    revision: int = 0
    serial: int = field(default_factory=lambda: next(_serials))

    @property
    def is_error(self) -> bool:
        return self.failed or (self.source is not None and self.source.kind is SourceKind.ERROR)

    @property
    def has_details(self) -> bool:
        return bool(latency_lines(self.timings))

    def touch(self) -> None:
        self.revision += 1


def entry_from_message(message: Message, previous: Message | None = None) -> ChatEntry:
    """A stored message as a bubble. An assistant message that does not answer a question of the user's
    (nothing, or another assistant message, right before it) was said unprompted: an announcement. The
    store keeps no flag for it; this is how the turn runner writes them."""
    if message.role is Role.USER:
        return ChatEntry(Speaker.USER, message.content, message.created_at)
    timings = dict(message.timings) if message.timings else None
    spoken = message.spoken_text
    return ChatEntry(
        Speaker.ASSISTANT,
        message.content,
        message.created_at,
        source=message.origin,
        timings=timings,
        announcement=not _is_failure(message) and (previous is None or previous.role is not Role.USER),
        interrupted=message.interrupted,
        spoken_chars=None if spoken is None else len(spoken),
    )


def _is_failure(message: Message) -> bool:
    origin = message.origin
    return origin is not None and origin.kind is SourceKind.ERROR


def entries_from_messages(messages: Sequence[Message]) -> list[ChatEntry]:
    """The bubbles of a stored conversation, with a date separator at each new day. System messages
    (instructions for a language model) are not part of what was said and are left out."""
    entries: list[ChatEntry] = []
    previous: Message | None = None
    for message in messages:
        if message.role is Role.SYSTEM:
            continue
        entries.append(entry_from_message(message, previous))
        previous = message
    mark_days(entries)
    return entries


def local_day(at: datetime) -> date:
    return at.astimezone().date()


def mark_days(entries: Iterable[ChatEntry], before: ChatEntry | None = None) -> None:
    """Sets `day_header` on each entry that starts a new local day (a speaking user has no time yet: it
    belongs to the day of what came before)."""
    last = None if before is None or before.at is None else local_day(before.at)
    for entry in entries:
        day = None if entry.at is None else local_day(entry.at)
        entry.day_header = day is not None and day != last
        last = day or last


def clock(at: datetime) -> str:
    """Local time, short: "14:05"."""
    at = at.astimezone()
    return f"{at.hour:02d}:{at.minute:02d}"


def day_label(day: date, today: date) -> str:
    """ "Today", "Yesterday", "Mon 30 Nov" (the year too when it is not this year's)."""
    delta = (today - day).days
    if delta == 0:
        return "Today"
    if delta == 1:
        return "Yesterday"
    label = f"{day:%a} {day.day} {day:%b}"
    return label if day.year == today.year else f"{label} {day.year}"


def source_words(entry: ChatEntry) -> str:
    """Where an answer came from, as the quiet line says it ("from timer skill"; "error" for a failure)."""
    if entry.is_error:
        return "error"
    if entry.source is None:
        return ""
    return f"from {entry.source.describe()}"


def meta_text(entry: ChatEntry) -> str:
    """The quiet line under a bubble's text: "14:05 · from timer skill · stopped"."""
    if entry.provisional:
        return "Listening…"
    parts = [clock(entry.at)] if entry.at is not None else []
    if entry.speaker is Speaker.ASSISTANT:
        if entry.announcement:
            parts.append("announcement")
        parts.append(source_words(entry))
        if entry.streaming:
            parts.append("writing…")
        if entry.interrupted:
            parts.append("stopped")
    return SEPARATOR.join(part for part in parts if part)


def format_ms(ms: float) -> str:
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.2f} s"


def latency_lines(timings: dict[str, float] | None) -> list[tuple[str, str]]:
    """The breakdown as (label, value) rows, stages in turn order; a stage that was not measured (a typed
    question has no transcript) is left out rather than shown as 0."""
    if not timings:
        return []
    rows = [(label, format_ms(timings[key])) for key, label in STAGES if key in timings]
    rows += [(label, format_ms(timings[key])) for key, label in EXTRAS if key in timings]
    return rows


def latency_heading(timings: dict[str, float] | None) -> str:
    voice = timings is not None and "listening_ms" in timings
    return "Time since the key was released" if voice else "Time since the question was sent"


def details_text(entry: ChatEntry) -> str:
    """The breakdown on its own lines (the tooltip and the copied details)."""
    rows = latency_lines(entry.timings)
    if not rows:
        return ""
    return "\n".join([latency_heading(entry.timings), *(f"{label}: {value}" for label, value in rows)])


def accessible_name(entry: ChatEntry) -> str:
    """ "You, 14:05: what time is it" / "Assistant, 14:05, from timer skill: It is five past two." """
    if entry.speaker is Speaker.USER:
        when = "speaking" if entry.provisional or entry.at is None else clock(entry.at)
        return f"You, {when}: {entry.text}"
    parts = ["Assistant"]
    if entry.at is not None:
        parts.append(clock(entry.at))
    if entry.announcement:
        parts.append("announcement")
    if words := source_words(entry):
        parts.append(words)
    if entry.streaming:
        parts.append("writing")
    if entry.interrupted:
        parts.append("stopped")
    return f"{', '.join(parts)}: {entry.text}"


def accessible_description(entry: ChatEntry, today: date) -> str:
    """The day, and for an answer the latency breakdown, for a screen reader to read on request."""
    parts = [] if entry.at is None else [day_label(local_day(entry.at), today)]
    if entry.interrupted and entry.spoken_chars is not None:
        parts.append(f"stopped after {entry.spoken_chars} of {len(entry.text)} characters were spoken")
    rows = latency_lines(entry.timings)
    if rows:
        parts.append(f"{latency_heading(entry.timings)}: " + ", ".join(f"{label} {value}" for label, value in rows))
    return ". ".join(parts)


def transcript(entries: Iterable[ChatEntry]) -> str:
    """Messages as plain text for the clipboard: one paragraph each, said by whom and when."""
    blocks = []
    for entry in entries:
        who = "You" if entry.speaker is Speaker.USER else "Assistant"
        when = "" if entry.at is None else f" ({entry.at.astimezone():%Y-%m-%d %H:%M})"
        blocks.append(f"{who}{when}:\n{entry.text}")
    return "\n\n".join(blocks)
