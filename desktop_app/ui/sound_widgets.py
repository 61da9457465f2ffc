"""What the first-run guide and Settings > Audio show of sound devices: a picker's items (the system default
first, then each device by name, a saved one that is not connected kept as such) and the microphone's level
meter with its warning when nothing is heard. They read nothing themselves: workers list the devices
(audio.choices) and a LevelProbe (ui.microphone_probe) measures the level."""

from __future__ import annotations

from typing import TYPE_CHECKING

from desktop_app.ui.microphone_probe import LevelReading
from desktop_app.ui.palette_text import announce, coloured, text_colours
from desktop_app.ui.qt import (
    QAccessible,
    QComboBox,
    QEvent,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QStyle,
    Qt,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from desktop_app.audio.choices import DeviceChoices  # lists devices: loads PortAudio

METER_FLOOR_DB = -60.0
METER_FALL_PER_TICK = 4  # percent: the bar sinks smoothly instead of flickering between blocks
SILENT_WARNING_S = 3.0
SILENT_WARNING = (
    "Nothing heard for 3 seconds. Speak: the bar should move. If it stays still, pick another microphone, "
    "or check that this one is not muted."
)

WARNING_ICON_PX = 20
NOT_CONNECTED = "{name} (not connected)"


def show_choices(combo: QComboBox, choices: DeviceChoices) -> None:
    """The system default first (its item's data None), then each device by name (its name as data); the
    one the saved choice stands for is chosen, and a saved one that is not connected is listed as such and
    chosen, not replaced."""
    combo.clear()
    default = choices.default
    combo.addItem(f"System default ({default.name})" if default is not None else "System default", None)
    for device in choices.devices:
        combo.addItem(device.name, device.name)
    if choices.wanted:
        index = combo.findData(choices.chosen.name) if choices.chosen is not None else -1
        if index < 1:
            combo.addItem(NOT_CONNECTED.format(name=choices.wanted), choices.wanted)
            index = combo.count() - 1
        combo.setCurrentIndex(index)
    else:
        combo.setCurrentIndex(0)
    combo.setEnabled(True)


def chosen_name(combo: QComboBox, index: int) -> str | None:
    """The device an item stands for; None for the system default."""
    data = combo.itemData(index)
    return data if isinstance(data, str) else None


class LevelMeter(QWidget):
    """A "Level" bar fed LevelReadings at the window's pace, an optional hint under it, and a warning (with
    its icon) when the microphone fails or nothing has been heard for SILENT_WARNING_S."""

    def __init__(self, hint: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.level_label = QLabel("Level", self)
        self.meter = QProgressBar(self)
        self.meter.setObjectName("level")
        self.meter.setRange(0, 100)
        self.meter.setTextVisible(False)
        self.meter.setFixedHeight(18)
        self.meter.setAccessibleName("Microphone level")
        self.level_label.setBuddy(self.meter)
        layout.addWidget(self.level_label)
        layout.addWidget(self.meter)
        self.hint = _plain_label(hint, self, "hint")
        self.hint.setVisible(bool(hint))
        layout.addWidget(self.hint)
        layout.addSpacing(6)
        self.warning_row, self.warning = self._warning_row()
        layout.addWidget(self.warning_row)
        self.apply_palette()

    def _warning_row(self) -> tuple[QWidget, QLabel]:
        row = QWidget(self)
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        icon = QLabel(row)
        icon.setPixmap(self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning).pixmap(WARNING_ICON_PX))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        warning = _plain_label("", row, "microphone_warning")
        warning.setAccessibleName("Microphone warning")
        layout.addWidget(icon)
        layout.addWidget(warning, 1)
        row.hide()
        return row, warning

    def apply_palette(self) -> None:
        quiet, warning = text_colours(self.palette())
        coloured(self.hint, quiet)
        coloured(self.warning, warning)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() is QEvent.Type.PaletteChange:
            self.apply_palette()

    def show_reading(self, reading: LevelReading) -> None:
        span = -METER_FLOOR_DB
        target = int(max(0.0, min(span, reading.loudest_dbfs - METER_FLOOR_DB)) / span * 100)
        self.meter.setValue(max(target, self.meter.value() - METER_FALL_PER_TICK))
        self.show_warning(reading.error or (SILENT_WARNING if reading.quiet_s >= SILENT_WARNING_S else None))

    def show_warning(self, text: str | None) -> None:
        if text is None:
            self.warning_row.hide()
            return
        if self.warning.text() != text or not self.warning_row.isVisible():
            self.warning.setText(text)
            self.warning_row.show()
            announce(self.warning, QAccessible.Event.Alert)

    def stopped(self) -> None:
        self.meter.setValue(0)
        self.warning_row.hide()


def _plain_label(text: str, parent: QWidget, name: str) -> QLabel:
    label = QLabel(text, parent)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setObjectName(name)
    return label
