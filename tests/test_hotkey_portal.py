"""The Wayland backend against a stand-in for xdg-desktop-portal's GlobalShortcuts, on a private D-Bus session
bus (a real dbus-daemon, tests/keyring_session.py, with no keyring).

The real portal needs a running GNOME or KDE session and compositor, which cannot run on this machine, so
`FakePortal` plays its part: it owns org.freedesktop.portal.Desktop and answers CreateSession and
BindShortcuts the way the portal documents (a Request handle, then a Response signal sent to the caller),
and sends Activated/Deactivated when a test "presses" the shortcut. Everything between the backend and
the bus is real.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from typing import Any

import pytest
from jeepney import DBusAddress, HeaderFields, Message, MessageType, new_error, new_method_return, new_signal
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import DBusConnection, open_dbus_connection
from keyring_session import KeyringSession, KeyringUnavailable

from desktop_app.core.errors import ErrorCode
from desktop_app.hotkey import BackendKind, GlobalHotkey, HotkeySpec, Listening, Unavailable, Waiting
from desktop_app.hotkey.backend import HotkeyStatus
from desktop_app.hotkey.portal import (
    PORTAL_BUS_NAME,
    PORTAL_PATH,
    REQUEST_INTERFACE,
    SESSION_INTERFACE,
    SHORTCUT_ID,
    SHORTCUTS_INTERFACE,
    PortalBackend,
)

SPEC = HotkeySpec.parse("ctrl+alt+space")
APP_ID = "org.example.VoiceAssistant"


class FakePortal:
    """Answers on the bus from its own thread. `answer` is what the "user" does in the bind dialog: "allow",
    "decline", "choose-nothing", or "wait" (never answers). With `shortcuts=False` the portal runs but has
    no GlobalShortcuts interface (an older portal, or a desktop without the backend)."""

    def __init__(self, address: str, *, answer: str = "allow", shortcuts: bool = True) -> None:
        self.answer = answer
        self.shortcuts = shortcuts
        self.registered: list[str] = []
        self.calls: list[str] = []
        self.bound: list[tuple[str, dict[str, Any]]] = []
        self.client = ""
        self.session = ""
        self._connection: DBusConnection = open_dbus_connection(bus=address)
        self._send_lock = threading.Lock()
        self._called = threading.Condition()
        reply = self._connection.send_and_get_reply(message_bus.RequestName(PORTAL_BUS_NAME), timeout=5)
        assert reply.body == (1,), reply.body  # the primary owner
        self._thread = threading.Thread(target=self._serve, name="fake-portal", daemon=True)
        self._thread.start()

    def close(self) -> None:
        with self._send_lock, contextlib.suppress(OSError):  # OSError: the bus is gone already
            self._connection.sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(5)
        self._connection.close()

    def wait_for_call(self, method: str, timeout: float = 5.0) -> bool:
        with self._called:
            return self._called.wait_for(lambda: method in self.calls, timeout)

    def _send(self, message: Message) -> None:
        with self._send_lock:
            self._connection.send(message)

    def _signal(self, path: str, interface: str, member: str, signature: str, body: tuple[Any, ...]) -> None:
        message = new_signal(DBusAddress(path, interface=interface), member, signature, body)
        message.header.fields[HeaderFields.destination] = self.client  # the portal's signals go to the caller
        self._send(message)

    def press(self, timestamp: int) -> None:
        self._signal(
            PORTAL_PATH, SHORTCUTS_INTERFACE, "Activated", "osta{sv}", (self.session, SHORTCUT_ID, timestamp, {})
        )

    def release(self, timestamp: int) -> None:
        self._signal(
            PORTAL_PATH, SHORTCUTS_INTERFACE, "Deactivated", "osta{sv}", (self.session, SHORTCUT_ID, timestamp, {})
        )

    def close_session(self) -> None:
        self._signal(self.session, SESSION_INTERFACE, "Closed", "a{sv}", ({},))

    def change_trigger(self, description: str) -> None:
        """The user picked another key in the desktop's settings."""
        shortcuts = [(SHORTCUT_ID, {"description": ("s", "talk"), "trigger_description": ("s", description)})]
        self._signal(PORTAL_PATH, SHORTCUTS_INTERFACE, "ShortcutsChanged", "oa(sa{sv})", (self.session, shortcuts))

    def _serve(self) -> None:
        try:
            while True:
                message = self._connection.receive()
                if message.header.message_type == MessageType.method_call:
                    self._answer(message)
        except OSError:
            return  # closed

    def _answer(self, call: Message) -> None:
        fields = call.header.fields
        interface, member = fields.get(HeaderFields.interface), fields[HeaderFields.member]
        self.client = fields[HeaderFields.sender]
        with self._called:
            self.calls.append(member)
            self._called.notify_all()
        if interface == "org.freedesktop.DBus.Properties" and member == "Get":
            if call.body[0] == SHORTCUTS_INTERFACE and self.shortcuts:
                self._send(new_method_return(call, "v", (("u", 1),)))
            else:
                self._send(new_error(call, "org.freedesktop.DBus.Error.InvalidArgs", "s", ("No such interface",)))
        elif interface == "org.freedesktop.host.portal.Registry" and member == "Register":
            self.registered.append(call.body[0])
            self._send(new_method_return(call))
        elif interface == SHORTCUTS_INTERFACE and self.shortcuts and member in ("CreateSession", "BindShortcuts"):
            options = call.body[0] if member == "CreateSession" else call.body[3]
            sender = self.client[1:].replace(".", "_")
            handle = f"{PORTAL_PATH}/request/{sender}/{options['handle_token'][1]}"
            self._send(new_method_return(call, "o", (handle,)))
            if member == "CreateSession":
                self.session = f"{PORTAL_PATH}/session/{sender}/{options['session_handle_token'][1]}"
                self._respond(handle, 0, {"session_handle": ("s", self.session)})
            else:
                self.bound = call.body[1]
                self._bind_answer(handle)
        else:
            self._send(new_error(call, "org.freedesktop.DBus.Error.UnknownMethod", "s", (f"no {member}",)))

    def _bind_answer(self, handle: str) -> None:
        if self.answer == "allow":
            chosen = [(SHORTCUT_ID, {"description": ("s", "talk"), "trigger_description": ("s", "Ctrl+Alt+Space")})]
            self._respond(handle, 0, {"shortcuts": ("a(sa{sv})", chosen)})
        elif self.answer == "choose-nothing":
            self._respond(handle, 0, {"shortcuts": ("a(sa{sv})", [])})
        elif self.answer == "decline":
            self._respond(handle, 1, {})

    def _respond(self, handle: str, code: int, results: dict[str, Any]) -> None:
        self._signal(handle, REQUEST_INTERFACE, "Response", "ua{sv}", (code, results))


