"""The dialog shown at start-up when a system library the voice features load is missing
(desktop_app.system_libraries): what is missing, what the user loses, the command that installs it."""

from __future__ import annotations

import logging
import sys

from desktop_app import DISPLAY_NAME
from desktop_app.system_libraries import StartWarning
from desktop_app.ui.qt import QApplication, QMessageBox, Qt

log = logging.getLogger(__name__)


def ask_to_continue(warning: StartWarning) -> bool:
    """Shows the warning; True when the user chose to go on without the library (offered only where the
    app works without it)."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)  # closing the dialog must not end the window's event loop early
    icon = QMessageBox.Icon.Warning if warning.can_continue else QMessageBox.Icon.Critical
    box = QMessageBox(icon, DISPLAY_NAME, warning.headline)
    box.setInformativeText(warning.details)
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)  # the install command can be copied
    quit_button = box.addButton("Quit", QMessageBox.ButtonRole.RejectRole)
    go_on = box.addButton("Continue without it", QMessageBox.ButtonRole.AcceptRole) if warning.can_continue else None
    box.setDefaultButton(go_on or quit_button)
    box.setEscapeButton(quit_button)
    offered = "Quit or Continue without it" if go_on is not None else "Quit"
    log.warning("start-up dialog (%s): %s %s", offered, warning.headline, " ".join(warning.details.split("\n")))
    box.exec()
    carry_on = go_on is not None and box.clickedButton() is go_on
    log.info("the user chose to %s", "continue without it" if carry_on else "quit")
    return carry_on
