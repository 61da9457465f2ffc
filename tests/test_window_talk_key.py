"""The window's own push-to-talk key: Ctrl+Space wherever the keyboard focus is in the window, or Space on
the focused talk button, is one hold (one press, one release, however the keyboard repeats it), taken before
the focused widget sees it. Only the widget with the focus is watched for it: a filter on the whole
application ran Python for every event of every object, each needing the interpreter lock that the
window's thread waits for while the services start (tests/window_scenario.py measures that)."""

from __future__ import annotations

import os

import pytest
from window_controls import RecordingControls

from desktop_app.ui.qt import QApplication, QEvent, QKeyEvent, QObject, Qt

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

pytestmark = pytest.mark.gui


def _window(qtbot, store, voice: RecordingControls, seen: list[QObject] | None = None):
    from desktop_app.ui.main_window import MainWindow

    class Window(MainWindow):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if seen is not None:
                seen.append(watched)
            return super().eventFilter(watched, event)

    window = Window(store, None, voice)
    qtbot.addWidget(window)
    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    return window


def _focus(qtbot, widget) -> None:
    widget.setFocus()
    qtbot.waitUntil(widget.hasFocus)


def test_ctrl_space_in_the_question_field_is_one_hold_and_types_nothing(qtbot, store) -> None:
    voice = RecordingControls()
    window = _window(qtbot, store, voice)
    _focus(qtbot, window.question)
    qtbot.keyPress(window.question, Qt.Key.Key_Space, Qt.KeyboardModifier.ControlModifier)
    repeat = QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_Space, Qt.KeyboardModifier.ControlModifier, " ", True)
    QApplication.sendEvent(window.question, repeat)  # the keyboard repeating it: still the one hold
    qtbot.keyRelease(window.question, Qt.Key.Key_Space, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: voice.calls == ["press", "release"])
    assert window.question.text() == ""
    qtbot.keyClick(window.question, Qt.Key.Key_Space)  # Space alone is still typed
    assert window.question.text() == " " and voice.calls == ["press", "release"]


def test_space_on_the_focused_talk_button_is_one_hold_and_no_click(qtbot, store) -> None:
    voice = RecordingControls()
    window = _window(qtbot, store, voice)
    clicks: list[bool] = []
    window.talk_button.clicked.connect(clicks.append)
    _focus(qtbot, window.question)
    _focus(qtbot, window.talk_button)  # the watch follows the focus from one widget to the next
    qtbot.keyPress(window.talk_button, Qt.Key.Key_Space)
    qtbot.keyRelease(window.talk_button, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: voice.calls == ["press", "release"])
    assert clicks == []


def test_only_the_focused_widget_is_watched(qtbot, store) -> None:
    seen: list[QObject] = []
    window = _window(qtbot, store, RecordingControls(), seen)
    _focus(qtbot, window.question)
    seen.clear()
    for _ in range(50):
        QApplication.sendEvent(window.stop_button, QEvent(QEvent.Type.User))
        QApplication.sendEvent(window.chat, QEvent(QEvent.Type.User))
        QApplication.sendEvent(window.question, QEvent(QEvent.Type.User))
    assert window.question in seen
    assert window.stop_button not in seen and window.chat not in seen
