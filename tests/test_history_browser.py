"""File > History… (desktop_app/ui/history_browser.py), driven with keys and clicks on a real store: the list
pages in as it scrolls, a search finds and marks its words, a conversation opens and is continued from the
main window, and renaming, deleting (confirmed) and exporting change the store and the file system."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from window_controls import RecordingControls

from desktop_app.core.models import NewConversation, NewMessage, Role
from desktop_app.core.reply_source import ReplySource
from desktop_app.storage.store import SqlConversationStore

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

START = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
CONVERSATIONS = 250


@pytest.fixture
def filled(store: SqlConversationStore) -> SqlConversationStore:
    """250 conversations an hour apart: about tea, or about the garden; the newest is number 249."""
    answer = ReplySource.skill("memory").stored
    store.import_conversations(
        NewConversation(
            f"talk {n}",
            (
                NewMessage(
                    Role.USER,
                    f"what about {'tea' if n % 5 == 0 else 'the garden'} number {n}",
                    created_at=START + timedelta(hours=n),
                ),
                NewMessage(Role.ASSISTANT, f"Answer {n}.", created_at=START + timedelta(hours=n), source=answer),
            ),
            START + timedelta(hours=n),
        )
        for n in range(CONVERSATIONS)
    )
    return store


@pytest.fixture
def browser(qtbot, filled: SqlConversationStore) -> Iterator[tuple[object, object, RecordingControls]]:
    from desktop_app.core.events import EventHub
    from desktop_app.ui.main_window import MainWindow

    voice = RecordingControls()
    window = MainWindow(filled, EventHub(), voice)  # with a hub: the store is read on a worker
    qtbot.addWidget(window)
    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window.focusWidget() or window, "h", qtbot_modifier("ctrl"))  # File > History… (Ctrl+H)
    qtbot.waitUntil(lambda: window._history is not None and window._history.isVisible())
    history = window._history
    assert history is not None
    qtbot.waitUntil(lambda: history.pages.rowCount() > 0)
    yield window, history, voice


def qtbot_modifier(name: str):
    from desktop_app.ui.qt import Qt

    return {"ctrl": Qt.KeyboardModifier.ControlModifier}[name]


def click_row(qtbot, history, row: int, with_ctrl: bool = False) -> None:
    """A click on a row of the list, as a person makes it (Ctrl+click adds it to the selection)."""
    from desktop_app.ui.qt import Qt

    index = history.pages.index(row)
    history.list.scrollTo(index)
    modifier = Qt.KeyboardModifier.ControlModifier if with_ctrl else Qt.KeyboardModifier.NoModifier
    qtbot.mouseClick(
        history.list.viewport(), Qt.MouseButton.LeftButton, modifier, history.list.visualRect(index).center()
    )


def answer_modal(qtbot, act: Callable[[Any], None]) -> list[str]:
    """Acts on the next modal dialog (a confirmation, a rename) when it appears; returns its text."""
    from desktop_app.ui.qt import QApplication, QTimer

    seen: list[str] = []

    def look() -> None:
        dialog = QApplication.activeModalWidget()
        if dialog is None:
            QTimer.singleShot(20, look)
            return
        seen.append(getattr(dialog, "text", lambda: "")() or dialog.windowTitle())
        act(dialog)

    QTimer.singleShot(20, look)
    return seen


@pytest.mark.gui
def test_the_list_pages_in_as_it_scrolls_newest_first(qtbot, browser) -> None:
    _, history, _ = browser
    assert history.pages.rowCount() == 100  # the first page only
    assert history.pages.row(0).title == "talk 249" and "2 messages" in history.pages.row(0).detail
    while not history.pages.complete:
        history.list.scrollToBottom()
        qtbot.wait(20)
    titles = [history.pages.row(i).title for i in range(history.pages.rowCount())]
    assert titles == [f"talk {n}" for n in reversed(range(CONVERSATIONS))]
    assert "250 conversations · 500 messages · " in history.status.text() and " MB on disk" in history.status.text()


@pytest.mark.gui
def test_a_search_as_it_is_typed_finds_marks_and_opens_its_conversation(qtbot, browser) -> None:
    _, history, _ = browser
    history.search.setFocus()
    qtbot.keyClicks(history.search, "te")  # two letters: a whole word, and no message has the word "te"
    qtbot.waitUntil(lambda: history.query == "te" and not history.pages.loading and history.pages.rowCount() == 0)
    assert "0 matches for “te”" in history.status.text()
    qtbot.keyClicks(history.search, "a")  # from three letters the last word is the start of a word
    qtbot.waitUntil(lambda: history.query == "tea" and not history.pages.loading and history.pages.rowCount() == 50)
    first = history.pages.row(0)
    assert first.title == "talk 245" and "[tea]" in first.detail
    assert "50 matches for “tea”" in history.status.text()
    qtbot.waitUntil(lambda: [e.text for e in history.chat.entries][:1] == ["what about tea number 245"])
    assert history.chat._delegate._marking is not None and history.chat._delegate._marking.search("tea")
    history.origin.setCurrentText("Language model")  # no model answered: nothing
    qtbot.waitUntil(lambda: not history.pages.loading and history.pages.rowCount() == 0)
    assert "0 matches" in history.status.text()


@pytest.mark.gui
def test_the_filters_without_words_list_the_messages_they_keep(qtbot, browser) -> None:
    from desktop_app.ui.qt import Qt

    _, history, _ = browser
    history.origin.setFocus()
    qtbot.keyClick(history.origin, Qt.Key.Key_Down)  # Anyone -> You
    assert history.origin.currentText() == "You"
    qtbot.waitUntil(lambda: not history.pages.loading and history.pages.row(0).message_id is not None)
    while not history.pages.complete:
        history.list.scrollToBottom()
        qtbot.wait(20)
    rows = [history.pages.row(i) for i in range(history.pages.rowCount())]
    assert len(rows) == CONVERSATIONS and rows[0].detail == "You: what about the garden number 249"
    assert all(row.detail.startswith("You: ") for row in rows)
    assert f"{CONVERSATIONS} messages (Any time · said by you), newest first." in history.status.text()
    qtbot.keyClick(history.origin, Qt.Key.Key_Up)  # back to Anyone: every conversation again
    qtbot.waitUntil(lambda: not history.pages.loading and history.pages.row(0).message_id is None)
    assert history.pages.row(0).title == "talk 249"


@pytest.mark.gui
def test_continue_opens_the_conversation_in_the_main_window(qtbot, browser) -> None:
    from desktop_app.ui.qt import Qt

    window, history, voice = browser
    click_row(qtbot, history, 3)
    qtbot.mouseClick(history.continue_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: [e.text for e in window.chat.entries] == ["what about the garden number 246", "Answer 246."]
    )
    assert voice.calls == [f"continue {history.pages.row(3).conversation_id}"]
    assert "Continuing “talk 246”" in window.statusBar().currentMessage()


@pytest.mark.gui
def test_deleting_the_selection_asks_first_then_removes_them(qtbot, browser, filled: SqlConversationStore) -> None:
    from desktop_app.ui.qt import QMessageBox, Qt

    _, history, _ = browser
    chosen = [history.pages.row(i).conversation_id for i in (0, 2)]
    click_row(qtbot, history, 0)
    click_row(qtbot, history, 2, with_ctrl=True)
    seen = answer_modal(qtbot, lambda dialog: dialog.reject())  # Cancel: nothing is deleted
    qtbot.keyClick(history.list, Qt.Key.Key_Delete)
    assert seen == ["Delete these 2 conversations? This cannot be undone."]
    assert filled.stats().conversations_in_db == CONVERSATIONS

    def press_delete(dialog) -> None:
        assert isinstance(dialog, QMessageBox)
        (delete,) = [b for b in dialog.buttons() if b.text() == "Delete"]
        delete.click()

    history.activateWindow()  # the window manager gives the focus back when a dialog closes; offscreen, this does
    qtbot.waitUntil(history.isActiveWindow)
    answer_modal(qtbot, press_delete)
    qtbot.keyClick(history.list, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: filled.stats().conversations_in_db == CONVERSATIONS - 2)
    qtbot.waitUntil(
        lambda: (
            not history.pages.loading
            and history.pages.rowCount() == 100
            and history.pages.row(0).conversation_id not in chosen
        )  # the list was read again
    )
    shown = {history.pages.row(i).conversation_id for i in range(history.pages.rowCount())}
    assert not shown & set(chosen)
    window, _, _ = browser  # the main window's recent list is read again too
    qtbot.waitUntil(
        lambda: window.conversations.count() > 0 and window.conversations.item(0).text().startswith("talk 248")
    )


@pytest.mark.gui
def test_rename_with_f2(qtbot, browser, filled: SqlConversationStore) -> None:
    from desktop_app.ui.qt import QInputDialog, QLineEdit, Qt

    _, history, _ = browser
    click_row(qtbot, history, 0)
    cid = history.pages.row(0).conversation_id

    def type_title(dialog) -> None:
        assert isinstance(dialog, QInputDialog)
        editor = dialog.findChild(QLineEdit)
        assert editor is not None
        editor.selectAll()
        qtbot.keyClicks(editor, "Tea with Sam")
        dialog.accept()

    answer_modal(qtbot, type_title)
    qtbot.keyClick(history.list, Qt.Key.Key_F2)
    qtbot.waitUntil(lambda: filled.get_conversation(cid).title == "Tea with Sam")
    qtbot.waitUntil(lambda: history.pages.rowCount() > 0 and history.pages.row(0).title == "Tea with Sam")


@pytest.mark.gui
def test_export_writes_the_selection_to_the_chosen_file(
    qtbot, browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from desktop_app.ui.qt import QFileDialog, Qt

    _, history, _ = browser
    target = tmp_path / "two talks.json"
    # The platform's save dialog is not driven here: it answers with the file a person would have chosen.
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), "JSON (*.json)"))
    click_row(qtbot, history, 0)
    click_row(qtbot, history, 1, with_ctrl=True)
    qtbot.mouseClick(history.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(target.exists)
    qtbot.waitUntil(lambda: history.status.text().startswith("Exported 2 conversations (4 messages)"))
    exported = json.loads(target.read_text())
    assert sorted(c["title"] for c in exported["conversations"]) == ["talk 248", "talk 249"]
    assert oct(target.stat().st_mode & 0o777) == "0o600"


@pytest.mark.gui
def test_export_all_writes_every_conversation(qtbot, browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import csv

    from desktop_app.ui.qt import QFileDialog, Qt

    _, history, _ = browser
    target = tmp_path / "everything.csv"  # the name's ending chooses CSV over the dialog's filter
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), "JSON (*.json)"))
    qtbot.mouseClick(history.export_all_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: history.status.text().startswith("Exported 250 conversations (500 messages)"))
    with target.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 500 and {row["conversation_title"] for row in rows} == {f"talk {n}" for n in range(250)}


@pytest.mark.gui
def test_the_browser_with_a_search_is_saved_for_the_readme(qtbot, browser) -> None:
    from desktop_app.ui.qt import QImage

    _, history, _ = browser
    history.resize(1000, 620)
    qtbot.keyClicks(history.search, "tea")
    qtbot.waitUntil(lambda: history.query == "tea" and not history.pages.loading and history.pages.rowCount() == 50)
    qtbot.waitUntil(lambda: [e.text for e in history.chat.entries][:1] == ["what about tea number 245"])
    qtbot.wait(100)
    screens = Path(__file__).resolve().parent.parent / "docs" / "screens"
    screens.mkdir(parents=True, exist_ok=True)
    image = history.grab().toImage()
    assert image.save(str(screens / "history-search.png"))
    # The marks are drawn: the amber of a marked word is in the picture.
    amber = QImage(image).convertToFormat(QImage.Format.Format_RGB32)
    found = any(
        amber.pixelColor(x, y).name() == "#ffd54f"
        for x in range(0, amber.width(), 2)
        for y in range(0, amber.height(), 2)
    )
    assert found


@pytest.mark.gui
def test_closing_while_pages_are_on_their_way_drops_them(qtbot, browser, caplog: pytest.LogCaptureFixture) -> None:
    from desktop_app.ui.qt import Qt

    window, history, _ = browser
    for _ in range(3):  # open and close at once, with the first page, the stats and a conversation in flight
        qtbot.keyClick(history, Qt.Key.Key_Escape)
        qtbot.waitUntil(lambda: window._history is None)
        window.show_history()
        history = window._history
        assert history is not None
    qtbot.keyClick(history, Qt.Key.Key_Escape)
    qtbot.wait(500)  # what the worker hands back now finds no browser
    assert "a call on the main thread failed" not in caplog.text
    window.show_history()
    assert window._history is not None
    qtbot.waitUntil(lambda: window._history is not None and window._history.pages.rowCount() == 100)
