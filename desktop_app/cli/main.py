"""Runs the command line: parse, check the arguments, open the store, run one command, close the store.

Exit status: 0 done; 2 the command line or an argument was wrong (nothing was done); 1 the command failed
(a one-line ``error: <what happened and what to do> [code]`` on stderr, never a traceback).

Bad input is refused before anything is done: a number above what the database holds (2**63 - 1), text that
is not valid UTF-8 (exit 2). Output that cannot be written (stdout full or closed) is ``output_failed``
(exit 1); what the command stored stays stored.
"""

from __future__ import annotations

import argparse
import errno
import gc
import io
import logging
import os
import stat
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TextIO, cast

from desktop_app.cli.errors import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, CommandError
from desktop_app.cli.output import Output, OutputFailed, one_line
from desktop_app.cli.parser import build_parser
from desktop_app.core.errors import AppError, ValidationError
from desktop_app.core.validation import check_text_argument
from desktop_app.paths import file_kind

log = logging.getLogger(__name__)

# Exit status of a command cut short by Ctrl+C, as shells report it.
EXIT_INTERRUPTED = 130

# Arguments that name files or folders. On Linux a file name is bytes and may not be UTF-8; Python hands such
# a name over with surrogates standing for the odd bytes, and gives the same bytes back when the name is
# opened (os.fsencode), so these are used as given. Every other text argument must be valid text.
PATH_ARGUMENTS = frozenset({"data_dir", "out", "archive", "wav"})
# How the arguments given without an option are named in messages (the parser's metavars).
POSITIONAL_NAMES = {
    "text": "TEXT",
    "query": "QUERY",
    "key": "KEY",
    "value": "VALUE",
    "name": "NAME",
    "conversation_id": "ID",
    "fact_id": "ID",
}


def run(argv: Sequence[str] | None = None, *, process_ends: bool = False) -> int:
    """`process_ends`: the process exits as soon as this returns (the program's entry point says so; a test
    that runs a command in-process does not)."""
    if process_ends:
        gc.disable()  # while the command's modules load: see _settle, which resumes it
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, --version, or a usage error argparse has already reported
        if stop.code is None:
            return EXIT_OK
        return stop.code if isinstance(stop.code, int) else EXIT_USAGE
    try:
        _check_text_arguments(args)
    except ValidationError as error:
        report(error)
        return EXIT_USAGE
    with _logging(args.verbose):
        try:
            if args.self_test:
                gc.enable()
                from desktop_app.cli.self_test import run_self_test

                return run_self_test(_standard_output())
            if args.command is None:
                gc.enable()  # the window runs with the collector as always
                return _start_gui(args)
            status = _run_command(args, process_ends=process_ends)
            _settle(process_ends)
            return status
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED


def _settle(process_ends: bool) -> None:
    """In a process that ends with the command, what exists now lives until the exit: the modules the
    command loaded and the store it opened, and once it is done (store and files closed) whatever is left.
    Collecting cycles while modules load finds next to nothing to free, so `run` pauses the collector; here
    what exists is set aside (gc.freeze) and the collector resumed for the command's own work. Left in,
    SQLAlchemy's and the skills' tens of thousands of objects would be walked again at every full collection
    (tens of milliseconds each) and once more at the exit (about 0.1 s), longer than most commands take.
    Never for the window: its Qt objects go through the normal clean-up."""
    if process_ends:
        gc.freeze()
        gc.enable()


def _check_text_arguments(args: argparse.Namespace) -> None:
    """Every text argument but a file name must be valid text (see PATH_ARGUMENTS)."""
    for dest, value in vars(args).items():
        if dest in PATH_ARGUMENTS:
            continue
        texts = value if isinstance(value, list) else [value]
        for text in texts:
            if isinstance(text, str):
                name = POSITIONAL_NAMES.get(dest, "--" + dest.replace("_", "-"))
                check_text_argument(text, f"The argument {name}")


def report(error: AppError | CommandError) -> None:
    # A message can quote what a server or a file said: never let it drive the terminal.
    print(f"error: {one_line(error.message)} [{error.code}]", file=sys.stderr)


