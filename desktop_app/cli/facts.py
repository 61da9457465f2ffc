"""The ``facts`` commands: what the assistant remembers about you ("remember that my sister is called Ana").

Facts live apart from the conversations, so deleting the history leaves them; these commands show them and
forget them. Forgetting overwrites the text inside the database file (SQLite secure_delete, then a
checkpoint of the write-ahead log), as deleting a conversation does. Each ``prepare_*`` checks its arguments
before the store is opened: a bad id is a usage error (exit 2) and opens nothing.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Protocol, TextIO

from desktop_app.cli import output
from desktop_app.cli.errors import EXIT_OK, EXIT_USAGE, CommandError
from desktop_app.core.export import iso_utc
from desktop_app.core.models import Fact
from desktop_app.core.validation import parse_id


class FactStore(Protocol):
    def list_facts(self) -> list[Fact]: ...

    def delete_fact(self, fact_id: int) -> None: ...

    def delete_all_facts(self) -> int: ...


Action = Callable[[FactStore, TextIO], int]


def fact_to_dict(fact: Fact) -> dict[str, object]:
    return {"id": fact.id, "text": fact.text, "created_at": iso_utc(fact.created_at)}


def fact_lines(facts: list[Fact], width: int | None = None) -> list[str]:
    rows = [[str(fact.id), output.local_time(fact.created_at), output.one_line(fact.text)] for fact in facts]
    return output.table(["ID", "Remembered", "Fact"], rows, [True, False, False], width or output.terminal_columns())


def prepare_list(args: argparse.Namespace) -> Action:
    as_json: bool = args.json

    def action(store: FactStore, out: TextIO) -> int:
        facts = store.list_facts()
        if as_json:
            output.print_json([fact_to_dict(fact) for fact in facts], out)
        elif not facts:
            print('Nothing is remembered. Say, for example, "remember that I like Python" to add a fact.', file=out)
        else:
            print("\n".join(fact_lines(facts)), file=out)
        return EXIT_OK

    return action


def prepare_forget(args: argparse.Namespace) -> Action:
    if args.all_facts:
        if not args.yes:
            raise CommandError(
                "confirmation_required",
                "Forgetting every remembered fact cannot be undone; add --yes to confirm. Nothing was forgotten.",
                exit_status=EXIT_USAGE,
            )

        def forget_all(store: FactStore, out: TextIO) -> int:
            count = store.delete_all_facts()
            print(f"Forgot {count} remembered fact{'' if count == 1 else 's'}.", file=out)
            return EXIT_OK

        return forget_all

    fid = parse_id(args.fact_id, "fact")

    def forget_one(store: FactStore, out: TextIO) -> int:
        store.delete_fact(fid)
        print(f"Forgot fact {fid}.", file=out)
        return EXIT_OK

    return forget_one
