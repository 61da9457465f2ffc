"""Starting the app when the user logs in ("start with the session"), minimised to the tray.

- Linux and the BSDs: an XDG autostart entry, ``$XDG_CONFIG_HOME/autostart/voice-assistant.desktop``
  (``~/.config`` when XDG_CONFIG_HOME is unset, empty or relative, as the base-directory spec says).
- macOS: a LaunchAgent, ``~/Library/LaunchAgents/local.voice-assistant.plist``, read by launchd at the next
  log-in (nothing is loaded now: the app is already running).
- Windows: a value under ``HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Run``.

The app only changes what is provably its own. A desktop entry or plist is its own when it carries the
marker key ``X-Voice-Assistant-Managed``; a Run value when it equals the command line the app recorded
under ``HKCU\\Software\\voice-assistant``. Anything else in that place is refused (autostart_not_ours), and a
symbolic link, named pipe, folder or device there is refused too (autostart_unsafe_path): in both cases
nothing is written, replaced, changed in mode or removed. A file appears whole or not at all: it is written
beside its place under a temporary name, then renamed.
"""

from __future__ import annotations

import errno
import os
import plistlib
import subprocess
import sys
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

from desktop_app import APP_ID, APP_NAME, DISPLAY_NAME
from desktop_app.core.errors import AppError, ErrorCode, ValidationError
from desktop_app.owned_file import OwnedFile, Refusals

MINIMIZED_FLAG = "--minimized"
MARKER_KEY = "X-Voice-Assistant-Managed"
DESKTOP_FILE_NAME = f"{APP_NAME}.desktop"
LAUNCH_AGENT_LABEL = f"local.{APP_NAME}"
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
RUN_VALUE = DISPLAY_NAME
RECORD_KEY = rf"Software\{APP_NAME}"  # where the app keeps the command line it put under RUN_KEY
RECORD_VALUE = "AutostartCommand"
# An entry of ours is a few hundred bytes; a bigger file is someone else's and is not read whole.
MAX_ENTRY_BYTES = 64 * 1024


class AutostartError(AppError):
    """Starting with the session could not be switched on or off; nothing of anyone else's was touched."""


class AutostartBackend(Protocol):
    def enabled(self) -> bool: ...

    def enable(self, command: Sequence[str]) -> None: ...

    def disable(self) -> None: ...


def autostart_enabled() -> bool:
    """Whether the app's own entry is in place and switched on (an entry the user switched off in the
    desktop's settings, or one the app did not make, counts as off)."""
    return autostart_backend().enabled()


def enable_autostart(command: Sequence[str], *, icon: str = APP_ID) -> None:
    """Starts `command` (the program and its arguments, e.g. ["voice-assistant"] or [python, "-m",
    "desktop_app"]) at every log-in, with --minimized added. Replaces an earlier entry of the app's own.
    `icon` is an icon name (the one install-desktop puts in the icon theme) or an absolute path (desktop entries
    only)."""
    autostart_backend(icon=icon).enable(command)


def disable_autostart() -> None:
    """Removes the app's own entry; nothing to remove is fine."""
    autostart_backend().disable()


def set_autostart(on: bool) -> bool:
    """Starts this app (as `launch_command()` says it was started) at log-in, or no longer; returns whether
    the entry is now in place."""
    if on:
        enable_autostart(launch_command())
    else:
        disable_autostart()
    return autostart_enabled()


def autostart_backend(
    *,
    platform: str = sys.platform,
    environ: Mapping[str, str] | None = None,
    home: Path | None = None,
    icon: str = APP_ID,
) -> AutostartBackend:
    """The mechanism for `platform` (default: this one); `environ` and `home` default to this process's."""
    if platform == "win32":  # pragma: no cover - Windows only
        return RunKeyAutostart(WinregRegistry())
    user_home = home if home is not None else Path.home()
    if platform == "darwin":
        return FileAutostart(user_home / "Library" / "LaunchAgents" / f"{LAUNCH_AGENT_LABEL}.plist", LaunchAgent())
    config = xdg_config_home(os.environ if environ is None else environ, user_home)
    return FileAutostart(config / "autostart" / DESKTOP_FILE_NAME, DesktopEntry(icon))