class Recorder:
    def __init__(self) -> None:
        self.kinds: list[str] = []
        self.statuses: list[HotkeyStatus] = []
        self._changed = threading.Condition()

    def press(self) -> None:
        self._add(self.kinds, "press")

    def release(self) -> None:
        self._add(self.kinds, "release")

    def status(self, status: HotkeyStatus) -> None:
        self._add(self.statuses, status)

    def _add(self, into: list[Any], item: Any) -> None:
        with self._changed:
            into.append(item)
            self._changed.notify_all()

    def wait_for(self, done: Callable[[], bool], timeout: float = 5.0) -> bool:
        with self._changed:
            return self._changed.wait_for(done, timeout)


def _portal_threads() -> list[str]:
    return [thread.name for thread in threading.enumerate() if thread.name == "hotkey-portal"]


@pytest.fixture(scope="module")
def bus() -> Iterator[str]:
    try:
        session = KeyringSession.start(keyring=False)
    except KeyringUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    yield session.address
    session.stop()


@pytest.fixture
def portal(bus: str) -> Iterator[FakePortal]:
    fake = FakePortal(bus)
    yield fake
    fake.close()


@pytest.fixture
def started(portal: FakePortal, bus: str) -> Iterator[tuple[PortalBackend, Recorder]]:
    recorder = Recorder()
    backend = PortalBackend(SPEC, bus, app_id=APP_ID)
    backend.start(recorder.press, recorder.release, recorder.status)
    assert recorder.wait_for(lambda: len(recorder.statuses) == 1)
    yield backend, recorder
    backend.stop()
    assert _portal_threads() == []


