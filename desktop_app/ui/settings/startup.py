"""Startup: start minimised to the tray, and start with the session (the desktop's autostart entry)."""

from __future__ import annotations

from desktop_app.autostart import autostart_enabled, set_autostart
from desktop_app.core.settings import APP_START_MINIMIZED
from desktop_app.ui.qt import QCheckBox, QLabel, QSignalBlocker, QWidget
from desktop_app.ui.settings.context import SettingsContext
from desktop_app.ui.settings.section import Section


class StartupSection(Section):
    name = "startup"
    title = "Startup"

    def __init__(self, context: SettingsContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.minimized = QCheckBox("Start &minimised to the tray", self)
        self.minimized.setObjectName("start_minimized")
        self.minimized.setToolTip(APP_START_MINIMIZED.description)
        self.with_session = QCheckBox("Start when I &log in", self)
        self.with_session.setObjectName("start_with_session")
        self.with_session.setEnabled(False)  # until the entry has been read
        note = QLabel(
            "Started at log-in, the app waits in the tray with the window hidden, so push to talk works at once.",
            self,
        )
        note.setWordWrap(True)
        for widget in (self.minimized, self.with_session, note):
            self.layout_.addWidget(widget)
        self.bindings.check_box(self.minimized, APP_START_MINIMIZED)
        self.with_session.toggled.connect(self._switch_autostart)
        context.background.run("autostart", autostart_enabled, self._show_autostart, self._autostart_failed)

    def _switch_autostart(self, on: bool) -> None:
        self.with_session.setEnabled(False)
        self.context.background.run("autostart", lambda: set_autostart(on), self._switched, self._autostart_failed)

    def _switched(self, on: bool) -> None:
        self._show_autostart(on)
        self.report(None)

    def _show_autostart(self, on: bool) -> None:
        with QSignalBlocker(self.with_session):
            self.with_session.setChecked(on)
        self.with_session.setEnabled(True)

    def _autostart_failed(self, error: Exception) -> None:
        """Said under the section; the entry is read again, so the box shows what is true."""
        self.report(f"Starting at log-in could not be changed: {error}")
        self.context.background.run("autostart", autostart_enabled, self._show_autostart, lambda _error: None)
