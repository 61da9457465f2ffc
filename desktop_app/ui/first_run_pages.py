"""The first-run guide's pages (ui.first_run drives them): what each shows and how it is laid out. They
read and write nothing themselves; the guide hands them what its workers found.

Colours come from the palette (ui.chat_colours, ui.palette_text) and are worked out again when it changes,
so the pages follow a light or dark desktop. The microphone's picker and level meter are shared with
Settings > Audio (ui.sound_widgets).
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from desktop_app.core.errors import ValidationError
from desktop_app.hotkey.spec import HotkeySpec
from desktop_app.speech.recognisers import ModelChoice, Recognisers
from desktop_app.ui.chat_colours import Bubble, ChatColours
from desktop_app.ui.microphone_probe import LevelReading
from desktop_app.ui.palette_text import announce, coloured, text_colours
from desktop_app.ui.qt import (
    QAccessible,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QEvent,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPalette,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    Qt,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)
from desktop_app.ui.sound_widgets import LevelMeter, show_choices

if TYPE_CHECKING:
    from desktop_app.audio.choices import DeviceChoices  # lists devices: loads PortAudio

TITLE = "Welcome to Voice Assistant"
SUGGESTIONS = ("what time is it", "set a timer for one minute")
NO_MODELS = (
    "No Vosk model is installed. Vosk models recognise free speech better and speak many languages; they are "
    "downloaded once (about 40 MB and up) from <b>Settings &gt; Speech recognition</b>, or in a terminal with "
    "<code>voice-assistant models download NAME</code> (<code>voice-assistant models list --all</code> shows "
    "the names)."
)
MORE_MODELS = (
    "Other models can be downloaded from <b>Settings &gt; Speech recognition</b>, or with "
    "<code>voice-assistant models download NAME</code>."
)
BUBBLE_PADDING_PX = 12  # each side, as in _bubble_style
BUBBLE_SHARE = 0.8  # of the conversation panel's width, at most


def hotkey_text(setting: str) -> str:
    """ "ctrl+alt+space" as menus show it ("Ctrl+Alt+Space"); a setting that does not parse, as it is."""
    try:
        return HotkeySpec.parse(setting).display()
    except ValidationError:
        return setting


def _label(text: str, parent: QWidget, name: str = "", *, rich: bool = True) -> QLabel:
    label = QLabel(text, parent)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText if rich else Qt.TextFormat.PlainText)
    if name:
        label.setObjectName(name)
    return label


def _bubble_style(name: str, bubble: Bubble) -> str:
    return (
        f"QLabel#{name} {{ background: {bubble.background.name()}; color: {bubble.text.name()};"
        f" border-radius: 12px; padding: 8px {BUBBLE_PADDING_PX}px; }}"
    )


class _Page(QWizardPage):
    """A page whose colours follow the palette."""

    def apply_palette(self) -> None:
        """Colours worked out from the palette (again after it changes)."""

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() is QEvent.Type.PaletteChange:
            self.apply_palette()


class WelcomePage(_Page):
    def __init__(self, hotkey: str, toggle_mode: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle(TITLE)
        self.setSubTitle("A minute to set up your microphone and try a first question. Skip it whenever you like.")
        if toggle_mode:
            how = "press once to start speaking and once more to send"
        else:
            how = "hold while you speak, let go to send"
        layout = QVBoxLayout(self)
        layout.setSpacing(12)
        self.about = _label(
            "Voice Assistant listens, answers and remembers <b>on this computer</b>. Speech recognition, the "
            "built-in skills (the time, timers, reminders, sums and more) and your conversations stay here; "
            "only a cloud language model, if you set one up, is sent your questions.",
            self,
            "about",
        )
        self.keys = _label(
            f"<b>Push to talk</b> ({how}):<ul>"
            "<li><b>Ctrl+Space</b> in the window, or its <i>Hold to talk</i> button;</li>"
            f"<li><b>{html.escape(hotkey_text(hotkey))}</b> anywhere on the desktop (the talk.hotkey setting);</li>"
            "<li>or type a question instead.</li></ul>",
            self,
            "keys",
        )
        self.next_steps = _label(
            "Next: your microphone, the speech recogniser, and a first question.", self, "next_steps", rich=False
        )
        layout.addWidget(self.about)
        layout.addWidget(self.keys)
        layout.addStretch(1)
        layout.addWidget(self.next_steps)
        self.apply_palette()

    def apply_palette(self) -> None:
        coloured(self.next_steps, text_colours(self.palette())[0])


class MicrophonePage(_Page):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle("Your microphone")
        self.setSubTitle("Pick the microphone you will speak into, then say something: the bar should move.")
        layout = QVBoxLayout(self)
        self.choice_label = QLabel("&Microphone:", self)
        self.devices = QComboBox(self)
        self.devices.setObjectName("microphones")
        self.devices.setAccessibleName("Microphone")
        self.devices.addItem("Looking for microphones…", None)
        self.devices.setEnabled(False)
        self.choice_label.setBuddy(self.devices)
        row = QHBoxLayout()
        row.addWidget(self.choice_label)
        row.addWidget(self.devices, 1)
        layout.addLayout(row)
        layout.addSpacing(12)
        self.level = LevelMeter("Speak as you would to the assistant: the bar should reach about the middle.", self)
        self.meter, self.warning = self.level.meter, self.level.warning
        layout.addWidget(self.level)
        layout.addStretch(1)
        self.note = _label(
            "The app listens with the microphone chosen here from now on (the audio.input_device setting). "
            "This page opens it only while it is shown.",
            self,
            "microphone_note",
            rich=False,
        )
        layout.addWidget(self.note)
        self.apply_palette()

    def apply_palette(self) -> None:
        coloured(self.note, text_colours(self.palette())[0])

    def show_microphones(self, found: DeviceChoices) -> None:
        show_choices(self.devices, found)

    def show_no_microphones(self, why: str) -> None:
        """The microphones could not be listed (no PortAudio, a sound system that fails): said under the meter."""
        self.devices.clear()
        self.devices.addItem("No microphone can be used", None)
        self.devices.setEnabled(False)
        self.show_warning(why)

    def show_reading(self, reading: LevelReading) -> None:
        self.level.show_reading(reading)

    def show_warning(self, text: str | None) -> None:
        self.level.show_warning(text)

    def stopped(self) -> None:
        self.level.stopped()


class RecognitionPage(_Page):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle("Speech recognition")
        self.setSubTitle("What turns your voice into text. It runs on this computer; nothing is sent anywhere.")
        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        self.choices = QButtonGroup(self)
        self.built_in = QRadioButton("&Built-in English recogniser (PocketSphinx): works now, no download", self)
        self.built_in.setObjectName("built_in")
        self.choices.addButton(self.built_in, 0)
        layout.addWidget(self.built_in)
        self._models_layout = QVBoxLayout()
        layout.addLayout(self._models_layout)
        self.model_buttons: list[QRadioButton] = []
        self.models: tuple[ModelChoice, ...] = ()
        self.no_models = _label(NO_MODELS, self, "no_models")
        self.no_models.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.no_models.hide()
        layout.addWidget(self.no_models)
        self.more_models = _label(MORE_MODELS, self, "more_models")
        self.more_models.hide()
        layout.addWidget(self.more_models)
        layout.addStretch(1)
        self.in_use = _label("", self, "recogniser_in_use")
        self.in_use.setAccessibleName("Listening with")
        self.description = ""  # what listens, once known
        layout.addWidget(self.in_use)
        self.apply_palette()

    def apply_palette(self) -> None:
        coloured(self.more_models, text_colours(self.palette())[0])

    def show_recognisers(self, found: Recognisers) -> None:
        if found.models != self.models:
            for button in self.model_buttons:
                self.choices.removeButton(button)
                button.deleteLater()
            self.models = found.models
            self.model_buttons = []
            for number, model in enumerate(found.models, start=1):
                button = QRadioButton(f"Vosk model {model.name} ({model.language})", self)
                button.setObjectName(f"model_{number}")
                self.choices.addButton(button, number)
                self._models_layout.addWidget(button)
                self.model_buttons.append(button)
        self.no_models.setVisible(not found.models)
        self.more_models.setVisible(bool(found.models))
        chosen = next((i for i, m in enumerate(found.models, start=1) if m.name == found.in_use), 0)
        checked = self.choices.button(chosen)
        if checked is not None:
            checked.setChecked(True)
        self.description = found.description
        self.in_use.setText(f"Listening with: <b>{html.escape(found.description)}</b>")

    def chosen_model(self, button_id: int) -> str | None:
        """The model a choice's button stands for; None for the built-in recogniser."""
        return self.models[button_id - 1].name if 0 < button_id <= len(self.models) else None


