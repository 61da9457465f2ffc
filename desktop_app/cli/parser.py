"""The argument parser. Global options work before or after a sub-command:
``voice-assistant --data-dir D history list`` and ``voice-assistant history list --data-dir D``.

A usage error (an unknown command or option, a missing or malformed argument) prints the usage, then one
``error: <what> [invalid_argument]`` line, and exits 2, like every other refused argument.

Every sub-command is declared with its arguments (parser_store, parser_tools), but only the chosen one's
arguments are added (`Parser.declare_later`) and its module is imported only when it runs (`Runs`):
parsing one command line does nothing for another command."""

from __future__ import annotations

import argparse

from desktop_app import APP_NAME, __version__
from desktop_app.cli import ptt
from desktop_app.cli.arguments import Parser
from desktop_app.cli.parser_store import add_store_parsers
from desktop_app.cli.parser_tools import add_tool_parsers
from desktop_app.paths import DATA_DIR_ENV, DATABASE_URL_ENV


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


def build_parser() -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = Parser(
        prog=APP_NAME,
        description="An offline desktop voice assistant. Without a command, opens the window.",
    )
    parser.add_argument("--version", action="version", version=f"{APP_NAME} {__version__}")
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="start every part once without a screen, in a temporary folder, and say what works",
    )
    parser.add_argument(
        "--minimized",
        action="store_true",
        help="start in the tray without showing the window (where the desktop has a tray)",
    )
    _add_global_options(parser, top_level=True)
    common = Parser(add_help=False)
    _add_global_options(common, top_level=False)

    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_store_parsers(commands, common)
    add_tool_parsers(commands, common)
    ptt.add_ptt_parser(commands, common)
    return parser
