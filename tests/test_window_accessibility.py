"""The main window for keyboard and screen-reader users: every control reached with Tab and drawn with a
visible focus, every control named and described to assistive technology, every menu entry with a mnemonic
and its shortcut shown, and the state announced as it changes (the state line's accessible name)."""

from __future__ import annotations

import os

import pytest

from desktop_app.core.events import EventHub, StateChanged, TurnState
from desktop_app.core.talk_controls import TalkControls

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture
def window(qtbot, store):
    from desktop_app.ui.main_window import MainWindow

    hub = EventHub()
    shown = MainWindow(store, hub, TalkControls(hub.publish))
    qtbot.addWidget(shown)
    shown.show()
    qtbot.waitExposed(shown)
    shown.activateWindow()
    return shown


def _interface_text(widget, which):
    from desktop_app.ui.qt import QAccessible

    interface = QAccessible.queryAccessibleInterface(widget)
    assert interface is not None and interface.isValid(), widget
    return interface.text(which)


@pytest.mark.gui
def test_tab_reaches_every_control_and_comes_back(window, qtbot) -> None:
    window.question.setFocus()
    qtbot.waitUntil(window.question.hasFocus)
    reached = []
    for _ in range(12):
        window.focusNextChild()
        focused = window.focusWidget()
        reached.append(focused)
        if focused is window.question:
            break
    names = [widget.objectName() or type(widget).__name__ for widget in reached]
    assert reached[-1] is window.question, names  # a cycle: Tab never gets stuck or lost
    expected = {window.send_button, window.conversations, window.chat.list, window.talk_button}
    assert expected <= set(reached), names


@pytest.mark.gui
def test_the_control_tab_reaches_is_drawn_with_a_focus_frame(window, qtbot) -> None:
    from desktop_app.ui.qt import Qt

    window.question.setFocus()
    qtbot.waitUntil(window.question.hasFocus)
    unfocused = window.talk_button.grab().toImage()
    for _ in range(12):  # Tab, as a person would, until the talk button has the focus
        qtbot.keyClick(window.focusWidget(), Qt.Key.Key_Tab)
        if window.talk_button.hasFocus():
            break
    assert window.talk_button.hasFocus()
    focused = window.talk_button.grab().toImage()
    assert focused.size() == unfocused.size()
    assert focused != unfocused  # the style draws the focus


@pytest.mark.gui
def test_every_control_has_a_name_and_a_description_for_screen_readers(window) -> None:
    from desktop_app.ui.qt import QAccessible

    controls = [
        window.talk_button,
        window.stop_button,
        window.question,
        window.send_button,
        window.conversations,
        window.chat.list,
        window.meter,
        window.state_label,
    ]
    for control in controls:
        name = _interface_text(control, QAccessible.Text.Name)
        description = _interface_text(control, QAccessible.Text.Description) or control.toolTip()
        assert name.strip(), control.objectName()
        assert description.strip(), control.objectName()


@pytest.mark.gui
def test_menu_entries_have_mnemonics_and_show_their_shortcuts(window) -> None:
    entries = {
        action.text(): action
        for menu_action in window.menuBar().actions()
        for action in menu_action.menu().actions()
        if not action.isSeparator()
    }
    assert all(menu.text().startswith("&") for menu in window.menuBar().actions())
    assert all("&" in text for text in entries), list(entries)
    shortcuts = {text.replace("&", ""): action.shortcut().toString() for text, action in entries.items()}
    assert shortcuts["New conversation"] == "Ctrl+N"
    assert shortcuts["History…"] == "Ctrl+H"
    assert shortcuts["Quit"] == "Ctrl+Q"
    assert shortcuts["Push to talk"] == "Ctrl+Space"
    assert shortcuts["Stop"] == "Esc"
    assert shortcuts["Type a question"] == "Ctrl+L"
    # Tooltips name the keys of the controls that have one.
    assert "Ctrl+Space" in window.talk_button.toolTip() and "Esc" in window.stop_button.toolTip()
    assert "Enter" in window.send_button.toolTip()


@pytest.mark.gui
def test_the_menus_push_to_talk_starts_and_sends_a_turn(window, qtbot) -> None:
    calls = []
    window._voice.toggle = lambda: calls.append("toggle")  # the controls' own toggle is tested elsewhere
    window.talk_action.trigger()
    window.talk_action.trigger()
    assert calls == ["toggle", "toggle"]


@pytest.mark.gui
def test_the_state_is_announced_through_the_state_lines_accessible_name(window) -> None:
    from desktop_app.ui.qt import QAccessible

    spoken = []
    for state in (TurnState.LISTENING, TurnState.THINKING, TurnState.SPEAKING, TurnState.IDLE):
        window.on_event(StateChanged(state))
        spoken.append(_interface_text(window.state_label, QAccessible.Text.Name))
    assert spoken[:3] == ["State: Listening…", "State: Thinking…", "State: Speaking… (press to interrupt)"]
    assert spoken[3].startswith("State: ") and spoken[3] != spoken[2]
