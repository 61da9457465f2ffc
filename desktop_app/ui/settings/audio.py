"""Audio: the microphone and the speaker by name (the system default first), a live level of the microphone
with a warning when it hears nothing, and a test that records a few seconds and plays them back.

A choice is saved at once (audio.input_device, audio.output_device), and the running app's voice services
follow it. A device the setting names that is not connected now is listed as such and stays chosen: it is
not replaced behind the user's back. The devices are listed on a worker, the level meter's microphone and
the test's devices are opened and closed on threads of their own (ui.microphone_probe, audio.sound_check),
and the main thread only reads their progress at the meter's pace. The meter runs while the section is
shown; leaving it (or closing the dialog) lets every device go.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from desktop_app.audio.sound_check import CheckProgress, Phase, SoundCheck
from desktop_app.core.settings import AUDIO_INPUT_DEVICE, AUDIO_OUTPUT_DEVICE, Setting
from desktop_app.ui.microphone_probe import LevelProbe
from desktop_app.ui.palette_text import announce
from desktop_app.ui.qt import (
    QAccessible,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QTimer,
    QWidget,
)
from desktop_app.ui.settings.binding import Bindings
from desktop_app.ui.settings.context import SettingsContext
from desktop_app.ui.settings.section import Section
from desktop_app.ui.sound_widgets import LevelMeter, chosen_name, show_choices

if TYPE_CHECKING:
    from collections.abc import Callable

    from desktop_app.audio.choices import DeviceChoices

TICK_MS = 30  # the meter's pace, and how often the test's progress is shown
CHECK_S = 3.0
PROGRESS_STEPS = 1000
HINT = "Speak as you would to the assistant: the bar should reach about the middle."
CHECK_TIP = (
    f"Records {CHECK_S:.0f} seconds from the microphone, then plays them back on the speaker, as the assistant "
    "would hear you"
)
HEARD_YOURSELF = "Played back. Did you hear yourself? If not, pick another microphone or speaker."


def _list_both(microphone: str | None, speaker: str | None) -> tuple[DeviceChoices, DeviceChoices]:
    from desktop_app.audio.choices import device_choices  # loads PortAudio: on a worker only

    return device_choices("input", microphone), device_choices("output", speaker)


class _DevicePicker:
    """A combo box of devices bound to its setting: it shows the device the setting names (listed afresh
    when it names one the list does not have) and saves what is picked.

    Each save is echoed back; `Bindings` drops the echoes of earlier values while a newer pick is being saved,
    so a quick run of choices never makes the meter or the test go back to a device left behind."""

    def __init__(
        self,
        combo: QComboBox,
        setting: Setting[str | None],
        bindings: Bindings,
        relist: Callable[[], None],
        changed: Callable[[str | None], None],
    ) -> None:
        self.combo = combo
        self.wanted: str | None = None
        self.listed = False
        self._setting = setting
        self._bindings = bindings
        self._relist = relist
        self._changed = changed
        bindings.follow(setting, self.show_setting)
        combo.activated.connect(self._picked)

    def show_setting(self, value: str | None) -> None:
        """The setting's value: at the start, and after each change, made here or elsewhere."""
        if value != self.wanted:
            self.wanted = value
            self._changed(value)
        if not self.listed:
            return  # the list on its way shows it
        index = self.combo.findData(value)
        if index >= 0:
            self.combo.setCurrentIndex(index)
        else:
            self._relist()  # a device the list does not name yet: whether it is connected is asked anew

    def show_choices(self, choices: DeviceChoices) -> None:
        show_choices(self.combo, choices)
        self.listed = True
        if choices.wanted != self.wanted:
            self._relist()  # the setting changed while the list was read

    def _picked(self, index: int) -> None:
        value = chosen_name(self.combo, index)
        if value == self.wanted:
            return
        self.wanted = value
        self._changed(value)
        # Refused: the setting kept its value (the reason is said under the section), shown again.
        self._bindings.save(self._setting, value, restore=self.show_setting)


