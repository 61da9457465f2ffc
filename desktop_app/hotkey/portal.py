"""Global push-to-talk on Wayland: the desktop's xdg-desktop-portal GlobalShortcuts interface, over D-Bus
with jeepney (pure Python).

A Wayland compositor lets no client see keys meant for another, so the app asks the desktop: it opens a
session (CreateSession), offers one shortcut with the user's key as the preferred trigger (BindShortcuts;
the desktop usually shows a dialog where the user confirms or picks another key), then hears
Activated/Deactivated for each hold. Every step answers through a Request object's Response signal.

`start()` only connects to the bus and returns: the rest runs on the backend's thread, because the dialog
waits for the user. Its outcome goes to `on_status`: Listening (with the trigger the user chose), or
Unavailable when no portal answers, the portal lacks GlobalShortcuts, or the user declines. Closing the
connection ends the portal session, so `stop()` only shuts the socket down and joins the thread.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import socket
import threading
from collections import deque
from typing import Any

from jeepney import DBusAddress, HeaderFields, MatchRule, Message, MessageType, new_method_call
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import DBusConnection, open_dbus_connection

from desktop_app.core.errors import ErrorCode
from desktop_app.hotkey.backend import (
    BackendKind,
    HotkeyError,
    KeyCallback,
    Listening,
    StatusCallback,
    Unavailable,
)
from desktop_app.hotkey.hold import DebouncedHold
from desktop_app.hotkey.spec import HotkeySpec

log = logging.getLogger(__name__)

PORTAL_BUS_NAME = "org.freedesktop.portal.Desktop"
PORTAL_PATH = "/org/freedesktop/portal/desktop"
SHORTCUTS_INTERFACE = "org.freedesktop.portal.GlobalShortcuts"
REQUEST_INTERFACE = "org.freedesktop.portal.Request"
SESSION_INTERFACE = "org.freedesktop.portal.Session"
REGISTRY_INTERFACE = "org.freedesktop.host.portal.Registry"
SHORTCUT_ID = "push-to-talk"

# The first call may start the portal (D-Bus activation), which takes seconds on a cold desktop.
CALL_TIMEOUT_S = 25.0
STOP_TIMEOUT_S = 2.0
RESPONSE_SUCCESS, RESPONSE_CANCELLED = 0, 1

_NO_SERVICE_ERRORS = frozenset(
    {"org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.NameHasNoOwner"}
)
_BIND_INSTEAD = (
    "Bind a key to the command `voice-assistant ptt toggle` in your desktop's keyboard settings (Settings > "
    "Talk shows how), or use the Talk button in the window."
)
_PORTAL = DBusAddress(PORTAL_PATH, bus_name=PORTAL_BUS_NAME, interface=SHORTCUTS_INTERFACE)


class _Failure(Exception):
    def __init__(self, code: ErrorCode, reason: str) -> None:
        super().__init__(reason)
        self.status = Unavailable(code, reason)


class _CallError(Exception):
    def __init__(self, name: str, detail: str) -> None:
        super().__init__(f"{name}: {detail}")
        self.name = name


def _value(results: dict[str, Any], name: str) -> Any:
    """A value out of an a{sv} dictionary (jeepney gives each as (signature, value))."""
    entry = results.get(name)
    return None if entry is None else entry[1]


class PortalBackend:
    kind = BackendKind.PORTAL

    def __init__(
        self,
        spec: HotkeySpec,
        bus_address: str,
        *,
        app_id: str | None = None,
        parent_window: str = "",
        description: str = "Push to talk (hold while speaking)",
    ) -> None:
        self._spec = spec
        self._address = bus_address
        self._app_id = app_id
        self._parent_window = parent_window
        self._description = description
        self._lock = threading.Lock()
        self._connection: DBusConnection | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def spec(self) -> HotkeySpec:
        return self._spec

    def start(self, on_press: KeyCallback, on_release: KeyCallback, on_status: StatusCallback | None = None) -> None:
        with self._lock:
            if self._thread is not None:
                raise RuntimeError("the portal hotkey is already started")
            try:
                connection = open_dbus_connection(bus=self._address)
            except (OSError, ValueError, KeyError, TimeoutError) as exc:
                raise HotkeyError(
                    ErrorCode.HOTKEY_UNAVAILABLE,
                    f"The desktop's D-Bus session bus does not answer ({exc}), so the desktop cannot be asked for "
                    f"a global push-to-talk key. {_BIND_INSTEAD}",
                ) from exc
            self._connection = connection
            self._stopping = threading.Event()
            self._thread = threading.Thread(
                target=self._run,
                args=(connection, self._stopping, on_press, on_release, on_status),
                name="hotkey-portal",
                daemon=True,
            )
            self._thread.start()

    def stop(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
            connection, self._connection = self._connection, None
            self._stopping.set()
            if connection is not None:
                # Wakes the thread from its blocking read (even mid-dialog); the thread closes the socket.
                # OSError: the thread has closed it already.
                with contextlib.suppress(OSError):
                    connection.sock.shutdown(socket.SHUT_RDWR)
        if thread is not None and thread is not threading.current_thread():
            thread.join(STOP_TIMEOUT_S)
            if thread.is_alive():
                log.warning("the portal hotkey thread did not end within %.0f s", STOP_TIMEOUT_S)

    def _run(
        self,
        connection: DBusConnection,
        stopping: threading.Event,
        on_press: KeyCallback,
        on_release: KeyCallback,
        on_status: StatusCallback | None,
    ) -> None:
        hold = DebouncedHold(on_press, on_release)
        status: Unavailable | None = None
        try:
            self._register(connection)
            self._check_interface(connection)
            # Subscribed before the session exists, so that no signal can come before its match rule.
            for interface in (REQUEST_INTERFACE, SHORTCUTS_INTERFACE, SESSION_INTERFACE):
                self._call(connection, message_bus.AddMatch(MatchRule(type="signal", interface=interface)))
            session = self._create_session(connection)
            trigger = self._bind(connection, session)
            if on_status is not None and not stopping.is_set():
                on_status(Listening(BackendKind.PORTAL, trigger))
            log.info("global hotkey bound through the desktop portal: %s", trigger)
            self._listen(connection, session, hold, stopping, on_status)
        except _Failure as failure:
            status = failure.status
        except (OSError, TimeoutError, ValueError) as exc:
            if not stopping.is_set():
                log.warning("lost the desktop portal: %s", exc)
                hold.end()
                status = Unavailable(
                    ErrorCode.HOTKEY_UNAVAILABLE,
                    f"The connection to the desktop's shortcut service was lost ({exc}), so the push-to-talk key "
                    "no longer works outside the app's window. Restart the app.",
                )
        finally:
            with self._lock:
                connection.close()
        if status is not None and not stopping.is_set():
            log.warning("no global hotkey through the portal: %s", status.reason)
            if on_status is not None:
                on_status(status)

    def _call(self, connection: DBusConnection, message: Message) -> Message:
        reply = connection.send_and_get_reply(message, timeout=CALL_TIMEOUT_S)
        if reply.header.message_type == MessageType.error:
            name = str(reply.header.fields.get(HeaderFields.error_name, ""))
            raise _CallError(name, " ".join(str(part) for part in reply.body))
        return reply

    def _register(self, connection: DBusConnection) -> None:
        """Tells the portal the app's id (host apps have none otherwise; GNOME's portal needs one). Older
        portals lack the registry; that is no failure."""
        if not self._app_id:
            return
        registry = DBusAddress(PORTAL_PATH, bus_name=PORTAL_BUS_NAME, interface=REGISTRY_INTERFACE)
        try:
            self._call(connection, new_method_call(registry, "Register", "sa{sv}", (self._app_id, {})))
        except _CallError as exc:
            if exc.name in _NO_SERVICE_ERRORS:
                raise self._no_portal() from exc
            log.info("the portal did not take the app id %s: %s", self._app_id, exc)

    def _check_interface(self, connection: DBusConnection) -> None:
        properties = DBusAddress(PORTAL_PATH, bus_name=PORTAL_BUS_NAME, interface="org.freedesktop.DBus.Properties")
        try:
            self._call(connection, new_method_call(properties, "Get", "ss", (SHORTCUTS_INTERFACE, "version")))
        except _CallError as exc:
            if exc.name in _NO_SERVICE_ERRORS:
                raise self._no_portal() from exc
            raise _Failure(
                ErrorCode.HOTKEY_UNAVAILABLE,
                "Your desktop's portal offers apps no global shortcuts (it has no GlobalShortcuts interface; GNOME "
                f"48, KDE Plasma 5.27 and Hyprland have one), so {self._spec.display()} cannot work outside the "
                f"app's window. {_BIND_INSTEAD}",
            ) from exc
        except TimeoutError as exc:
            raise _Failure(
                ErrorCode.HOTKEY_UNAVAILABLE,
                f"The desktop's portal did not answer within {CALL_TIMEOUT_S:.0f} s. {_BIND_INSTEAD}",
            ) from exc

    def _no_portal(self) -> _Failure:
        return _Failure(
            ErrorCode.HOTKEY_UNAVAILABLE,
            "No desktop portal (xdg-desktop-portal) runs in this session, so the desktop cannot be asked for a "
            f"global {self._spec.display()}. {_BIND_INSTEAD}",
        )

    def _request(self, connection: DBusConnection, method: str, signature: str, body: tuple[Any, ...]) -> Any:
        """Calls a portal method that answers with a Request, and waits for its Response (for as long as the
        user takes in the desktop's dialog). Returns the results dictionary."""
        rule = MatchRule(type="signal", interface=REQUEST_INTERFACE, member="Response")
        responses: deque[Message] = deque()
        with connection.filter(rule, queue=responses):
            try:
                handle = self._call(connection, new_method_call(_PORTAL, method, signature, body)).body[0]
            except _CallError as exc:
                raise _Failure(
                    ErrorCode.HOTKEY_UNAVAILABLE,
                    f"The desktop's portal refused {method} ({exc}). {_BIND_INSTEAD}",
                ) from exc
            while True:
                response = connection.recv_until_filtered(responses)
                if response.header.fields.get(HeaderFields.path) == handle:
                    break
        code, results = response.body
        if code == RESPONSE_CANCELLED:
            raise _Failure(
                ErrorCode.HOTKEY_REFUSED,
                f"The push-to-talk shortcut was declined in the desktop's dialog, so {self._spec.display()} works "
                "only in the app's window. Restart the app to be asked again, or bind the key yourself: "
                + _BIND_INSTEAD[0].lower()
                + _BIND_INSTEAD[1:],
            )
        if code != RESPONSE_SUCCESS:
            raise _Failure(
                ErrorCode.HOTKEY_UNAVAILABLE,
                f"The desktop's portal ended the {method} request without doing it (code {code}). {_BIND_INSTEAD}",
            )
        return results

    def _token(self) -> str:
        return "voice_assistant_" + secrets.token_hex(6)

    def _create_session(self, connection: DBusConnection) -> str:
        options = {"handle_token": ("s", self._token()), "session_handle_token": ("s", self._token())}
        results = self._request(connection, "CreateSession", "a{sv}", (options,))
        session = _value(results, "session_handle")
        if not session:
            raise _Failure(ErrorCode.HOTKEY_UNAVAILABLE, f"The desktop's portal opened no session. {_BIND_INSTEAD}")
        return str(session)

    def _bind(self, connection: DBusConnection, session: str) -> str:
        shortcut = {
            "description": ("s", self._description),
            "preferred_trigger": ("s", self._spec.portal_trigger()),
        }
        options = {"handle_token": ("s", self._token())}
        body = (session, [(SHORTCUT_ID, shortcut)], self._parent_window, options)
        results = self._request(connection, "BindShortcuts", "oa(sa{sv})sa{sv}", body)
        trigger = _trigger_of(_value(results, "shortcuts"))
        if trigger is None:
            raise _Failure(
                ErrorCode.HOTKEY_REFUSED,
                "The desktop bound no push-to-talk shortcut (none was chosen in its dialog), so "
                f"{self._spec.display()} works only in the app's window. {_BIND_INSTEAD}",
            )
        return trigger or f"{self._spec.display()} (as set in your desktop's settings)"

    def _listen(
        self,
        connection: DBusConnection,
        session: str,
        hold: DebouncedHold,
        stopping: threading.Event,
        on_status: StatusCallback | None,
    ) -> None:
        while not stopping.is_set():
            try:
                message = connection.receive(timeout=hold.timeout())
            except TimeoutError:
                hold.tick()
                continue
            fields = message.header.fields
            if message.header.message_type != MessageType.signal:
                continue
            interface, member = fields.get(HeaderFields.interface), fields.get(HeaderFields.member)
            if interface == SESSION_INTERFACE and member == "Closed" and fields.get(HeaderFields.path) == session:
                hold.end()
                raise _Failure(
                    ErrorCode.HOTKEY_UNAVAILABLE,
                    "The desktop closed the push-to-talk shortcut's session, so the key works only in the app's "
                    f"window until the app restarts. {_BIND_INSTEAD}",
                )
            if interface != SHORTCUTS_INTERFACE or message.body[0] != session:
                continue
            if member == "ShortcutsChanged":
                trigger = _trigger_of(message.body[1])
                if trigger and on_status is not None:
                    on_status(Listening(BackendKind.PORTAL, trigger))
            elif member in ("Activated", "Deactivated") and message.body[1] == SHORTCUT_ID:
                if member == "Activated":
                    hold.down(int(message.body[2]))
                else:
                    hold.up(int(message.body[2]))
            hold.tick()


def _trigger_of(shortcuts: Any) -> str | None:
    """The trigger text the desktop gives for our shortcut: None when it is not bound, "" when the desktop
    does not say."""
    for shortcut_id, properties in shortcuts or ():
        if shortcut_id == SHORTCUT_ID:
            return str(_value(properties, "trigger_description") or "")
    return None
