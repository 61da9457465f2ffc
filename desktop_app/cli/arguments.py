"""What the parser is made of besides argparse: `Parser`, whose arguments can be declared when it is first
needed; `Runs`, which names the function that prepares a command without importing its module; the types
that check numbers as they are parsed.

The parser is built for every command line, so it must not load what only one command uses (the store,
numpy, the speech models): a command's module is imported when that command is dispatched, and only the
chosen command's arguments are declared."""

from __future__ import annotations

import argparse
import importlib
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, NoReturn

from desktop_app.cli.errors import EXIT_USAGE
from desktop_app.core.errors import ErrorCode

# The store answers at most this many rows per call; page through more with --offset.
MAX_PAGE = 1000
# A limit not given to `keys limit` stays as it was (not a string: argparse would parse a string default).
KEEP = object()
# Words that start with "-" but are values, not options: negative numbers, also written with an exponent,
# and the words for infinity and not-a-number (`settings set voice.volume -inf` is a value the setting
# refuses, not an unknown option).
_NEGATIVE_NUMBER = re.compile(r"^-(\d+|\d*\.\d+)([eE][+-]?\d+)?$|^-(inf|infinity|nan)$", re.IGNORECASE)


class Parser(argparse.ArgumentParser):
    """argparse's parser, with its usage errors in the shape of every other error: the usage, then one line
    ``error: <what argparse says>. See: <command> --help [invalid_argument]`` (escaped, as it may quote what
    was typed), exit status 2. Sub-command parsers are made of this class too.

    A command's arguments and actions can be declared later (`declare_later`): they are added when the
    parser first parses or shows its help, so a command line declares its own command only."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = _NEGATIVE_NUMBER
        self._pending: list[Callable[[], None]] = []

    def declare_later(self, declare: Callable[[], None]) -> None:
        self._pending.append(declare)

    def _declare_pending(self) -> None:
        while self._pending:
            self._pending.pop(0)()

    def parse_known_args(self, args: Iterable[str] | None = None, namespace: Any = None) -> tuple[Any, list[str]]:
        self._declare_pending()
        return super().parse_known_args(args, namespace)

    def format_usage(self) -> str:
        self._declare_pending()
        return super().format_usage()

    def format_help(self) -> str:
        self._declare_pending()
        return super().format_help()

    def error(self, message: str) -> NoReturn:
        from desktop_app.cli.output import one_line

        self.print_usage(sys.stderr)
        said = one_line(message).rstrip(".")
        self.exit(EXIT_USAGE, f"error: {said}. See: {self.prog} --help [{ErrorCode.INVALID_ARGUMENT.value}]\n")


def command_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser], name: str, **kwargs: Any) -> Parser:
    """A sub-command's parser (every parser made by a `Parser`'s sub-parsers is one)."""
    parser = commands.add_parser(name, **kwargs)
    assert isinstance(parser, Parser)
    return parser


@dataclass(frozen=True, slots=True)
class Runs:
    """`module.function`, the command's ``prepare_*``: it checks the arguments and returns the action."""

    module: str
    function: str

    def __call__(self, args: argparse.Namespace) -> Any:
        prepare = getattr(importlib.import_module(self.module), self.function)
        return prepare(args)


def _whole_number(text: str, *, minimum: int, maximum: int | None = None) -> int:
    # core.validation loads core.models: only when a number is given.
    from desktop_app.core.validation import MAX_INTEGER, whole_number

    return whole_number(text, minimum=minimum, maximum=MAX_INTEGER if maximum is None else maximum)


def page_size(text: str) -> int:
    try:
        return _whole_number(text, minimum=1, maximum=MAX_PAGE)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def not_negative(text: str) -> int:
    """0 up to the largest number the database holds (MAX_INTEGER)."""
    try:
        return _whole_number(text, minimum=0)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def limit_value(text: str) -> int | None:
    """A limit from the command line: a whole number from 1 to MAX_INTEGER (what the database holds), or
    "none" for no limit."""
    if text.strip().lower() in ("none", "off", "unlimited"):
        return None
    try:
        return _whole_number(text, minimum=1)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{error} (or none)") from None
