"""Settings > Startup, driven by clicks: start minimised is saved to the real settings file (and the app's
start reads it), start at log-in writes and removes the real XDG autostart entry, the applications menu
switch installs and removes the real menu entry and icons, and a change made by the CLI while the dialog is
open shows up in it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from settings_dialog import WAIT_MS, OpenSettings, click

from desktop_app import APP_ID
from desktop_app.autostart import DESKTOP_FILE_NAME
from desktop_app.core.settings import APP_START_MINIMIZED, Settings
from desktop_app.ui.qt import QCheckBox
from desktop_app.ui.settings.startup import StartupSection

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytestmark = pytest.mark.gui


@pytest.fixture
def opened(qtbot, store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenSettings]:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    settings = OpenSettings(qtbot, store, tmp_path / "data", (StartupSection,))
    yield settings
    settings.close()


def test_start_minimised_is_saved_and_followed(qtbot, opened: OpenSettings) -> None:
    section = opened.section("startup")
    box = section.findChild(QCheckBox, "start_minimized")
    assert box is not None and not box.isChecked()
    click(qtbot, box)
    opened.wait_saved(APP_START_MINIMIZED, True)
    # The CLI (another process) switches it back: the box follows.
    opened.settings.watch(interval=0.05)
    Settings(opened.paths.settings_file).set(APP_START_MINIMIZED, False)
    qtbot.waitUntil(lambda: not box.isChecked(), timeout=WAIT_MS)


def test_start_at_log_in_writes_and_removes_the_entry(qtbot, opened: OpenSettings, tmp_path: Path) -> None:
    entry = tmp_path / "xdg" / "autostart" / DESKTOP_FILE_NAME
    section = opened.section("startup")
    box = section.findChild(QCheckBox, "start_with_session")
    assert box is not None
    qtbot.waitUntil(box.isEnabled, timeout=WAIT_MS)
    assert not box.isChecked()
    click(qtbot, box)
    qtbot.waitUntil(lambda: box.isEnabled() and entry.exists(), timeout=WAIT_MS)
    assert box.isChecked() and "--minimized" in entry.read_text()
    click(qtbot, box)
    qtbot.waitUntil(lambda: box.isEnabled() and not entry.exists(), timeout=WAIT_MS)
    assert not box.isChecked()


def test_an_entry_that_cannot_be_written_is_said_and_the_box_shows_the_truth(
    qtbot, opened: OpenSettings, tmp_path: Path
) -> None:
    (tmp_path / "xdg").mkdir()
    (tmp_path / "xdg" / "autostart").write_text("a file where the folder should be")
    section = opened.section("startup")
    box = section.findChild(QCheckBox, "start_with_session")
    assert box is not None
    qtbot.waitUntil(box.isEnabled, timeout=WAIT_MS)
    click(qtbot, box)
    qtbot.waitUntil(lambda: section.problem.isVisible() and box.isEnabled(), timeout=WAIT_MS)
    assert "log-in" in section.problem.text() and not box.isChecked()
    assert (tmp_path / "xdg" / "autostart").read_text() == "a file where the folder should be"


def test_the_menu_switch_installs_and_removes_the_entry_and_icons(qtbot, opened: OpenSettings, tmp_path: Path) -> None:
    share = tmp_path / "share"
    entry = share / "applications" / f"{APP_ID}.desktop"
    section = opened.section("startup")
    box = section.findChild(QCheckBox, "in_applications_menu")
    assert box is not None
    qtbot.waitUntil(box.isEnabled, timeout=WAIT_MS)
    assert not box.isChecked()
    click(qtbot, box)
    qtbot.waitUntil(lambda: box.isEnabled() and entry.exists(), timeout=WAIT_MS)
    assert box.isChecked() and (share / "icons" / "hicolor" / "48x48" / "apps" / f"{APP_ID}.png").is_file()
    assert "--minimized" not in entry.read_text()
    click(qtbot, box)
    qtbot.waitUntil(lambda: box.isEnabled() and not entry.exists(), timeout=WAIT_MS)
    assert not box.isChecked() and not [path for path in share.rglob("*") if path.is_file()]


def test_someone_elses_menu_entry_is_said_and_left_alone(qtbot, opened: OpenSettings, tmp_path: Path) -> None:
    entry = tmp_path / "share" / "applications" / f"{APP_ID}.desktop"
    entry.parent.mkdir(parents=True)
    theirs = "[Desktop Entry]\nType=Application\nName=Theirs\nExec=theirs\n"
    entry.write_text(theirs)
    section = opened.section("startup")
    box = section.findChild(QCheckBox, "in_applications_menu")
    assert box is not None
    qtbot.waitUntil(box.isEnabled, timeout=WAIT_MS)
    assert not box.isChecked()  # someone else's entry is not the app's
    click(qtbot, box)
    qtbot.waitUntil(lambda: section.problem.isVisible() and box.isEnabled(), timeout=WAIT_MS)
    assert "applications menu" in section.problem.text() and "not made by" in section.problem.text()
    assert not box.isChecked() and entry.read_text() == theirs
