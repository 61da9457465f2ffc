"""The first-run guide: what the app does, the microphone picked and tested, the recogniser chosen, and a
first question asked. It opens at the first start (`FirstRunGuide.should_open`) and from Help > First-run
guide…; finishing or skipping it (Skip, Esc, closing it) sets app.first_run_done, so it does not open at
start again.

Nothing here waits on the main thread: the device and model lists are read and the settings written on
workers (ui.background), the microphone is opened and closed on threads of its own, and results come back
through the guide's own main-thread queue (ui.main_thread; no Python-side signal is emitted).
The window forwards its core events to `on_event` while the guide is open, so the first question's words
and answer arrive the way the window's own do.

The level meter reads a capture of its own (ui.microphone_probe), shared with Settings > Audio.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from desktop_app.core.events import (
    Event,
    FinalTranscript,
    Notice,
    PartialTranscript,
    ReplyChunk,
    StateChanged,
    TurnFailed,
    TurnFinished,
    TurnStarted,
    TurnState,
)
from desktop_app.core.hold_key import RELEASE_DEBOUNCE_MS, HoldKey
from desktop_app.core.settings import (
    APP_FIRST_RUN_DONE,
    AUDIO_INPUT_DEVICE,
    TALK_HOTKEY,
    TALK_MODE,
    Settings,
)
from desktop_app.menu_entry import menu_entry_installed, menu_entry_supported, set_menu_entry
from desktop_app.speech.recognisers import read_recognisers, use_recogniser
from desktop_app.ui.background import Background
from desktop_app.ui.first_run_pages import (
    SUGGESTIONS,
    TITLE,
    DonePage,
    MicrophonePage,
    QuestionPage,
    RecognitionPage,
    WelcomePage,
)
from desktop_app.ui.focused_keys import FocusedKeys
from desktop_app.ui.main_thread import MainThreadQueue
from desktop_app.ui.microphone_probe import LevelProbe
from desktop_app.ui.qt import (
    QDialog,
    QEvent,
    QHideEvent,
    QKeyEvent,
    QObject,
    QShowEvent,
    Qt,
    QTimer,
    QWidget,
    QWizard,
)
from desktop_app.ui.sound_widgets import chosen_name

if TYPE_CHECKING:
    from desktop_app.audio.choices import DeviceChoices

log = logging.getLogger(__name__)


WELCOME, MICROPHONE, RECOGNITION, QUESTION, DONE = range(5)
TICK_MS = 30  # the meter's pace, and how soon a worker's result is shown
STATE_WORDS = {
    TurnState.LISTENING: "Listening… let go when you are done.",
    TurnState.RECOGNISING: "Recognising…",
    TurnState.THINKING: "Thinking…",
    TurnState.SPEAKING: "Answering…",
}
TALK_KEYS = (QEvent.Type.KeyPress, QEvent.Type.KeyRelease)
ENTER_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter)


class GuideControls(Protocol):
    """What the first question needs of core.talk_controls.TalkControls."""

    def press(self) -> None: ...

    def release(self) -> None: ...

    def ask(self, text: str) -> bool: ...


def _ignore(*_args: object) -> None:
    """For results nobody waits for."""


def _menu_entry_failed(error: Exception) -> None:
    log.warning("first-run guide: the applications menu entry could not be installed: %s", error)


def _list_microphones(wanted: str | None) -> DeviceChoices:
    import desktop_app.audio.portaudio  # noqa: F401 - alone first, as in microphone_probe: its error whole
    from desktop_app.audio.choices import device_choices  # loads PortAudio: never on the main thread

    return device_choices("input", wanted)


class FirstRunGuide(QWizard):
    """Welcome, microphone, recognition, first question, done. `controls` may be None (voice off): the first
    question then says so. `models_dir`: where Vosk models are installed (the app's AppPaths.models_dir)."""

    def __init__(
        self,
        settings: Settings,
        controls: GuideControls | None,
        parent: QWidget | None = None,
        *,
        models_dir: Path | None = None,
    ) -> None:
        super().__init__(parent)
        self._settings = settings
        self._controls = controls
        if models_dir is None:
            from desktop_app.paths import AppPaths

            models_dir = AppPaths.resolve().models_dir
        self._models_dir = models_dir
        self._calls = MainThreadQueue(self)
        self._background = Background(self._calls.post)
        self._probe = LevelProbe()
        self._finished = False
        self._answer_text = ""
        self.setWindowTitle(TITLE)
        self.setAccessibleName(TITLE)
        self.setObjectName("first_run_guide")
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)  # a header band in the Base colour
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setOption(QWizard.WizardOption.NoCancelButton, True)
        self.setOption(QWizard.WizardOption.HaveCustomButton1, True)
        self.setButtonText(QWizard.WizardButton.CustomButton1, "&Skip guide")
        self.setButtonText(QWizard.WizardButton.FinishButton, "&Done")
        skip = self.button(QWizard.WizardButton.CustomButton1)
        skip.setObjectName("skip")
        skip.setToolTip("Close the guide (Esc); Help > First-run guide… opens it again")
        skip.clicked.connect(self.skip)
        self.setButtonLayout(
            [
                QWizard.WizardButton.CustomButton1,
                QWizard.WizardButton.Stretch,
                QWizard.WizardButton.BackButton,
                QWizard.WizardButton.NextButton,
                QWizard.WizardButton.FinishButton,
            ]
        )
        self.welcome_page = WelcomePage(settings.get(TALK_HOTKEY), settings.get(TALK_MODE) == "toggle", self)
        self.microphone_page = MicrophonePage(self)
        self.recognition_page = RecognitionPage(self)
        self.question_page = QuestionPage(self)
        self.done_page = DonePage(self)
        for page_id, page in enumerate(
            (self.welcome_page, self.microphone_page, self.recognition_page, self.question_page, self.done_page)
        ):
            self.setPage(page_id, page)
        self.resize(640, 520)
        self._wire()
        self._focused_keys = FocusedKeys(self, self)  # the talk key while shown, on the focused widget only
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)
        # Ctrl+Space, or Space on the hold button: one hold is one turn, however the keyboard repeats it.
        self._talk_key = HoldKey(self._press, self._release)
        self._release_timer = QTimer(self)
        self._release_timer.setSingleShot(True)
        self._release_timer.setInterval(RELEASE_DEBOUNCE_MS)
        self._release_timer.timeout.connect(self._talk_key.settle)
        self._held = False

    def _wire(self) -> None:
        self.currentIdChanged.connect(self._page_changed)
        self.microphone_page.devices.activated.connect(self._microphone_chosen)
        self.recognition_page.choices.idClicked.connect(self._recogniser_chosen)
        page = self.question_page
        page.question.returnPressed.connect(self._send_typed)
        page.ask_button.clicked.connect(self._send_typed)
        page.hold_button.pressed.connect(self._press)
        page.hold_button.released.connect(self._release)
        for text, button in zip(SUGGESTIONS, page.suggestions, strict=True):
            button.clicked.connect(self._asker(text))
        voice = self._controls is not None
        for widget in (page.question, page.ask_button, page.hold_button, *page.suggestions):
            widget.setEnabled(voice)
        if not voice:
            page.status.setText("Voice is off in this window, so there is nothing to ask yet.")

    def _asker(self, text: str) -> Callable[[], None]:
        def ask() -> None:
            self.ask(text)

        return ask

    @staticmethod
    def should_open(settings: Settings) -> bool:
        """Whether the guide opens at start: until it is finished or skipped once."""
        return not settings.get(APP_FIRST_RUN_DONE)

    # -- opening and closing ----------------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._timer.start()
        self._focused_keys.start()
        if self.currentId() == MICROPHONE and not self._probe.running:
            self._probe.open(self._settings.get(AUDIO_INPUT_DEVICE))

    def hideEvent(self, event: QHideEvent) -> None:
        # Hidden or closed: the microphone is let go and the keys no longer watched.
        self._leave_microphone()
        self._timer.stop()
        self._focused_keys.stop()
        if self._held:
            self._talk_key.reset()
            self._release()
        super().hideEvent(event)

    def skip(self) -> None:
        """Closes the guide; like finishing it, it does not open at start again."""
        self.reject()

    def done(self, result: int) -> None:
        # Finished, skipped, Esc or closed: each counts as done.
        if not self._finished:
            self._finished = True
            self._background.run("first-run-done", lambda: self._settings.set(APP_FIRST_RUN_DONE, True), _ignore)
            offer = self.done_page.in_menu
            if result == QDialog.DialogCode.Accepted and offer.isVisible() and offer.isChecked():
                self._background.run("menu-entry", lambda: set_menu_entry(True), _ignore, _menu_entry_failed)
        self._leave_microphone()
        super().done(result)

    # -- pages ---------------------------------------------------------------------------------------------

    def _page_changed(self, page_id: int) -> None:
        if page_id == MICROPHONE:
            wanted = self._settings.get(AUDIO_INPUT_DEVICE)
            self._probe.open(wanted)
            self._background.run(
                "microphones", partial(_list_microphones, wanted), self._microphones_found, self._microphones_failed
            )
        else:
            self._leave_microphone()
        skip = self.button(QWizard.WizardButton.CustomButton1)
        skip.setVisible(page_id != DONE)
        if page_id == RECOGNITION:
            self._background.run(
                "recognisers",
                partial(read_recognisers, self._settings, self._models_dir),
                self.recognition_page.show_recognisers,
                self._recognisers_failed,
            )
        elif page_id == QUESTION:
            self.question_page.question.setFocus()
        elif page_id == DONE:
            self._summarise()

    def _leave_microphone(self) -> None:
        if self._probe.running:
            self._probe.close()
            self.microphone_page.stopped()

    def _microphones_found(self, found: DeviceChoices) -> None:
        self.microphone_page.show_microphones(found)

    def _microphones_failed(self, error: Exception) -> None:
        log.warning("first-run guide: no microphone can be used: %s", error)
        self.microphone_page.show_no_microphones(str(error))

    def _microphone_chosen(self, index: int) -> None:
        device = chosen_name(self.microphone_page.devices, index)
        self._probe.switch(device)
        self._background.run(
            "save-microphone", lambda: self._settings.set(AUDIO_INPUT_DEVICE, device), _ignore, self._not_saved
        )

    def _not_saved(self, error: Exception) -> None:
        self.microphone_page.show_warning(f"The choice could not be saved: {error}")

    def _recogniser_chosen(self, button_id: int) -> None:
        model = self.recognition_page.chosen_model(button_id)
        self._background.run(
            "recognisers",
            partial(use_recogniser, self._settings, self._models_dir, model),
            self.recognition_page.show_recognisers,
            self._recognisers_failed,
        )

    def _recognisers_failed(self, error: Exception) -> None:
        self.recognition_page.in_use.setText(f"The recogniser could not be chosen: {error}")

    def _summarise(self) -> None:
        self.done_page.summarise(self._settings.get(AUDIO_INPUT_DEVICE), self.recognition_page.description)
        if menu_entry_supported():
            self._background.run("menu-entry-installed", menu_entry_installed, self._offer_menu_entry)

    def _offer_menu_entry(self, installed: bool) -> None:
        """Offered where the app is not in the menu yet; ticked when it runs from the bundle, which people
        start with a double-click (from a checkout, the menu entry would start the checkout)."""
        offer = self.done_page.in_menu
        offer.setVisible(not installed)
        offer.setChecked(bool(getattr(sys, "frozen", False)))
        offer.setEnabled(True)

    # -- the main thread's pace ---------------------------------------------------------------------------

    def _tick(self) -> None:
        if self._probe.running:
            self.microphone_page.show_reading(self._probe.read())

    # -- the first question ----------------------------------------------------------------------------------

    def ask(self, text: str) -> None:
        """Asks `text` as typed (the suggestions, the text box)."""
        page = self.question_page
        question = text.strip()
        if not question or self._controls is None:
            return
        if self._controls.ask(question):
            page.question.clear()
            page.say(page.you, question)
            page.say(page.answer, "")
        else:
            page.status.setText("The voice is still starting… try again in a moment.")

    def _send_typed(self) -> None:
        self.ask(self.question_page.question.text())

    def _press(self) -> None:
        if self._controls is not None and not self._held:
            self._held = True
            self.question_page.hold_button.setDown(True)
            self._controls.press()

    def _release(self) -> None:
        if self._controls is not None and self._held:
            self._held = False
            self.question_page.hold_button.setDown(False)
            self._controls.release()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if isinstance(event, QKeyEvent) and event.type() in TALK_KEYS:
            if self._is_talk_key(watched, event):
                if event.type() is QEvent.Type.KeyPress:
                    self._talk_key.key_down(event.timestamp(), event.isAutoRepeat())
                elif self._talk_key.key_up(event.timestamp(), event.isAutoRepeat()):
                    self._release_timer.start()
                return True
            if watched is self.question_page.question and event.key() in ENTER_KEYS:
                # Enter sends the question; it must not also reach the guide's Next button.
                if event.type() is QEvent.Type.KeyPress:
                    self._send_typed()
                return True
        return super().eventFilter(watched, event)

    def _is_talk_key(self, watched: QObject, event: QKeyEvent) -> bool:
        if event.key() != Qt.Key.Key_Space or self.currentId() != QUESTION or not self.isActiveWindow():
            return False
        if self._talk_key.held:
            return True
        with_ctrl = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
        return with_ctrl or watched is self.question_page.hold_button

    def on_event(self, event: Event) -> None:
        """The window's core events while the guide is open (main thread): the first question's progress."""
        page = self.question_page
        if isinstance(event, TurnStarted):
            page.say(page.answer, "")
            self._answer_text = ""
        elif isinstance(event, PartialTranscript):
            page.say(page.you, f"{event.text}…")
        elif isinstance(event, FinalTranscript):
            page.say(page.you, event.text)
        elif isinstance(event, ReplyChunk):
            self._answer_text += event.text
            page.say(page.answer, self._answer_text.strip())
        elif isinstance(event, StateChanged) and event.state is not TurnState.IDLE:
            page.status.setText(STATE_WORDS[event.state])
        elif isinstance(event, TurnFinished):
            page.status.setText("Ask another, or press Next.")
        elif isinstance(event, TurnFailed | Notice) and self.currentId() == QUESTION:
            page.status.setText(event.message)  # elsewhere it would be stale by the time the page shows
