"""Draws one message as a bubble and measures it; opens it as selectable text on request.

Each bubble's text is laid out once per width and revision (a QTextLayout, kept by the entry's serial)
and then only drawn, so painting while scrolling through 1,000 messages lays out no text, and a streamed
answer's new chunk lays out that one answer.

A bubble from the top: the date separator (first message of a day), the text, the quiet line (time,
source, "stopped") with the "details" toggle, and the latency breakdown when it is unfolded.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from desktop_app.ui.chat_colours import Bubble, ChatColours
from desktop_app.ui.chat_model import ENTRY_ROLE, HEADER_ROLE, ChatModel
from desktop_app.ui.chat_text import SEPARATOR, ChatEntry, Speaker, latency_heading, latency_lines, meta_text
from desktop_app.ui.qt import (
    QAbstractItemModel,
    QColor,
    QEvent,
    QFont,
    QFontMetricsF,
    QFrame,
    QModelIndex,
    QMouseEvent,
    QPainter,
    QPalette,
    QPen,
    QPersistentModelIndex,
    QPointF,
    QRect,
    QRectF,
    QSize,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    Qt,
    QTextEdit,
    QTextLayout,
    QTextOption,
    QWidget,
)

Index = QModelIndex | QPersistentModelIndex

MARGIN_X = 14  # from the view's edge to a bubble
ROW_GAP = 4  # above and below each bubble
PAD_X = 12
PAD_Y = 8
LINE_GAP = 3  # between the text, the quiet line and the details
RADIUS = 11.0
WIDEST_FRACTION = 0.78  # of the view: the other side stays free, so who spoke shows at a glance
WIDEST_CHARS = 68  # a comfortable reading measure on a wide window
NARROWEST = 140
SMALL_SCALE = 0.86  # the quiet line's font, against the application's
FOCUS_GAP = 3.0
DETAILS_COLUMN_GAP = 18.0
TOGGLE_CLOSED = "details ▸"
TOGGLE_OPEN = "details ▾"
WAITING = "…"  # an answer whose first words have not come yet
ERROR_MARK = "!"
MARK_BACKGROUND = QColor(255, 213, 79)  # a search's words in the text
MARK_TEXT = QColor(20, 20, 20)


@dataclass(frozen=True, slots=True)
class Fonts:
    """The view's font (the application's unless set otherwise) and what is derived from it, made once
    per font rather than once per bubble."""

    body: QFont
    italic: QFont  # the user's words while they speak
    small: QFont  # the quiet line, the date, the details
    link: QFont  # the "details" toggle
    bold_small: QFont
    body_metrics: QFontMetricsF
    small_metrics: QFontMetricsF
    separator_width: float
    toggle_widths: dict[str, float]

    @classmethod
    def of(cls, font: QFont) -> Fonts:
        italic = QFont(font)
        italic.setItalic(True)
        small = QFont(font)
        if font.pointSizeF() > 0:
            small.setPointSizeF(max(6.0, font.pointSizeF() * SMALL_SCALE))
        else:
            small.setPixelSize(max(8, round(font.pixelSize() * SMALL_SCALE)))
        link = QFont(small)
        link.setUnderline(True)
        bold_small = QFont(small)
        bold_small.setBold(True)
        small_metrics = QFontMetricsF(small)
        return cls(
            body=QFont(font),
            italic=italic,
            small=small,
            link=link,
            bold_small=bold_small,
            body_metrics=QFontMetricsF(font),
            small_metrics=small_metrics,
            separator_width=small_metrics.horizontalAdvance(SEPARATOR),
            toggle_widths={text: QFontMetricsF(link).horizontalAdvance(text) for text in (TOGGLE_OPEN, TOGGLE_CLOSED)},
        )

    def for_text(self, entry: ChatEntry) -> QFont:
        return self.italic if entry.provisional else self.body


@dataclass(slots=True)
class BubbleLayout:
    """One entry measured for one width, font and revision; positions are from the row's top and the
    bubble's left edge."""

    width: int
    revision: int
    text: QTextLayout
    text_height: float
    bubble_width: float
    bubble_height: float
    header_height: float
    height: int
    meta: str
    meta_width: float
    toggle: str  # "" when there is nothing to unfold
    toggle_x: float
    line_width: float  # the quiet line with its toggle
    details: list[tuple[str, str]]
    details_heading: str
    value_x: float  # where the details' values start

    @property
    def bubble_top(self) -> float:
        return self.header_height + ROW_GAP

    @property
    def meta_top(self) -> float:
        return self.bubble_top + PAD_Y + self.text_height + LINE_GAP


