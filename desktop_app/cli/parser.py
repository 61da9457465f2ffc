"""The argument parser. Global options work before or after a sub-command:
``voice-assistant --data-dir D history list`` and ``voice-assistant history list --data-dir D``.

A usage error (an unknown command or option, a missing or malformed argument) prints the usage, then one
``error: <what> [invalid_argument]`` line, and exits 2, like every other refused argument."""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any, NoReturn

from desktop_app import APP_NAME, __version__
from desktop_app.cli import ask, facts, history, keys, models, output, ptt, settings, setup, transcribe
from desktop_app.cli.errors import EXIT_USAGE
from desktop_app.core.errors import ErrorCode
from desktop_app.core.export import ExportFormat
from desktop_app.core.validation import MAX_INTEGER, whole_number
from desktop_app.paths import DATA_DIR_ENV, DATABASE_URL_ENV

DEFAULT_LIST_LIMIT = 50
DEFAULT_SEARCH_LIMIT = 20
# The store answers at most this many rows per call; page through more with --offset.
MAX_PAGE = 1000

# Words that start with "-" but are values, not options: negative numbers, also written with an exponent,
# and the words for infinity and not-a-number (`settings set voice.volume -inf` is a value the setting
# refuses, not an unknown option).
_NEGATIVE_NUMBER = re.compile(r"^-(\d+|\d*\.\d+)([eE][+-]?\d+)?$|^-(inf|infinity|nan)$", re.IGNORECASE)