class QuestionPage(_Page):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle("Ask a first question")
        self.setSubTitle("Hold the button (or Ctrl+Space) while you speak, or type it and press Enter.")
        layout = QVBoxLayout(self)
        self.hold_button = QPushButton("&Hold to speak", self)
        self.hold_button.setObjectName("hold_to_speak")
        self.hold_button.setAutoDefault(False)  # Enter must not start and end a turn at once
        self.hold_button.setMinimumHeight(40)
        self.hold_button.setToolTip("Hold while you speak, let go to send (Space on this button, or Ctrl+Space)")
        layout.addWidget(self.hold_button)
        typed = QHBoxLayout()
        self.question = QLineEdit(self)
        self.question.setObjectName("first_question")
        self.question.setPlaceholderText("Or type a question and press Enter")
        self.question.setAccessibleName("Question")
        self.ask_button = QPushButton("&Ask", self)
        typed.addWidget(self.question, 1)
        typed.addWidget(self.ask_button)
        layout.addLayout(typed)
        suggestions = QHBoxLayout()
        self.try_label = QLabel("Try:", self)
        self.try_label.setObjectName("try")
        suggestions.addWidget(self.try_label)
        self.suggestions: list[QPushButton] = []
        for text in SUGGESTIONS:
            button = QPushButton(f"“{text}”", self)
            button.setAccessibleName(f"Ask: {text}")
            button.setToolTip(f"Ask “{text}”")
            suggestions.addWidget(button)
            self.suggestions.append(button)
        suggestions.addStretch(1)
        layout.addLayout(suggestions)
        self.panel = QFrame(self)
        self.panel.setObjectName("conversation")
        self.panel.setFrameShape(QFrame.Shape.StyledPanel)
        self.panel.setBackgroundRole(QPalette.ColorRole.Base)
        self.panel.setAutoFillBackground(True)
        panel_layout = QVBoxLayout(self.panel)
        panel_layout.setSpacing(8)
        self.you = self._bubble("you", "Your question", panel_layout, right=True)
        self.answer = self._bubble("answer", "The answer", panel_layout, right=False)
        panel_layout.addStretch(1)
        layout.addWidget(self.panel, 1)
        self.status = _label("", self, "question_status", rich=False)
        self.status.setAccessibleName("Status")
        layout.addWidget(self.status)
        self.apply_palette()

    def _bubble(self, name: str, description: str, layout: QVBoxLayout, *, right: bool) -> QLabel:
        label = QLabel("", self.panel)
        label.setObjectName(name)
        label.setWordWrap(True)
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        label.setAccessibleDescription(description)
        label.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Preferred)
        label.hide()
        row = QHBoxLayout()
        if right:
            row.addStretch(1)
        row.addWidget(label)
        if not right:
            row.addStretch(1)
        layout.addLayout(row)
        return label

    def apply_palette(self) -> None:
        colours = ChatColours.from_palette(self.palette())
        self.you.setStyleSheet(_bubble_style("you", colours.user))
        self.answer.setStyleSheet(_bubble_style("answer", colours.assistant))
        quiet, _warning = text_colours(self.palette())
        coloured(self.status, quiet)
        coloured(self.try_label, quiet)

    def say(self, label: QLabel, text: str) -> None:
        """One of the bubbles (`you`, `answer`) shows `text`; hidden while empty."""
        label.setText(text)
        label.setAccessibleName(f"{label.accessibleDescription()}: {text}")
        # A wrapping label guesses its width; a short answer would wrap after a few words without this.
        room = int(max(self.panel.width(), 400) * BUBBLE_SHARE)
        natural = label.fontMetrics().horizontalAdvance(text) + 2 * BUBBLE_PADDING_PX + 4
        label.setMinimumWidth(min(natural, room))
        label.setVisible(bool(text))
        if text:
            announce(label, QAccessible.Event.NameChanged)


class DonePage(_Page):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle("You are set")
        self.setSubTitle("Ask anything in the main window, by voice or typed.")
        layout = QVBoxLayout(self)
        layout.setSpacing(12)
        self.summary = _label("", self, "summary")
        layout.addWidget(self.summary)
        # Shown (by the guide) only where there is an applications menu without the app's entry in it.
        self.in_menu = QCheckBox("Show Voice Assistant in the &applications menu, with its icon", self)
        self.in_menu.setObjectName("in_applications_menu")
        self.in_menu.hide()
        self.in_menu.setEnabled(False)  # until the guide has looked for the entry
        layout.addWidget(self.in_menu)
        layout.addWidget(
            _label(
                "Open this guide again at any time from <b>Help &gt; First-run guide…</b>. The microphone and the "
                "recogniser can be changed in the settings too.",
                self,
                "reopen",
            )
        )
        layout.addStretch(1)

    def summarise(self, microphone: str | None, recogniser: str) -> None:
        lines = [f"Microphone: <b>{html.escape(microphone or 'the system default')}</b>"]
        if recogniser:
            lines.append(f"Recogniser: <b>{html.escape(recogniser)}</b>")
        self.summary.setText("<br>".join(lines))
