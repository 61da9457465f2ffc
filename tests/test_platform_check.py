"""The window on a machine that cannot show it: no display, an X server that is not there, a system library
Qt's xcb platform needs that is missing or broken. The real app, started from the command line, says so in
one line with a stable code and exits 1, instead of Qt aborting (exit 134) with "Reinstalling the
application may fix this problem".

A missing library is made without touching the machine: the test runs the app in a private mount namespace
(unshare) where an overlay over the library folder hides the library; outside that namespace nothing
changes. The same set-up makes a bare QApplication abort exactly as a user's machine without the package
does, which proves the simulation is faithful.
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cli_runner import REPO_ROOT

from desktop_app.core.errors import ErrorCode
from desktop_app.ui.platform_check import (
    XCB_LIBRARY_PACKAGES,
    check_platform,
    describe_load_failure,
    display_connection_error,
    parse_load_error,
    xcb_plugin_path,
)

QT_ABORT_TEXT = "Reinstalling the application"
BARE_QAPPLICATION = "from PySide6.QtWidgets import QApplication; QApplication([])"


def _env(**settings: str | None) -> dict[str, str]:
    """The test process's environment without anything that picks a display or a Qt platform (the widget
    tests of this session set QT_QPA_PLATFORM=offscreen), then `settings` (None removes a variable)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM", "XDG_SESSION_TYPE")
        and not key.startswith("VOICE_ASSISTANT_")
    }
    for key, value in settings.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def _run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False)


def _app(data_dir: Path) -> list[str]:
    return [sys.executable, "-m", "desktop_app", "--data-dir", str(data_dir)]


def _one_clear_line(done: subprocess.CompletedProcess[str], code: ErrorCode) -> str:
    assert done.returncode == 1, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ") and lines[0].endswith(f"[{code}]"), lines[0]
    assert "Traceback" not in done.stderr and QT_ABORT_TEXT not in done.stderr
    return lines[0]


def _free_display() -> str:
    for number in range(87, 400):
        if not Path(f"/tmp/.X11-unix/X{number}").exists() and not Path(f"/tmp/.X{number}-lock").exists():
            return f":{number}"
    raise AssertionError("no free X display number between 87 and 400")


def test_no_display_is_one_clear_line_and_exit_1(data_dir: Path) -> None:
    done = _run(_app(data_dir), _env())
    line = _one_clear_line(done, ErrorCode.NO_DISPLAY)
    assert line.startswith("error: no display: ") and "DISPLAY" in line


def test_an_x_server_that_is_not_there_is_one_clear_line_and_exit_1(data_dir: Path) -> None:
    display = _free_display()
    done = _run(_app(data_dir), _env(DISPLAY=display))
    line = _one_clear_line(done, ErrorCode.DISPLAY_UNREACHABLE)
    assert f"cannot reach the display {display}" in line


def test_a_reachable_x_server_passes_the_check(xvfb_display: str) -> None:
    assert display_connection_error(xvfb_display) is None
    check_platform(_env(DISPLAY=xvfb_display))  # raises if anything is wrong


def test_explicit_other_platforms_and_wayland_sessions_are_left_to_qt() -> None:
    for env in (
        _env(QT_QPA_PLATFORM="offscreen"),
        _env(QT_QPA_PLATFORM="minimal"),
        _env(QT_QPA_PLATFORM="wayland", WAYLAND_DISPLAY="wayland-0"),
        _env(WAYLAND_DISPLAY="wayland-0"),
    ):
        check_platform(env)
    with pytest.raises(Exception, match="no display") as raised:
        check_platform(_env(QT_QPA_PLATFORM="xcb", WAYLAND_DISPLAY="wayland-0"))
    assert getattr(raised.value, "code", None) is ErrorCode.NO_DISPLAY


# -- a missing system library -------------------------------------------------------------------------------


def _resolved(soname: str) -> Path:
    plugin = xcb_plugin_path(_env())
    assert plugin is not None, "PySide6's xcb platform plugin is not installed"
    output = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True, check=True).stdout
    match = re.search(rf"^\s*{re.escape(soname)} => (\S+) ", output, re.MULTILINE)
    assert match, f"{soname} is not loaded by {plugin}:\n{output}"
    return Path(match.group(1))


def _without_libraries(tmp_path: Path, sonames: list[str], command: list[str], env: dict[str, str]):
    """Runs `command` where the given libraries do not exist: in a private mount namespace, an overlay over
    their folder deletes them (a whiteout in a scratch folder; the real files are not touched)."""
    unshare = shutil.which("unshare")
    assert unshare, "unshare is missing: run ./test.sh, which installs util-linux"
    folders = {_resolved(soname).resolve().parent for soname in sonames}
    assert len(folders) == 1, folders
    folder = folders.pop()
    upper, work = tmp_path / "overlay-upper", tmp_path / "overlay-work"
    upper.mkdir(parents=True)
    work.mkdir()
    names = " ".join(f"{folder}/{soname}*" for soname in sonames)
    script = (
        f"mount -t overlay overlay -o lowerdir={folder},upperdir={upper},workdir={work} {folder} && "
        f'rm -f {names} && exec "$@"'
    )
    as_root = [] if os.geteuid() == 0 else ["--map-root-user"]
    done = _run([unshare, *as_root, "--mount", "--propagation", "private", "sh", "-c", script, "sh", *command], env)
    assert "mount:" not in done.stderr, f"could not make a private overlay here: {done.stderr}"
    for soname in sonames:  # the real machine still has it
        assert (folder / soname).exists()
    return done