def _wrapping() -> QTextOption:
    option = QTextOption()
    option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
    return option


WRAPPING = _wrapping()


def lay_out_text(text: str, font: QFont, width: float) -> tuple[QTextLayout, float, float]:
    """The text wrapped at `width` (at word boundaries, or anywhere in a word too long for a line):
    the layout, its height and its widest line."""
    layout = QTextLayout(text, font)
    layout.setTextOption(WRAPPING)
    layout.setCacheEnabled(True)
    layout.beginLayout()
    height = widest = 0.0
    while True:
        line = layout.createLine()
        if not line.isValid():
            break
        line.setLineWidth(width)
        line.setPosition(QPointF(0.0, height))
        height += line.height()
        widest = max(widest, line.naturalTextWidth())
    layout.endLayout()
    return layout, height, widest


class ChatDelegate(QStyledItemDelegate):
    def __init__(self, model: ChatModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._width = 400
        self.fonts = Fonts.of(QFont())
        self._layouts: dict[int, BubbleLayout] = {}
        self._colours: tuple[tuple[int, QPalette.ColorGroup], ChatColours] | None = None
        self.on_toggle: Callable[[int], None] | None = None  # a click on a bubble's "details"
        self._marking: re.Pattern[str] | None = None  # a search's words, marked where they appear

    # -- measuring ------------------------------------------------------------------------------------

    def set_width(self, width: int) -> bool:
        """The view's width; True when it changed (every bubble must be measured again)."""
        if width == self._width:
            return False
        self._width = width
        return True

    def set_marking(self, pattern: re.Pattern[str] | None) -> None:
        """Marks the words of a search wherever they appear in the bubbles' text (None: nothing marked)."""
        self._marking = pattern

    def set_font(self, font: QFont) -> None:
        self.fonts = Fonts.of(font)
        self.forget()

    def forget(self, entry: ChatEntry | None = None) -> None:
        """Drops cached layouts: one entry's (it left the view) or all (a new history, another font)."""
        if entry is None:
            self._layouts.clear()
        else:
            self._layouts.pop(entry.serial, None)

    def layout_for(self, entry: ChatEntry) -> BubbleLayout:
        cached = self._layouts.get(entry.serial)
        if cached is not None and cached.revision == entry.revision and cached.width == self._width:
            return cached
        made = self._measure(entry)
        self._layouts[entry.serial] = made
        return made

    def cached_height(self, entry: ChatEntry) -> int | None:
        cached = self._layouts.get(entry.serial)
        return None if cached is None else cached.height

    def _measure(self, entry: ChatEntry) -> BubbleLayout:
        fonts = self.fonts
        small = fonts.small_metrics
        widest = min(self._width * WIDEST_FRACTION, fonts.body_metrics.averageCharWidth() * WIDEST_CHARS + 2 * PAD_X)
        widest = max(min(NARROWEST, self._width - 2 * MARGIN_X), widest)
        text_width = max(1.0, widest - 2 * PAD_X)
        text, text_height, text_widest = lay_out_text(entry.text or WAITING, fonts.for_text(entry), text_width)

        toggle = ""
        if entry.has_details and not entry.streaming:
            toggle = TOGGLE_OPEN if entry.expanded else TOGGLE_CLOSED
        room = text_width - (fonts.separator_width + fonts.toggle_widths[toggle] if toggle else 0.0)
        # A long model name must not run out of a narrow bubble: the line is shortened in its middle.
        meta = small.elidedText(meta_text(entry), Qt.TextElideMode.ElideMiddle, room)
        meta_width = small.horizontalAdvance(meta)
        toggle_x = meta_width + (fonts.separator_width if meta else 0.0)
        line_width = toggle_x + fonts.toggle_widths[toggle] if toggle else meta_width

        details = latency_lines(entry.timings) if entry.expanded else []
        details_height = value_x = details_width = 0.0
        if details:
            labels = max(small.horizontalAdvance(label) for label, _ in details)
            values = max(small.horizontalAdvance(value) for _, value in details)
            value_x = labels + DETAILS_COLUMN_GAP
            heading = small.horizontalAdvance(latency_heading(entry.timings))
            details_width = max(heading, value_x + values)
            details_height = LINE_GAP + small.height() * (len(details) + 1)

        content = min(text_width, max(text_widest, line_width, details_width))
        bubble_width = math.ceil(content) + 2 * PAD_X
        bubble_height = math.ceil(PAD_Y + text_height + LINE_GAP + small.height() + details_height + PAD_Y)
        header_height = math.ceil(small.height() + 2 * PAD_Y) if entry.day_header else 0.0
        return BubbleLayout(
            width=self._width,
            revision=entry.revision,
            text=text,
            text_height=text_height,
            bubble_width=bubble_width,
            bubble_height=bubble_height,
            header_height=header_height,
            height=int(header_height + bubble_height + 2 * ROW_GAP),
            meta=meta,
            meta_width=meta_width,
            toggle=toggle,
            toggle_x=toggle_x,
            line_width=line_width,
            details=details,
            details_heading=latency_heading(entry.timings) if details else "",
            value_x=value_x,
        )

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        entry = self._model.entry(index.row())
        return QSize(self._width, self.layout_for(entry).height)

    # -- where things are -----------------------------------------------------------------------------

    def bubble_rect(self, row_rect: QRect, entry: ChatEntry, layout: BubbleLayout) -> QRectF:
        left = (
            row_rect.right() + 1 - MARGIN_X - layout.bubble_width
            if entry.speaker is Speaker.USER
            else row_rect.left() + MARGIN_X
        )
        return QRectF(left, row_rect.top() + layout.bubble_top, layout.bubble_width, layout.bubble_height)

    def toggle_rect(self, row_rect: QRect, entry: ChatEntry) -> QRectF | None:
        """Where the bubble's "details" toggle is drawn, in the view's coordinates (None: it has none)."""
        layout = self.layout_for(entry)
        if not layout.toggle:
            return None
        bubble = self.bubble_rect(row_rect, entry, layout)
        left = self._meta_left(bubble, entry, layout) + layout.toggle_x
        top = row_rect.top() + layout.meta_top
        return QRectF(left, top, self.fonts.toggle_widths[layout.toggle], self.fonts.small_metrics.height())

    @staticmethod
    def _meta_left(bubble: QRectF, entry: ChatEntry, layout: BubbleLayout) -> float:
        """The quiet line sits under the text on the bubble's outer side (right for the user's)."""
        if entry.speaker is not Speaker.USER:
            return bubble.left() + PAD_X
        return bubble.right() - PAD_X - layout.line_width

    # -- painting -------------------------------------------------------------------------------------

    def colours(self, palette: QPalette) -> ChatColours:
        """Worked out once per palette (and colour group: an inactive window's may differ)."""
        key = (palette.cacheKey(), palette.currentColorGroup())
        if self._colours is None or self._colours[0] != key:
            self._colours = (key, ChatColours.from_palette(palette))
        return self._colours[1]

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        entry = self._model.entry(index.row())
        rect: QRect = option.rect
        state: QStyle.StateFlag = option.state
        colours = self.colours(option.palette)
        layout = self.layout_for(entry)
        bubble = self.bubble_rect(rect, entry, layout)
        style = self._bubble_style(entry, colours)
        fonts = self.fonts

        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if layout.header_height:
            self._paint_header(painter, rect, str(index.data(HEADER_ROLE)), fonts, colours.separator)
        if state & QStyle.StateFlag.State_Selected:
            band = QRectF(rect.left(), bubble.top() - ROW_GAP, rect.width(), bubble.height() + 2 * ROW_GAP)
            painter.fillRect(band, colours.selection)
        self._paint_bubble(painter, entry, bubble, style)
        if entry.is_error:
            self._paint_error_mark(painter, bubble, fonts, colours)
        painter.setPen(style.text if entry.text else style.quiet)
        ranges = self._unspoken(entry, style) + self._marked(entry.text)
        layout.text.draw(painter, QPointF(bubble.left() + PAD_X, bubble.top() + PAD_Y), ranges)
        meta = QPointF(self._meta_left(bubble, entry, layout), rect.top() + layout.meta_top)
        self._paint_meta(painter, layout, meta, fonts, style)
        if layout.details:
            self._paint_details(painter, layout, QPointF(bubble.left() + PAD_X, meta.y()), fonts, style)
        if state & QStyle.StateFlag.State_HasFocus:
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(QPen(colours.focus, 2.0))
            ring = bubble.adjusted(-FOCUS_GAP, -FOCUS_GAP, FOCUS_GAP, FOCUS_GAP)
            painter.drawRoundedRect(ring, RADIUS + FOCUS_GAP, RADIUS + FOCUS_GAP)
        painter.restore()

    @staticmethod
    def _paint_bubble(painter: QPainter, entry: ChatEntry, bubble: QRectF, style: Bubble) -> None:
        painter.setBrush(style.background)
        if style.border is None:
            painter.setPen(Qt.PenStyle.NoPen)
        else:
            pen = QPen(style.border, 1.2)
            if entry.provisional:
                pen.setStyle(Qt.PenStyle.DashLine)
            painter.setPen(pen)
        painter.drawRoundedRect(bubble.adjusted(0.5, 0.5, -0.5, -0.5), RADIUS, RADIUS)

    @staticmethod
    def _paint_meta(painter: QPainter, layout: BubbleLayout, origin: QPointF, fonts: Fonts, style: Bubble) -> None:
        """The quiet line, and the "details" toggle drawn as a link in the same quiet colour."""
        baseline = origin.y() + fonts.small_metrics.ascent()
        painter.setFont(fonts.small)
        painter.setPen(style.quiet)
        painter.drawText(QPointF(origin.x(), baseline), layout.meta)
        if not layout.toggle:
            return
        if layout.meta:
            painter.drawText(QPointF(origin.x() + layout.meta_width, baseline), SEPARATOR)
        painter.setFont(fonts.link)
        painter.drawText(QPointF(origin.x() + layout.toggle_x, baseline), layout.toggle)

    @staticmethod
    def _bubble_style(entry: ChatEntry, colours: ChatColours) -> Bubble:
        if entry.speaker is Speaker.USER:
            return colours.partial if entry.provisional else colours.user
        if entry.is_error:
            return colours.error
        return colours.announcement if entry.announcement else colours.assistant

    def _marked(self, text: str) -> list[QTextLayout.FormatRange]:
        """The search's words: dark on amber, bold, readable on every bubble in light and dark palettes."""
        if self._marking is None:
            return []
        ranges = []
        for found in self._marking.finditer(text):
            mark = QTextLayout.FormatRange()
            mark.start = found.start()
            mark.length = found.end() - found.start()
            mark.format.setBackground(MARK_BACKGROUND)
            mark.format.setForeground(MARK_TEXT)
            mark.format.setFontWeight(QFont.Weight.Bold)
            ranges.append(mark)
        return ranges

    @staticmethod
    def _unspoken(entry: ChatEntry, style: Bubble) -> list[QTextLayout.FormatRange]:
        """A stopped answer's part that was never said, in the quiet colour."""
        if not entry.interrupted or entry.spoken_chars is None or entry.spoken_chars >= len(entry.text):
            return []
        tail = QTextLayout.FormatRange()
        tail.start = entry.spoken_chars
        tail.length = len(entry.text) - entry.spoken_chars
        tail.format.setForeground(style.quiet)
        return [tail]

    @staticmethod
    def _paint_header(painter: QPainter, rect: QRect, label: str, fonts: Fonts, style: Bubble) -> None:
        metrics = fonts.small_metrics
        width = metrics.horizontalAdvance(label) + 2 * PAD_X
        height = metrics.height() + 6
        pill = QRectF(rect.center().x() - width / 2, rect.top() + PAD_Y - 3 + ROW_GAP, width, height)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(style.background)
        painter.drawRoundedRect(pill, height / 2, height / 2)
        painter.setFont(fonts.small)
        painter.setPen(style.text)
        painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, label)

    @staticmethod
    def _paint_error_mark(painter: QPainter, bubble: QRectF, fonts: Fonts, colours: ChatColours) -> None:
        """A small "!" badge on the bubble's outer edge: seen at once, without shouting."""
        size = fonts.small_metrics.height()
        badge = QRectF(bubble.right() - size / 2, bubble.top() - size / 3, size, size)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colours.error_mark)
        painter.drawEllipse(badge)
        painter.setFont(fonts.bold_small)
        painter.setPen(colours.error.background)
        painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, ERROR_MARK)

    @staticmethod
    def _paint_details(painter: QPainter, layout: BubbleLayout, meta: QPointF, fonts: Fonts, style: Bubble) -> None:
        metrics = fonts.small_metrics
        line = metrics.height()
        top = meta.y() + line + LINE_GAP
        painter.setFont(fonts.small)
        painter.setPen(style.quiet)
        painter.drawText(QPointF(meta.x(), top + metrics.ascent()), layout.details_heading)
        painter.setPen(style.text)
        for number, (label, value) in enumerate(layout.details, start=1):
            baseline = top + number * line + metrics.ascent()
            painter.drawText(QPointF(meta.x(), baseline), label)
            painter.drawText(QPointF(meta.x() + layout.value_x, baseline), value)

    # -- clicks and selectable text -------------------------------------------------------------------

    def editorEvent(self, event: QEvent, model: QAbstractItemModel, option: QStyleOptionViewItem, index: Index) -> bool:
        if (
            isinstance(event, QMouseEvent)
            and event.type() is QEvent.Type.MouseButtonRelease
            and event.button() is Qt.MouseButton.LeftButton
            and self.on_toggle is not None
        ):
            entry = self._model.entry(index.row())
            toggle = self.toggle_rect(option.rect, entry)
            if toggle is not None and toggle.adjusted(-4, -4, 4, 4).contains(event.position()):
                self.on_toggle(index.row())
                return True
        return super().editorEvent(event, model, option, index)

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem, index: Index) -> QWidget:
        """The message as read-only text in place, to select part of it (double-click or F2)."""
        entry: ChatEntry = index.data(ENTRY_ROLE)
        style = self._bubble_style(entry, self.colours(option.palette))
        editor = QTextEdit(parent)
        editor.setObjectName("selectable_text")
        editor.setReadOnly(True)
        editor.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        editor.setFrameShape(QFrame.Shape.NoFrame)
        editor.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        editor.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        editor.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        editor.document().setDocumentMargin(0)
        editor.setFont(self.fonts.for_text(entry))
        palette = editor.palette()
        for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
            palette.setColor(group, QPalette.ColorRole.Base, style.background)
            palette.setColor(group, QPalette.ColorRole.Text, style.text)
        editor.setPalette(palette)
        editor.setAccessibleName(f"Text of the message: {entry.text}")
        return editor

    def setEditorData(self, editor: QWidget, index: Index) -> None:
        if isinstance(editor, QTextEdit):
            editor.setPlainText(str(index.data(Qt.ItemDataRole.DisplayRole)))

    def setModelData(self, editor: QWidget, model: QAbstractItemModel, index: Index) -> None:
        """Nothing is written back: the text is only there to be selected."""

    def updateEditorGeometry(self, editor: QWidget, option: QStyleOptionViewItem, index: Index) -> None:
        entry = self._model.entry(index.row())
        layout = self.layout_for(entry)
        bubble = self.bubble_rect(option.rect, entry, layout)
        text = QRectF(bubble.left() + PAD_X, bubble.top() + PAD_Y, bubble.width() - 2 * PAD_X, layout.text_height)
        editor.setGeometry(text.toAlignedRect())
