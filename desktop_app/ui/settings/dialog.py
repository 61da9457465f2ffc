"""File > Settings… (Ctrl+,): the sections in a list on the left, the chosen one on the right. Everything
applies as it is changed; Close (Esc) only closes. Work a section starts runs on the dialog's workers, and
results come back through its own queue, so the window keeps turning."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from desktop_app.core.keys import KeyStore
from desktop_app.core.ports import AppStore
from desktop_app.core.settings import Settings
from desktop_app.paths import AppPaths
from desktop_app.ui.background import Background
from desktop_app.ui.main_thread import MainThreadQueue
from desktop_app.ui.qt import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QListWidget,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    Qt,
    QVBoxLayout,
    QWidget,
)
from desktop_app.ui.settings.context import SettingsContext, SpeechSample, system_keys
from desktop_app.ui.settings.section import Section

TITLE = "Settings"
SIZE = (820, 600)
LIST_WIDTH = 180


class SettingsDialog(QDialog):
    def __init__(
        self,
        settings: Settings,
        store: AppStore,
        paths: AppPaths,
        sections: Sequence[type[Section]],
        parent: QWidget | None = None,
        *,
        key_store: Callable[[], KeyStore] = system_keys,
        speech: SpeechSample | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(TITLE)
        self.setAccessibleName(TITLE)
        self.setObjectName("settings_dialog")
        self.resize(*SIZE)
        self._calls = MainThreadQueue(self)
        self._background = Background(self._calls.post)
        self.context = SettingsContext(
            settings, store, paths, self._background, self._calls.post, key_store=key_store, speech=speech
        )
        self.section_list = QListWidget(self)
        self.section_list.setObjectName("section_list")
        self.section_list.setAccessibleName("Sections")
        self.section_list.setFixedWidth(LIST_WIDTH)
        self.pages = QStackedWidget(self)
        self.sections: list[Section] = []
        for section_type in sections:
            section = section_type(self.context)
            section.finish_layout()
            self.sections.append(section)
            scroll = QScrollArea(self.pages)
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QScrollArea.Shape.NoFrame)
            scroll.setWidget(section)
            self.pages.addWidget(scroll)
            self.section_list.addItem(section.title)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(self.section_list)
        row.addWidget(self.pages, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(row, 1)
        layout.addWidget(buttons)
        self._current: Section | None = None
        self.section_list.currentRowChanged.connect(self._show_row)
        self.finished.connect(self._close_sections)
        # Enter finishes typing in a field (a rate, an address) and nothing more: no button is the default,
        # which a dialog would otherwise press on Enter (a preview, a download, closing the dialog).
        for button in self.findChildren(QPushButton):
            button.setAutoDefault(False)
            button.setDefault(False)
        if self.sections:
            self.section_list.setCurrentRow(0)
        self.section_list.setFocus(Qt.FocusReason.OtherFocusReason)

    def show_section(self, name: str) -> Section:
        """Shows the section called `name` ("audio", "keys" …); KeyError for one there is not."""
        for row, section in enumerate(self.sections):
            if section.name == name:
                self.section_list.setCurrentRow(row)
                return section
        raise KeyError(name)

    def section(self, name: str) -> Section:
        for section in self.sections:
            if section.name == name:
                return section
        raise KeyError(name)

    def _show_row(self, row: int) -> None:
        if self._current is not None:
            self._current.left()
        self.pages.setCurrentIndex(row)
        self._current = self.sections[row] if 0 <= row < len(self.sections) else None
        if self._current is not None:
            self._current.entered()

    def _close_sections(self) -> None:
        for section in self.sections:
            section.close_section()
        self._current = None
        self._background.close(finish_asked=True)  # a change made just before closing is still saved
        self._calls.stop()
