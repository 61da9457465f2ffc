"""The tray icon: its words, icons and menu in this process (offscreen), and on a real X screen with a real
tray host (trayer, tests/tray_host.py) in a child process, where the icon is embedded in the host's panel,
its pixels change with the state, a left click and the menu reach the callbacks, and a notification is
shown with no notification service. Without a host there is no tray at all.

The child is this file run as a script (`python tests/test_tray.py probe|check`): Qt's platform is chosen
once per process, and this test process draws offscreen.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from tray_host import TrayHost, TrayHostUnavailable, running_tray_host, tray_owner
from xvfb_server import XvfbServer, XvfbUnavailable

from desktop_app.core.events import TurnState
from desktop_app.ui.tray import (
    HIDDEN_TITLE,
    LOOK_OF_STATE,
    STATE_WORDS,
    Tray,
    TrayActions,
    TrayLook,
    icon_file,
)

HOTKEY = "Ctrl+Alt+Space"
TEXT_MENU = ["Push to talk", "Hide window", "New conversation", "", "Quit"]


class Calls:
    """Records which callback ran, in order."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def actions(self) -> TrayActions:
        return TrayActions(
            toggle_talk=lambda: self.names.append("talk"),
            toggle_window=lambda: self.names.append("window"),
            new_conversation=lambda: self.names.append("new"),
            quit=lambda: self.names.append("quit"),
        )


def background(look: TrayLook) -> str:
    """The icon's background colour, as its SVG file says (the first rectangle's fill)."""
    match = re.search(r'<rect [^>]*fill="(#[0-9a-f]{6})"', icon_file(look).read_text())
    assert match, icon_file(look)
    return match.group(1)


# -- in this process: words, icons, menu ------------------------------------------------------------------------


@pytest.fixture
def tray(qapp: object) -> Iterator[tuple[Tray, Calls]]:
    calls = Calls()
    made = Tray(calls.actions(), hotkey=HOTKEY)  # no tray host offscreen: made directly, never shown
    yield made, calls
    made.dispose()


@pytest.mark.gui
def test_every_state_has_its_own_words_and_an_icon_file_that_loads(tray: tuple[Tray, Calls]) -> None:
    from desktop_app.ui.qt import QIcon

    assert set(LOOK_OF_STATE) == set(TurnState) == set(STATE_WORDS)
    for look in TrayLook:
        pixmap = QIcon(str(icon_file(look))).pixmap(22, 22)
        assert not pixmap.isNull(), icon_file(look)
    assert len({background(look) for look in TrayLook}) == len(TrayLook)  # told apart by colour alone

    shown, _ = tray
    for state in TurnState:
        shown.set_state(state)
        assert shown.look is LOOK_OF_STATE[state]
        assert shown.tooltip.splitlines() == [f"Voice Assistant: {STATE_WORDS[state]}", f"Push to talk: {HOTKEY}"]


@pytest.mark.gui
def test_a_problem_shows_while_idle_and_in_the_tooltip_until_it_is_over(tray: tuple[Tray, Calls]) -> None:
    shown, _ = tray
    looks: list[TrayLook] = []
    shown.set_problem("The microphone is not connected.")
    looks.append(shown.look)
    assert "Problem: The microphone is not connected." in shown.tooltip.splitlines()
    shown.set_state(TurnState.SPEAKING)  # a turn's own state matters more while it lasts
    looks.append(shown.look)
    assert "Problem:" in shown.tooltip
    shown.set_state(TurnState.IDLE)
    looks.append(shown.look)
    shown.set_problem(None)
    looks.append(shown.look)
    assert "Problem" not in shown.tooltip
    assert looks == [TrayLook.PROBLEM, TrayLook.SPEAKING, TrayLook.PROBLEM, TrayLook.IDLE]


@pytest.mark.gui
def test_without_a_global_key_the_tooltip_says_where_to_talk(tray: tuple[Tray, Calls]) -> None:
    shown, _ = tray
    shown.set_hotkey(None)
    assert shown.tooltip.splitlines()[-1] == "Push to talk: from the window or this menu"
    shown.set_hotkey("Super+V")
    assert shown.tooltip.splitlines()[-1] == "Push to talk: Super+V"


