"""The conversation view's colours, worked out from the palette (light or dark, the system's or the user's)
and nudged until text meets WCAG's 4.5:1 contrast against what it is drawn on.

The accent (the user's bubbles) is the palette's highlight, the assistant's bubbles a faint tint of the
text colour over the background; only the error hue is chosen here, at a lightness that suits the palette.
"""

from __future__ import annotations

from dataclasses import dataclass

from desktop_app.ui.qt import QColor, QPalette

TEXT_CONTRAST = 4.5  # WCAG AA for body text
_STEPS = 24  # nudges before giving up (a palette that cannot reach it keeps its best try)
ERROR_HUE = 4  # a calm red


def mix(a: QColor, b: QColor, amount: float) -> QColor:
    """`a` moved `amount` (0 to 1) of the way towards `b`."""
    return QColor.fromRgbF(
        a.redF() + (b.redF() - a.redF()) * amount,
        a.greenF() + (b.greenF() - a.greenF()) * amount,
        a.blueF() + (b.blueF() - a.blueF()) * amount,
    )


def luminance(colour: QColor) -> float:
    def channel(value: float) -> float:
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(colour.redF()) + 0.7152 * channel(colour.greenF()) + 0.0722 * channel(colour.blueF())


def contrast(a: QColor, b: QColor) -> float:
    """WCAG contrast ratio, from 1 (the same) to 21 (black on white)."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def readable(colour: QColor, background: QColor, towards: QColor, ratio: float = TEXT_CONTRAST) -> QColor:
    """`colour`, moved towards `towards` (the palette's full-strength text) until it reads on `background`."""
    for step in range(_STEPS + 1):
        candidate = mix(colour, towards, step / _STEPS)
        if contrast(candidate, background) >= ratio:
            return candidate
    return QColor(towards)


def behind(background: QColor, text: QColor, ratio: float = TEXT_CONTRAST) -> QColor:
    """`background`, made darker (light text) or lighter (dark text) until `text` reads on it."""
    candidate = QColor(background)
    for _ in range(_STEPS):
        if contrast(text, candidate) >= ratio:
            break
        candidate = candidate.darker(110) if luminance(text) > luminance(candidate) else candidate.lighter(110)
    return candidate


@dataclass(frozen=True, slots=True)
class Bubble:
    background: QColor
    text: QColor
    quiet: QColor  # the time and source line
    border: QColor | None = None


@dataclass(frozen=True, slots=True)
class ChatColours:
    user: Bubble
    assistant: Bubble
    partial: Bubble  # the user still speaking
    announcement: Bubble
    error: Bubble
    error_mark: QColor
    separator: Bubble  # the date pill
    focus: QColor
    selection: QColor
    dark: bool

    @classmethod
    def from_palette(cls, palette: QPalette) -> ChatColours:
        role = QPalette.ColorRole
        base = palette.color(role.Base)
        text = palette.color(role.Text)
        accent = palette.color(role.Highlight)
        on_accent = palette.color(role.HighlightedText)
        dark = base.lightnessF() < 0.5

        # Some margin above the minimum, so the time under the user's words can be a little quieter too.
        user_bg = behind(accent, on_accent, TEXT_CONTRAST + 1.0)
        user = Bubble(user_bg, on_accent, readable(mix(on_accent, user_bg, 0.2), user_bg, on_accent))

        assistant_bg = mix(base, text, 0.08 if dark else 0.065)
        assistant = Bubble(assistant_bg, text, readable(mix(text, assistant_bg, 0.45), assistant_bg, text))

        partial_bg = mix(base, accent, 0.14)
        partial_text = readable(mix(text, partial_bg, 0.3), partial_bg, text)
        partial = Bubble(partial_bg, partial_text, readable(mix(text, partial_bg, 0.45), partial_bg, text), accent)

        announcement = Bubble(assistant_bg, text, assistant.quiet, mix(accent, assistant_bg, 0.2))

        hue = QColor.fromHslF(ERROR_HUE / 360, 0.62, 0.72 if dark else 0.42)
        error_bg = mix(assistant_bg, hue, 0.10)
        error_mark = readable(hue, error_bg, text)
        error = Bubble(error_bg, text, error_mark, mix(hue, error_bg, 0.35))

        separator_bg = mix(base, text, 0.05)
        separator_text = readable(mix(text, separator_bg, 0.45), separator_bg, text)
        separator = Bubble(separator_bg, separator_text, separator_text)

        selection = QColor(accent)
        selection.setAlphaF(0.16)
        return cls(user, assistant, partial, announcement, error, error_mark, separator, accent, selection, dark)