def test_a_missing_library_is_named_with_its_package_and_the_install_command(data_dir: Path, tmp_path: Path) -> None:
    env = _env(DISPLAY=_free_display())
    # What the user saw: Qt aborts.
    qt = _without_libraries(tmp_path / "qt", ["libxcb-cursor.so.0"], [sys.executable, "-c", BARE_QAPPLICATION], env)
    assert qt.returncode in (-6, 134) and QT_ABORT_TEXT in qt.stderr, (qt.returncode, qt.stderr)
    # What the app says now, in the same set-up.
    done = _without_libraries(tmp_path / "app", ["libxcb-cursor.so.0"], _app(data_dir), env)
    line = _one_clear_line(done, ErrorCode.SYSTEM_LIBRARY_MISSING)
    assert "libxcb-cursor.so.0 is missing" in line
    assert "libxcb-cursor0" in line and line.split(" [")[0].endswith("sudo apt install libxcb-cursor0")


def test_every_missing_library_goes_into_one_install_command(data_dir: Path, tmp_path: Path) -> None:
    sonames = ["libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxkbcommon-x11.so.0"]
    done = _without_libraries(tmp_path, sonames, _app(data_dir), _env(DISPLAY=_free_display()))
    line = _one_clear_line(done, ErrorCode.SYSTEM_LIBRARY_MISSING)
    assert all(soname in line for soname in sonames), line
    command = line.split("sudo apt install ")[1].split(" [")[0].split()
    assert sorted(command) == ["libxcb-cursor0", "libxcb-icccm4", "libxkbcommon-x11-0"], line


def test_a_broken_library_first_on_ld_library_path_is_named(data_dir: Path, tmp_path: Path) -> None:
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    (stubs / "libxcb-cursor.so.0").write_bytes(b"")  # not a library: the loader stops at it
    env = _env(DISPLAY=_free_display(), LD_LIBRARY_PATH=str(stubs))
    qt = _run([sys.executable, "-c", BARE_QAPPLICATION], env)
    assert qt.returncode in (-6, 134) and QT_ABORT_TEXT in qt.stderr, (qt.returncode, qt.stderr)
    line = _one_clear_line(_run(_app(data_dir), env), ErrorCode.SYSTEM_LIBRARY_MISSING)
    assert f"libxcb-cursor.so.0 at {stubs}/libxcb-cursor.so.0 cannot be loaded (file too short)" in line
    assert "LD_LIBRARY_PATH" in line and "sudo apt install --reinstall libxcb-cursor0" in line


def test_the_loader_s_own_message_is_read_for_the_library_and_its_package() -> None:
    with pytest.raises(OSError) as raised:
        ctypes.CDLL("libxcb-cursor.so.99")  # the real loader's wording for a library that is not there
    missing = parse_load_error(str(raised.value))
    assert missing is not None and missing.soname == "libxcb-cursor.so.99" and not missing.damaged
    known = parse_load_error("libxcb-cursor.so.0: cannot open shared object file: No such file or directory")
    assert known is not None and known.package == "libxcb-cursor0"
    error = describe_load_failure(str(raised.value))
    assert error.code is ErrorCode.SYSTEM_LIBRARY_MISSING and "apt-file search libxcb-cursor.so.99" in error.message
    glib = describe_load_failure("libglib-2.0.so.0: cannot open shared object file: No such file or directory")
    assert "sudo apt install libglib2.0-0" in glib.message  # the name this release's apt knows
    odd = describe_load_failure("/x/libqxcb.so: undefined symbol: _ZN5QFoo3barEv")
    assert odd.code is ErrorCode.QT_PLATFORM_UNAVAILABLE and "undefined symbol" in odd.message
    assert "pip install --force-reinstall PySide6-Essentials" in odd.message
    unreadable = describe_load_failure("something the loader never says")
    assert unreadable.code is ErrorCode.QT_PLATFORM_UNAVAILABLE


def test_the_mapping_names_only_debian_package_names() -> None:
    for soname, spec in XCB_LIBRARY_PACKAGES.items():
        assert re.fullmatch(r"lib\S+\.so\.\d+", soname), soname
        assert all(re.fullmatch(r"[a-z0-9][a-z0-9.+-]+", name) for name in spec.split("|")), spec
