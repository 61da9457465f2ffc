"""The first-run guide, driven with clicks and keys: the microphone's level on the private sound server, the
silent warning, the recogniser choice saved to a real settings file, a first question answered by the real
turn and assistant, and the guide not opening again once finished or skipped."""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from speech_audio import link_korean_model, say_to_wav

from desktop_app.core.brain.assistant import Assistant
from desktop_app.core.events import EventHub
from desktop_app.core.pipeline import VoicePipeline
from desktop_app.core.ports import VoiceInfo
from desktop_app.core.settings import (
    APP_FIRST_RUN_DONE,
    AUDIO_INPUT_DEVICE,
    SPEECH_ENGINE,
    SPEECH_LANGUAGE,
    SPEECH_VOSK_MODEL,
    Setting,
    Settings,
)
from desktop_app.core.talk_controls import TalkControls
from desktop_app.storage.engine import sqlite_url
from desktop_app.storage.store import SqlConversationStore

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

SCREENS = Path(__file__).resolve().parents[1] / "docs" / "screens"
VIRTUAL_MICROPHONE = "Virtual Microphone"  # tests/pulse_server.py's MICROPHONE_DESCRIPTION
KO_MODEL = "vosk-model-small-ko-0.22"  # an official name: its language (Korean) is read from it
OPEN_DELAY_S = 0.5  # a slow device: opening it takes this long
WAIT_MS = 10_000


class Files:
    """A real settings file, read afresh as the next start of the app would."""

    def __init__(self, root: Path) -> None:
        self.settings_file = root / "config" / "settings.json"
        self.models_dir = root / "models"
        self.models_dir.mkdir(parents=True)
        self.settings = Settings(self.settings_file)

    def saved(self, key: Setting[Any]) -> Any:
        return Settings(self.settings_file).get(key)


@pytest.fixture
def files(tmp_path: Path) -> Files:
    return Files(tmp_path)


def open_guide(qtbot: Any, files: Files, controls: Any = None) -> Any:
    from desktop_app.ui.first_run import FirstRunGuide

    guide = FirstRunGuide(files.settings, controls, models_dir=files.models_dir)
    qtbot.addWidget(guide)
    guide.show()
    qtbot.waitExposed(guide)
    guide.activateWindow()
    qtbot.waitUntil(guide.isActiveWindow)
    return guide


def click(qtbot: Any, widget: Any) -> None:
    from desktop_app.ui.qt import Qt

    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def next_page(qtbot: Any, guide: Any) -> None:
    """Alt+N, the Next button's mnemonic."""
    from desktop_app.ui.qt import Qt

    before = guide.currentId()
    qtbot.keyClick(guide, Qt.Key.Key_N, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: guide.currentId() == before + 1)


def capture_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(("mic-capture", "mic-probe"))]


@pytest.mark.gui
def test_esc_skips_the_guide_and_it_does_not_open_at_the_next_start(qtbot, files: Files) -> None:
    from desktop_app.ui.first_run import FirstRunGuide
    from desktop_app.ui.qt import Qt, QWizard

    assert FirstRunGuide.should_open(files.settings)
    guide = open_guide(qtbot, files)
    assert guide.button(QWizard.WizardButton.CustomButton1).isVisible()  # Skip, from the first page on
    qtbot.keyClick(guide, Qt.Key.Key_Escape)
    assert not guide.isVisible()
    qtbot.waitUntil(lambda: files.saved(APP_FIRST_RUN_DONE) is True)
    assert not FirstRunGuide.should_open(Settings(files.settings_file))


