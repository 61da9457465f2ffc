"""``voice-assistant ptt press|release|toggle|cancel|test``: push-to-talk for the running app, for the
desktop's own key bindings (any desktop or Wayland compositor that can run a command on a key press, and on
its release for hold-to-talk). It returns as soon as the app has taken the command: exit 0; exit 1 with
``error: ... [app_not_running]`` when no instance runs for this data folder, or with the app's own code
when it refuses.

A binding runs this on every key event, so ``__main__`` tries `fast_path` first: a plain
``ptt press|release|toggle|cancel`` with the global options loads only this module and the remote client
(no logging, no database, no Qt), not the whole command line. Anything else (help, ``ptt test`` which
prints, an option or a mistake the fast path does not know) goes through the full command line, which gives
the same result and the usual messages.

This module imports nothing of the app at load time: __main__ imports it for every command.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    import argparse

    from desktop_app.remote.protocol import Command

# The same words as desktop_app.remote.protocol.PTT_ACTIONS (a test keeps them equal); spelled here so that
# building the parser loads nothing of the remote package.
ACTIONS = ("press", "release", "toggle", "cancel", "test")
TIMEOUT = 3.0
DATA_DIR_ENV = "VOICE_ASSISTANT_DATA_DIR"  # desktop_app.paths.DATA_DIR_ENV
EXIT_INTERRUPTED = 130
_QUIET_ACTIONS = frozenset(ACTIONS) - {"test"}
_FLAGS = frozenset({"-v", "--verbose"})
_VALUED = ("--data-dir", "--database-url")


def add_ptt_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    parser = commands.add_parser(
        "ptt",
        parents=[common],
        help="push-to-talk for the running app (for the desktop's key bindings)",
        description="Tell the running app to start listening (press), stop and answer (release), do one or the "
        "other (toggle) or drop the turn (cancel). Bind `ptt press` to a key's press and `ptt release` to its "
        "release in the desktop's keyboard settings. `ptt test` checks that a command reaches the app and starts "
        "no turn. Exit 1 with [app_not_running] when the app is not running.",
    )
    parser.add_argument("ptt_action", metavar="ACTION", choices=ACTIONS, help=" | ".join(ACTIONS))
    parser.set_defaults(prepare=prepare_ptt, needs_store=False)


def prepare_ptt(args: argparse.Namespace) -> Callable[[TextIO], int]:
    command = _command(args.ptt_action)
    data_dir: str | None = args.data_dir

    def action(out: TextIO) -> int:
        send(data_dir, command)
        if args.ptt_action == "test":
            out.write("The running app received the test command.\n")
        return 0

    return action


def send(data_dir: str | None, command: Command) -> None:
    """Delivers `command` to the instance using `data_dir` (--data-dir, else as AppPaths.resolve decides);
    RemoteError when it cannot."""
    from desktop_app.remote.client import RemoteClient
    from desktop_app.remote.endpoint import endpoint_for

    RemoteClient(endpoint_for(resolve_data_dir(data_dir)), TIMEOUT).send(command)


def resolve_data_dir(option: str | None) -> Path:
    """AppPaths.resolve(option).data_dir, without loading desktop_app.paths (its logging and file helpers
    cost more than the rest of this command); a test keeps the two equal."""
    override = option if option is not None else os.environ.get(DATA_DIR_ENV) or None
    if override is not None:
        return Path(override).expanduser().absolute()
    import platformdirs

    from desktop_app import APP_NAME

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def fast_path(argv: Sequence[str]) -> int | None:
    """The exit status of a plain ``ptt press|release|toggle|cancel`` command line, or None when the full
    command line should handle `argv`."""
    issued_at = time.time()
    parsed = _parse(argv)
    if parsed is None:
        return None
    action, data_dir, verbose = parsed
    if verbose:
        _log_to_stderr()
    from desktop_app.remote.protocol import RemoteError

    try:
        send(data_dir, _command(action, issued_at))
    except RemoteError as error:
        from desktop_app.cli.output import one_line

        print(f"error: {one_line(error.message)} [{error.code}]", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


def _command(action: str, issued_at: float | None = None) -> Command:
    from desktop_app.remote.protocol import PTT_ACTIONS, Command

    return Command(PTT_ACTIONS[action], issued_at=time.time() if issued_at is None else issued_at)


def _parse(argv: Sequence[str]) -> tuple[str, str | None, bool] | None:
    """(action, --data-dir, -v) of ``[OPTIONS] ptt [OPTIONS] ACTION [OPTIONS]``; None for anything else.
    Options are taken only as spelled in full, with values that do not start with "-" (argparse's rule)."""
    words: list[str] = []
    data_dir: str | None = None
    verbose = False
    index = 0
    while index < len(argv):
        word = argv[index]
        index += 1
        if word in _FLAGS:
            verbose = True
            continue
        name, equals, value = word.partition("=")
        if name in _VALUED:
            if not equals:
                if index >= len(argv) or argv[index].startswith("-"):
                    return None
                value = argv[index]
                index += 1
            if name == "--data-dir":
                data_dir = value
            elif not _is_text(value):  # the full command line refuses such a --database-url
                return None
            continue
        if word.startswith("-") or not _is_text(word):
            return None
        words.append(word)
    if len(words) != 2 or words[0] != "ptt" or words[1] not in _QUIET_ACTIONS:
        return None
    return words[1], data_dir, verbose


def _is_text(word: str) -> bool:
    try:
        word.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _log_to_stderr() -> None:
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