@pytest.mark.gui
def test_the_menu_calls_each_callback_and_its_words_follow_the_state(tray: tuple[Tray, Calls]) -> None:
    shown, calls = tray
    assert shown.menu.accessibleName() == "Voice Assistant menu"
    actions = shown.menu.actions()
    assert [action.text() for action in actions] == TEXT_MENU
    for action in actions:
        action.trigger()
    assert calls.names == ["talk", "window", "new", "quit"]

    shown.set_state(TurnState.LISTENING)
    assert actions[0].text() == "Stop listening and send"  # a menu cannot be held: the next click sends
    shown.set_state(TurnState.THINKING)
    assert actions[0].text() == "Push to talk"
    shown.set_window_visible(False)
    assert actions[1].text() == "Show window"
    shown.set_window_visible(True)
    assert actions[1].text() == "Hide window"


@pytest.mark.gui
def test_a_left_click_toggles_the_window_and_other_clicks_do_not(tray: tuple[Tray, Calls]) -> None:
    from desktop_app.ui.qt import QSystemTrayIcon

    shown, calls = tray
    reason = QSystemTrayIcon.ActivationReason
    for other in (reason.Context, reason.MiddleClick, reason.DoubleClick):
        shown.icon.activated.emit(other)
    assert calls.names == []
    shown.icon.activated.emit(reason.Trigger)
    assert calls.names == ["window"]


@pytest.mark.gui
def test_the_still_running_message_is_shown_the_first_time_only(tray: tuple[Tray, Calls]) -> None:
    shown, _ = tray
    messages: list[tuple[str, str]] = []
    shown.show_message = lambda title, text: messages.append((title, text))  # type: ignore[method-assign]
    shown.hidden_to_tray()
    shown.hidden_to_tray()
    assert len(messages) == 1 and messages[0][0] == HIDDEN_TITLE and "tray" in messages[0][1]


@pytest.mark.gui
def test_a_window_that_starts_hidden_offers_to_show_itself(qapp: object) -> None:
    hidden = Tray(Calls().actions(), hotkey=None, window_visible=False)
    try:
        assert hidden.menu.actions()[1].text() == "Show window"
    finally:
        hidden.dispose()


@pytest.mark.gui
def test_the_window_tells_the_tray_which_key_the_global_hotkey_registered(qtbot, store) -> None:
    from desktop_app.core.errors import ErrorCode
    from desktop_app.core.events import EventHub, HotkeyReady, Notice
    from desktop_app.core.talk_controls import TalkControls
    from desktop_app.ui.main_window import MainWindow

    hub = EventHub()
    window = MainWindow(store, hub, TalkControls(hub.publish))
    qtbot.addWidget(window)
    tray = Tray(Calls().actions(), hotkey=None, parent=window)
    try:
        window.attach_tray(tray)
        window.on_event(Notice(ErrorCode.HOTKEY_TAKEN, "Ctrl+Alt+Space is taken by another application."))
        assert tray.tooltip.splitlines()[-1] == "Push to talk: from the window or this menu"
        assert "taken by another application" in window.problems.text()
        window.on_event(HotkeyReady.of("Ctrl+Alt+Space"))
        assert tray.tooltip.splitlines()[-1] == "Push to talk: Ctrl+Alt+Space"
        assert window.problems.isHidden() and "Problem" not in tray.tooltip
        assert "Ctrl+Alt+Space anywhere" in window.state_label.text()  # the window names it too
        window.on_event(Notice(ErrorCode.HOTKEY_TAKEN, "Ctrl+Alt+Space is taken by another application."))
        assert "anywhere" not in window.state_label.text()
    finally:
        tray.dispose()


# -- on a real X screen, with and without a tray host ----------------------------------------------------------