@pytest.mark.gui
def test_the_level_moves_with_speech_and_silence_is_pointed_out(
    qtbot, files: Files, pulse_audio, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import desktop_app.audio.capture as capture_module
    import desktop_app.audio.devices as devices_module
    from desktop_app.ui.first_run import MICROPHONE, RECOGNITION
    from desktop_app.ui.qt import Qt, QTimer
    from desktop_app.ui.sound_widgets import SILENT_WARNING

    # A device that takes half a second to find and open, as a USB or Bluetooth one can.
    def slow(function: Any) -> Any:
        def slowly(*args: Any, **kwargs: Any) -> Any:
            time.sleep(OPEN_DELAY_S)
            return function(*args, **kwargs)

        return slowly

    monkeypatch.setattr(capture_module, "find_input_device", slow(capture_module.find_input_device))
    monkeypatch.setattr(devices_module, "list_devices", slow(devices_module.list_devices))
    speech = say_to_wav("what time is it? set a timer for one minute, please.", tmp_path / "speech.wav")
    guide = open_guide(qtbot, files)
    page = guide.microphone_page

    # The main thread keeps turning while the devices are listed and opened (a 10 ms timer keeps beating).
    beats: list[float] = []
    heart = QTimer()
    heart.setInterval(10)
    heart.timeout.connect(lambda: beats.append(time.monotonic()))
    heart.start()
    next_page(qtbot, guide)
    assert guide.currentId() == MICROPHONE
    qtbot.waitUntil(lambda: page.devices.isEnabled() and page.devices.count() == 2, timeout=WAIT_MS)
    # The default is named by what the sound server calls it (the shared test server's default can have been
    # changed or renamed by an earlier test); the virtual microphone is listed by its name.
    assert page.devices.itemText(0).startswith("System default (")
    assert page.devices.itemText(1) == VIRTUAL_MICROPHONE

    # The microphone picked with the keyboard is saved for the app.
    page.devices.setFocus()
    qtbot.keyClick(page.devices, Qt.Key.Key_Down)
    chosen_at = time.monotonic()
    assert page.devices.currentText() == VIRTUAL_MICROPHONE
    qtbot.waitUntil(lambda: files.saved(AUDIO_INPUT_DEVICE) == VIRTUAL_MICROPHONE, timeout=WAIT_MS)

    # Nothing is said: after three seconds the page says to speak.
    qtbot.waitUntil(page.warning.isVisible, timeout=WAIT_MS)
    assert time.monotonic() - chosen_at >= 3.0
    heart.stop()  # it beat through the listing, the opening and the switch to the chosen microphone
    gaps = [later - earlier for earlier, later in itertools.pairwise(beats)]
    print(f"\nlongest wait between 10 ms beats while the microphone was listed and opened: {max(gaps) * 1000:.0f} ms")
    # Opening ran off the main thread: done on it, the slowed listing and opening would stall it for 0.5 s or
    # more each. (The product's aim is 50 ms; a busy machine under coverage can stretch one beat past that.)
    assert len(beats) > 100 and max(gaps) < OPEN_DELAY_S / 2
    assert page.warning.text() == SILENT_WARNING and page.meter.value() == 0

    # Speech into the virtual microphone: the bar moves and the warning goes.
    player = threading.Thread(target=pulse_audio.play, args=(speech,))
    player.start()
    try:
        qtbot.waitUntil(lambda: page.meter.value() > 40, timeout=WAIT_MS)
        SCREENS.mkdir(parents=True, exist_ok=True)
        assert guide.grab().save(str(SCREENS / "first-run-microphone.png"))
        assert not page.warning.isVisible()
    finally:
        player.join()

    # Leaving the page lets the microphone go.
    next_page(qtbot, guide)
    assert guide.currentId() == RECOGNITION
    qtbot.waitUntil(lambda: not capture_threads(), timeout=WAIT_MS)
    assert page.meter.value() == 0


@pytest.mark.gui
def test_choosing_a_recogniser_saves_it(qtbot, files: Files, pulse_audio) -> None:
    from desktop_app.ui.first_run import RECOGNITION
    from desktop_app.ui.qt import Qt

    link_korean_model(files.models_dir / KO_MODEL)
    guide = open_guide(qtbot, files)
    next_page(qtbot, guide)
    next_page(qtbot, guide)
    assert guide.currentId() == RECOGNITION
    page = guide.recognition_page
    qtbot.waitUntil(lambda: len(page.model_buttons) == 1, timeout=WAIT_MS)
    (korean,) = page.model_buttons
    assert korean.text() == f"Vosk model {KO_MODEL} (Korean)"
    assert page.built_in.isChecked() and not page.no_models.isVisible()
    assert "PocketSphinx (built-in English)" in page.in_use.text()

    click(qtbot, korean)
    qtbot.waitUntil(lambda: files.saved(SPEECH_VOSK_MODEL) == KO_MODEL, timeout=WAIT_MS)
    assert files.saved(SPEECH_ENGINE) == "vosk" and files.saved(SPEECH_LANGUAGE) == "ko"
    qtbot.waitUntil(lambda: f"Vosk ({KO_MODEL})" in page.in_use.text(), timeout=WAIT_MS)

    # Back to the built-in one with the arrow keys.
    korean.setFocus()
    qtbot.keyClick(korean, Qt.Key.Key_Up)
    assert page.built_in.isChecked()
    qtbot.waitUntil(lambda: files.saved(SPEECH_ENGINE) == "pocketsphinx", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "PocketSphinx (built-in English)" in page.in_use.text(), timeout=WAIT_MS)


@pytest.mark.gui
def test_with_no_model_installed_it_says_where_models_come_from(qtbot, files: Files, pulse_audio) -> None:
    guide = open_guide(qtbot, files)
    next_page(qtbot, guide)
    next_page(qtbot, guide)
    page = guide.recognition_page
    qtbot.waitUntil(lambda: bool(page.in_use.text()), timeout=WAIT_MS)
    assert page.no_models.isVisible() and page.built_in.isChecked() and not page.model_buttons
    assert "Settings &gt; Speech recognition" in page.no_models.text()
    assert "voice-assistant models download NAME" in page.no_models.text()


class Voice:
    """What the talk controls drive: the app's turn (VoicePipeline) with a microphone, as VoiceServices runs it
    without preroll, or else without sound, as desktop_app.voice.TextOnlyVoice; it counts the presses and
    releases that reach it."""

    def __init__(self, hub: EventHub, pipeline: VoicePipeline, capture: Any = None) -> None:
        from desktop_app.voice import TextOnlyVoice

        self.turn = TextOnlyVoice(hub, pipeline)
        self.pipeline = pipeline
        self.capture = capture
        self.calls: list[str] = []
        self.toggle_mode = False

    @property
    def state(self) -> Any:
        return self.turn.state

    def press(self) -> None:
        self.calls.append("press")
        if self.capture is None:
            self.turn.press()
            return
        self.capture.start()
        self.pipeline.press()

    def release(self) -> None:
        self.calls.append("release")
        if self.capture is None:
            self.turn.release()
            return
        self.pipeline.release()
        self.capture.stop()

    def cancel(self) -> None:
        self.turn.cancel()

    def ask(self, text: str) -> None:
        self.turn.ask(text)

    def new_conversation(self) -> None:
        self.turn.new_conversation()

    def continue_conversation(self, conversation_id: int) -> None:
        self.turn.continue_conversation(conversation_id)

    def voices(self) -> list[VoiceInfo]:
        return self.turn.voices()

    def say_sample(self, text: str) -> bool:
        return self.turn.say_sample(text)


@pytest.fixture
def assistant(tmp_path: Path) -> Iterator[tuple[EventHub, TalkControls, Voice, SqlConversationStore]]:
    """The app's turn (VoicePipeline) with the built-in assistant on a real store, behind the talk controls."""
    store = SqlConversationStore.open(sqlite_url(tmp_path / "assistant.db"))
    hub = EventHub()
    pipeline = VoicePipeline(lambda: None, Assistant(store, store.alarms), None, store, hub.publish)
    controls = TalkControls(hub.publish)
    voice = Voice(hub, pipeline)
    controls.attach(voice)
    try:
        yield hub, controls, voice, store
    finally:
        pipeline.close()
        store.close()


@pytest.mark.gui
def test_a_first_question_typed_or_held_reaches_the_assistant(qtbot, files: Files, pulse_audio, assistant) -> None:
    from desktop_app.ui.bridge import EventBridge
    from desktop_app.ui.first_run import DONE, QUESTION, FirstRunGuide
    from desktop_app.ui.qt import QApplication, QEvent, QKeyEvent, Qt, QWizard

    hub, controls, voice, store = assistant
    guide = open_guide(qtbot, files, controls)
    bridge = EventBridge(hub)  # as the window forwards its events while the guide is open
    bridge.add_handler(guide.on_event)
    try:
        for _ in range(3):
            next_page(qtbot, guide)
        assert guide.currentId() == QUESTION
        page = guide.question_page
        qtbot.waitUntil(page.question.hasFocus)
        qtbot.keyClicks(page.question, "what time is it")
        qtbot.keyClick(page.question, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: page.answer.text().startswith("It is "), timeout=WAIT_MS)
        assert guide.currentId() == QUESTION  # Enter asked; it did not go on to the next page
        assert page.you.text() == "what time is it" and page.question.text() == ""
        conversation = store.list_conversations(limit=1)[0].conversation
        kept = [m.content for m in store.get_history(conversation.id)]
        assert kept[0] == "what time is it" and kept[1] == page.answer.text()
        SCREENS.mkdir(parents=True, exist_ok=True)
        assert guide.grab().save(str(SCREENS / "first-run-question.png"))

        click(qtbot, page.suggestions[1])
        qtbot.waitUntil(lambda: page.answer.text() == "Okay, timer set for 1 minute.", timeout=WAIT_MS)
        assert page.you.text() == "set a timer for one minute"

        # Holding the button, Ctrl+Space, and Space on the focused button: each hold is one press and one
        # release of the controls (here a turn without sound, which says so).
        qtbot.mousePress(page.hold_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: "Listening is off" in page.status.text(), timeout=WAIT_MS)
        qtbot.mouseRelease(page.hold_button, Qt.MouseButton.LeftButton)
        page.question.setFocus()
        qtbot.keyPress(page.question, Qt.Key.Key_Space, Qt.KeyboardModifier.ControlModifier)
        qtbot.keyRelease(page.question, Qt.Key.Key_Space, Qt.KeyboardModifier.ControlModifier)
        qtbot.waitUntil(lambda: voice.calls == ["press", "release"] * 2)
        assert page.question.text() == ""  # the key went to the controls, not into the text box
        page.hold_button.setFocus()
        qtbot.keyPress(page.hold_button, Qt.Key.Key_Space)
        repeat = QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_Space, Qt.KeyboardModifier.NoModifier, " ", True)
        QApplication.sendEvent(page.hold_button, repeat)  # the keyboard repeating it: still the one hold
        qtbot.keyRelease(page.hold_button, Qt.Key.Key_Space)
        qtbot.waitUntil(lambda: voice.calls == ["press", "release"] * 3)

        next_page(qtbot, guide)
        assert guide.currentId() == DONE
        assert not guide.button(QWizard.WizardButton.CustomButton1).isVisible()
        assert "the system default" in guide.done_page.summary.text()
        assert FirstRunGuide.should_open(files.settings)
        click(qtbot, guide.button(QWizard.WizardButton.FinishButton))
        assert not guide.isVisible()
        qtbot.waitUntil(lambda: files.saved(APP_FIRST_RUN_DONE) is True)
    finally:
        bridge.detach()


