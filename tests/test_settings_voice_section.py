"""Settings > Voice and Settings > Push to talk, driven by clicks and keys on the app's real voice services
(the private PulseAudio server, espeak-ng): the voices listed are the engine's, what is changed is saved to
the real settings file and followed by the running services, and Preview is heard through the speaker."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from recorder import Recorder
from settings_dialog import WAIT_MS, OpenSettings, child, click

from desktop_app.core.brain.assistant import Assistant
from desktop_app.core.events import EventHub, SpeakingFinished, SpeakingStarted
from desktop_app.core.settings import (
    TALK_HOTKEY,
    TALK_MODE,
    VOICE_NAME,
    VOICE_RATE,
    VOICE_SPEAK_REPLIES,
    VOICE_VOLUME,
    Settings,
)
from desktop_app.paths import AppPaths
from desktop_app.ui.qt import (
    QCheckBox,
    QComboBox,
    QKeySequenceEdit,
    QLabel,
    QPushButton,
    QRadioButton,
    QSlider,
    QSpinBox,
    Qt,
)
from desktop_app.ui.settings.push_to_talk import PushToTalkSection
from desktop_app.ui.settings.voice import DEFAULT_VOICE, SAMPLE, VoiceSection
from desktop_app.voice import VoiceServices, start_voice

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytestmark = pytest.mark.gui


@pytest.fixture
def services(pulse_audio, store, data_dir: Path) -> Iterator[tuple[VoiceServices, Recorder]]:
    paths = AppPaths.resolve(data_dir).ensure()
    hub = EventHub()
    heard = Recorder()
    hub.subscribe(heard)
    running = start_voice(Settings(paths.settings_file), paths, store, hub, Assistant(store, store.alarms))
    yield running, heard
    running.close()


def test_the_voice_is_chosen_tuned_and_previewed(qtbot, store, data_dir: Path, services) -> None:
    voice_services, heard = services
    opened = OpenSettings(qtbot, store, data_dir, (VoiceSection,), speech=voice_services)
    try:
        voice_services.settings.watch(interval=0.05)  # the running services follow the file, as in the app
        section = opened.section("voice")
        voices: QComboBox = child(section, QComboBox, "voice")
        qtbot.waitUntil(lambda: voices.count() > 10, timeout=WAIT_MS)  # espeak-ng's voices
        assert voices.itemText(0) == DEFAULT_VOICE and voices.currentIndex() == 0
        voices.setFocus()
        qtbot.keyClick(voices, Qt.Key.Key_Down)  # the first voice after the default, by keyboard
        chosen = voices.itemData(1)
        opened.wait_saved(VOICE_NAME, chosen)

        rate: QSpinBox = child(section, QSpinBox, "rate")
        rate.setFocus()
        rate.selectAll()
        qtbot.keyClicks(rate, "220")
        qtbot.keyClick(rate, Qt.Key.Key_Return)
        opened.wait_saved(VOICE_RATE, 220)
        volume: QSlider = child(section, QSlider, "volume")
        volume.setFocus()
        qtbot.keyClick(volume, Qt.Key.Key_PageDown)  # 10 % quieter
        opened.wait_saved(VOICE_VOLUME, 0.9)

        preview: QPushButton = child(section, QPushButton, "preview")
        qtbot.waitUntil(lambda: voice_services.pipeline.speaker is not None, timeout=WAIT_MS)
        finished = len(heard.of(SpeakingFinished))  # an earlier reply's end may be reported meanwhile
        click(qtbot, preview)
        assert heard.wait_for(SpeakingStarted), "the preview was not played"
        qtbot.waitUntil(
            lambda: any(not end.interrupted for end in heard.of(SpeakingFinished)[finished:]), timeout=WAIT_MS
        )
        (started,) = heard.of(SpeakingStarted)  # once: Enter in the rate field pressed no button
        assert SAMPLE.startswith(started.text)
        assert store.list_conversations() == []  # a preview is kept nowhere

        click(qtbot, child(section, QCheckBox, "speak_replies"))
        opened.wait_saved(VOICE_SPEAK_REPLIES, False)
        qtbot.waitUntil(lambda: not voice_services.pipeline.speak_replies, timeout=WAIT_MS)
        click(qtbot, preview)
        status: QLabel = child(section, QLabel, "preview_status")
        qtbot.waitUntil(lambda: "Speak answers aloud" in status.text(), timeout=WAIT_MS)
    finally:
        opened.close()


def test_the_push_to_talk_key_is_captured_by_pressing_it(qtbot, store, data_dir: Path) -> None:
    opened = OpenSettings(qtbot, store, data_dir, (PushToTalkSection,))
    try:
        section = opened.section("push_to_talk")
        capture: QKeySequenceEdit = child(section, QKeySequenceEdit, "hotkey_capture")
        assert capture.keySequence().toString() == "Ctrl+Alt+Space"
        click(qtbot, capture)
        qtbot.keyClick(capture, Qt.Key.Key_F9, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier)
        opened.wait_saved(TALK_HOTKEY, "ctrl+alt+f9")

        click(qtbot, capture)
        qtbot.keyClick(capture, Qt.Key.Key_A, Qt.KeyboardModifier.ShiftModifier)  # types a letter: refused
        qtbot.waitUntil(section.problem.isVisible, timeout=WAIT_MS)
        assert "Shift" in section.problem.text() or "types" in section.problem.text()
        assert opened.saved(TALK_HOTKEY) == "ctrl+alt+f9"
        qtbot.waitUntil(lambda: capture.keySequence().toString() == "Ctrl+Alt+F9", timeout=WAIT_MS)

        click(qtbot, child(section, QPushButton, "hotkey_default"))
        opened.wait_saved(TALK_HOTKEY, TALK_HOTKEY.default)

        toggle: QRadioButton = child(section, QRadioButton, "mode_toggle")
        assert child(section, QRadioButton, "mode_hold").isChecked()
        click(qtbot, toggle)
        opened.wait_saved(TALK_MODE, "toggle")
        # Another process (the CLI) switches it back: the section follows.
        opened.settings.watch(interval=0.05)
        Settings(opened.paths.settings_file).set(TALK_MODE, "hold")
        qtbot.waitUntil(lambda: child(section, QRadioButton, "mode_hold").isChecked(), timeout=WAIT_MS)
        Settings(opened.paths.settings_file).set(TALK_HOTKEY, "super+f10")
        qtbot.waitUntil(lambda: capture.keySequence().toString() == "Meta+F10", timeout=WAIT_MS)
    finally:
        opened.close()
