"""SIGTERM and SIGINT end the app like Quit: a clean shutdown, exit status 0, and an answer being spoken at
that moment is kept (marked interrupted), as when the window is closed."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from gui_app import (
    ask_by_voice,
    log_text,
    running_app,
    set_auto_repeat,
    wait_for_log,
    wait_for_messages,
    wait_until_listening_ready,
)

from desktop_app.storage.engine import sqlite_url
from desktop_app.storage.store import SqlConversationStore


@pytest.mark.gui
@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_quits_the_idle_app_cleanly(xvfb_display: str, data_dir: Path, number: signal.Signals) -> None:
    with running_app(xvfb_display, data_dir) as (app, _window):
        wait_for_log(data_dir, "speech recognition:")
        app.send_signal(number)
        _, err = app.communicate(timeout=20)
    assert app.returncode == 0, err
    assert "Traceback" not in err and "Fatal Python error" not in err
    assert f"quitting on {number.name}" in log_text(data_dir)


@pytest.mark.gui
@pytest.mark.slow
def test_sigterm_while_the_answer_is_spoken_keeps_the_answer(xvfb_display: str, pulse_audio, data_dir: Path) -> None:
    from speech_audio import say_to_wav

    question = say_to_wav("what can you do", data_dir.parent / "question.wav")
    set_auto_repeat(xvfb_display, True)
    with running_app(xvfb_display, data_dir, PULSE_SERVER=pulse_audio.server) as (app, window):
        wait_until_listening_ready(data_dir)
        ask_by_voice(xvfb_display, window, pulse_audio, question)
        assert wait_for_messages(data_dir, 1)[:1] == [("user", "what can you do")], log_text(data_dir)[-2000:]
        time.sleep(3.0)  # the long list of skills is being spoken
        app.send_signal(signal.SIGTERM)
        _, err = app.communicate(timeout=30)
    assert app.returncode == 0, err
    store = SqlConversationStore.open(sqlite_url(data_dir / "assistant.db"))
    try:
        conversation = store.list_conversations(limit=1)[0].conversation
        history = store.get_history(conversation.id)
    finally:
        store.close()
    assert [m.role.value for m in history] == ["user", "assistant"]
    answer = history[1]
    assert answer.content.startswith("I can tell the time and the date") and answer.interrupted
    heard = answer.spoken_text or ""
    assert heard.startswith("I can tell the time") and len(heard) < len(answer.content)
