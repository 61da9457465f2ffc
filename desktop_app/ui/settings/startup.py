"""Startup: start minimised to the tray, start with the session (the desktop's autostart entry), and the
app in the applications menu (Linux and BSD desktops)."""

from __future__ import annotations

from collections.abc import Callable

from desktop_app.autostart import autostart_enabled, set_autostart
from desktop_app.core.settings import APP_START_MINIMIZED
from desktop_app.menu_entry import menu_entry_installed, menu_entry_supported, set_menu_entry
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
        note = QLabel(
            "Started at log-in, the app waits in the tray with the window hidden, so push to talk works at once.",
            self,
        )
        note.setWordWrap(True)
        for widget in (self.minimized, self.with_session, note):
            self.layout_.addWidget(widget)
        self.bindings.check_box(self.minimized, APP_START_MINIMIZED)
        # Kept: the check boxes' signals hold the switches only weakly.
        self.switches = [SystemSwitch(self, self.with_session, autostart_enabled, set_autostart, "Starting at log-in")]
        if menu_entry_supported():
            self.in_menu = QCheckBox("Show in the &applications menu, with its icon", self)
            self.in_menu.setObjectName("in_applications_menu")
            self.in_menu.setToolTip(
                "The same as `voice-assistant install-desktop`: for you only, under ~/.local/share."
            )
            self.layout_.addWidget(self.in_menu)
            self.switches.append(
                SystemSwitch(self, self.in_menu, menu_entry_installed, set_menu_entry, "The applications menu entry")
            )


class SystemSwitch:
    """A check box for something the desktop keeps, not a setting: it is read off the UI thread when the
    section opens, changed there when clicked, and shows what is true afterwards, also when the change
    failed (said under the section)."""

    def __init__(
        self,
        section: Section,
        box: QCheckBox,
        read: Callable[[], bool],
        switch: Callable[[bool], bool],
        what: str,
    ) -> None:
        self.section, self.box, self.read, self.switch, self.what = section, box, read, switch, what
        box.setEnabled(False)  # until it has been read
        box.toggled.connect(self._switch)
        self._run(read, self._show)

    def _run(self, work: Callable[[], bool], done: Callable[[bool], None]) -> None:
        self.section.context.background.run(self.box.objectName(), work, done, self._failed)

    def _switch(self, on: bool) -> None:
        self.box.setEnabled(False)
        self._run(lambda: self.switch(on), self._switched)

    def _switched(self, on: bool) -> None:
        self._show(on)
        self.section.report(None)

    def _show(self, on: bool) -> None:
        with QSignalBlocker(self.box):
            self.box.setChecked(on)
        self.box.setEnabled(True)

    def _failed(self, error: Exception) -> None:
        """Said under the section; the state is read again, so the box shows what is true."""
        self.section.report(f"{self.what} could not be changed: {error}")
        self.section.context.background.run(self.box.objectName(), self.read, self._show, lambda _error: None)
