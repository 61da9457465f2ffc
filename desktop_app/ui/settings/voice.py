"""Voice: which voice answers, how fast and how loud, whether answers are spoken at all, and a preview that
says a sentence in the voice as it is set now (through the app's own speaker, kept nowhere)."""

from __future__ import annotations

from desktop_app.core.ports import VoiceInfo
from desktop_app.core.settings import VOICE_NAME, VOICE_RATE, VOICE_SPEAK_REPLIES, VOICE_VOLUME
from desktop_app.ui.qt import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSignalBlocker,
    QSlider,
    QSpinBox,
    Qt,
    QWidget,
)
from desktop_app.ui.settings.context import SettingsContext
from desktop_app.ui.settings.section import Section, named

SAMPLE = "Hello! This is how I will sound when I answer you."
DEFAULT_VOICE = "The engine's default voice"
VOLUME_STEPS = 100  # the slider's percent


def voice_label(voice: VoiceInfo) -> str:
    languages = ", ".join(voice.languages[:3])
    return f"{voice.name} ({languages})" if languages else voice.name


class VoiceSection(Section):
    name = "voice"
    title = "Voice"

    def __init__(self, context: SettingsContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        form = QFormLayout()
        self.voice = named(QComboBox(self), "voice", "Voice", VOICE_NAME.description)
        self.voice.addItem(DEFAULT_VOICE, None)
        self.rate = named(QSpinBox(self), "rate", "Speaking rate", VOICE_RATE.description)
        self.rate.setSuffix(" words a minute")
        self.volume = named(QSlider(Qt.Orientation.Horizontal, self), "volume", "Volume", VOICE_VOLUME.description)
        self.volume.setRange(0, VOLUME_STEPS)
        self.volume.setPageStep(10)
        self.volume_label = QLabel(self)
        volume_row = QHBoxLayout()
        volume_row.addWidget(self.volume, 1)
        volume_row.addWidget(self.volume_label)
        voice_label_ = QLabel("&Voice:", self)
        voice_label_.setBuddy(self.voice)
        rate_label = QLabel("&Rate:", self)
        rate_label.setBuddy(self.rate)
        volume_label = QLabel("V&olume:", self)
        volume_label.setBuddy(self.volume)
        form.addRow(voice_label_, self.voice)
        form.addRow(rate_label, self.rate)
        form.addRow(volume_label, volume_row)
        self.layout_.addLayout(form)
        self.speak_replies = self.bound_check_box("&Speak answers aloud", VOICE_SPEAK_REPLIES, "speak_replies")
        self.preview = named(QPushButton("&Preview", self), "preview", tip=f"Says “{SAMPLE}” in the voice as set now")
        self.preview_status = named(QLabel("", self), "preview_status")
        self.preview_status.setWordWrap(True)
        preview_row = QHBoxLayout()
        preview_row.addWidget(self.preview)
        preview_row.addWidget(self.preview_status, 1)
        self.layout_.addLayout(preview_row)

        self.bindings.combo(self.voice, VOICE_NAME)
        self.bindings.spin(self.rate, VOICE_RATE)
        self.bindings.follow(VOICE_VOLUME, self._show_volume)
        self.volume.sliderReleased.connect(self._save_volume)
        self.volume.valueChanged.connect(self._volume_moved)
        self.preview.clicked.connect(self._say_sample)
        self._voices_read = False
        if context.speech is None:
            self.preview.setEnabled(False)
            self.preview_status.setText("The voice is off in this window, so there is nothing to preview.")

    def entered(self) -> None:
        if not self._voices_read and self.context.speech is not None:
            self._voices_read = True
            speech = self.context.speech
            self.context.background.run("voices", speech.voices, self._show_voices, self._voices_failed)

    def _show_voices(self, voices: list[VoiceInfo]) -> None:
        with QSignalBlocker(self.voice):
            for voice in sorted(voices, key=lambda v: v.name.lower()):
                self.voice.addItem(voice_label(voice), voice.id)
        chosen = self.context.settings.get(VOICE_NAME)
        if chosen is not None and self.voice.findData(chosen) < 0:  # not installed here: kept, and said
            self.voice.addItem(f"{chosen} (not installed: the default is used)", chosen)
        index = self.voice.findData(chosen)
        with QSignalBlocker(self.voice):
            self.voice.setCurrentIndex(max(index, 0))
        if not voices:
            self.preview_status.setText("No voices are listed yet: they are once the voice services have started.")

    def _voices_failed(self, error: Exception) -> None:
        self._voices_read = False
        self.report(f"The voices could not be listed: {error}")

    def _show_volume(self, volume: float) -> None:
        with QSignalBlocker(self.volume):
            self.volume.setValue(round(volume * VOLUME_STEPS))
        self.volume_label.setText(f"{round(volume * 100)} %")

    def _volume_moved(self, value: int) -> None:
        self.volume_label.setText(f"{value} %")
        if not self.volume.isSliderDown():  # keys and clicks on the groove: saved at once; a drag on release
            self._save_volume()

    def _save_volume(self) -> None:
        self.bindings.save(VOICE_VOLUME, self.volume.value() / VOLUME_STEPS, restore=self._show_volume)

    def _say_sample(self) -> None:
        speech = self.context.speech
        if speech is None:
            return
        self.preview.setEnabled(False)
        self.context.background.run(
            "preview", lambda: speech.say_sample(SAMPLE), self._sample_said, self._sample_failed
        )

    def _sample_said(self, said: bool) -> None:
        self.preview.setEnabled(True)
        if said:
            self.preview_status.setText("Speaking…")
        elif not self.context.settings.get(VOICE_SPEAK_REPLIES):
            self.preview_status.setText("Answers are not spoken: switch on “Speak answers aloud” to hear the voice.")
        else:
            self.preview_status.setText("Not now: the assistant is listening or answering. Try again in a moment.")

    def _sample_failed(self, error: Exception) -> None:
        self.preview.setEnabled(True)
        self.report(f"The preview could not be spoken: {error}")
