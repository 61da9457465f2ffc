"""The desktop window: starts from the command line on a real (virtual) X screen and shows the history."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import pytest
from gui_app import (
    ask_by_voice,
    quit_app,
    running_app,
    set_auto_repeat,
    wait_for_messages,
    wait_until_listening_ready,
    xdotool,
)
from window_text import shown_text

from desktop_app.core.reply_source import ReplySource
from desktop_app.storage.engine import sqlite_url
from desktop_app.storage.store import SqlConversationStore

# Widget tests in this process draw offscreen; the window test below starts the app on the X screen.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.mark.gui
def test_the_app_opens_a_window_and_quits_cleanly(xvfb_display: str, data_dir: Path) -> None:
    store = SqlConversationStore.open(sqlite_url(data_dir / "assistant.db"))
    conversation = store.create_conversation()
    store.add_message(conversation.id, "user", "what is the weather like on mars")
    store.close()
    with running_app(xvfb_display, data_dir) as (app, window):
        assert "Geometry:" in xdotool("getwindowgeometry", window, display=xvfb_display).stdout
        quit_app(app, xvfb_display)


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
        assert window.store_status.text().startswith("Ready")
        assert not window.windowIcon().isNull()
        assert window.windowIcon().pixmap(32, 32).width() == 32
    finally:
        store.close()


def test_a_streamed_answer_reads_as_one_line_and_announcements_show(qtbot, tmp_path: Path) -> None:
    from desktop_app.core.events import Announced, ReplyChunk, TurnFinished, TurnStarted
    from desktop_app.ui.main_window import MainWindow

    store = SqlConversationStore.open(sqlite_url(tmp_path / "assistant.db"))
    try:
        window = MainWindow(store)
        qtbot.addWidget(window)
        window.on_event(TurnStarted(1))
        for piece in ("Rust is ", "a good ", "next step."):
            window.on_event(ReplyChunk(piece, ReplySource.model("test-model")))
        window.on_event(TurnFinished(1, {}))
        conversation = store.create_conversation("Timers and reminders")
        window.on_event(Announced("Time's up: the pasta timer is done.", ReplySource.skill("timer"), conversation.id))
        lines = shown_text(window).splitlines()
        assert lines == ["Assistant: Rust is a good next step.", "Assistant: Time's up: the pasta timer is done."]
    finally:
        store.close()


@pytest.mark.gui
def test_a_spoken_question_in_the_real_window_is_answered_and_kept(
    xvfb_display: str, pulse_audio, data_dir: Path
) -> None:
    """The whole product: the app on an X screen with the private sound server; Ctrl+Space held while the
    question plays into the virtual microphone; the answer is stored."""
    from speech_audio import say_to_wav

    question = say_to_wav("what time is it", data_dir.parent / "question.wav")
    with running_app(xvfb_display, data_dir, PULSE_SERVER=pulse_audio.server) as (app, window):
        # The whole voice path, with the key held without repeating (as a mouse button is); the runs with
        # auto-repeat on are in test_push_to_talk_key.py.
        set_auto_repeat(xvfb_display, False)
        wait_until_listening_ready(data_dir)
        ask_by_voice(xvfb_display, window, pulse_audio, question)
        log = data_dir / "logs" / "voice-assistant.log"
        answered = wait_for_messages(data_dir, 2)
        assert answered[:1] == [("user", "what time is it")], (answered, log.read_text()[-1500:])
        assert answered[1][0] == "assistant" and answered[1][1].startswith("It is")
        quit_app(app, xvfb_display)


@pytest.mark.gui
def test_the_app_announces_missed_and_due_timers(xvfb_display: str, pulse_audio, data_dir: Path) -> None:
    """A timer that ran out while the app was closed is announced as missed at start; one that runs out
    while it is open is announced when due. Both are kept in the history."""
    from datetime import UTC, datetime, timedelta

    from desktop_app.core.models import AlarmKind

    store = SqlConversationStore.open(sqlite_url(data_dir / "assistant.db"))
    try:
        now = datetime.now(UTC)
        store.alarms.add(AlarmKind.TIMER, "pasta", now - timedelta(minutes=3), duration_seconds=600)
        store.alarms.add(AlarmKind.TIMER, "tea", now + timedelta(seconds=8), duration_seconds=240)
    finally:
        store.close()
    with running_app(xvfb_display, data_dir, PULSE_SERVER=pulse_audio.server) as (app, _window):
        database = data_dir / "assistant.db"
        deadline = time.monotonic() + 30
        said: list[str] = []
        while time.monotonic() < deadline and len(said) < 2:
            time.sleep(0.3)
            with sqlite3.connect(database) as connection:
                said = [
                    row[0]
                    for row in connection.execute(
                        "SELECT content FROM messages WHERE role = 'assistant' AND source = 'skill:timer' ORDER BY id"
                    )
                ]
            connection.close()
        assert len(said) == 2, said
        assert said[0].startswith("While I was closed, the pasta timer ran out at ")
        assert said[1] == "Time's up: the tea timer is done."
        with sqlite3.connect(database) as connection:
            statuses = connection.execute("SELECT label, status FROM alarms ORDER BY id").fetchall()
        connection.close()
        assert statuses == [("pasta", "missed"), ("tea", "fired")]
        quit_app(app, xvfb_display)
