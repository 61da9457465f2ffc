"""``voice-assistant`` and ``python -m desktop_app``: the window, or a command such as ``history list``."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from desktop_app.cli.main import run

    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
