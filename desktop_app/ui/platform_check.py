"""Before Qt starts: can the window open at all? On Linux with Qt's xcb platform, three things must hold:

  * a display is set (DISPLAY, or WAYLAND_DISPLAY for a Wayland session);
  * the X server at DISPLAY answers;
  * every system library that Qt's xcb platform plugin loads is installed.

Without this check Qt aborts the process (SIGABRT, exit status 134) with "Reinstalling the application may
fix this problem", which names neither the cause nor the fix. Here each case becomes an AppError with a
stable code and one sentence that says what to do; a missing library is named with its Debian/Ubuntu
package and the command that installs it.

Nothing here imports Qt: PySide6's folder is found with importlib, and the plugin is loaded with ctypes the
way Qt would load it (same search path, same libraries), so the loader's own error names what is missing.
Other platforms (macOS, Windows) and explicitly chosen Qt platforms other than xcb (offscreen, minimal,
wayland, ...) are not checked.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from desktop_app.core.errors import AppError, ErrorCode

# The system libraries Qt's xcb platform plugin (and the Qt libraries under it) load, by soname, with the
# Debian/Ubuntu package that ships each. "a|b" means either name (Ubuntu 24.04 renamed some with a t64
# suffix), as in scripts/packages.sh. The one place for this mapping: tests/test_platform_check.py checks
# it against dpkg and against APP_PACKAGES, which ./start.sh installs.
XCB_LIBRARY_PACKAGES: Mapping[str, str] = {
    # Named in APP_PACKAGES.
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libglib-2.0.so.0": "libglib2.0-0t64|libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0t64|libglib2.0-0",
    "libdbus-1.so.3": "libdbus-1-3",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-glx.so.0": "libxcb-glx0",
    "libxcb-util.so.1": "libxcb-util1",
    # Installed with those as their dependencies.
    "libxcb.so.1": "libxcb1",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-render.so.0": "libxcb-render0",
    "libX11.so.6": "libx11-6",
    "libXau.so.6": "libxau6",
    "libXdmcp.so.6": "libxdmcp6",
    "libGLX.so.0": "libglx0",
    "libGLdispatch.so.0": "libglvnd0",
    "libpng16.so.16": "libpng16-16t64|libpng16-16",
    "libexpat.so.1": "libexpat1",
    "libbrotlidec.so.1": "libbrotli1",
    "libbrotlicommon.so.1": "libbrotli1",
    "libpcre2-8.so.0": "libpcre2-8-0",
    "libz.so.1": "zlib1g",
    "libzstd.so.1": "libzstd1",
    "libbsd.so.0": "libbsd0",
    "libmd.so.0": "libmd0",
    "libsystemd.so.0": "libsystemd0",
    "libcap.so.2": "libcap2",
    "libgcrypt.so.20": "libgcrypt20",
    "libgpg-error.so.0": "libgpg-error0",
    "liblzma.so.5": "liblzma5",
    "liblz4.so.1": "liblz4-1",
    "libstdc++.so.6": "libstdc++6",
    "libgcc_s.so.1": "libgcc-s1",
}

XCB_PLUGIN = "libqxcb.so"
# What Qt loads besides the platform plugin once the window opens; checked when present.
QT_LIBRARIES = ("libQt6Widgets.so.6",)
CONNECT_TIMEOUT_SECONDS = 5.0
NOT_CHECKED = ("offscreen", "minimal", "minimalegl", "wayland", "wayland-egl", "eglfs", "linuxfb", "vnc")

# "libxcb-cursor.so.0: cannot open shared object file: No such file or directory", or with a path:
# "/some/dir/libxcb-cursor.so.0: file too short".
_LOADER_ERROR = re.compile(r"^(?P<path>[^:\s]*?(?P<soname>lib[^/:\s]+\.so[.\d]*)): (?P<why>.+)$")
_NOT_FOUND = "cannot open shared object file"
# Libraries that come with PySide6 itself, not from the system.
_WHEEL_LIBRARIES = ("libQt6", "libqxcb", "libicu", "libpyside6", "libshiboken6")
_LDD_NOT_FOUND = re.compile(r"^\s*(?P<soname>\S+) => not found\s*$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class MissingLibrary:
    """A library the loader could not load: missing (`damaged` False) or present but unusable."""

    soname: str
    path: str
    reason: str
    damaged: bool

    @property
    def package(self) -> str | None:
        return XCB_LIBRARY_PACKAGES.get(self.soname)


def check_platform(environ: Mapping[str, str] | None = None) -> None:
    """Raises AppError (no_display, display_unreachable, system_library_missing, qt_platform_unavailable)
    when Qt's xcb platform could not start the window; returns when it can, or when it is not used."""
    env = os.environ if environ is None else environ
    if not sys.platform.startswith("linux") or not _uses_xcb(env):
        return
    display = env.get("DISPLAY", "")
    if not display:
        raise AppError(
            ErrorCode.NO_DISPLAY,
            "no display: the window needs a graphical desktop, and neither DISPLAY nor WAYLAND_DISPLAY is "
            "set. Start it from your desktop session, or use the commands that need no window "
            "(voice-assistant ask, history, ...).",
        )
    plugin = xcb_plugin_path(env)
    if plugin is not None:
        problem = library_problem(plugin)
        if problem is not None:
            raise problem
    reason = display_connection_error(display)
    if reason is not None:
        raise AppError(
            ErrorCode.DISPLAY_UNREACHABLE,
            f"cannot reach the display {display}: {reason}. Check DISPLAY (and XAUTHORITY), or start the app "
            "from your desktop session.",
        )


