"""The main window as the README shows it: mid-conversation (a spoken question, a streamed answer, the next
question being heard), saved to docs/screens/main-window.png by this test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from window_controls import RecordingControls
from window_text import shown_text

from desktop_app.core.events import (
    AudioLevel,
    FinalTranscript,
    PartialTranscript,
    ReplyChunk,
    StateChanged,
    TurnFinished,
    TurnStarted,
    TurnState,
)
from desktop_app.core.reply_source import ReplySource
from desktop_app.storage.engine import sqlite_url
from desktop_app.storage.store import SqlConversationStore

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

MODEL = ReplySource.model("llama3.2")
SCREENS = Path(__file__).resolve().parent.parent / "docs" / "screens"


@pytest.mark.gui
def test_the_main_window_mid_conversation(qtbot, tmp_path: Path) -> None:
    from desktop_app.ui.main_window import MainWindow

    store = SqlConversationStore.open(sqlite_url(tmp_path / "assistant.db"))
    try:
        for title, question in (("pasta timer", "set a pasta timer for ten minutes"), ("maths", "what is 12 times 7")):
            conversation = store.create_conversation(title)
            store.add_message(conversation.id, "user", question)
        window = MainWindow(store, None, RecordingControls())
        qtbot.addWidget(window)
        window.resize(980, 640)
        window.show()
        events = [
            TurnStarted(1),
            StateChanged(TurnState.LISTENING),
            PartialTranscript("what time"),
            FinalTranscript("what time is it", 0.9),
            StateChanged(TurnState.THINKING),
            ReplyChunk("It is five past two.", ReplySource.skill("clock")),
            TurnFinished(1, {"release_to_final_ms": 180.0, "release_to_first_reply_ms": 196.0}),
            StateChanged(TurnState.IDLE),
            TurnStarted(2),
            StateChanged(TurnState.LISTENING),
            FinalTranscript("tell me about the history of the bicycle", 0.8),
            StateChanged(TurnState.THINKING),
            ReplyChunk(
                "The bicycle began as the draisine, a running machine without pedals, in 1817. ",
                ReplySource.model("llama3.2"),
            ),
            ReplyChunk("Pedals came in the 1860s, then the high-wheeler, ", ReplySource.model("llama3.2")),
            StateChanged(TurnState.SPEAKING),
            AudioLevel(-24.0, -12.0),
        ]
        for event in events:
            window.on_event(event)
        qtbot.wait(50)
        lines = shown_text(window).splitlines()
        assert lines[:2] == ["You: what time is it", "Assistant: It is five past two."]
        assert lines[-1].startswith("Assistant: The bicycle began") and lines[-1].rstrip().endswith("high-wheeler,")
        assert window.stop_button.isEnabled() and window.state_label.text().startswith("Speaking")
        SCREENS.mkdir(parents=True, exist_ok=True)
        assert window.grab().save(str(SCREENS / "main-window.png"))
    finally:
        store.close()
