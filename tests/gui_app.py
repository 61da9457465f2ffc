"""The real app on a virtual X screen, for tests that use it as a person would: start it, find its window,
press keys with xdotool, read what it stored and logged, quit it."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

# What the app logs once push to talk reaches the voice turn (desktop_app/services.py).
VOICE_READY_LOG = "voice services ready"


def xdotool(*args: str, display: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["xdotool", *args], env={**os.environ, "DISPLAY": display}, capture_output=True, text=True, timeout=timeout
    )


def set_auto_repeat(display: str, on: bool, delay_ms: int = 660, rate_hz: int = 25) -> None:
    """X's key auto-repeat for the whole screen (on with X's defaults unless told otherwise)."""
    env = {**os.environ, "DISPLAY": display}
    if on:
        subprocess.run(["xset", "r", "on"], env=env, check=True, timeout=10)
        subprocess.run(["xset", "r", "rate", str(delay_ms), str(rate_hz)], env=env, check=True, timeout=10)
    else:
        subprocess.run(["xset", "r", "off"], env=env, check=True, timeout=10)


def first_run_done(data_dir: Path) -> None:
    """A returning user: the first-run guide has been seen (tests of other things start from here; the
    guide's own tests start without it)."""
    from desktop_app.core.settings import Settings
    from desktop_app.paths import AppPaths

    Settings(AppPaths.resolve(data_dir).ensure().settings_file).set("app.first_run_done", True)


@contextmanager
def running_app(
    display: str, data_dir: Path, *args: str, program: Sequence[str] = (), **extra_env: str
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Starts the app on the X screen and yields it with its window id; kills it if a test left it running.
    `program`: what to start (the source tree's `python -m desktop_app` when empty; a built bundle)."""
    assert shutil.which("xdotool"), "xdotool is missing: run ./test.sh, which installs it"
    first_run_done(data_dir)
    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb", **extra_env}
    app = subprocess.Popen(
        [*(program or (sys.executable, "-m", "desktop_app")), "--data-dir", str(data_dir), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        found = xdotool("search", "--sync", "--onlyvisible", "--name", "^Voice Assistant$", display=display, timeout=60)
        assert found.returncode == 0, found.stderr
        window = found.stdout.split()[0]
        # No window manager on a bare X screen: focus the window directly.
        xdotool("windowfocus", "--sync", window, display=display)
        yield app, window
    finally:
        if app.poll() is None:
            app.kill()
            app.communicate()


def quit_app(app: subprocess.Popen[str], display: str) -> str:
    """Ctrl+Q; the app must end cleanly. Returns what it wrote to stderr."""
    xdotool("key", "ctrl+q", display=display)
    _, err = app.communicate(timeout=30)
    assert app.returncode == 0, err
    assert "Traceback" not in err, err
    return err


def log_text(data_dir: Path) -> str:
    log = data_dir / "logs" / "voice-assistant.log"
    return log.read_text() if log.exists() else ""


def wait_for_log(data_dir: Path, needle: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while needle not in log_text(data_dir):
        assert time.monotonic() < deadline, f"{needle!r} never appeared in the log:\n{log_text(data_dir)[-2000:]}"
        time.sleep(0.1)


def wait_until_listening_ready(data_dir: Path) -> None:
    """The voice services are up (they start behind the shown window), the speech model has loaded and the
    microphone's preroll has had time to fill."""
    wait_for_log(data_dir, VOICE_READY_LOG)
    wait_for_log(data_dir, "speech recognition:")
    time.sleep(0.5)


def turns_started(data_dir: Path) -> int:
    return len(re.findall(r"turn \d+: listening", log_text(data_dir)))


def stored_messages(data_dir: Path) -> list[tuple[str, str]]:
    database = data_dir / "assistant.db"
    if not database.exists():
        return []
    connection = sqlite3.connect(database)
    try:
        return connection.execute("SELECT role, content FROM messages ORDER BY id").fetchall()
    finally:
        connection.close()


def wait_for_messages(data_dir: Path, count: int, timeout: float = 30) -> list[tuple[str, str]]:
    deadline = time.monotonic() + timeout
    messages = stored_messages(data_dir)
    while len(messages) < count and time.monotonic() < deadline:
        time.sleep(0.2)
        messages = stored_messages(data_dir)
    return messages


def ask_by_voice(display: str, window: str, pulse_audio, question: Path, *, lead_s: float = 0.0) -> None:
    """Focuses the window, holds Ctrl+Space while the question plays into the virtual microphone (after
    `lead_s` of holding), and lets go."""
    xdotool("windowfocus", "--sync", window, display=display)
    xdotool("keydown", "ctrl+space", display=display)
    if lead_s:
        time.sleep(lead_s)
    pulse_audio.play(question)
    time.sleep(0.2)
    xdotool("keyup", "ctrl+space", display=display)
