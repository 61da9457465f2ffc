"""Widgets bound to settings (ui/settings/binding.py) on a slow disk: two choices made quickly are saved in
order, and the echo of the first, arriving while the second is still being saved, does not flick the widget
back to it."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from settings_dialog import WAIT_MS, OpenSettings, click

from desktop_app.core import settings as settings_module
from desktop_app.core.atomic_file import replace_file
from desktop_app.core.settings import TALK_MODE
from desktop_app.ui.qt import QRadioButton
from desktop_app.ui.settings.push_to_talk import PushToTalkSection

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytestmark = pytest.mark.gui
WRITE_S = 0.3  # a disk this slow to write and sync the settings file


def test_a_quick_second_choice_is_not_undone_by_the_first_ones_echo(
    qtbot, store, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write = replace_file

    def slow_write(path: Path, data: bytes) -> None:
        time.sleep(WRITE_S)
        write(path, data)

    monkeypatch.setattr(settings_module, "replace_file", slow_write)
    opened = OpenSettings(qtbot, store, data_dir, (PushToTalkSection,))
    try:
        section = opened.section("push_to_talk")
        hold = section.findChild(QRadioButton, "mode_hold")
        toggle = section.findChild(QRadioButton, "mode_toggle")
        assert hold is not None and toggle is not None
        click(qtbot, toggle)
        qtbot.wait(50)  # the first save is under way
        click(qtbot, hold)
        shown: list[bool] = []
        deadline = time.monotonic() + 4 * WRITE_S
        while time.monotonic() < deadline:  # both saves and their echoes
            qtbot.wait(10)
            shown.append(hold.isChecked())
        assert all(shown), "the first choice's echo showed the old value again"
        opened.wait_saved(TALK_MODE, "hold")
        qtbot.waitUntil(lambda: opened.settings.get(TALK_MODE) == "hold", timeout=WAIT_MS)
    finally:
        opened.close()
