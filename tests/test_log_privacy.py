"""What people say and read stays out of the logs, and the log files are private (0600) from the moment
they exist, rotated ones included. VOICE_ASSISTANT_LOG_CONTENT=1 or the privacy.log_content setting lets the
words in, for debugging."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from cli_runner import REPO_ROOT, cli

from desktop_app.core import privacy
from desktop_app.core.privacy import LOG_CONTENT_ENV, for_log, log_content_enabled, set_log_content
from desktop_app.paths import AppPaths, PrivateRotatingFileHandler
from desktop_app.storage.engine import sqlite_url
from desktop_app.storage.store import SqlConversationStore


@pytest.fixture(autouse=True)
def _content_logging_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(LOG_CONTENT_ENV, raising=False)
    monkeypatch.setattr(privacy, "_setting_on", False)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_for_log_shows_only_the_length_unless_switched_on(monkeypatch: pytest.MonkeyPatch) -> None:
    assert for_log("what time is it") == "<15 chars>"
    assert for_log(None) == "None"
    monkeypatch.setenv(LOG_CONTENT_ENV, "1")
    assert log_content_enabled() and for_log("what time is it") == "'what time is it'"
    monkeypatch.setenv(LOG_CONTENT_ENV, "0")
    assert for_log("what time is it") == "<15 chars>"
    set_log_content(True)
    assert for_log("what time is it") == "'what time is it'"


def test_log_files_are_created_private_and_rotate_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No chmod is needed (or allowed here): each file is born 0600 even with a permissive umask."""

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the log file was chmod-ed after it was created")

    monkeypatch.setattr(os, "chmod", refuse)
    monkeypatch.setattr(os, "fchmod", refuse)
    old_umask = os.umask(0o022)
    try:
        handler = PrivateRotatingFileHandler(tmp_path / "voice-assistant.log", 300, 2)
        handler.setFormatter(logging.Formatter("%(message)s"))
        for number in range(120):
            handler.emit(logging.LogRecord("t", logging.INFO, __file__, 1, f"line {number:03d}", None, None))
        handler.close()
    finally:
        os.umask(old_umask)
    files = sorted(path.name for path in tmp_path.iterdir())
    assert files == ["voice-assistant.log", "voice-assistant.log.1", "voice-assistant.log.2"]
    assert all(_mode(tmp_path / name) == 0o600 for name in files)
    assert "line 119" in (tmp_path / "voice-assistant.log").read_text()


