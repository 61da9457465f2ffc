"""Push to talk: the key held (or pressed twice) anywhere on the desktop, captured by pressing it, and
whether a turn lasts while the key is held or from one press to the next."""

from __future__ import annotations

from desktop_app.core.errors import ValidationError
from desktop_app.core.settings import TALK_HOTKEY, TALK_MODE
from desktop_app.hotkey import HotkeySpec
from desktop_app.ui.qt import (
    QButtonGroup,
    QHBoxLayout,
    QKeySequence,
    QKeySequenceEdit,
    QLabel,
    QPushButton,
    QRadioButton,
    QSignalBlocker,
    QWidget,
)
from desktop_app.ui.settings.context import SettingsContext
from desktop_app.ui.settings.section import Section

MODES = (("hold", "&Hold the key while speaking"), ("toggle", "&Press once to start, once more to send"))
CAPTURE_HINT = (
    "Click the field and press the keys together (for example Ctrl+Alt+Space). The key works in every "
    "application; where the desktop does not let the app listen for it, Help > Push to talk from anywhere… "
    "shows how to bind it in the desktop's own settings."
)


class PushToTalkSection(Section):
    name = "push_to_talk"
    title = "Push to talk"

    def __init__(self, context: SettingsContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        key_label = QLabel("Push-to-talk &key:", self)
        self.capture = QKeySequenceEdit(self)
        self.capture.setObjectName("hotkey_capture")
        self.capture.setAccessibleName("Push-to-talk key")
        self.capture.setMaximumSequenceLength(1)
        self.capture.setToolTip(TALK_HOTKEY.description)
        key_label.setBuddy(self.capture)
        self.reset = QPushButton(f"&Use {HotkeySpec.parse(TALK_HOTKEY.default).display()}", self)
        self.reset.setObjectName("hotkey_default")
        row = QHBoxLayout()
        row.addWidget(key_label)
        row.addWidget(self.capture, 1)
        row.addWidget(self.reset)
        hint = QLabel(CAPTURE_HINT, self)
        hint.setWordWrap(True)
        self.layout_.addLayout(row)
        self.layout_.addWidget(hint)
        self.modes = QButtonGroup(self)
        self.mode_buttons: dict[str, QRadioButton] = {}
        for mode, text in MODES:
            button = QRadioButton(text, self)
            button.setObjectName(f"mode_{mode}")
            self.modes.addButton(button)
            self.mode_buttons[mode] = button
            self.layout_.addWidget(button)
            button.toggled.connect(self._mode_chosen)
        self.bindings.follow(TALK_HOTKEY, self._show_hotkey)
        self.bindings.follow(TALK_MODE, self._show_mode)
        self.capture.editingFinished.connect(self._captured)
        self.reset.clicked.connect(lambda: self._save_hotkey(TALK_HOTKEY.default))

    def _show_hotkey(self, text: str) -> None:
        try:
            shown = QKeySequence(HotkeySpec.parse(text).kde_shortcut())
        except ValidationError:
            shown = QKeySequence()
        with QSignalBlocker(self.capture):
            self.capture.setKeySequence(shown)

    def _show_mode(self, mode: str) -> None:
        button = self.mode_buttons.get(mode)
        if button is not None:
            with QSignalBlocker(button):
                button.setChecked(True)

    def _captured(self) -> None:
        sequence = self.capture.keySequence()
        if sequence.isEmpty():
            return
        try:
            text = str(HotkeySpec.parse(sequence.toString(QKeySequence.SequenceFormat.PortableText)))
        except ValidationError as error:
            self.report(error.message)
            self._show_hotkey(self.context.settings.get(TALK_HOTKEY))
            return
        self._save_hotkey(text)

    def _save_hotkey(self, text: str) -> None:
        if text != self.context.settings.get(TALK_HOTKEY):
            self.bindings.save(TALK_HOTKEY, text, restore=self._show_hotkey)
        else:
            self.report(None)

    def _mode_chosen(self, on: bool) -> None:
        mode = next((mode for mode, button in self.mode_buttons.items() if button.isChecked()), None)
        if on and mode is not None and mode != self.context.settings.get(TALK_MODE):
            self.bindings.save(TALK_MODE, mode, restore=self._show_mode)