def child_env(display: str) -> dict[str, str]:
    """The child's environment: the X screen, Qt's xcb platform, and no D-Bus session, so Qt uses the XEmbed
    tray protocol and there is no notification service."""
    env = {
        key: value for key, value in os.environ.items() if key not in ("DBUS_SESSION_BUS_ADDRESS", "WAYLAND_DISPLAY")
    }
    return {**env, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}


def run_probe(scenario: str, display: str) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, scenario],
        env=child_env(display),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def tray_screen() -> Iterator[str]:
    """A virtual screen of this module's own, so the tray host never shows on the other tests' screen."""
    try:
        server = XvfbServer.start()
    except XvfbUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server.display
    finally:
        server.stop()


@pytest.fixture(scope="module")
def tray_host(tray_screen: str) -> Iterator[TrayHost]:
    try:
        host = TrayHost.start(tray_screen)
    except TrayHostUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield host
    finally:
        host.stop()


@pytest.fixture(scope="module")
def probe(tray_host: TrayHost) -> dict:
    """One run of the child on the screen with the tray host; the tests below read what it saw."""
    return run_probe("probe", tray_host.display)


@pytest.mark.gui
def test_without_a_tray_host_there_is_no_tray(xvfb_display: str) -> None:
    assert tray_owner(xvfb_display) == 0
    seen = run_probe("check", xvfb_display)
    assert seen == {"available": False, "created": False}


@pytest.mark.gui
def test_the_tray_host_is_found_and_gone_when_it_stops() -> None:
    """The fixture's own promise: the host takes the tray selection, and stopping it gives it back."""
    with XvfbServer.start() as screen:
        with running_tray_host(screen.display) as host:
            assert tray_owner(screen.display) != 0
            assert run_probe("check", screen.display) == {"available": True, "created": True}
        assert host.process.poll() is not None
        assert tray_owner(screen.display) == 0
        assert run_probe("check", screen.display) == {"available": False, "created": False}


@pytest.mark.gui
def test_with_a_tray_host_the_icon_is_embedded_in_its_panel(probe: dict) -> None:
    assert probe["available"] is True and probe["created"] is True and probe["visible"] is True
    x, y, width, height = probe["geometry"]
    assert width > 0 and height > 0
    embedded = embedded_windows(probe["tree_shown"])
    assert (x, y, width, height) in embedded, (probe["geometry"], probe["tree_shown"])
    assert (x, y, width, height) not in embedded_windows(probe["tree_disposed"])  # dispose() takes it away


@pytest.mark.gui
def test_the_icon_on_screen_changes_with_the_state(probe: dict) -> None:
    expected = {state.value: background(look) for state, look in LOOK_OF_STATE.items()}
    expected["problem"] = background(TrayLook.PROBLEM)
    assert probe["colours"] == expected


@pytest.mark.gui
def test_a_left_click_and_the_menu_reach_their_callbacks(probe: dict) -> None:
    assert probe["menu_opened"] is True
    # A left click on the icon, "New conversation" clicked in the menu, then the rest triggered as a click would.
    assert probe["calls"] == ["window", "new", "talk", "window", "quit"]
    assert probe["tooltip"].startswith("Voice Assistant: Ready") and HOTKEY in probe["tooltip"]


@pytest.mark.gui
def test_the_still_running_message_shows_without_a_notification_service(probe: dict) -> None:
    assert probe["message_shown"] is True  # and the child went on to the end without an error


_TREE_LINE = re.compile(r"^(\s*)0x[0-9a-f]+ (.*?): \(.*\)\s+(\d+)x(\d+)\+-?\d+\+-?\d+\s+\+(-?\d+)\+(-?\d+)$")


def embedded_windows(tree: str) -> set[tuple[int, int, int, int]]:
    """The windows (x, y, width, height on screen) inside trayer's panel, from `xwininfo -root -tree`."""
    found: set[tuple[int, int, int, int]] = set()
    panel_indent: int | None = None
    for line in tree.splitlines():
        match = _TREE_LINE.match(line)
        if match is None:
            continue
        indent = len(match.group(1))
        if panel_indent is not None and indent <= panel_indent:
            panel_indent = None
        if '"panel": ("panel" "trayer")' in line:
            panel_indent = indent
        elif panel_indent is not None:
            width, height, x, y = (int(match.group(n)) for n in (3, 4, 5, 6))
            found.add((x, y, width, height))
    return found