class AudioSection(Section):
    name = "audio"
    title = "Audio"

    def __init__(self, context: SettingsContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self._probe = LevelProbe()
        self.check = SoundCheck(CHECK_S)  # the microphone test; its recording is what it heard
        self._testing = False
        self._shown = False
        form = QFormLayout()
        self.microphones = self._combo("microphones", "Microphone", "Looking for microphones…", AUDIO_INPUT_DEVICE)
        self.speakers = self._combo("speakers", "Speaker", "Looking for speakers…", AUDIO_OUTPUT_DEVICE)
        form.addRow("&Microphone:", self.microphones)
        form.addRow("&Speaker:", self.speakers)
        self.refresh = QPushButton("&Refresh devices", self)
        self.refresh.setObjectName("refresh_devices")
        self.refresh.setToolTip("List the microphones and speakers again (after plugging one in)")
        self.refresh.clicked.connect(self._list_devices)
        refresh_row = QHBoxLayout()
        refresh_row.addStretch(1)
        refresh_row.addWidget(self.refresh)
        self.level = LevelMeter(HINT, self)
        self.layout_.addLayout(form)
        self.layout_.addLayout(refresh_row)
        self.layout_.addWidget(self.level)
        self.layout_.addSpacing(12)
        self._add_test()
        self.microphone = _DevicePicker(
            self.microphones, AUDIO_INPUT_DEVICE, self.bindings, self._list_devices, self._microphone_changed
        )
        self.speaker = _DevicePicker(self.speakers, AUDIO_OUTPUT_DEVICE, self.bindings, self._list_devices, _nothing)
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)

    def _add_test(self) -> None:
        """Test microphone, Stop, the test's progress and what came of it."""
        self.test_button = QPushButton("&Test microphone", self)
        self.test_button.setObjectName("test_microphone")
        self.test_button.setToolTip(CHECK_TIP)
        self.test_button.clicked.connect(self._start_check)
        self.stop_button = QPushButton("St&op", self)
        self.stop_button.setObjectName("stop_test")
        self.stop_button.setToolTip("End the test now")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self._stop_check)
        self.test_progress = QProgressBar(self)
        self.test_progress.setObjectName("test_progress")
        self.test_progress.setAccessibleName("Test progress")
        self.test_progress.setRange(0, PROGRESS_STEPS)
        self.test_progress.hide()
        row = QHBoxLayout()
        row.addWidget(self.test_button)
        row.addWidget(self.stop_button)
        row.addWidget(self.test_progress, 1)
        self.test_status = QLabel("", self)
        self.test_status.setObjectName("test_status")
        self.test_status.setAccessibleDescription("What came of the microphone test")  # its text is its name
        self.test_status.setWordWrap(True)
        self.layout_.addLayout(row)
        self.layout_.addWidget(self.test_status)

    def _combo(self, name: str, what: str, placeholder: str, setting: Setting[Any]) -> QComboBox:
        combo = QComboBox(self)
        combo.setObjectName(name)
        combo.setAccessibleName(what)
        combo.setToolTip(setting.description)
        combo.addItem(placeholder, None)
        combo.setEnabled(False)  # until the devices are listed
        return combo

    # -- shown and left -----------------------------------------------------------------------------------

    def entered(self) -> None:
        self._shown = True
        self._probe.open(self.microphone.wanted)
        self._timer.start()
        self._list_devices()

    def left(self) -> None:
        if not self._shown:
            return
        self._shown = False
        self._timer.stop()
        self._probe.close()
        self.level.stopped()
        if self._testing:
            self._stop_check()
            self._check_over(None)

    # -- the devices ----------------------------------------------------------------------------------------

    def _list_devices(self) -> None:
        self.refresh.setEnabled(False)
        microphone, speaker = self.microphone.wanted, self.speaker.wanted
        self.context.background.run(
            "audio-devices", lambda: _list_both(microphone, speaker), self._devices_listed, self._listing_failed
        )

    def _devices_listed(self, found: tuple[DeviceChoices, DeviceChoices]) -> None:
        inputs, outputs = found
        self.microphone.show_choices(inputs)
        self.speaker.show_choices(outputs)
        self._enable_controls()

    def _listing_failed(self, error: Exception) -> None:
        self.report(f"The sound devices could not be listed: {error}")
        self._enable_controls()

    def _microphone_changed(self, name: str | None) -> None:
        if self._probe.running:
            self._probe.switch(name)  # the meter follows the choice, made here or elsewhere

    def _enable_controls(self) -> None:
        idle = not self._testing
        self.refresh.setEnabled(idle)
        self.microphones.setEnabled(idle and self.microphone.listed)
        self.speakers.setEnabled(idle and self.speaker.listed)
        self.test_button.setEnabled(idle)
        self.stop_button.setEnabled(self._testing)

    # -- the meter and the test's progress ----------------------------------------------------------------

    def _tick(self) -> None:
        if self._probe.running:
            self.level.show_reading(self._probe.read())
        if self._testing:
            progress = self.check.progress()
            if progress is not None:
                self._show_progress(progress)

    def _show_progress(self, progress: CheckProgress) -> None:
        if progress.phase.over:
            self._check_over(progress)
        elif progress.phase is Phase.RECORDING:
            left = max(0, math.ceil(progress.seconds - progress.recorded_s))
            self.test_progress.setFormat(f"Recording… {left} s left")
            self.test_progress.setValue(int(progress.recorded_s / progress.seconds * PROGRESS_STEPS))
        else:
            self.test_progress.setFormat("Playing back…")
            self.test_progress.setValue(int(progress.played_s / progress.seconds * PROGRESS_STEPS))

    # -- the test -------------------------------------------------------------------------------------------

    def _start_check(self) -> None:
        if self._testing:
            return
        self.report(None)
        self._testing = True
        self._enable_controls()
        self.stop_button.setFocus()
        self.test_progress.setValue(0)
        self.test_progress.setFormat(f"Recording… {CHECK_S:.0f} s left")
        self.test_progress.show()
        self._say("Speak now: what the microphone hears is played back in a moment.")
        self.check.start(self.microphone.wanted, self.speaker.wanted)  # the devices open on its thread

    def _stop_check(self) -> None:
        self.check.stop()  # ends within a moment; Stop stays where it is (with the focus) until then

    def _check_over(self, progress: CheckProgress | None) -> None:
        had_focus = self.stop_button.hasFocus()
        self._testing = False
        self._enable_controls()
        if had_focus:
            self.test_button.setFocus()
        self.test_progress.hide()
        if progress is None or progress.phase is Phase.STOPPED:
            self._say("Stopped." if progress is not None else "")
        elif progress.phase is Phase.DONE:
            self._say(HEARD_YOURSELF)
        else:
            self._say("")
            self.report(f"The microphone test stopped: {progress.error}")

    def _say(self, text: str) -> None:
        self.test_status.setText(text)
        if text:
            announce(self.test_status, QAccessible.Event.NameChanged)


def _nothing(*_args: object) -> None:
    """For results nobody waits for."""
