"""The notification-area (system tray) icon: the turn's state at a glance, a menu, and a left click that
shows or hides the window.

It exists only where a tray host does (`Tray.create` gives None otherwise: a bare X screen, many Wayland
desktops, GNOME without its extension). The window decides what closing it means: hide to the tray when
there is one, quit otherwise, because a hidden window without a tray icon would leave no way back.

Wiring, in the window (`controls` is core.talk_controls.TalkControls)::

    self.tray = Tray.create(
        TrayActions(
            toggle_talk=controls.toggle,  # a menu cannot be held: one click starts a turn, the next sends it
            toggle_window=self.toggle_visible,
            new_conversation=controls.new_conversation,
            quit=QApplication.quit,
        ),
        hotkey="Ctrl+Alt+Space",  # the global key in words, or None when there is none
        window_visible=not start.minimized,
        parent=self,
    )
    if self.tray is not None:
        self.tray.show()
    # StateChanged               -> self.tray.set_state(event.state)
    # a lasting problem / over   -> self.tray.set_problem(text) / self.tray.set_problem(None)
    # showEvent / hideEvent      -> self.tray.set_window_visible(True / False)
    # closeEvent, with a tray    -> event.ignore(); self.hide(); self.tray.hidden_to_tray()
    # closeEvent, without one    -> quit as before (and start minimised only where there is a tray)
    # before the app quits       -> self.tray.dispose()
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from desktop_app import DISPLAY_NAME
from desktop_app.core.events import TurnState
from desktop_app.resources import resource_path
from desktop_app.ui.qt import QAction, QIcon, QMenu, QObject, QSystemTrayIcon

APP_TITLE = DISPLAY_NAME
MESSAGE_MS = 6000


class TrayLook(StrEnum):
    """What the icon shows; recognising and thinking share one look (the user waits either way)."""

    IDLE = "idle"
    LISTENING = "listening"
    THINKING = "thinking"
    SPEAKING = "speaking"
    PROBLEM = "problem"


LOOK_OF_STATE = {
    TurnState.IDLE: TrayLook.IDLE,
    TurnState.LISTENING: TrayLook.LISTENING,
    TurnState.RECOGNISING: TrayLook.THINKING,
    TurnState.THINKING: TrayLook.THINKING,
    TurnState.SPEAKING: TrayLook.SPEAKING,
}
STATE_WORDS = {
    TurnState.IDLE: "Ready",
    TurnState.LISTENING: "Listening…",
    TurnState.RECOGNISING: "Recognising…",
    TurnState.THINKING: "Thinking…",
    TurnState.SPEAKING: "Speaking…",
}
TALK_TEXT = {True: "Stop listening and send", False: "Push to talk"}  # by "is it listening"
WINDOW_TEXT = {True: "Hide window", False: "Show window"}  # by "is the window shown"
HIDDEN_TITLE = "Voice Assistant is still running"
HIDDEN_TEXT = "It is in the system tray: click its icon to open the window, or use Quit in its menu to end it."


def icon_file(look: TrayLook) -> Path:
    return Path(resource_path(f"icons/tray-{look.value}.svg"))


@dataclass(frozen=True, slots=True)
class TrayActions:
    """What the menu and the icon do; the window supplies them. None of them takes arguments."""

    toggle_talk: Callable[[], None]
    toggle_window: Callable[[], None]
    new_conversation: Callable[[], None]
    quit: Callable[[], None]


class Tray:
    """A QSystemTrayIcon with one icon per state, a tooltip in words, and the app's menu."""

    @classmethod
    def create(
        cls, actions: TrayActions, *, hotkey: str | None, window_visible: bool = True, parent: QObject | None = None
    ) -> Tray | None:
        """The tray icon (hidden until `show`), or None when this desktop has no tray host. `hotkey` is the
        global push-to-talk key in words (None: there is none); `window_visible` picks the menu's words."""
        if not QSystemTrayIcon.isSystemTrayAvailable():
            return None
        return cls(actions, hotkey=hotkey, window_visible=window_visible, parent=parent)

    def __init__(
        self, actions: TrayActions, *, hotkey: str | None, window_visible: bool = True, parent: QObject | None = None
    ) -> None:
        """Use `create`, which checks for a tray host first."""
        self._actions = actions
        self._hotkey = hotkey
        self._state = TurnState.IDLE
        self._problem: str | None = None
        self._told_hidden = False
        self._icons = {look: QIcon(str(icon_file(look))) for look in TrayLook}
        self._look = TrayLook.IDLE

        # A menu cannot have a QObject parent; the tray keeps it alive and deletes it in dispose().
        self._menu = QMenu()
        self._menu.setAccessibleName(f"{APP_TITLE} menu")
        self._talk = self._add_action(TALK_TEXT[False], actions.toggle_talk)
        self._window = self._add_action(WINDOW_TEXT[window_visible], actions.toggle_window)
        self._new = self._add_action("New conversation", actions.new_conversation)
        self._menu.addSeparator()
        self._quit = self._add_action("Quit", actions.quit)

        self._icon = QSystemTrayIcon(self._icons[TrayLook.IDLE], parent)
        self._icon.setContextMenu(self._menu)
        self._icon.activated.connect(self._on_activated)
        self._refresh()

    # -- what the window tells it -----------------------------------------------------------------------------

    def show(self) -> None:
        self._icon.show()

    def set_state(self, state: TurnState) -> None:
        self._state = state
        self._refresh()

    def set_problem(self, text: str | None) -> None:
        """A problem that lasts (no microphone, no speech model): shown while idle and in the tooltip,
        until None says it is over."""
        self._problem = text or None
        self._refresh()

    def set_hotkey(self, hotkey: str | None) -> None:
        """The global push-to-talk key in words, or None when there is none (the window's own key only)."""
        self._hotkey = hotkey
        self._refresh()

    def set_window_visible(self, visible: bool) -> None:
        self._window.setText(WINDOW_TEXT[visible])

    def show_message(self, title: str, text: str) -> None:
        """A notification from the icon (the desktop's notification service, or Qt's own balloon)."""
        if self._icon.isVisible():
            self._icon.showMessage(title, text, self._icons[self._look], MESSAGE_MS)

    def hidden_to_tray(self) -> None:
        """The window just hid itself instead of quitting: say where the app went, the first time only."""
        if not self._told_hidden:
            self._told_hidden = True
            self.show_message(HIDDEN_TITLE, HIDDEN_TEXT)

    def dispose(self) -> None:
        """Takes the icon off the tray now (before the app quits) and frees the menu."""
        self._icon.hide()
        self._icon.deleteLater()
        self._menu.deleteLater()

    # -- what it shows ----------------------------------------------------------------------------------------

    @property
    def look(self) -> TrayLook:
        return self._look

    @property
    def tooltip(self) -> str:
        return self._icon.toolTip()

    @property
    def menu(self) -> QMenu:
        return self._menu

    @property
    def icon(self) -> QSystemTrayIcon:
        return self._icon

    def _refresh(self) -> None:
        look = LOOK_OF_STATE[self._state]
        if look is TrayLook.IDLE and self._problem is not None:
            look = TrayLook.PROBLEM  # during a turn its own state matters more
        if look is not self._look:
            self._look = look
            self._icon.setIcon(self._icons[look])
        lines = [f"{APP_TITLE}: {STATE_WORDS[self._state]}"]
        if self._problem is not None:
            lines.append(f"Problem: {self._problem}")
        lines.append(f"Push to talk: {self._hotkey}" if self._hotkey else "Push to talk: from the window or this menu")
        self._icon.setToolTip("\n".join(lines))
        self._talk.setText(TALK_TEXT[self._state is TurnState.LISTENING])

    def _add_action(self, text: str, callback: Callable[[], None]) -> QAction:
        action = self._menu.addAction(text)
        # `triggered` passes a "checked" flag that the callbacks do not take.
        action.triggered.connect(lambda _checked=False: callback())
        return action

    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:  # a left click
            self._actions.toggle_window()
