"""The ``history`` commands. Each ``prepare_*`` checks its arguments before the store is opened (so a typo
creates nothing and fails fast) and returns the action to run with the open store."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol, TextIO

from desktop_app.cli import output
from desktop_app.cli.errors import EXIT_OK, EXIT_USAGE, CommandError
from desktop_app.cli.files import atomic_text_file, check_target
from desktop_app.core.brain.spoken import plural
from desktop_app.core.errors import AppError
from desktop_app.core.export import (
    ExportFormat,
    ExportItem,
    ExportResult,
    all_conversations,
    exported_sentence,
    format_of_file,
    parse_format,
    record_export,
    write_export,
)
from desktop_app.core.models import AlarmKind
from desktop_app.core.ports import AlarmBook, ConversationStore
from desktop_app.core.validation import parse_id

Action = Callable[[ConversationStore, TextIO], int]

STDOUT = "-"


def prepare_list(args: argparse.Namespace) -> Action:
    limit: int = args.limit
    offset: int = args.offset
    as_json: bool = args.json

    def action(store: ConversationStore, out: TextIO) -> int:
        # One more than asked for, to know whether more follow without claiming so when none do.
        fetched = store.list_conversations(limit=limit + 1, offset=offset)
        summaries, more = fetched[:limit], len(fetched) > limit
        if as_json:
            output.print_json([output.summary_to_dict(s) for s in summaries], out)
        elif not summaries:
            print("No conversations yet." if offset == 0 else "No more conversations.", file=out)
        else:
            print("\n".join(output.conversation_lines(summaries)), file=out)
            if more:
                print(f"\nMore follow: add --offset {offset + limit} to see them.", file=out)
        return EXIT_OK

    return action


def prepare_show(args: argparse.Namespace) -> Action:
    cid = parse_id(args.conversation_id)
    as_json: bool = args.json

    def action(store: ConversationStore, out: TextIO) -> int:
        conversation = store.get_conversation(cid)
        messages = store.get_history(cid)
        if as_json:
            output.print_json(output.conversation_document(conversation, messages), out)
        else:
            print("\n".join(output.transcript_lines(conversation, messages)), file=out)
        return EXIT_OK

    return action


def prepare_search(args: argparse.Namespace) -> Action:
    query = " ".join(args.query)
    limit: int = args.limit
    as_json: bool = args.json

    def action(store: ConversationStore, out: TextIO) -> int:
        hits = store.search(query, limit=limit)
        if as_json:
            output.print_json([output.hit_to_dict(hit) for hit in hits], out)
        elif not hits:
            print(f"Nothing found for {output.one_line(query)!r}.", file=out)
        else:
            print("\n".join(output.hit_lines(hits)), file=out)
        return EXIT_OK

    return action


def _export_format(chosen: str | None, destination: str | None) -> ExportFormat:
    """--format, else the --out file's extension."""
    if chosen is not None:
        return parse_format(chosen)
    if destination not in (None, STDOUT):
        found = format_of_file(Path(destination))
        if found is not None:
            return found
    raise CommandError("invalid_argument", "Choose a format with --format json, md or csv.", exit_status=EXIT_USAGE)


def _one_conversation(store: ConversationStore, cid: int) -> Iterator[ExportItem]:
    yield store.get_conversation(cid), store.get_history(cid)


def prepare_export(args: argparse.Namespace) -> Action:
    cid = None if args.conversation_id is None else parse_id(args.conversation_id)
    destination: str | None = args.out
    format_ = _export_format(args.format, destination)
    force: bool = args.force
    target = None if destination in (None, STDOUT) else Path(destination).expanduser()
    if target is not None:
        check_target(target, overwrite=force)

    def action(store: ConversationStore, out: TextIO) -> int:
        if cid is not None:
            store.get_conversation(cid)  # an unknown id fails before any file is started
        items = all_conversations(store) if cid is None else _one_conversation(store, cid)
        result: ExportResult
        if target is None:
            result = write_export(format_, items, out)
            out.flush()
        else:
            with atomic_text_file(target, overwrite=force) as handle:
                result = write_export(format_, items, handle)
        destination = "stdout" if target is None else str(target.absolute())
        record_export(store, format_, result, destination, None if cid is None else str(cid))
        if target is not None:
            print(exported_sentence(result, target), file=out)
        return EXIT_OK

    return action


class _HistoryStore(ConversationStore, Protocol):
    """The store `history delete --all` needs: conversations, facts and the pending timers and reminders."""

    @property
    def alarms(self) -> AlarmBook: ...

    def delete_all_facts(self) -> int: ...


def kept_after_deleting(store: _HistoryStore, facts_kept: bool) -> list[str]:
    """What deleting every conversation leaves behind, each with the command that removes it."""
    lines = []
    if facts_kept:
        count = len(store.list_facts())
        if count:
            lines.append(
                f"Kept {plural(count, 'remembered fact')} (they are not part of a conversation): see them with "
                "`voice-assistant facts list`, forget them with `voice-assistant facts forget --all --yes`."
            )
    pending = store.alarms.pending()
    kinds = [
        (sum(alarm.kind is kind for alarm in pending), kind.value, f"{kind.value}s")
        for kind in (AlarmKind.TIMER, AlarmKind.REMINDER, AlarmKind.ALARM)
    ]
    for count, word, words in kinds:
        if count:
            lines.append(
                f"Kept {plural(count, f'pending {word}')}: cancel {'it' if count == 1 else 'them'} with "
                f'`voice-assistant ask "cancel all {words}"`.'
            )
    return lines


def prepare_delete(args: argparse.Namespace) -> Callable[[_HistoryStore, TextIO], int]:
    include_facts: bool = args.include_facts
    if args.all_conversations:
        if not args.yes:
            also = " and every remembered fact" if include_facts else ""
            raise CommandError(
                "confirmation_required",
                f"Deleting every conversation{also} cannot be undone; add --yes to confirm. Nothing was deleted.",
                exit_status=EXIT_USAGE,
            )

        def delete_all(store: _HistoryStore, out: TextIO) -> int:
            count = store.delete_all_conversations()
            print(f"Deleted {plural(count, 'conversation')}.", file=out)
            if include_facts:
                try:
                    forgotten = store.delete_all_facts()
                except AppError as error:
                    raise CommandError(
                        error.code.value,
                        f"The conversations were deleted, but forgetting the remembered facts failed: {error.message} "
                        "Run `voice-assistant facts forget --all --yes` to try again.",
                    ) from error
                print(f"Forgot {plural(forgotten, 'remembered fact')}.", file=out)
            for line in kept_after_deleting(store, facts_kept=not include_facts):
                print(line, file=out)
            return EXIT_OK

        return delete_all

    if include_facts:
        raise CommandError(
            "invalid_argument",
            "--include-facts goes with --all (facts are not part of one conversation); to forget one fact, use "
            "`voice-assistant facts forget ID`. Nothing was deleted.",
            exit_status=EXIT_USAGE,
        )
    cid = parse_id(args.conversation_id)

    def delete_one(store: ConversationStore, out: TextIO) -> int:
        store.delete_conversation(cid)
        print(f"Deleted conversation {cid}.", file=out)
        return EXIT_OK

    return delete_one
