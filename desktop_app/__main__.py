"""``voice-assistant`` and ``python -m desktop_app``: the window, or a command such as ``history list``."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from contextlib import suppress


def main(argv: list[str] | None = None) -> int:
    if getattr(sys, "frozen", False):
        # In the bundle, a spawned recogniser process starts this same executable: this runs its work and
        # returns only in the app itself.
        import multiprocessing

        multiprocessing.freeze_support()
    from desktop_app.cli.ptt import fast_path

    words = sys.argv[1:] if argv is None else argv
    # A desktop key binding runs `ptt press` on every key press: it skips the full command line's imports.
    status = fast_path(words)
    if status is not None:
        return status
    if _asks_version_only(words):
        return _print_version()
    from desktop_app.cli.main import run

    return run(argv, process_ends=argv is None)


def _asks_version_only(words: Sequence[str]) -> bool:
    return list(words) == ["--version"]


def _print_version() -> int:
    """What the parser's --version prints, where it prints it (stderr when there is no stdout), without
    building the parser."""
    from desktop_app import APP_NAME, __version__

    with suppress(AttributeError, OSError):
        (sys.stdout or sys.stderr).write(f"{APP_NAME} {__version__}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