def _folder_failure(error: OSError) -> CommandError:
    where = f" {error.filename}" if error.filename else ""
    if error.errno in (errno.EEXIST, errno.ENOTDIR) and error.filename:
        blocking = _first_non_folder(Path(os.fsdecode(error.filename)))
        if blocking is not None:
            path, mode = blocking
            return CommandError(
                "data_dir_unavailable",
                f"Could not prepare the data folder{where}: {path} is {file_kind(mode)}, not a folder. "
                "Nothing was changed; choose another folder with --data-dir.",
            )
    return CommandError(
        "data_dir_unavailable",
        f"Could not prepare the data folder{where}: {error.strerror or error}. "
        "Check its permissions, or choose another one with --data-dir.",
    )


def _start_gui(args: argparse.Namespace) -> int:
    from desktop_app.app import AppOptions, configure_logging, resolve_paths, run_gui

    options = AppOptions(data_dir=args.data_dir, database_url=args.database_url, minimized=args.minimized)
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


def _run_command(args: argparse.Namespace, *, process_ends: bool = False) -> int:
    prepare: Callable[[argparse.Namespace], Callable[..., int]] = args.prepare
    try:
        action = prepare(args)  # imports the command's module
    except (ValidationError, CommandError) as error:
        report(error)
        return error.exit_status if isinstance(error, CommandError) else EXIT_USAGE

    out = _standard_output()
    if not getattr(args, "needs_store", True):
        _settle(process_ends)
        return _run_storeless(action, out)
    from desktop_app.app import AppOptions, open_store  # the store, SQLAlchemy and the brain: only when used

    try:
        store = open_store(AppOptions(data_dir=args.data_dir, database_url=args.database_url))
    except AppError as error:
        report(error)
        return EXIT_USAGE if isinstance(error, ValidationError) else EXIT_FAILURE
    except OSError as error:  # the data folder or the database file could not be created
        report(_folder_failure(error))
        return EXIT_FAILURE
    _settle(process_ends)
    try:
        for notice in store.notices:
            print(f"warning: {one_line(notice)}", file=sys.stderr)
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
    """Runs a command's action; what goes wrong becomes one `error:` line and an exit status. The output is
    flushed here, so a full disk behind stdout is reported like any other failure."""
    try:
        status = run_action()
        if sys.stdout is not None:
            Output(sys.stdout).flush()
        return status
    except OutputFailed as error:
        report(error)
        _silence_stdout()  # what could not be written must not be tried again, and fail again, at exit
        return EXIT_FAILURE
    except ValidationError as error:
        report(error)
        return EXIT_USAGE
    except (AppError, CommandError) as error:
        report(error)
        return error.exit_status if isinstance(error, CommandError) else EXIT_FAILURE
    except BrokenPipeError:
        _silence_stdout()  # the reader went away (`| head`); there is nobody left to tell
        return EXIT_FAILURE


def _standard_output() -> TextIO:
    """stdout as the commands write to it: UTF-8, and any failure to write it an OutputFailed. With stdout
    closed, the first write fails (rather than printing nowhere); its descriptor is taken by /dev/null so that
    no file the command opens can become fd 1 and receive what was meant for stdout."""
    if sys.stdout is None:
        try:
            os.fstat(1)
        except OSError:
            with suppress(OSError):
                os.open(os.devnull, os.O_WRONLY)  # the lowest free descriptor: 1
        return cast(TextIO, Output(None))
    return cast(TextIO, Output(_utf8(sys.stdout)))


def _utf8(stream: TextIO) -> TextIO:
    """Output is UTF-8 whatever the locale, with no newline translation (CSV brings its own CRLF). A file
    name that is not UTF-8 (see PATH_ARGUMENTS) is shown with its odd bytes as \\udcXX escapes."""
    if isinstance(stream, io.TextIOWrapper):
        stream.reconfigure(encoding="utf-8", newline="", errors="backslashreplace")
    return stream


def _silence_stdout() -> None:
    if sys.stdout is None:
        return
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


def _first_non_folder(path: Path) -> tuple[Path, int] | None:
    """The first of `path` and its parents that exists and is not a folder (a link to one is one), with its
    mode."""
    for candidate in (path, *path.parents):
        try:
            mode = candidate.stat().st_mode
        except OSError:
            continue
        if not stat.S_ISDIR(mode):
            return candidate, mode
    return None
