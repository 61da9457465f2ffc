"""A private D-Bus session bus with a real, unlocked GNOME Keyring on it: the Secret Service that the app's
keychain uses on Linux, with no desktop and no display.

Everything lives in one temporary directory: the bus socket and its configuration (no service activation,
so nothing outside the directory is ever started), and the keyring daemon's HOME, XDG directories and
keyring files. `variables` holds what a client needs (DBUS_SESSION_BUS_ADDRESS, GNOME_KEYRING_CONTROL):
apply it with monkeypatch in this process, or pass `env()` to a subprocess.

    python tests/keyring_session.py    # start one by hand; prints the variables, Ctrl+C stops it
"""

from __future__ import annotations

import atexit
import contextlib
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from contextlib import closing
from pathlib import Path
from types import TracebackType

from jeepney import DBusAddress, MessageType, new_method_call
from jeepney.io.blocking import open_dbus_connection

INSTALL_HINT = "Run ./test.sh, which installs it (Debian/Ubuntu packages dbus, gnome-keyring, libsecret-tools)."
PASSWORD = "keyring-session-password"
SECRETS_BUS_NAME = "org.freedesktop.secrets"

# A session bus that only listens on its own socket: no <servicedir>, so no daemon from the system (a second
# gnome-keyring with the real HOME, say) can be activated on it.
_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""

_DBUS = DBusAddress("/org/freedesktop/DBus", bus_name="org.freedesktop.DBus", interface="org.freedesktop.DBus")
_SECRETS = DBusAddress(
    "/org/freedesktop/secrets", bus_name=SECRETS_BUS_NAME, interface="org.freedesktop.Secret.Service"
)


# What points a client at a session bus and its keyring, and what would let the daemon reach a real desktop.
_SESSION_VARIABLES = frozenset({"DBUS_SESSION_BUS_ADDRESS", "GNOME_KEYRING_CONTROL", "SSH_AUTH_SOCK"})
_DISPLAY_VARIABLES = frozenset({"DISPLAY", "WAYLAND_DISPLAY"})


def _without(environ: Mapping[str, str], names: frozenset[str]) -> dict[str, str]:
    return {name: value for name, value in environ.items() if name not in names}


class KeyringUnavailable(RuntimeError):
    """A program is missing or did not start; the message says which and what to do."""


def _require(program: str) -> str:
    path = shutil.which(program)
    if path is None:
        raise KeyringUnavailable(f"{program} not found on PATH. {INSTALL_HINT}")
    return path