def xdg_config_home(environ: Mapping[str, str], home: Path) -> Path:
    value = environ.get("XDG_CONFIG_HOME", "")
    return Path(value) if os.path.isabs(value) else home / ".config"


def launch_command(
    argv: Sequence[str] | None = None, *, executable: str | None = None, frozen: bool | None = None
) -> list[str]:
    """How this app was started, to start it the same way at log-in (the same --data-dir, if any): the
    bundle's executable; the `voice-assistant` script; or the interpreter with `-m desktop_app`. Without
    --minimized (added when the entry is written). Defaults: this process's."""
    argv = list(sys.argv if argv is None else argv)
    executable = sys.executable if executable is None else executable
    frozen = bool(getattr(sys, "frozen", False)) if frozen is None else frozen
    arguments = [part for part in argv[1:] if part != MINIMIZED_FLAG]
    program = argv[0] if argv else ""
    if frozen:
        return [executable, *arguments]
    if Path(program).name == "__main__.py" or not program:
        return [executable, "-m", "desktop_app", *arguments]
    return [os.path.abspath(program), *arguments]


def with_minimized(command: Sequence[str]) -> list[str]:
    """The command as given, checked, with --minimized added once."""
    argv = [str(part) for part in command]
    if not argv or not argv[0]:
        raise ValidationError(ErrorCode.INVALID_ARGUMENT, "The command to start at log-in is empty.")
    for part in argv:
        if any(unicodedata.category(char) in ("Cc", "Cs") for char in part):
            # Control characters have no place in a command line; surrogates are undecodable file names.
            raise ValidationError(
                ErrorCode.INVALID_ARGUMENT, f"The command to start at log-in has an unusable character: {part!r}."
            )
    return argv if MINIMIZED_FLAG in argv[1:] else [*argv, MINIMIZED_FLAG]


# -- the entry's format -------------------------------------------------------------------------------------


class EntryFormat(Protocol):
    def render(self, argv: Sequence[str]) -> bytes: ...

    def is_ours(self, content: bytes) -> bool: ...

    def is_on(self, content: bytes) -> bool: ...


# Characters that make the Desktop Entry spec require an argument of Exec to be quoted.
_EXEC_RESERVED = frozenset(" \t\n\"'\\><~|&;$*?#()`")
_EXEC_ESCAPED_IN_QUOTES = frozenset('"`$\\')


def exec_argument(argument: str) -> str:
    """One argument of Exec, quoted as the Desktop Entry spec says (before the string escapes): "%" is
    doubled (a literal percent, not a field code); a reserved character puts it in double quotes, inside
    which " ` $ and backslash get a backslash."""
    text = argument.replace("%", "%%")
    if argument and not _EXEC_RESERVED.intersection(argument):
        return text
    return '"' + "".join("\\" + char if char in _EXEC_ESCAPED_IN_QUOTES else char for char in text) + '"'


def escape_string(value: str) -> str:
    """A value of type string in a desktop entry: backslash, newline, tab and carriage return escaped.
    The spec applies these before the Exec quoting, so a literal backslash in a quoted argument is four."""
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")


def exec_value(argv: Sequence[str]) -> str:
    if "=" in argv[0]:
        raise ValidationError(
            ErrorCode.INVALID_ARGUMENT, f"A desktop entry cannot start a program whose path has '=': {argv[0]}"
        )
    return escape_string(" ".join(exec_argument(argument) for argument in argv))