def test_the_desktop_binds_the_shortcut_and_each_hold_is_one_press_and_one_release(
    portal: FakePortal, started: tuple[PortalBackend, Recorder]
) -> None:
    _, recorder = started
    assert recorder.statuses == [Listening(BackendKind.PORTAL, "Ctrl+Alt+Space")]
    assert portal.registered == [APP_ID]
    assert portal.calls[:2] == ["Register", "Get"]  # the app id first, as the portal requires
    [(shortcut_id, properties)] = portal.bound
    assert shortcut_id == SHORTCUT_ID
    assert properties["preferred_trigger"] == ("s", "CTRL+ALT+space")

    portal.press(10_000)
    # A compositor that forwards the keyboard's auto-repeat: release and press with one timestamp.
    for stamp in range(10_660, 11_500, 40):
        portal.release(stamp)
        portal.press(stamp)
    assert recorder.wait_for(lambda: recorder.kinds == ["press"])
    portal.release(11_600)
    assert recorder.wait_for(lambda: recorder.kinds == ["press", "release"])
    portal.press(12_000)
    portal.release(12_100)
    assert recorder.wait_for(lambda: len(recorder.kinds) == 4)
    time.sleep(0.3)
    assert recorder.kinds == ["press", "release", "press", "release"]


def test_signals_of_another_session_or_shortcut_are_ignored(
    portal: FakePortal, started: tuple[PortalBackend, Recorder]
) -> None:
    _, recorder = started
    ours = portal.session
    portal.session = f"{PORTAL_PATH}/session/someone/else"
    portal.press(1000)
    portal.release(1100)
    portal.session = ours
    portal.press(2000)
    portal.release(2100)
    assert recorder.wait_for(lambda: len(recorder.kinds) == 2)
    time.sleep(0.3)
    assert recorder.kinds == ["press", "release"]


def test_the_desktop_closing_the_session_is_reported_and_ends_a_hold(
    portal: FakePortal, started: tuple[PortalBackend, Recorder]
) -> None:
    _, recorder = started
    portal.press(1000)
    assert recorder.wait_for(lambda: recorder.kinds == ["press"])
    portal.close_session()
    assert recorder.wait_for(lambda: len(recorder.statuses) == 2)
    closed = recorder.statuses[1]
    assert isinstance(closed, Unavailable) and closed.code is ErrorCode.HOTKEY_UNAVAILABLE
    assert "closed the push-to-talk shortcut's session" in closed.reason
    assert recorder.kinds == ["press", "release"]
    assert recorder.wait_for(lambda: _portal_threads() == [])


def test_a_key_changed_in_the_desktops_settings_is_reported(
    portal: FakePortal, started: tuple[PortalBackend, Recorder]
) -> None:
    _, recorder = started
    portal.change_trigger("Super+F9")
    assert recorder.wait_for(lambda: len(recorder.statuses) == 2)
    assert recorder.statuses[1] == Listening(BackendKind.PORTAL, "Super+F9")


def test_losing_the_bus_ends_the_hold_and_reports_it() -> None:
    try:
        private = KeyringSession.start(keyring=False)
    except KeyringUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        portal = FakePortal(private.address)
        recorder = Recorder()
        backend = PortalBackend(SPEC, private.address)
        backend.start(recorder.press, recorder.release, recorder.status)
        assert recorder.wait_for(lambda: len(recorder.statuses) == 1)
        portal.press(1000)
        assert recorder.wait_for(lambda: recorder.kinds == ["press"])
        private.stop()  # the session bus goes away
        assert recorder.wait_for(lambda: len(recorder.statuses) == 2)
        lost = recorder.statuses[1]
        assert isinstance(lost, Unavailable) and lost.code is ErrorCode.HOTKEY_UNAVAILABLE
        assert "connection to the desktop's shortcut service was lost" in lost.reason
        assert recorder.kinds == ["press", "release"]
        backend.stop()
        portal.close()
        assert _portal_threads() == []
    finally:
        private.stop()


