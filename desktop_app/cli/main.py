"""Runs the command line: parse, check the arguments, open the store, run one command, close the store.

Exit status: 0 done; 2 the command line or an argument was wrong (nothing was done); 1 the command failed
(a one-line ``error: <what happened and what to do> [code]`` on stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import TextIO

from desktop_app.cli.errors import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, CommandError
from desktop_app.cli.parser import build_parser
from desktop_app.core.errors import AppError, ValidationError

log = logging.getLogger(__name__)

# Exit status of a command cut short by Ctrl+C, as shells report it.
EXIT_INTERRUPTED = 130


def run(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, --version, or a usage error argparse has already reported
        if stop.code is None:
            return EXIT_OK
        return stop.code if isinstance(stop.code, int) else EXIT_USAGE
    with _logging(args.verbose):
        try:
            if args.command is None:
                return _start_gui(args)
            return _run_command(args)
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED


def report(error: AppError | CommandError) -> None:
    print(f"error: {error.message} [{error.code}]", file=sys.stderr)


def _folder_failure(error: OSError) -> CommandError:
    where = f" {error.filename}" if error.filename else ""
    return CommandError(
        "data_dir_unavailable",
        f"Could not prepare the data folder{where}: {error.strerror or error}. "
        "Check its permissions, or choose another one with --data-dir.",
    )


def _start_gui(args: argparse.Namespace) -> int:
    from desktop_app.app import AppOptions, configure_logging, resolve_paths, run_gui

    options = AppOptions(data_dir=args.data_dir, database_url=args.database_url)
    try:
        configure_logging(resolve_paths(options), verbose=args.verbose)
    except OSError as error:
        report(_folder_failure(error))
        return EXIT_FAILURE
    try:
        return run_gui(options)
    except AppError as error:
        report(error)
        return EXIT_FAILURE


def _run_command(args: argparse.Namespace) -> int:
    prepare: Callable[[argparse.Namespace], Callable[..., int]] = args.prepare
    try:
        action = prepare(args)
    except (ValidationError, CommandError) as error:
        report(error)
        return error.exit_status if isinstance(error, CommandError) else EXIT_USAGE

    from desktop_app.app import AppOptions, open_store

    out = _utf8(sys.stdout)
    if not getattr(args, "needs_store", True):
        return _run_storeless(action, out)
    try:
        store = open_store(AppOptions(data_dir=args.data_dir, database_url=args.database_url))
    except AppError as error:
        report(error)
        return EXIT_FAILURE
    except OSError as error:  # the data folder or the database file could not be created
        report(_folder_failure(error))
        return EXIT_FAILURE
    try:
        for notice in store.notices:
            print(f"warning: {notice}", file=sys.stderr)
        return _run_reporting(lambda: action(store, out))
    finally:
        try:
            store.close()
        except AppError:
            log.warning("closing the store failed", exc_info=True)


def _run_storeless(action: Callable[[TextIO], int], out: TextIO) -> int:
    """Commands that do not touch the conversations (models, transcribe, settings) never open the database."""
    try:
        return _run_reporting(lambda: action(out))
    except OSError as error:  # a folder the command needed could not be made
        report(_folder_failure(error))
        return EXIT_FAILURE


def _run_reporting(run_action: Callable[[], int]) -> int:
    """Runs a command's action; what goes wrong becomes one `error:` line and an exit status."""
    try:
        return run_action()
    except ValidationError as error:
        report(error)
        return EXIT_USAGE
    except (AppError, CommandError) as error:
        report(error)
        return error.exit_status if isinstance(error, CommandError) else EXIT_FAILURE
    except BrokenPipeError:
        _silence_stdout()  # the reader went away (`| head`); there is nobody left to tell
        return EXIT_FAILURE


def _utf8(stream: TextIO) -> TextIO:
    """Output is UTF-8 whatever the locale, with no newline translation (CSV brings its own CRLF)."""
    if isinstance(stream, io.TextIOWrapper):
        stream.reconfigure(encoding="utf-8", newline="")
    return stream


def _silence_stdout() -> None:
    with suppress(OSError):
        sys.stdout.flush()
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        pass


@contextmanager
def _logging(verbose: bool) -> Iterator[None]:
    """-v sends the log to stderr. Without it the log stays quiet: what went wrong is reported once, as the
    ``error:`` line, not again by Python's last-resort log handler."""
    root = logging.getLogger()
    handler: logging.Handler
    if verbose:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    else:
        handler = logging.NullHandler()
    previous_level = root.level
    root.addHandler(handler)
    if verbose:
        root.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(previous_level)
