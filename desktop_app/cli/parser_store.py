"""The sub-commands that open the conversation store: ``history``, ``facts``, ``ask`` and ``keys``, with
their arguments, declared when the command is chosen. Each runs through `Runs`, so declaring them imports
neither the store nor the brain."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from desktop_app.cli.arguments import KEEP, Parser, Runs, command_parser, limit_value, not_negative, page_size

DEFAULT_LIST_LIMIT = 50
DEFAULT_SEARCH_LIMIT = 20
# core.export.ExportFormat's values (a test keeps them equal): that module loads the models and csv.
EXPORT_FORMATS = ("json", "md", "csv")

if TYPE_CHECKING:  # argparse's class is not subscriptable at run time
    Commands = argparse._SubParsersAction[argparse.ArgumentParser]


def add_store_parsers(commands: Commands, common: Parser) -> None:
    _add_history_parser(commands, common)
    _add_facts_parser(commands, common)
    _add_ask_parser(commands, common)
    _add_keys_parser(commands, common)


def _add_history_parser(commands: Commands, common: Parser) -> None:
    history_parser = command_parser(
        commands,
        "history",
        parents=[common],
        help="list, show, search, export or delete stored conversations",
        description="Work with the stored conversations.",
    )
    history_parser.declare_later(lambda: _declare_history(history_parser, common))


def _declare_history(history_parser: Parser, common: Parser) -> None:
    actions = history_parser.add_subparsers(dest="history_command", metavar="ACTION", required=True)

    listing = actions.add_parser(
        "list", parents=[common], help="the conversations, newest first", description="List conversations."
    )
    listing.add_argument(
        "--limit", type=page_size, default=DEFAULT_LIST_LIMIT, metavar="N", help="show at most N (default 50)"
    )
    listing.add_argument("--offset", type=not_negative, default=0, metavar="N", help="skip the newest N")
    listing.add_argument("--json", action="store_true", help="print one JSON document")
    listing.set_defaults(prepare=Runs("desktop_app.cli.history", "prepare_list"))

    show = actions.add_parser(
        "show", parents=[common], help="one conversation with all its messages", description="Show a conversation."
    )
    show.add_argument("conversation_id", metavar="ID", help="the conversation's number (see `history list`)")
    show.add_argument("--json", action="store_true", help="print one JSON document")
    show.set_defaults(prepare=Runs("desktop_app.cli.history", "prepare_show"))

    search = actions.add_parser(
        "search", parents=[common], help="find messages by their words", description="Search every message."
    )
    search.add_argument("query", nargs="+", metavar="QUERY", help="words to find (all must match)")
    search.add_argument(
        "--limit", type=page_size, default=DEFAULT_SEARCH_LIMIT, metavar="N", help="show at most N (default 20)"
    )
    search.add_argument("--json", action="store_true", help="print one JSON document")
    search.set_defaults(prepare=Runs("desktop_app.cli.history", "prepare_search"))

    export = actions.add_parser(
        "export",
        parents=[common],
        help="write conversations to JSON, Markdown or CSV",
        description="Export one conversation, or all of them (the default). JSON and CSV keep every "
        "character of the text. CSV cells are written exactly as stored, so a spreadsheet may read one "
        "that starts with '=' as a formula.",
    )
    which = export.add_mutually_exclusive_group()
    which.add_argument("conversation_id", nargs="?", metavar="ID", help="export only this conversation")
    which.add_argument("--all", action="store_true", dest="all_conversations", help="every conversation (default)")
    export.add_argument(
        "--format",
        "-f",
        choices=list(EXPORT_FORMATS),
        help="json, md or csv (default: from the --out file's extension)",
    )
    export.add_argument("--out", "-o", metavar="FILE", help="write to FILE (made private, 0600) instead of stdout")
    export.add_argument("--force", action="store_true", help="replace FILE if it exists")
    export.set_defaults(prepare=Runs("desktop_app.cli.history", "prepare_export"))

    delete = actions.add_parser(
        "delete",
        parents=[common],
        help="delete one conversation, or all with --all --yes",
        description="Delete conversations for good. Remembered facts and pending timers and reminders are kept "
        "(the command says how many, and how to remove them); --include-facts forgets the facts too.",
    )
    target = delete.add_mutually_exclusive_group(required=True)
    target.add_argument("conversation_id", nargs="?", metavar="ID", help="the conversation to delete")
    target.add_argument("--all", action="store_true", dest="all_conversations", help="every conversation")
    delete.add_argument("--yes", "-y", action="store_true", help="confirm --all; without it nothing is deleted")
    delete.add_argument("--include-facts", action="store_true", help="with --all: forget every remembered fact as well")
    delete.set_defaults(prepare=Runs("desktop_app.cli.history", "prepare_delete"))


def _add_facts_parser(commands: Commands, common: Parser) -> None:
    """The ``facts`` sub-command: what the assistant remembers about you ("remember that ...")."""
    facts_parser = command_parser(
        commands,
        "facts",
        parents=[common],
        help="list or forget the facts the assistant remembers",
        description="The facts you asked the assistant to remember. They are kept apart from the conversations: "
        "deleting the history leaves them.",
    )
    facts_parser.declare_later(lambda: _declare_facts(facts_parser, common))


def _declare_facts(facts_parser: Parser, common: Parser) -> None:
    actions = facts_parser.add_subparsers(dest="facts_command", metavar="ACTION", required=True)
    listing = actions.add_parser(
        "list", parents=[common], help="every remembered fact, oldest first", description="List remembered facts."
    )
    listing.add_argument("--json", action="store_true", help="print one JSON document")
    listing.set_defaults(prepare=Runs("desktop_app.cli.facts", "prepare_list"))
    forget = actions.add_parser(
        "forget",
        parents=[common],
        help="forget one fact, or all with --all --yes",
        description="Forget remembered facts for good: their text is overwritten in the database file.",
    )
    target = forget.add_mutually_exclusive_group(required=True)
    target.add_argument("fact_id", nargs="?", metavar="ID", help="the fact to forget (see `facts list`)")
    target.add_argument("--all", action="store_true", dest="all_facts", help="every remembered fact")
    forget.add_argument("--yes", "-y", action="store_true", help="confirm --all; without it nothing is forgotten")
    forget.set_defaults(prepare=Runs("desktop_app.cli.facts", "prepare_forget"))


def _add_ask_parser(commands: Commands, common: Parser) -> None:
    parser = command_parser(
        commands,
        "ask",
        parents=[common],
        help="ask the assistant something and print the answer",
        description="Ask the assistant, as if spoken: the same skills, memory and language model as the "
        "window, kept in the same history. Without --conversation or --new, the question continues the latest "
        "conversation when it was active in the last hour, and starts a new one otherwise.",
    )
    parser.declare_later(lambda: _declare_ask(parser))


def _declare_ask(parser: Parser) -> None:
    parser.add_argument("text", nargs="+", metavar="TEXT", help='what to ask, e.g. "what time is it"')
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--conversation", metavar="ID", help="continue this conversation (see `history list`)")
    which.add_argument("--new", action="store_true", help="start a new conversation")
    parser.add_argument("--speak", action="store_true", help="also say the answer out loud")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.set_defaults(prepare=Runs("desktop_app.cli.ask", "prepare_ask"))


def _add_keys_parser(commands: Commands, common: Parser) -> None:
    parser = command_parser(
        commands,
        "keys",
        parents=[common],
        help="add, list, limit or remove API keys (kept in the system keychain)",
        description="API keys for language-model providers. The key itself is kept only in the system keychain.",
    )
    parser.declare_later(lambda: _declare_keys(parser, common))


def _declare_keys(parser: Parser, common: Parser) -> None:
    actions = parser.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    add = actions.add_parser(
        "add",
        parents=[common],
        help="store a key: it is read from stdin, or typed at a hidden prompt",
        description="Store an API key. Give the key on stdin (echo KEY | voice-assistant keys add NAME) or type "
        "it at the prompt; never on the command line.",
    )
    add.add_argument("name", metavar="NAME", help="a name for it, e.g. openai")
    add.add_argument("--provider", default="openai-compatible", help="who issued it (shown in lists)")
    add.add_argument("--base-url", metavar="URL", help="the provider's API address, e.g. https://api.openai.com/v1")
    add.add_argument("--requests-per-minute", type=limit_value, metavar="N", help="refuse more requests a minute")
    add.add_argument("--tokens-per-day", type=limit_value, metavar="N", help="refuse requests after N tokens a day")
    add.set_defaults(prepare=Runs("desktop_app.cli.keys", "prepare_add"))
    listing = actions.add_parser("list", parents=[common], help="the stored keys, their limits and usage")
    listing.add_argument("--json", action="store_true", help="print one JSON document")
    listing.set_defaults(prepare=Runs("desktop_app.cli.keys", "prepare_list"))
    remove = actions.add_parser("remove", parents=[common], help="delete a key from the keychain and the app")
    remove.add_argument("name", metavar="NAME")
    remove.set_defaults(prepare=Runs("desktop_app.cli.keys", "prepare_remove"))
    limit = actions.add_parser("limit", parents=[common], help="change a key's limits (a number, or none)")
    limit.add_argument("name", metavar="NAME")
    limit.add_argument("--requests-per-minute", type=limit_value, default=KEEP, metavar="N|none")
    limit.add_argument("--tokens-per-day", type=limit_value, default=KEEP, metavar="N|none")
    limit.set_defaults(prepare=Runs("desktop_app.cli.keys", "prepare_limit"))
