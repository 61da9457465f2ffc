"""``--self-test``: every subsystem started once without a screen, in a temporary data folder, one line per
check. It is what a freshly built bundle runs to prove it carries what it needs (the recogniser's model and
its process, espeak-ng, Qt's offscreen platform, the store's migrations), and what a user runs when the app
will not start.

Required checks: the store (a new database made and migrated, a message written and read back), the default
recogniser (its own process, the bundled recording heard), speech (one phrase rendered to memory), one turn
answered from text, and the window (made on Qt's offscreen platform). Reported but not required: the keychain
(only a cloud language model's API key needs it) and the sound devices (a machine without them still answers
typed questions). The exit status is 0 only when every required check passed. A check whose system library
is missing (desktop_app.system_libraries) fails naming it and the command that installs it.
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from desktop_app import APP_NAME, __version__
from desktop_app.cli.errors import EXIT_FAILURE, EXIT_OK
from desktop_app.paths import AppPaths
from desktop_app.system_libraries import ESPEAK_NG, PORTAUDIO, SystemLibrary, describe, missing_libraries

RECORDING = "sounds/self-test.wav"
HEARD = "what time is it"  # what the bundled recording says
QUESTION = "what is 2 plus 2"
EXPECTED_ANSWER = "4"
PHRASE = "The self test can speak."
TURN_BOUND_S = 30.0
RECOGNISER_BOUND_S = 120.0


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    required: bool
    run: Callable[[AppPaths], str]  # what was found, in words; raises when the check fails
    needs: tuple[SystemLibrary, ...] = ()  # checked first: a missing one is named on the check's line


@dataclass(frozen=True, slots=True)
class Outcome:
    check: Check
    passed: bool
    said: str
    seconds: float

    def line(self) -> str:
        mark = "ok  " if self.passed else ("FAIL" if self.check.required else "warn")
        took = f" ({self.seconds * 1000:.0f} ms)" if self.passed else ""
        return f"{mark}  {self.check.name:<11} {self.said}{took}"


def _store(paths: AppPaths) -> str:
    from desktop_app.core.models import Role
    from desktop_app.storage.engine import sqlite_url
    from desktop_app.storage.migrate import head_revision
    from desktop_app.storage.store import SqlConversationStore

    store = SqlConversationStore.open(sqlite_url(paths.database_file))
    try:
        conversation = store.create_conversation("self-test")
        store.add_message(conversation.id, Role.USER, "self-test")
        (message,) = store.get_history(conversation.id)
        if message.content != "self-test":
            raise RuntimeError(f"read back {message.content!r} instead of what was written")
    finally:
        store.close()
    return f"a new SQLite database made and migrated to {head_revision()}, a message written and read back"


def _recogniser(paths: AppPaths) -> str:
    from desktop_app.cli.transcribe import FEED_BYTES, read_speech_audio
    from desktop_app.core.brain.assistant import command_phrases, default_skills
    from desktop_app.resources import resource_path
    from desktop_app.speech.recognizer_process import RecognizerProcess
    from desktop_app.speech.recognizer_protocol import RecogniserSpec

    pcm, seconds = read_speech_audio(resource_path(RECORDING))
    spec = RecogniserSpec("pocketsphinx", None, tuple(command_phrases(default_skills())), paths.cache_dir)
    recognizer = RecognizerProcess.start(spec, bound=RECOGNISER_BOUND_S)
    try:
        recognizer.start_utterance()
        for offset in range(0, len(pcm), FEED_BYTES):
            recognizer.feed(pcm[offset : offset + FEED_BYTES])
        heard = recognizer.finish().text
    finally:
        recognizer.close()
    if heard != HEARD:
        raise RuntimeError(f"the bundled recording says {HEARD!r}, but {heard!r} was heard")
    return f"the built-in recogniser, in its own process, heard {heard!r} in {seconds:.1f} s of bundled speech"


def _speech(_paths: AppPaths) -> str:
    from desktop_app.speech.tts_engine import TtsEngine, VoiceChoice

    engine = TtsEngine(cache=None, render_timeout=TURN_BOUND_S, on_notice=lambda notice: None)
    try:
        rendered = engine.call(lambda renderer: renderer.render(PHRASE, VoiceChoice(None, 175, 1.0), keep=False))
    finally:
        engine.close()
    if rendered.duration <= 0:
        raise RuntimeError("the phrase was rendered to no sound at all")
    return f"{PHRASE!r} rendered to {rendered.duration:.1f} s of audio in memory"


def _turn(paths: AppPaths) -> str:
    from desktop_app.core.brain.assistant import Assistant
    from desktop_app.core.events import Event, EventHub, ReplyChunk, TurnFailed, TurnFinished
    from desktop_app.storage.engine import sqlite_url
    from desktop_app.storage.store import SqlConversationStore
    from desktop_app.voice import start_text_only

    store = SqlConversationStore.open(sqlite_url(paths.database_file))
    hub = EventHub()
    ended = threading.Event()
    said: list[str] = []
    failed: list[str] = []

    def listen(event: Event) -> None:
        if isinstance(event, ReplyChunk):
            said.append(event.text)
        elif isinstance(event, TurnFailed):
            failed.append(event.message)
            ended.set()
        elif isinstance(event, TurnFinished):
            ended.set()

    hub.subscribe(listen)
    voice = start_text_only(store, hub, Assistant(store, store.alarms))
    try:
        voice.ask(QUESTION)
        if not ended.wait(TURN_BOUND_S):
            raise RuntimeError(f"{QUESTION!r} was not answered within {TURN_BOUND_S:.0f} s")
    finally:
        voice.close()
        store.close()
    answer = "".join(said).strip()
    if failed or EXPECTED_ANSWER not in answer:
        raise RuntimeError(f"{QUESTION!r} was answered {answer!r}" + (f" ({failed[0]})" if failed else ""))
    return f"{QUESTION!r} answered {answer!r} by the built-in skills, and kept"


def _window(paths: AppPaths) -> str:
    os.environ["QT_QPA_PLATFORM"] = "offscreen"  # the self-test never shows a window
    from desktop_app.ui.qt import BINDING_VERSION, QApplication

    app = QApplication.instance() or QApplication([sys.argv[0]])
    from desktop_app.core.settings import Settings
    from desktop_app.storage.engine import sqlite_url
    from desktop_app.storage.store import SqlConversationStore
    from desktop_app.ui.main_window import MainWindow

    store = SqlConversationStore.open(sqlite_url(paths.database_file))
    try:
        window = MainWindow(store, settings=Settings(paths.settings_file), paths=paths)
        window.show()
        app.processEvents()
        shown = window.isVisible()
        window.quit_for_good()
        window.close()
        window.deleteLater()
        app.processEvents()
    finally:
        store.close()
    if not shown:
        raise RuntimeError("the main window was made but could not be shown")
    return f"the main window made and shown on Qt's offscreen platform (PySide6 {BINDING_VERSION})"


def _keychain(_paths: AppPaths) -> str:
    from desktop_app.secrets.keychain import KeychainKeyStore

    keychain = KeychainKeyStore()
    keychain.check()
    return f"{type(keychain.backend).__name__} answers"


def _sound(_paths: AppPaths) -> str:
    from desktop_app.audio.choices import device_choices

    found = {kind: device_choices(kind, None) for kind in ("input", "output")}
    microphones, speakers = (len(found[kind].devices) for kind in ("input", "output"))
    if not microphones or not speakers:
        raise RuntimeError(f"{microphones} microphones and {speakers} speakers found: typed questions still work")
    default = found["input"].default
    return f"{microphones} microphones and {speakers} speakers ({found['input'].system})" + (
        f"; the default microphone is {default.name}" if default is not None else ""
    )


# The recogniser's check reads its recording through the audio package and the turn runs in the voice
# services, and both load PortAudio, as the window does.
CHECKS = (
    Check("store", True, _store),
    Check("recogniser", True, _recogniser, (PORTAUDIO,)),
    Check("speech", True, _speech, (ESPEAK_NG,)),
    Check("turn", True, _turn, (PORTAUDIO,)),
    Check("window", True, _window),
    Check("keychain", False, _keychain),
    Check("sound", False, _sound, (PORTAUDIO,)),
)


def _run(check: Check, paths: AppPaths) -> Outcome:
    started = time.perf_counter()
    try:
        missing = [item.library for item in missing_libraries(check.needs)]
        if missing:
            raise RuntimeError(describe(missing))
        said = check.run(paths)
    except Exception as error:  # every failure is said on its line; the other checks still run
        reason = getattr(error, "message", None) or str(error) or type(error).__name__
        note = "" if check.required else " (not required)"
        return Outcome(check, False, f"{' '.join(reason.split())}{note}", time.perf_counter() - started)
    return Outcome(check, True, said, time.perf_counter() - started)


def run_self_test(out: TextIO) -> int:
    """Runs every check in a new temporary data folder (removed afterwards), one line each; EXIT_OK when
    every required check passed."""
    out.write(f"{APP_NAME} {__version__} self-test: Python {platform.python_version()}, {sys.platform}\n")
    with tempfile.TemporaryDirectory(prefix=f"{APP_NAME}-self-test-") as folder:
        paths = AppPaths.resolve(Path(folder)).ensure()
        outcomes = []
        for check in CHECKS:
            outcome = _run(check, paths)
            outcomes.append(outcome)
            out.write(outcome.line() + "\n")
            out.flush()
    failed = [outcome.check.name for outcome in outcomes if outcome.check.required and not outcome.passed]
    out.write(f"failed: {', '.join(failed)}\n" if failed else "every required check passed\n")
    return EXIT_FAILURE if failed else EXIT_OK
