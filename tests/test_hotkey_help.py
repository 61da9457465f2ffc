"""Help > Push to talk from anywhere: the desktop detected, the binding to paste, and a test that a press
sent by that binding (`voice-assistant ptt test`) reaches the running app."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from desktop_app.core.events import EventHub
from desktop_app.core.talk_controls import TalkControls

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.mark.gui
@pytest.mark.parametrize(
    ("environment", "named", "pasted"),
    [
        ({"XDG_CURRENT_DESKTOP": "GNOME", "WAYLAND_DISPLAY": "wayland-0"}, "GNOME", "gsettings set"),
        ({"SWAYSOCK": "/run/user/1000/sway-ipc.sock", "WAYLAND_DISPLAY": "wayland-1"}, "sway", "bindsym --release"),
        ({"HYPRLAND_INSTANCE_SIGNATURE": "abc", "WAYLAND_DISPLAY": "wayland-1"}, "Hyprland", "bindr"),
    ],
    ids=["gnome", "sway", "hyprland"],
)
def test_the_desktop_and_its_binding_are_shown(
    qtbot, monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], named: str, pasted: str
) -> None:
    from desktop_app.ui.hotkey_help import HotkeyHelpDialog

    for variable in ("XDG_CURRENT_DESKTOP", "XDG_SESSION_DESKTOP", "DESKTOP_SESSION", "SWAYSOCK"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.delenv("HYPRLAND_INSTANCE_SIGNATURE", raising=False)
    for variable, value in environment.items():
        monkeypatch.setenv(variable, value)
    dialog = HotkeyHelpDialog("ctrl+alt+space", "No global key here: use your desktop's shortcuts.")
    qtbot.addWidget(dialog)
    assert dialog.desktop.text() == f"Detected: {named}."
    assert pasted in dialog.snippet.toPlainText() and " ptt " in dialog.snippet.toPlainText()
    assert "No global key here" in dialog.status.text()


@pytest.mark.gui
def test_a_bad_key_setting_is_said_not_pasted(qtbot) -> None:
    from desktop_app.ui.hotkey_help import HotkeyHelpDialog

    dialog = HotkeyHelpDialog("ctrl+banana", "")
    qtbot.addWidget(dialog)
    assert "not usable" in dialog.instructions.text() and dialog.snippet.isHidden()


@pytest.mark.gui
def test_the_test_button_confirms_a_ptt_test_sent_to_the_running_app(qtbot, store, data_dir: Path) -> None:
    from functools import partial

    from desktop_app.remote.claim import claim_instance
    from desktop_app.remote.server import RemoteServer
    from desktop_app.ui.hotkey_help import ARRIVED, NOTHING
    from desktop_app.ui.main_window import MainWindow

    hub = EventHub()
    controls = TalkControls(hub.publish)
    window = MainWindow(store, hub, controls)
    qtbot.addWidget(window)
    instance = claim_instance(data_dir)
    assert isinstance(instance, RemoteServer)
    instance.start(partial(window.remote_command, controls))
    try:
        window.show_hotkey_help()
        dialog = window._hotkey_dialog
        assert dialog is not None
        qtbot.mouseClick(dialog.test_button, qtbot_left())
        assert "Waiting" in dialog.test_result.text()
        sent = subprocess.run(
            [sys.executable, "-m", "desktop_app", "ptt", "test", "--data-dir", str(data_dir)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert sent.returncode == 0, sent.stderr
        qtbot.waitUntil(lambda: dialog.test_result.text() == ARRIVED, timeout=10_000)
        dialog._nothing_arrived()  # what 30 s of silence would say
        assert dialog.test_result.text() == NOTHING
    finally:
        instance.stop()


def qtbot_left():  # the left mouse button, taken from the one Qt module
    from desktop_app.ui.qt import Qt

    return Qt.MouseButton.LeftButton