def desktop_entry_keys(content: bytes) -> dict[str, str]:
    """The raw keys of the [Desktop Entry] group (values not unescaped; the app only reads flags)."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return {}
    keys: dict[str, str] = {}
    group = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            group = line[1:-1]
        elif group == "Desktop Entry" and "=" in line:
            key, _, value = line.partition("=")
            keys.setdefault(key.strip(), value.strip())
    return keys


class DesktopEntry:
    """An XDG autostart entry. It says Version=1.0: it uses nothing newer, and validators that predate
    later versions of the spec (desktop-file-utils 0.26) reject their numbers."""

    def __init__(self, icon: str = APP_ID) -> None:
        if any(unicodedata.category(char) in ("Cc", "Cs") for char in icon) or not icon:
            raise ValidationError(ErrorCode.INVALID_ARGUMENT, f"Unusable icon for the desktop entry: {icon!r}.")
        self.icon = icon

    def render(self, argv: Sequence[str]) -> bytes:
        lines = [
            "[Desktop Entry]",
            "Type=Application",
            "Version=1.0",
            f"Name={DISPLAY_NAME}",
            f"Comment=Start {DISPLAY_NAME} in the system tray when you log in",
            f"Exec={exec_value(argv)}",
            f"Icon={escape_string(self.icon)}",
            "Terminal=false",
            "X-GNOME-Autostart-enabled=true",
            f"{MARKER_KEY}=true",
        ]
        return ("\n".join(lines) + "\n").encode("utf-8")

    def is_ours(self, content: bytes) -> bool:
        return desktop_entry_keys(content).get(MARKER_KEY) == "true"

    def is_on(self, content: bytes) -> bool:
        # Desktop settings switch an entry off with one of these keys, keeping the rest of the file.
        keys = desktop_entry_keys(content)
        return keys.get("Hidden") != "true" and keys.get("X-GNOME-Autostart-enabled") != "false"


class LaunchAgent:
    """A launchd property list that runs the command once at log-in, in the user's graphical session."""

    def render(self, argv: Sequence[str]) -> bytes:
        agent = {
            "Label": LAUNCH_AGENT_LABEL,
            "ProgramArguments": list(argv),
            "RunAtLoad": True,
            "ProcessType": "Interactive",
            "LimitLoadToSessionType": "Aqua",
            MARKER_KEY: True,  # launchd ignores keys it does not know
        }
        return plistlib.dumps(agent, fmt=plistlib.FMT_XML)

    def is_ours(self, content: bytes) -> bool:
        agent = _plist(content)
        return agent.get(MARKER_KEY) is True and agent.get("Label") == LAUNCH_AGENT_LABEL

    def is_on(self, content: bytes) -> bool:
        return _plist(content).get("Disabled") is not True


def _plist(content: bytes) -> dict[str, object]:
    try:
        loaded = plistlib.loads(content)
    except Exception:  # plistlib raises several types (InvalidFileException, ExpatError, ValueError...)
        return {}
    return loaded if isinstance(loaded, dict) else {}


# -- a file in its place ------------------------------------------------------------------------------------


class FileAutostart:
    """An entry file at `path` in `entry_format`; only a regular file with the app's marker is changed."""

    def __init__(self, path: Path, entry_format: EntryFormat) -> None:
        self.path = path
        self.format = entry_format
        self._file = OwnedFile(path, entry_format.is_ours, AUTOSTART_REFUSALS, max_bytes=MAX_ENTRY_BYTES)

    def enabled(self) -> bool:
        try:
            content = self._file.content()
        except AutostartError:
            return False
        return content is not None and self._file.owns(content) and self.format.is_on(content)

    def enable(self, command: Sequence[str]) -> None:
        self._file.write(self.format.render(with_minimized(command)))

    def disable(self) -> None:
        self._file.remove()


AUTOSTART_REFUSALS = Refusals(
    error=AutostartError,
    not_ours=ErrorCode.AUTOSTART_NOT_OURS,
    unsafe_path=ErrorCode.AUTOSTART_UNSAFE_PATH,
    failed=ErrorCode.AUTOSTART_FAILED,
    not_ours_when_writing=f"{{path}} already exists and was not made by {DISPLAY_NAME}; it was left as it is. "
    f"Remove or rename it to let {DISPLAY_NAME} start when you log in.",
    not_ours_when_removing=f"{{path}} was not made by {DISPLAY_NAME}, so it was left as it is; remove it "
    "yourself to stop it starting when you log in.",
)


# -- the Windows registry -----------------------------------------------------------------------------------