def test_log_files_an_earlier_release_left_readable_are_tightened_and_links_are_left(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    for name in ("voice-assistant.log", "voice-assistant.log.1"):
        (logs / name).write_text("old\n")
        (logs / name).chmod(0o644)
    elsewhere = tmp_path / "not-a-log.txt"
    elsewhere.write_text("someone's file\n")
    elsewhere.chmod(0o644)
    (logs / "voice-assistant.log.2").symlink_to(elsewhere)

    handler = PrivateRotatingFileHandler(logs / "voice-assistant.log", 2_000_000, 3)
    handler.close()

    assert _mode(logs / "voice-assistant.log") == 0o600 and _mode(logs / "voice-assistant.log.1") == 0o600
    assert _mode(elsewhere) == 0o644 and elsewhere.read_text() == "someone's file\n"


def test_a_link_in_place_of_the_log_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "target.txt"
    target.write_text("")
    (tmp_path / "voice-assistant.log").symlink_to(target)
    with pytest.raises(OSError):
        PrivateRotatingFileHandler(tmp_path / "voice-assistant.log", 2_000_000, 3)
    assert target.read_text() == ""


def test_the_real_app_creates_its_log_file_private(data_dir: Path) -> None:
    """The window, started without a display, sets up its log before it gives up: the file is 0600 under
    the usual umask."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    done = subprocess.run(
        ["sh", "-c", 'umask 022; exec "$@"', "sh", sys.executable, "-m", "desktop_app", "--data-dir", str(data_dir)],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1 and "[no_display]" in done.stderr
    log = data_dir / "logs" / "voice-assistant.log"
    assert log.is_file() and _mode(log) == 0o600


def _store_refusing_facts(data_dir: Path) -> None:
    """A database that refuses every new remembered fact, so the store logs the failed write."""
    SqlConversationStore.open(sqlite_url(data_dir / "assistant.db")).close()
    with sqlite3.connect(data_dir / "assistant.db") as connection:
        connection.execute(
            "CREATE TRIGGER refuse_facts BEFORE INSERT ON facts BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
    connection.close()


def test_a_failed_write_logs_no_words_of_the_question_unless_switched_on(data_dir: Path) -> None:
    """`ask --verbose` logs at DEBUG on standard error. A refused write used to log SQLAlchemy's text of the
    statement, parameters and all: the fact itself."""
    _store_refusing_facts(data_dir)
    fact = "my sister is called Ana"
    run = cli("--data-dir", str(data_dir), "--verbose", "ask", f"remember that {fact}")
    assert run.code == 1 and "ERROR desktop_app.storage.store: Could not remember that" in run.err
    assert fact not in run.err and fact not in run.out
    assert "Traceback" not in run.err

    shown = cli("--data-dir", str(data_dir), "--verbose", "ask", f"remember that {fact}", env={LOG_CONTENT_ENV: "1"})
    assert shown.code == 1 and fact in shown.err


def test_the_log_content_setting_is_read_when_logging_starts(tmp_path: Path) -> None:
    from desktop_app.app import configure_logging

    paths = AppPaths.resolve(tmp_path / "data").ensure()
    paths.settings_file.write_text(json.dumps({"version": 1, "privacy.log_content": True}))
    root = logging.getLogger()
    before = list(root.handlers), root.level
    try:
        configure_logging(paths)
        assert log_content_enabled()
    finally:
        for handler in root.handlers:
            if handler not in before[0]:
                root.removeHandler(handler)
                handler.close()
        root.setLevel(before[1])
    assert _mode(paths.log_dir / "voice-assistant.log") == 0o600


def test_a_sentence_that_cannot_be_spoken_is_not_quoted_in_the_log(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from desktop_app.core.events import TurnFailed
    from desktop_app.core.settings import Settings
    from desktop_app.speech.tts import SpeechOutput

    def broken_render(self: SpeechOutput, engine: object, text: str) -> object:
        raise RuntimeError("the renderer broke")

    monkeypatch.setattr(SpeechOutput, "_render", broken_render)
    failed = threading.Event()
    speech = SpeechOutput(Settings(None), lambda event: failed.set() if isinstance(event, TurnFailed) else None)
    try:
        with caplog.at_level(logging.DEBUG):
            speech.speak("My sister is called Ana.")
            assert failed.wait(30)
            time.sleep(0.1)
    finally:
        speech.close()
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "rendering <24 chars> failed" in logged
    assert "sister" not in logged


@pytest.mark.gui
def test_a_spoken_question_leaves_no_words_in_the_log_file(xvfb_display: str, pulse_audio, data_dir: Path) -> None:
    """The whole product on an X screen: a question is asked by voice and answered; the log file (0600)
    says a turn happened, not what was said."""
    from gui_app import (
        ask_by_voice,
        quit_app,
        running_app,
        set_auto_repeat,
        wait_for_messages,
        wait_until_listening_ready,
    )
    from speech_audio import say_to_wav

    question = say_to_wav("what time is it", data_dir.parent / "question.wav")
    with running_app(xvfb_display, data_dir, PULSE_SERVER=pulse_audio.server) as (app, window):
        set_auto_repeat(xvfb_display, False)
        wait_until_listening_ready(data_dir)
        ask_by_voice(xvfb_display, window, pulse_audio, question)
        log = data_dir / "logs" / "voice-assistant.log"
        answered = wait_for_messages(data_dir, 2)
        assert answered[:1] == [("user", "what time is it")], answered
        quit_app(app, xvfb_display)
    text = log.read_text()
    assert "heard" in text and _mode(log) == 0o600
    assert "what time is it" not in text, [line for line in text.splitlines() if "what time" in line]
    assert answered[1][1] not in text
