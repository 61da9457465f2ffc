"""Secondary text and warnings in colours worked out from the palette (so they follow a light or dark
desktop and stay readable), and telling screen readers what changed."""

from __future__ import annotations

from desktop_app.ui.chat_colours import ERROR_HUE, mix, readable
from desktop_app.ui.qt import QAccessible, QAccessibleEvent, QColor, QLabel, QPalette, QWidget


def text_colours(palette: QPalette) -> tuple[QColor, QColor]:
    """(quiet, warning): secondary text and a warning's text on the window's background, both readable."""
    text, window = palette.color(QPalette.ColorRole.WindowText), palette.color(QPalette.ColorRole.Window)
    quiet = readable(mix(text, window, 0.35), window, text)
    dark = window.lightnessF() < 0.5
    warning = readable(QColor.fromHslF(ERROR_HUE / 360, 0.62, 0.72 if dark else 0.42), window, text)
    return quiet, warning


def coloured(label: QLabel, colour: QColor) -> None:
    """The label's text in `colour` (the label needs an objectName)."""
    label.setStyleSheet(f"QLabel#{label.objectName()} {{ color: {colour.name()}; }}")


def announce(widget: QWidget, kind: QAccessible.Event) -> None:
    """Screen readers hear what changed, not only what they are pointed at."""
    QAccessible.updateAccessibility(QAccessibleEvent(widget, kind))
