"""``install-desktop`` and ``uninstall-desktop``: the app in the desktop's applications menu (Linux, BSD)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import TextIO

from desktop_app import DISPLAY_NAME
from desktop_app.autostart import launch_command
from desktop_app.cli.errors import EXIT_OK

Action = Callable[[TextIO], int]


def menu_command(args: argparse.Namespace) -> list[str]:
    """How the menu starts the app: this program as it was started (the bundle's executable, the
    voice-assistant script or the interpreter with -m desktop_app), with the --data-dir given here."""
    data_dir: str | None = args.data_dir
    extra = ["--data-dir", os.path.abspath(data_dir)] if data_dir else []
    return launch_command([sys.argv[0] if sys.argv else "", *extra])


def prepare_install_desktop(args: argparse.Namespace) -> Action:
    command = menu_command(args)

    def action(out: TextIO) -> int:
        from desktop_app.menu_entry import install_menu_entry

        for path in install_menu_entry(command):
            out.write(f"installed {path}\n")
        out.write(f"{DISPLAY_NAME} is in the applications menu (it may take a moment to appear).\n")
        return EXIT_OK

    return action


def prepare_uninstall_desktop(args: argparse.Namespace) -> Action:
    def action(out: TextIO) -> int:
        from desktop_app.menu_entry import uninstall_menu_entry

        removed = uninstall_menu_entry()
        for path in removed:
            out.write(f"removed {path}\n")
        out.write(
            f"{DISPLAY_NAME} is no longer in the applications menu.\n"
            if removed
            else f"{DISPLAY_NAME} was not in the applications menu; nothing was removed.\n"
        )
        return EXIT_OK

    return action