@pytest.mark.gui
def test_skip_from_a_later_page_and_reopening_from_help(qtbot, files: Files, pulse_audio) -> None:
    from desktop_app.ui.first_run import MICROPHONE, WELCOME, FirstRunGuide
    from desktop_app.ui.qt import QWizard

    guide = open_guide(qtbot, files)
    next_page(qtbot, guide)
    assert guide.currentId() == MICROPHONE
    click(qtbot, guide.button(QWizard.WizardButton.CustomButton1))
    assert not guide.isVisible()
    qtbot.waitUntil(lambda: files.saved(APP_FIRST_RUN_DONE) is True)
    qtbot.waitUntil(lambda: not capture_threads(), timeout=WAIT_MS)
    assert not FirstRunGuide.should_open(files.settings)
    again = open_guide(qtbot, files)  # Help > First-run guide… opens a new one whatever the setting
    assert again.isVisible() and again.currentId() == WELCOME


@pytest.fixture
def spoken(pulse_audio, tmp_path: Path) -> Iterator[tuple[EventHub, TalkControls, SqlConversationStore]]:
    """The app's turn listening to the virtual microphone with the built-in recogniser."""
    from desktop_app.audio.capture import MicrophoneCapture
    from desktop_app.core.brain.assistant import command_phrases, default_skills
    from desktop_app.speech.pocketsphinx_recognizer import PocketSphinxRecognizer

    sphinx = PocketSphinxRecognizer(command_phrases(default_skills()))
    store = SqlConversationStore.open(sqlite_url(tmp_path / "assistant.db"))
    hub = EventHub()
    pipeline = VoicePipeline(lambda: sphinx, Assistant(store, store.alarms), None, store, hub.publish)
    capture = MicrophoneCapture(pipeline.on_audio, pipeline.on_level, pipeline.on_device_error)
    controls = TalkControls(hub.publish)
    controls.attach(Voice(hub, pipeline, capture))
    try:
        yield hub, controls, store
    finally:
        capture.stop()
        pipeline.close()
        store.close()