class Registry(Protocol):
    """String values under HKEY_CURRENT_USER; `get` gives None for a missing value."""

    def get(self, key: str, name: str) -> object | None: ...

    def set(self, key: str, name: str, value: str) -> None: ...

    def delete(self, key: str, name: str) -> None: ...


def windows_command_line(argv: Sequence[str]) -> str:
    """The command line as the Microsoft C runtime splits it (what Windows runs from the Run key)."""
    return subprocess.list2cmdline(list(argv))


class RunKeyAutostart:
    """The Run value is the app's when it equals the command line the app recorded when it wrote it."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def enabled(self) -> bool:
        current = self._get(RUN_KEY, RUN_VALUE)
        return current is not None and current == self._get(RECORD_KEY, RECORD_VALUE)

    def enable(self, command: Sequence[str]) -> None:
        line = windows_command_line(with_minimized(command))
        current = self._get(RUN_KEY, RUN_VALUE)
        if current is not None and current != self._get(RECORD_KEY, RECORD_VALUE):
            raise AutostartError(
                ErrorCode.AUTOSTART_NOT_OURS,
                f"The Run value '{RUN_VALUE}' already exists and was not made by {DISPLAY_NAME}; it was left as it is.",
            )
        # The record first: a Run value without it could never be proved ours and removed.
        self._set(RECORD_KEY, RECORD_VALUE, line)
        self._set(RUN_KEY, RUN_VALUE, line)

    def disable(self) -> None:
        current = self._get(RUN_KEY, RUN_VALUE)
        if current is not None:
            if current != self._get(RECORD_KEY, RECORD_VALUE):
                raise AutostartError(
                    ErrorCode.AUTOSTART_NOT_OURS,
                    f"The Run value '{RUN_VALUE}' was not made by {DISPLAY_NAME}, so it was left as it is.",
                )
            self._delete(RUN_KEY, RUN_VALUE)
        if self._get(RECORD_KEY, RECORD_VALUE) is not None:
            self._delete(RECORD_KEY, RECORD_VALUE)

    def _get(self, key: str, name: str) -> object | None:
        try:
            return self.registry.get(key, name)
        except OSError as error:
            raise _registry_failure(error) from error

    def _set(self, key: str, name: str, value: str) -> None:
        try:
            self.registry.set(key, name, value)
        except OSError as error:
            raise _registry_failure(error) from error

    def _delete(self, key: str, name: str) -> None:
        try:
            self.registry.delete(key, name)
        except OSError as error:
            raise _registry_failure(error) from error


def _registry_failure(error: OSError) -> AutostartError:
    return AutostartError(ErrorCode.AUTOSTART_FAILED, f"Could not change the Windows registry: {error}.")


class WinregRegistry:  # pragma: no cover - Windows only
    """HKEY_CURRENT_USER through winreg."""

    def get(self, key: str, name: str) -> object | None:
        if sys.platform != "win32":
            raise OSError(errno.ENOSYS, "the Windows registry exists on Windows only")
        import winreg

        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, key) as handle:
                value, kind = winreg.QueryValueEx(handle, name)
        except FileNotFoundError:
            return None
        # A value of another type is compared as such, so it is never taken for the app's string.
        return value if kind == winreg.REG_SZ else (kind, value)

    def set(self, key: str, name: str, value: str) -> None:
        if sys.platform != "win32":
            raise OSError(errno.ENOSYS, "the Windows registry exists on Windows only")
        import winreg

        with winreg.CreateKeyEx(winreg.HKEY_CURRENT_USER, key, 0, winreg.KEY_SET_VALUE) as handle:
            winreg.SetValueEx(handle, name, 0, winreg.REG_SZ, value)

    def delete(self, key: str, name: str) -> None:
        if sys.platform != "win32":
            raise OSError(errno.ENOSYS, "the Windows registry exists on Windows only")
        import winreg

        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, key, 0, winreg.KEY_SET_VALUE) as handle:
                winreg.DeleteValue(handle, name)
        except FileNotFoundError:
            pass