def _uses_xcb(env: Mapping[str, str]) -> bool:
    """True when Qt will use its xcb platform: QT_QPA_PLATFORM says xcb, or it is unset and this is not
    a Wayland session (where Qt may pick its wayland platform instead)."""
    chosen = env.get("QT_QPA_PLATFORM", "").strip()
    if chosen:
        first = chosen.split(";")[0].split(":")[0].strip()
        return first == "xcb"
    return not env.get("WAYLAND_DISPLAY")


# -- the libraries ----------------------------------------------------------------------------------------


def xcb_plugin_path(environ: Mapping[str, str] | None = None) -> Path | None:
    """Qt's xcb platform plugin as Qt will find it: QT_QPA_PLATFORM_PLUGIN_PATH, else PySide6's own."""
    env = os.environ if environ is None else environ
    override = env.get("QT_QPA_PLATFORM_PLUGIN_PATH")
    if override:
        candidate = Path(override) / XCB_PLUGIN
        return candidate if candidate.is_file() else None
    qt = qt_dir()
    if qt is None:
        return None
    candidate = qt / "plugins" / "platforms" / XCB_PLUGIN
    return candidate if candidate.is_file() else None


def qt_dir() -> Path | None:
    """PySide6's Qt folder (lib/, plugins/), found without importing PySide6."""
    try:
        spec = importlib.util.find_spec("PySide6")
    except (ImportError, ValueError):
        return None
    locations = list(spec.submodule_search_locations or ()) if spec is not None else []
    for location in locations:
        qt = Path(location) / "Qt"
        if qt.is_dir():
            return qt
    return None


def library_problem(plugin: Path) -> AppError | None:
    """Loads the plugin and the Qt libraries the window uses, as Qt would; the first failure as an AppError."""
    libraries = [plugin] + [plugin.parents[2] / "lib" / name for name in QT_LIBRARIES]
    for library in libraries:
        if not library.is_file():
            continue
        try:
            ctypes.CDLL(str(library))
        except OSError as error:
            return describe_load_failure(str(error), all_missing(library))
    return None


def parse_load_error(text: str) -> MissingLibrary | None:
    """The library named by a loader error (dlopen's message, as ctypes reports it), if it names one."""
    match = _LOADER_ERROR.match(text.strip().splitlines()[0] if text.strip() else "")
    if match is None:
        return None
    why = match.group("why").strip()
    return MissingLibrary(match.group("soname"), match.group("path"), why, damaged=_NOT_FOUND not in why)