@pytest.mark.gui
def test_a_first_question_spoken_while_holding_the_button(qtbot, files: Files, pulse_audio, spoken, tmp_path) -> None:
    from desktop_app.ui.bridge import EventBridge
    from desktop_app.ui.first_run import QUESTION
    from desktop_app.ui.qt import Qt

    hub, controls, _store = spoken
    speech = say_to_wav("what time is it", tmp_path / "ask.wav")
    guide = open_guide(qtbot, files, controls)
    bridge = EventBridge(hub)
    bridge.add_handler(guide.on_event)
    try:
        for _ in range(3):
            next_page(qtbot, guide)
        assert guide.currentId() == QUESTION
        page = guide.question_page
        qtbot.mousePress(page.hold_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: page.status.text().startswith("Listening"), timeout=WAIT_MS)
        qtbot.wait(300)  # the microphone is open
        player = threading.Thread(target=pulse_audio.play, args=(speech,))
        player.start()
        qtbot.waitUntil(lambda: not player.is_alive(), timeout=WAIT_MS)
        qtbot.wait(150)
        qtbot.mouseRelease(page.hold_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: page.answer.text().startswith("It is "), timeout=WAIT_MS)
        assert page.you.text() == "what time is it"
    finally:
        bridge.detach()


@pytest.mark.gui
def test_the_last_page_offers_the_applications_menu_and_finishing_installs_it(
    qtbot, files: Files, pulse_audio, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from desktop_app import APP_ID
    from desktop_app.ui.first_run import DONE
    from desktop_app.ui.qt import QWizard

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    entry = tmp_path / "share" / "applications" / f"{APP_ID}.desktop"
    guide = open_guide(qtbot, files)
    for _ in range(4):
        next_page(qtbot, guide)
    assert guide.currentId() == DONE
    offer = guide.done_page.in_menu
    qtbot.waitUntil(offer.isVisible, timeout=WAIT_MS)
    assert not offer.isChecked()  # from a checkout; the bundle ticks it
    click(qtbot, offer)
    click(qtbot, guide.button(QWizard.WizardButton.FinishButton))
    qtbot.waitUntil(entry.exists, timeout=WAIT_MS)

    # Opened again (Help > First-run guide...), the app is in the menu already: nothing is offered.
    again = open_guide(qtbot, files)
    for _ in range(4):
        next_page(qtbot, again)
    qtbot.waitUntil(again.done_page.in_menu.isEnabled, timeout=WAIT_MS)  # the entry was looked for
    assert not again.done_page.in_menu.isVisible()
    again.skip()


@pytest.mark.gui
def test_skipping_from_the_last_page_installs_nothing(
    qtbot, files: Files, pulse_audio, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    guide = open_guide(qtbot, files)
    for _ in range(4):
        next_page(qtbot, guide)
    offer = guide.done_page.in_menu
    qtbot.waitUntil(offer.isVisible, timeout=WAIT_MS)
    click(qtbot, offer)
    guide.skip()  # Esc: not finished
    qtbot.waitUntil(lambda: files.saved(APP_FIRST_RUN_DONE) is True)
    assert not (tmp_path / "share").exists()


@pytest.mark.gui
def test_while_shown_only_the_focused_widget_is_watched_and_nothing_after(qtbot, files: Files, pulse_audio) -> None:
    """The talk key is watched on the guide's focused widget only: a filter on the whole application would run
    Python for every event of every object, stalling the window while the services start (the guide is open
    during the first start)."""
    from desktop_app.ui.first_run import FirstRunGuide
    from desktop_app.ui.qt import QApplication, QEvent, QObject, QWidget, QWizard

    seen: list[QObject] = []

    class Guide(FirstRunGuide):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            seen.append(watched)
            return super().eventFilter(watched, event)

    elsewhere = QWidget()
    qtbot.addWidget(elsewhere)
    guide = Guide(files.settings, None, models_dir=files.models_dir)
    qtbot.addWidget(guide)
    guide.show()
    qtbot.waitExposed(guide)
    guide.activateWindow()
    qtbot.waitUntil(guide.isActiveWindow)
    focused, other = guide.button(QWizard.WizardButton.NextButton), guide.button(QWizard.WizardButton.CustomButton1)
    focused.setFocus()
    qtbot.waitUntil(focused.hasFocus)
    seen.clear()
    for _ in range(20):
        QApplication.sendEvent(focused, QEvent(QEvent.Type.User))
        QApplication.sendEvent(elsewhere, QEvent(QEvent.Type.User))
        QApplication.sendEvent(other, QEvent(QEvent.Type.User))
    assert focused in seen and elsewhere not in seen and other not in seen
    guide.skip()
    seen.clear()
    QApplication.sendEvent(focused, QEvent(QEvent.Type.User))
    assert seen == []  # closed: nothing watched
