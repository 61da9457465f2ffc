"""One page of the settings dialog. A section builds its widgets on a SettingsContext, binds them to
settings through `self.bindings`, and says problems in its own message line (`self.report`). The dialog
calls `entered()` when the section is shown and `left()` when another is chosen or the dialog closes (a
microphone test or a level meter stops there), and `close_section()` once at the end."""

from __future__ import annotations

from typing import ClassVar, TypeVar

from desktop_app.core.settings import Setting
from desktop_app.ui.qt import QCheckBox, QKeyEvent, QLabel, Qt, QVBoxLayout, QWidget
from desktop_app.ui.settings.binding import Bindings
from desktop_app.ui.settings.context import SettingsContext

PROBLEM_STYLE = "QLabel#section_problem { color: #b00020; }"
W = TypeVar("W", bound=QWidget)


def named(widget: W, name: str, accessible: str = "", tip: str = "") -> W:
    """A widget the tests and screen readers find: its object name, accessible name and tooltip."""
    widget.setObjectName(name)
    if accessible:
        widget.setAccessibleName(accessible)
    if tip:
        widget.setToolTip(tip)
    return widget


class Section(QWidget):
    # What show_section() and the tests call the section, and its entry in the dialog's list.
    name: ClassVar[str]
    title: ClassVar[str]

    def __init__(self, context: SettingsContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.setObjectName(f"section_{self.name}")
        self.setAccessibleName(self.title)
        self.problem = QLabel("", self)
        self.problem.setObjectName("section_problem")
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet(PROBLEM_STYLE)
        self.problem.setAccessibleName("Problem")
        self.problem.hide()
        self.bindings = Bindings(context, self.report)
        self.layout_ = QVBoxLayout(self)

    def bound_check_box(self, text: str, setting: Setting[bool], name: str) -> QCheckBox:
        """A check box for a true-or-false setting, its description as the tooltip, added to the section."""
        box = named(QCheckBox(text, self), name, tip=setting.description)
        self.bindings.check_box(box, setting)
        self.layout_.addWidget(box)
        return box

    def finish_layout(self) -> None:
        """Puts the message line under what the section added, with the room left below it."""
        self.layout_.addWidget(self.problem)
        self.layout_.addStretch(1)

    def report(self, problem: str | None) -> None:
        """Shows a problem in words under the section (None: the last one is over)."""
        self.problem.setText(problem or "")
        self.problem.setVisible(bool(problem))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Enter in a field saves that field (its editingFinished) and stops here, rather than reaching the
        dialog, which would press a default button."""
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            event.accept()
            return
        super().keyPressEvent(event)

    def entered(self) -> None:
        """The section is shown."""

    def left(self) -> None:
        """Another section is shown, or the dialog closes."""

    def close_section(self) -> None:
        """The dialog closes: stop following the settings, end what runs."""
        self.left()
        self.bindings.close()