def all_missing(library: Path) -> list[str]:
    """Every library `library` needs that the loader cannot find (ldd's "not found"); empty when ldd is not
    there or says nothing. Only used once loading has failed, so that one command installs them all."""
    ldd = shutil.which("ldd")
    if ldd is None:
        return []
    try:
        done = subprocess.run([ldd, str(library)], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return []
    return list(dict.fromkeys(match.group("soname") for match in _LDD_NOT_FOUND.finditer(done.stdout)))


def describe_load_failure(text: str, missing: list[str] | None = None) -> AppError:
    """The AppError for a failed load: the library, its package and the command that installs it."""
    first = parse_load_error(text)
    if first is None or first.soname.startswith(_WHEEL_LIBRARIES):
        return AppError(
            ErrorCode.QT_PLATFORM_UNAVAILABLE,
            f"the window cannot start: Qt's xcb platform plugin could not be loaded ({text.strip()}). "
            "Reinstall the app's Python packages (pip install --force-reinstall PySide6-Essentials).",
        )
    if first.damaged:
        package = first.package
        fix = (
            f"Reinstall its package: sudo apt install --reinstall {install_names([package])[0]}"
            if package is not None
            else "Reinstall the package that provides it"
        )
        if _in_library_path(first.path):
            fix = f"It is in a folder of LD_LIBRARY_PATH: remove it from there. Otherwise: {fix[0].lower()}{fix[1:]}"
        return AppError(
            ErrorCode.SYSTEM_LIBRARY_MISSING,
            f"the window cannot start: the system library {first.soname} at {first.path} cannot be loaded "
            f"({first.reason}). {fix}",
        )
    sonames = list(dict.fromkeys([first.soname, *(missing or ())]))
    known = [soname for soname in sonames if soname in XCB_LIBRARY_PACKAGES]
    unknown = [soname for soname in sonames if soname not in XCB_LIBRARY_PACKAGES]
    named = ", ".join(sonames)
    what = "library" if len(sonames) == 1 else "libraries"
    if not known:
        return AppError(
            ErrorCode.SYSTEM_LIBRARY_MISSING,
            f"the window cannot start: the system {what} {named} that Qt needs "
            f"{'is' if len(sonames) == 1 else 'are'} missing. Install the package that provides "
            f"{'it' if len(sonames) == 1 else 'them'} (Debian/Ubuntu: apt-file search {sonames[0]}).",
        )
    packages = install_names(list(dict.fromkeys(XCB_LIBRARY_PACKAGES[soname] for soname in known)))
    listed = " ".join(packages)
    unknown_note = f" ({', '.join(unknown)} too: find its package with apt-file search)" if unknown else ""
    return AppError(
        ErrorCode.SYSTEM_LIBRARY_MISSING,
        f"the window cannot start: the system {what} {named} "
        f"{'is' if len(sonames) == 1 else 'are'} missing (Debian/Ubuntu "
        f"{'package' if len(packages) == 1 else 'packages'} {', '.join(packages)}). "
        f"Install with: sudo apt install {listed}{unknown_note}",
    )


def _in_library_path(path: str) -> bool:
    folder = os.path.dirname(path)
    listed = [entry for entry in os.environ.get("LD_LIBRARY_PATH", "").split(":") if entry]
    return bool(folder) and any(os.path.realpath(entry) == os.path.realpath(folder) for entry in listed)


def install_names(specs: list[str]) -> list[str]:
    """The package name to give apt for each spec ("a|b": the first one apt knows, like scripts/common.sh;
    the last one when apt cannot say)."""
    names: list[str] = []
    for spec in specs:
        alternatives = spec.split("|")
        names.append(next((name for name in alternatives if _apt_knows(name)), alternatives[-1]))
    return names


def _apt_knows(name: str) -> bool:
    if shutil.which("apt-cache") is None:
        return False
    try:
        done = subprocess.run(
            ["apt-cache", "show", "--no-all-versions", name], capture_output=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0 and bool(done.stdout.strip())


# -- the X server -----------------------------------------------------------------------------------------

# xcb_connection_has_error() results (xcb.h).
_XCB_ERRORS = {
    1: "no X server answers there, or it refused the connection",
    2: "the X server lacks an extension the window needs",
    3: "not enough memory to connect",
    4: "the X server refused a request as too long",
    5: "DISPLAY is not a valid display name",
    6: "the X server has no such screen",
    7: "passing file descriptors to the X server failed",
}


def display_connection_error(display: str, timeout: float = CONNECT_TIMEOUT_SECONDS) -> str | None:
    """Connects to the X server at `display` with libxcb and hangs up: None when it answered, otherwise
    why not. A server that does not answer within `timeout` (a remote one behind a silent firewall) is
    left to Qt: None."""
    try:
        xcb = ctypes.CDLL("libxcb.so.1")
    except OSError:
        return None  # the library check names it
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)]
    xcb.xcb_connection_has_error.restype = ctypes.c_int
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_disconnect.restype = None
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    result: list[int] = []

    def connect() -> None:
        screen = ctypes.c_int(0)
        connection = xcb.xcb_connect(display.encode(), ctypes.byref(screen))
        try:
            result.append(xcb.xcb_connection_has_error(connection))
        finally:
            xcb.xcb_disconnect(connection)  # also frees a connection in the error state

    worker = threading.Thread(target=connect, name="display-check", daemon=True)
    worker.start()
    worker.join(timeout)
    if not result or result[0] == 0:
        return None
    return _XCB_ERRORS.get(result[0], f"libxcb error {result[0]}")