@pytest.mark.parametrize(
    ("answer", "code", "says"),
    [
        ("decline", ErrorCode.HOTKEY_REFUSED, "was declined in the desktop's dialog"),
        ("choose-nothing", ErrorCode.HOTKEY_REFUSED, "bound no push-to-talk shortcut"),
    ],
)
def test_a_user_who_says_no_gets_unavailable_with_a_way_out(bus: str, answer: str, code: ErrorCode, says: str) -> None:
    with closing(FakePortal(bus, answer=answer)):
        recorder = Recorder()
        backend = PortalBackend(SPEC, bus)
        backend.start(recorder.press, recorder.release, recorder.status)
        assert recorder.wait_for(lambda: len(recorder.statuses) == 1)
        [status] = recorder.statuses
        assert isinstance(status, Unavailable) and status.code is code
        assert says in status.reason and "voice-assistant ptt toggle" in status.reason
        assert recorder.wait_for(lambda: _portal_threads() == [])
        backend.stop()


def test_a_portal_without_global_shortcuts_is_unavailable(bus: str) -> None:
    with closing(FakePortal(bus, shortcuts=False)) as portal:
        recorder = Recorder()
        backend = PortalBackend(SPEC, bus, app_id=APP_ID)
        backend.start(recorder.press, recorder.release, recorder.status)
        assert recorder.wait_for(lambda: len(recorder.statuses) == 1)
        [status] = recorder.statuses
        assert isinstance(status, Unavailable) and status.code is ErrorCode.HOTKEY_UNAVAILABLE
        assert "has no GlobalShortcuts interface" in status.reason
        assert "CreateSession" not in portal.calls
        backend.stop()


def test_no_portal_on_the_bus_is_unavailable(bus: str) -> None:
    recorder = Recorder()
    backend = PortalBackend(SPEC, bus, app_id=APP_ID)
    backend.start(recorder.press, recorder.release, recorder.status)
    assert recorder.wait_for(lambda: len(recorder.statuses) == 1)
    [status] = recorder.statuses
    assert isinstance(status, Unavailable) and status.code is ErrorCode.HOTKEY_UNAVAILABLE
    assert "No desktop portal (xdg-desktop-portal) runs in this session" in status.reason
    backend.stop()


def test_stop_while_the_dialog_waits_for_the_user_is_prompt(bus: str) -> None:
    with closing(FakePortal(bus, answer="wait")) as portal:
        recorder = Recorder()
        backend = PortalBackend(SPEC, bus)
        backend.start(recorder.press, recorder.release, recorder.status)
        assert portal.wait_for_call("BindShortcuts")
        began = time.monotonic()
        backend.stop()
        assert time.monotonic() - began < 0.5
        assert _portal_threads() == []
        assert recorder.statuses == []  # stopping is not a failure to report


def test_a_bus_that_does_not_answer_is_unavailable_at_start() -> None:
    hotkey = GlobalHotkey(
        lambda: None,
        lambda: None,
        environment={"WAYLAND_DISPLAY": "wayland-0", "DBUS_SESSION_BUS_ADDRESS": "unix:path=/nonexistent/bus"},
        platform="linux",
    )
    status = hotkey.start("ctrl+alt+space")
    assert isinstance(status, Unavailable) and status.code is ErrorCode.HOTKEY_UNAVAILABLE
    assert "D-Bus session bus does not answer" in status.reason


def test_the_app_facade_on_wayland_waits_for_the_desktop_then_listens(portal: FakePortal, bus: str) -> None:
    recorder = Recorder()
    environment = {"XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-0", "DBUS_SESSION_BUS_ADDRESS": bus}
    hotkey = GlobalHotkey(recorder.press, recorder.release, recorder.status, environment=environment, platform="linux")
    first = hotkey.start("ctrl+alt+space")
    assert isinstance(first, (Waiting, Listening))  # the desktop may already have answered
    assert recorder.wait_for(lambda: hotkey.status == Listening(BackendKind.PORTAL, "Ctrl+Alt+Space"))
    assert recorder.statuses[-1] == Listening(BackendKind.PORTAL, "Ctrl+Alt+Space")
    portal.press(5000)
    portal.release(5100)
    assert recorder.wait_for(lambda: recorder.kinds == ["press", "release"])
    hotkey.stop()
    assert _portal_threads() == []
