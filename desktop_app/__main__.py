"""``voice-assistant`` and ``python -m desktop_app``: the window, or a command such as ``history list``."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from desktop_app.cli.ptt import fast_path

    # A desktop key binding runs `ptt press` on every key press: it skips the full command line's imports.
    status = fast_path(sys.argv[1:] if argv is None else argv)
    if status is not None:
        return status
    from desktop_app.cli.main import run

    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