# -- the child ----------------------------------------------------------------------------------------------------


def _probe(scenario: str) -> dict[str, object]:
    from desktop_app.ui.qt import QApplication, QGuiApplication, QSystemTrayIcon

    app = QApplication([sys.argv[0]])

    def pump(until: Callable[[], bool], timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            app.processEvents()
            if until():
                return True
            time.sleep(0.01)
        return until()

    def settle(seconds: float) -> None:
        pump(lambda: False, seconds)

    def xdotool(*args: str) -> None:
        subprocess.run(["xdotool", *args], check=True, timeout=20)

    def tree() -> str:
        return subprocess.run(["xwininfo", "-root", "-tree"], capture_output=True, text=True, check=True).stdout

    calls = Calls()
    seen: dict[str, object] = {"available": QSystemTrayIcon.isSystemTrayAvailable()}
    tray = Tray.create(calls.actions(), hotkey=HOTKEY)
    seen["created"] = tray is not None
    if scenario == "check" or tray is None:
        return seen

    tray.show()

    def embedded() -> bool:
        """The host has reparented the icon into its panel (before that, Qt reports a place of its own)."""
        rect = tray.icon.geometry()
        return (rect.x(), rect.y(), rect.width(), rect.height()) in embedded_windows(tree())

    pump(embedded)
    rect = tray.icon.geometry()
    seen["geometry"] = [rect.x(), rect.y(), rect.width(), rect.height()]
    seen["visible"] = tray.icon.isVisible()
    seen["tooltip"] = tray.tooltip
    settle(0.3)
    seen["tree_shown"] = tree()

    # What the screen shows at the icon's left side, inside its rounded background, in each state.
    screen = QGuiApplication.primaryScreen()

    def colour() -> str:
        image = screen.grabWindow(0, rect.x(), rect.y(), rect.width(), rect.height()).toImage()
        return str(image.pixelColor(int(rect.width() * 0.15), rect.height() // 2).name())

    def shown_colour() -> str:
        """The colour once the host has repainted the icon (or what it still shows after 5 s)."""
        want = background(tray.look)
        pump(lambda: colour() == want, 5.0)
        return colour()

    colours: dict[str, str] = {}
    for state in TurnState:
        tray.set_state(state)
        colours[state.value] = shown_colour()
    tray.set_state(TurnState.IDLE)
    tray.set_problem("The microphone is not connected.")
    colours["problem"] = shown_colour()
    tray.set_problem(None)
    seen["colours"] = colours

    # A left click on the icon, as a person would.
    centre = rect.center()
    xdotool("mousemove", str(centre.x()), str(centre.y()), "click", "1")
    pump(lambda: "window" in calls.names)
    # A right click opens the menu; "New conversation" is clicked in it.
    xdotool("click", "3")
    seen["menu_opened"] = pump(tray.menu.isVisible)
    new = next(action for action in tray.menu.actions() if action.text() == "New conversation")
    point = tray.menu.mapToGlobal(tray.menu.actionGeometry(new).center())
    xdotool("mousemove", str(point.x()), str(point.y()), "click", "1")
    pump(lambda: "new" in calls.names)
    pump(lambda: not tray.menu.isVisible())
    for action in tray.menu.actions():
        if action.text() in ("Push to talk", "Hide window", "Quit"):
            action.trigger()
    seen["calls"] = calls.names

    tray.hidden_to_tray()  # no D-Bus here, so no notification service: Qt draws its own balloon

    def balloon_shown() -> bool:
        return any(
            widget.metaObject().className() == "QBalloonTip" and widget.isVisible()
            for widget in QApplication.topLevelWidgets()
        )

    seen["message_shown"] = pump(balloon_shown)
    settle(0.3)

    tray.dispose()
    settle(0.5)
    seen["tree_disposed"] = tree()
    return seen


if __name__ == "__main__":
    print(json.dumps(_probe(sys.argv[1])))