def _stop_process(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _read_line(process: subprocess.Popen[bytes], timeout: float) -> str:
    """The first line the process writes to its stdout pipe, or "" when it exits or the time runs out."""
    assert process.stdout is not None
    fd = process.stdout.fileno()
    data = b""
    deadline = time.monotonic() + timeout
    while b"\n" not in data:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            return ""
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\n", 1)[0].decode(errors="replace").strip()


class KeyringSession:
    """A running private bus (`bus_process`) and, unless started with `keyring=False`, a GNOME Keyring
    (`keyring_process`) whose default collection ("login", unlocked with `PASSWORD`) exists; with
    `login=False` the keyring runs with no collection at all, as on a machine where none was ever made."""

    def __init__(self, directory: Path, *, login: bool = True) -> None:
        self.directory = directory
        self.home = directory / "home"
        self.login = login
        self.bus_process: subprocess.Popen[bytes] | None = None
        self.keyring_process: subprocess.Popen[bytes] | None = None
        self.address = ""
        self.variables: dict[str, str] = {}

    @classmethod
    def start(cls, *, keyring: bool = True, login: bool = True, timeout: float = 20.0) -> KeyringSession:
        """Starts the bus and (by default) the keyring; returns once the keyring answers on the bus.
        `keyring=False` gives a session bus with no Secret Service on it."""
        dbus_daemon = _require("dbus-daemon")
        if keyring:
            _require("gnome-keyring-daemon")
        directory = Path(tempfile.mkdtemp(prefix="va-keyring-"))
        directory.chmod(0o700)
        session = cls(directory, login=login)
        atexit.register(session.stop)
        try:
            session._start_bus(dbus_daemon, timeout)
            if keyring:
                session.start_keyring(timeout)
        except BaseException:
            session.stop()
            raise
        return session

    def _start_bus(self, executable: str, timeout: float) -> None:
        config = self.directory / "bus.conf"
        config.write_text(_BUS_CONFIG.format(socket=self.directory / "bus"))
        with (self.directory / "bus.log").open("wb") as log:
            self.bus_process = subprocess.Popen(
                [executable, f"--config-file={config}", "--nofork", "--nopidfile", "--print-address=1"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
            )
        self.address = _read_line(self.bus_process, timeout)
        assert self.bus_process.stdout is not None
        self.bus_process.stdout.close()
        if not self.address.startswith("unix:"):
            raise KeyringUnavailable(f"dbus-daemon did not start within {timeout:.0f} s:\n{self.log('bus.log')}")
        self.variables = {"DBUS_SESSION_BUS_ADDRESS": self.address}

    def start_keyring(self, timeout: float = 20.0) -> None:
        """Starts the keyring daemon on the bus (again, after stop_keyring(): the same HOME, so the same
        keyring files, unlocked with the same password)."""
        executable = _require("gnome-keyring-daemon")
        runtime = self.directory / "runtime"
        for folder in (self.home, runtime):
            folder.mkdir(mode=0o700, exist_ok=True)
        env = {
            **_without(os.environ, _SESSION_VARIABLES | _DISPLAY_VARIABLES),
            **self.variables,
            "HOME": str(self.home),
            "XDG_DATA_HOME": str(self.home / ".local" / "share"),
            "XDG_CONFIG_HOME": str(self.home / ".config"),
            "XDG_CACHE_HOME": str(self.home / ".cache"),
            "XDG_RUNTIME_DIR": str(runtime),
        }
        # --unlock reads the password on stdin and, on a fresh HOME, creates the "login" keyring with it; that
        # becomes the default collection. --foreground keeps the daemon our child, so stop() can end it.
        command = [executable, "--foreground", "--components=secrets"]
        if self.login:
            command.append("--unlock")
        with (self.directory / "keyring.log").open("ab") as log:
            self.keyring_process = subprocess.Popen(command, env=env, stdin=subprocess.PIPE, stdout=log, stderr=log)
        assert self.keyring_process.stdin is not None
        if self.login:
            self.keyring_process.stdin.write(PASSWORD.encode())
        self.keyring_process.stdin.close()
        if not self._wait_until_ready(timeout):
            raise KeyringUnavailable(
                f"gnome-keyring-daemon did not start within {timeout:.0f} s:\n{self.log('keyring.log')}"
            )
        control = runtime / "keyring"
        if control.is_dir():
            self.variables["GNOME_KEYRING_CONTROL"] = str(control)

    def stop_keyring(self) -> None:
        """Stops the keyring daemon; the bus stays up (with no Secret Service on it)."""
        _stop_process(self.keyring_process)
        self.keyring_process = None

    def _wait_until_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.keyring_process is None or self.keyring_process.poll() is not None:
                return False
            collection = self.default_collection()
            if collection and (collection != "/" or not self.login):
                return True
            time.sleep(0.01)
        return False

    def env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """A whole environment for a subprocess that should use this keychain: `base` (default: this
        process's environment) less any other session bus or keyring, plus `variables`."""
        return {**_without(os.environ if base is None else base, _SESSION_VARIABLES), **self.variables}

    def default_collection(self) -> str:
        """The object path of the default collection ("/" when there is none), or "" when the keyring does
        not answer yet."""
        try:
            with closing(open_dbus_connection(self.address)) as connection:
                owned = connection.send_and_get_reply(
                    new_method_call(_DBUS, "NameHasOwner", "s", (SECRETS_BUS_NAME,)), timeout=2
                )
                if owned.header.message_type == MessageType.error or not owned.body[0]:
                    return ""
                reply = connection.send_and_get_reply(
                    new_method_call(_SECRETS, "ReadAlias", "s", ("default",)), timeout=2
                )
        except (OSError, TimeoutError, ValueError):
            return ""
        if reply.header.message_type == MessageType.error:
            return ""
        return str(reply.body[0])

    def lock_all(self) -> None:
        """Locks every collection, as a screen lock or a user's "Lock" button does."""
        collections = self._service_property("Collections")
        with closing(open_dbus_connection(self.address)) as connection:
            reply = connection.send_and_get_reply(new_method_call(_SECRETS, "Lock", "ao", (collections,)), timeout=5)
        if reply.header.message_type == MessageType.error:
            raise KeyringUnavailable(f"could not lock the keyring: {reply.body}")

    def _service_property(self, name: str) -> list[str]:
        properties = DBusAddress(
            _SECRETS.object_path, bus_name=SECRETS_BUS_NAME, interface="org.freedesktop.DBus.Properties"
        )
        with closing(open_dbus_connection(self.address)) as connection:
            reply = connection.send_and_get_reply(
                new_method_call(properties, "Get", "ss", ("org.freedesktop.Secret.Service", name)), timeout=5
            )
        if reply.header.message_type == MessageType.error:
            raise KeyringUnavailable(f"could not read the keyring's {name}: {reply.body}")
        signature, value = reply.body[0]
        assert signature == "ao", signature
        return list(value)

    def secret_tool(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        """Runs libsecret's `secret-tool` against this keychain, e.g. ("lookup", "service", S, "username", U)."""
        executable = _require("secret-tool")
        return subprocess.run(
            [executable, *args], env=self.env(), input=input, capture_output=True, text=True, timeout=20
        )

    def clear(self, service: str) -> None:
        """Removes every secret filed under `service` (the keyring must be unlocked)."""
        self.secret_tool("clear", "service", service)

    def count(self, service: str, username: str) -> int:
        """How many secrets are filed under this service and user name."""
        found = self.secret_tool("search", "--all", "--unlock", "service", service, "username", username)
        return sum(1 for line in found.stdout.splitlines() if line.startswith("["))

    def keyring_files(self) -> list[Path]:
        """Every file the keyring daemon wrote under its HOME (the keyrings are in .local/share/keyrings)."""
        return sorted(path for path in self.home.rglob("*") if path.is_file())

    def log(self, name: str = "keyring.log") -> str:
        try:
            return (self.directory / name).read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        """Stops the keyring, then the bus, and removes the directory. Safe to call twice."""
        atexit.unregister(self.stop)
        _stop_process(self.keyring_process)
        _stop_process(self.bus_process)
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> KeyringSession:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


if __name__ == "__main__":
    # A plain `kill` stops it as cleanly as Ctrl+C does: both daemons end and the directory goes.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    with KeyringSession.start() as running:
        for variable, value in running.variables.items():
            print(f"export {variable}={value}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            assert running.keyring_process is not None
            running.keyring_process.wait()