class Parser(argparse.ArgumentParser):
    """argparse's parser, with its usage errors in the shape of every other error: the usage, then one line
    ``error: <what argparse says>. See: <command> --help [invalid_argument]`` (escaped, as it may quote what
    was typed), exit status 2. Sub-command parsers are made of this class too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = _NEGATIVE_NUMBER

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        said = output.one_line(message).rstrip(".")
        self.exit(EXIT_USAGE, f"error: {said}. See: {self.prog} --help [{ErrorCode.INVALID_ARGUMENT.value}]\n")


def _add_global_options(parser: argparse.ArgumentParser, *, top_level: bool) -> None:
    # Below the top level the defaults are suppressed: a sub-command's parser would otherwise overwrite a
    # value given before the sub-command with its own default.
    unset = None if top_level else argparse.SUPPRESS
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        default=unset,
        help=f"keep everything in DIR instead of the per-user folders (also ${DATA_DIR_ENV})",
    )
    parser.add_argument(
        "--database-url",
        metavar="URL",
        default=unset,
        help=f"use this database instead of DIR/assistant.db, e.g. postgresql+psycopg://... (also ${DATABASE_URL_ENV})",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=False if top_level else argparse.SUPPRESS,
        help="log what happens to stderr",
    )


def _page_size(text: str) -> int:
    try:
        return whole_number(text, minimum=1, maximum=MAX_PAGE)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _not_negative(text: str) -> int:
    """0 up to the largest number the database holds (MAX_INTEGER)."""
    try:
        return whole_number(text, minimum=0, maximum=MAX_INTEGER)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def build_parser() -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = Parser(
        prog=APP_NAME,
        description="An offline desktop voice assistant. Without a command, opens the window.",
    )
    parser.add_argument("--version", action="version", version=f"{APP_NAME} {__version__}")
    _add_global_options(parser, top_level=True)
    common = Parser(add_help=False)
    _add_global_options(common, top_level=False)

    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    history_parser = commands.add_parser(
        "history",
        parents=[common],
        help="list, show, search, export or delete stored conversations",
        description="Work with the stored conversations.",
    )
    actions = history_parser.add_subparsers(dest="history_command", metavar="ACTION", required=True)

    listing = actions.add_parser(
        "list", parents=[common], help="the conversations, newest first", description="List conversations."
    )
    listing.add_argument(
        "--limit", type=_page_size, default=DEFAULT_LIST_LIMIT, metavar="N", help="show at most N (default 50)"
    )
    listing.add_argument("--offset", type=_not_negative, default=0, metavar="N", help="skip the newest N")
    listing.add_argument("--json", action="store_true", help="print one JSON document")
    listing.set_defaults(prepare=history.prepare_list)

    show = actions.add_parser(
        "show", parents=[common], help="one conversation with all its messages", description="Show a conversation."
    )
    show.add_argument("conversation_id", metavar="ID", help="the conversation's number (see `history list`)")
    show.add_argument("--json", action="store_true", help="print one JSON document")
    show.set_defaults(prepare=history.prepare_show)

    search = actions.add_parser(
        "search", parents=[common], help="find messages by their words", description="Search every message."
    )
    search.add_argument("query", nargs="+", metavar="QUERY", help="words to find (all must match)")
    search.add_argument(
        "--limit", type=_page_size, default=DEFAULT_SEARCH_LIMIT, metavar="N", help="show at most N (default 20)"
    )
    search.add_argument("--json", action="store_true", help="print one JSON document")
    search.set_defaults(prepare=history.prepare_search)

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
        choices=[f.value for f in ExportFormat],
        help="json, md or csv (default: from the --out file's extension)",
    )
    export.add_argument("--out", "-o", metavar="FILE", help="write to FILE (made private, 0600) instead of stdout")
    export.add_argument("--force", action="store_true", help="replace FILE if it exists")
    export.set_defaults(prepare=history.prepare_export)

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
    delete.set_defaults(prepare=history.prepare_delete)
    _add_facts_parser(commands, common)
    _add_ask_parser(commands, common)
    keys.add_parsers(commands, common)
    _add_models_parser(commands, common)
    _add_transcribe_parser(commands, common)
    _add_setup_parsers(commands, common)
    ptt.add_ptt_parser(commands, common)
    return parser


def _add_facts_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """The ``facts`` sub-command: what the assistant remembers about you ("remember that ...")."""
    facts_parser = commands.add_parser(
        "facts",
        parents=[common],
        help="list or forget the facts the assistant remembers",
        description="The facts you asked the assistant to remember. They are kept apart from the conversations: "
        "deleting the history leaves them.",
    )
    actions = facts_parser.add_subparsers(dest="facts_command", metavar="ACTION", required=True)
    listing = actions.add_parser(
        "list", parents=[common], help="every remembered fact, oldest first", description="List remembered facts."
    )
    listing.add_argument("--json", action="store_true", help="print one JSON document")
    listing.set_defaults(prepare=facts.prepare_list)
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
    forget.set_defaults(prepare=facts.prepare_forget)


def _add_ask_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    parser = commands.add_parser(
        "ask",
        parents=[common],
        help="ask the assistant something and print the answer",
        description="Ask the assistant, as if spoken: the same skills, memory and language model as the "
        "window, kept in the same history. Without --conversation or --new, the question continues the latest "
        "conversation when it was active in the last hour, and starts a new one otherwise.",
    )
    parser.add_argument("text", nargs="+", metavar="TEXT", help='what to ask, e.g. "what time is it"')
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--conversation", metavar="ID", help="continue this conversation (see `history list`)")
    which.add_argument("--new", action="store_true", help="start a new conversation")
    parser.add_argument("--speak", action="store_true", help="also say the answer out loud")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.set_defaults(prepare=ask.prepare_ask)


def _add_models_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """The ``models`` sub-command and its actions."""
    models_parser = commands.add_parser(
        "models",
        parents=[common],
        help="list, download, install or remove speech recognition models",
        description="Manage the Vosk speech recognition models (one per language). The app listens with an "
        "installed model of the recognition language (speech.language, English by default), else with the "
        "built-in English recogniser; `models list` shows which one and why.",
    )
    models_parser.set_defaults(needs_store=False)
    actions = models_parser.add_subparsers(dest="models_command", metavar="ACTION", required=True)

    listing = actions.add_parser(
        "list",
        parents=[common],
        help="the models you can download and the ones installed, and which one listens",
        description="List the built-in recogniser, the downloadable models (from the saved list) and the installed "
        "ones, marking the one in use and why.",
    )
    listing.add_argument("--all", action="store_true", help="include obsolete models")
    listing.add_argument("--json", action="store_true", help="print one JSON document")
    listing.set_defaults(prepare=models.prepare_list)

    refresh = actions.add_parser(
        "refresh",
        parents=[common],
        help="fetch the latest list of models",
        description="Fetch the official list of models and keep it for offline use.",
    )
    _catalog_url_option(refresh)
    refresh.set_defaults(prepare=models.prepare_refresh)

    download = actions.add_parser(
        "download",
        parents=[common],
        help="download and install a model by name",
        description="Download a model from the list, check it and install it. An interrupted download (Ctrl+C, "
        "a dropped connection) resumes where it stopped when the command is run again.",
    )
    download.add_argument("name", metavar="NAME", help="the model's name (see `models list`)")
    download.add_argument("--replace", action="store_true", help="replace the model if it is already installed")
    _use_option(download)
    _catalog_url_option(download)
    download.set_defaults(prepare=models.prepare_download)

    install = actions.add_parser(
        "install",
        parents=[common],
        help="install a model from a .zip file",
        description="Install a model from a .zip archive you already have.",
    )
    install.add_argument("archive", metavar="ZIP", help="the model archive")
    install.add_argument("--name", metavar="NAME", help="install under this name (default: the archive's folder)")
    install.add_argument("--replace", action="store_true", help="replace a model of the same name")
    install.add_argument(
        "--language",
        metavar="CODE",
        help="the model's language (e.g. en, ko), when the model list does not know it by its name",
    )
    _use_option(install)
    install.set_defaults(prepare=models.prepare_install)

    remove = actions.add_parser(
        "remove", parents=[common], help="delete an installed model", description="Delete an installed model."
    )
    remove.add_argument("name", metavar="NAME", help="the installed model's name")
    remove.set_defaults(prepare=models.prepare_remove)


def _use_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--use",
        action="store_true",
        help="listen with this model from now on (its language becomes speech.language); without it, a model "
        "of another language than speech.language is installed but not used",
    )


def _catalog_url_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--catalog-url",
        metavar="URL",
        help="fetch the model list from URL instead of the address in the settings (a mirror, or a test server)",
    )


def _add_transcribe_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    parser = commands.add_parser(
        "transcribe",
        parents=[common],
        help="recognise the speech in a WAV file",
        description="Recognise the speech in a WAV file with the app's recogniser (any rate, any channels).",
    )
    parser.add_argument("wav", metavar="WAV", help="the recording")
    parser.add_argument(
        "--engine",
        choices=["auto", "vosk", "pocketsphinx"],
        default="auto",
        help="vosk needs an installed model; auto uses Vosk when one is installed (default: auto)",
    )
    parser.add_argument("--model", metavar="NAME", help="the installed Vosk model to use")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.set_defaults(prepare=transcribe.prepare_transcribe, needs_store=False)


def _add_setup_parsers(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    devices = commands.add_parser(
        "devices",
        parents=[common],
        help="list microphones and speakers",
        description="List microphones and speakers by the names the desktop's sound settings show, marking the "
        "system default (*) and the one the app uses (>).",
    )
    devices.add_argument("--json", action="store_true", help="print one JSON document")
    devices.add_argument("--all", action="store_true", help="also list monitors (they record what a speaker plays)")
    devices.set_defaults(prepare=setup.prepare_devices, needs_store=False)

    settings_parser = commands.add_parser(
        "settings", parents=[common], help="show or change settings", description="Show or change the settings."
    )
    settings_parser.set_defaults(needs_store=False)
    actions = settings_parser.add_subparsers(dest="settings_command", metavar="ACTION", required=True)
    listing = actions.add_parser("list", parents=[common], help="every setting with its value and meaning")
    listing.add_argument("--json", action="store_true", help="print one JSON document")
    listing.set_defaults(prepare=settings.prepare_settings_list)
    change = actions.add_parser(
        "set",
        parents=[common],
        help="change one setting (none clears a device choice)",
        description="Change one setting. `settings list` shows every setting; a value that does not fit is "
        "refused with what the setting takes.",
    )
    change.add_argument("key", metavar="KEY")
    change.add_argument("value", metavar="VALUE")
    change.set_defaults(prepare=settings.prepare_settings_set)
