"""The desktop window: starts from the command line on a real (virtual) X screen and shows the history."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from desktop_app.storage.engine import sqlite_url
from desktop_app.storage.store import SqlConversationStore

# Widget tests in this process draw offscreen; the window test below starts the app on the X screen.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _xdotool(*args: str, display: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["xdotool", *args], env={**os.environ, "DISPLAY": display}, capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.gui
def test_the_app_opens_a_window_and_quits_cleanly(xvfb_display: str, data_dir: Path) -> None:
    assert shutil.which("xdotool"), "xdotool is missing: run ./test.sh, which installs it"
    store = SqlConversationStore.open(sqlite_url(data_dir / "assistant.db"))
    conversation = store.create_conversation()
    store.add_message(conversation.id, "user", "what is the weather like on mars")
    store.close()
    env = {**os.environ, "DISPLAY": xvfb_display, "QT_QPA_PLATFORM": "xcb"}
    app = subprocess.Popen(
        [sys.executable, "-m", "desktop_app", "--data-dir", str(data_dir)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        found = _xdotool("search", "--sync", "--onlyvisible", "--name", "^Voice Assistant$", display=xvfb_display)
        assert found.returncode == 0, found.stderr
        window = found.stdout.split()[0]
        geometry = _xdotool("getwindowgeometry", window, display=xvfb_display).stdout
        assert "Geometry:" in geometry
        # No window manager on a bare X screen: focus the window directly, then press the quit shortcut.
        _xdotool("windowfocus", "--sync", window, display=xvfb_display)
        _xdotool("key", "ctrl+q", display=xvfb_display)
        _, err = app.communicate(timeout=20)
        assert app.returncode == 0, err
        assert "Traceback" not in err
    finally:
        if app.poll() is None:
            app.kill()
            app.communicate()


@pytest.mark.gui
def test_main_window_lists_recent_conversations(qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from desktop_app.ui.main_window import MainWindow

    store = SqlConversationStore.open(sqlite_url(tmp_path / "assistant.db"))
    try:
        for title in ("groceries", "holiday plans"):
            conversation = store.create_conversation(title)
            store.add_message(conversation.id, "user", f"about {title}")
        window = MainWindow(store)
        qtbot.addWidget(window)
        texts = [window.conversations.item(i).text() for i in range(window.conversations.count())]
        assert texts[0].startswith("holiday plans") and texts[1].startswith("groceries")
        assert "about groceries" in texts[1]
        assert window.statusBar().currentMessage().startswith("Ready")
        assert not window.windowIcon().isNull()
        assert window.windowIcon().pixmap(32, 32).width() == 32
    finally:
        store.close()
