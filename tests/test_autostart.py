"""Starting with the session: the XDG autostart entry for real (files under the test's XDG_CONFIG_HOME,
checked by desktop-file-validate and launched by GLib as a session would), the macOS LaunchAgent's property
list, and the Windows Run value's rules against a registry in memory.

Nothing the app did not make is ever replaced, changed or removed: someone else's entry, a symbolic link,
a named pipe and a folder in the entry's place are refused with stable codes and left exactly as they were.
"""

from __future__ import annotations

import json
import os
import plistlib
import shutil
import stat
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from desktop_app import APP_ID
from desktop_app.autostart import (
    DESKTOP_FILE_NAME,
    LAUNCH_AGENT_LABEL,
    MARKER_KEY,
    RECORD_KEY,
    RECORD_VALUE,
    RUN_KEY,
    RUN_VALUE,
    AutostartError,
    DesktopEntry,
    FileAutostart,
    RunKeyAutostart,
    WinregRegistry,
    autostart_backend,
    autostart_enabled,
    desktop_entry_keys,
    disable_autostart,
    enable_autostart,
    launch_command,
)
from desktop_app.core.errors import AppError, ErrorCode
from desktop_app.owned_file import OwnedFile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # the window's switch is tested here too

COMMAND = ["/opt/voice assistant/bin/voice-assistant"]
ARGV_WRITER = "import json, sys; open(sys.argv[1], 'w').write(json.dumps(sys.argv[2:]))"


@pytest.fixture
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    return home


def entry_path(config_home: Path) -> Path:
    return config_home / "autostart" / DESKTOP_FILE_NAME


def validate(path: Path) -> None:
    validator = shutil.which("desktop-file-validate")
    assert validator, "desktop-file-validate is missing: run ./test.sh, which installs desktop-file-utils"
    done = subprocess.run([validator, str(path)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr


def snapshot(path: Path) -> tuple[int, int, int, bytes | str | None]:
    """What a test must find unchanged: type and mode, mtime, inode, and the content or link target."""
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        content: bytes | str | None = os.readlink(path)
    elif stat.S_ISREG(info.st_mode):
        content = path.read_bytes()
    else:
        content = None
    return info.st_mode, info.st_mtime_ns, info.st_ino, content


def leftovers(folder: Path) -> list[str]:
    return sorted(name for name in os.listdir(folder) if name.endswith(".part"))


def refused(code: ErrorCode, call: Callable[..., object], *args: object) -> AppError:
    """The error `call(*args)` raised: one with `code`, an AutostartError unless the input itself was wrong."""
    with pytest.raises(AppError) as raised:
        call(*args)
    assert raised.value.code is code, raised.value
    assert isinstance(raised.value, AutostartError) or code is ErrorCode.INVALID_ARGUMENT
    return raised.value


# -- the command that starts the app as it was started -------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "frozen", "expected"),
    [
        (["/usr/bin/voice-assistant"], False, ["/usr/bin/voice-assistant"]),
        (["voice-assistant", "--minimized"], False, [os.path.abspath("voice-assistant")]),
        (["/src/desktop_app/__main__.py", "--data-dir", "/d"], False, ["/py", "-m", "desktop_app", "--data-dir", "/d"]),
        (["/opt/Voice Assistant/voice-assistant", "--minimized", "--data-dir=/d"], True, ["/py", "--data-dir=/d"]),
        ([], False, ["/py", "-m", "desktop_app"]),
    ],
)
def test_the_app_starts_at_log_in_the_way_it_was_started(argv: list[str], frozen: bool, expected: list[str]) -> None:
    assert launch_command(argv, executable="/py", frozen=frozen) == expected


@pytest.mark.gui
def test_the_windows_start_at_login_switch_writes_and_removes_the_entry(qtbot, store, config_home: Path) -> None:
    from desktop_app.core.events import EventHub
    from desktop_app.ui.main_window import MainWindow

    window = MainWindow(store, EventHub())  # with a hub the entry is read and written off the main thread
    qtbot.addWidget(window)
    action = window.autostart_action
    qtbot.waitUntil(action.isEnabled)
    assert not action.isChecked() and "&" in action.text()
    action.trigger()  # on
    qtbot.waitUntil(lambda: action.isEnabled() and entry_path(config_home).exists())
    assert action.isChecked() and autostart_enabled()
    keys = desktop_entry_keys(entry_path(config_home).read_bytes())
    assert keys["Exec"].endswith("--minimized") and "will start in the tray" in window.statusBar().currentMessage()
    validate(entry_path(config_home))
    action.trigger()  # off
    qtbot.waitUntil(lambda: action.isEnabled() and not entry_path(config_home).exists())
    assert not action.isChecked() and not autostart_enabled()


@pytest.mark.gui
def test_someone_elses_entry_makes_the_window_say_so_and_stay_unchecked(qtbot, store, config_home: Path) -> None:
    from desktop_app.core.events import EventHub
    from desktop_app.ui.main_window import MainWindow
    from desktop_app.ui.qt import QApplication, QMessageBox, QTimer

    foreign = entry_path(config_home)
    foreign.parent.mkdir(parents=True)
    foreign.write_text("[Desktop Entry]\nType=Application\nName=Other\nExec=other-program\n")
    before = snapshot(foreign)
    window = MainWindow(store, EventHub())
    qtbot.addWidget(window)
    qtbot.waitUntil(window.autostart_action.isEnabled)
    said: list[str] = []

    def close_the_warning() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, QMessageBox):
            QTimer.singleShot(20, close_the_warning)
            return
        said.append(dialog.text())
        dialog.close()

    QTimer.singleShot(20, close_the_warning)
    window.autostart_action.trigger()
    qtbot.waitUntil(lambda: bool(said) and window.autostart_action.isEnabled())
    assert "was not made by Voice Assistant" in said[0]
    assert not window.autostart_action.isChecked()
    assert snapshot(foreign) == before


# -- Linux and the BSDs: the XDG autostart entry --------------------------------------------------------------


def test_enabling_writes_a_valid_entry_that_starts_minimised_and_disabling_removes_it(config_home: Path) -> None:
    assert autostart_enabled() is False
    enable_autostart(COMMAND)
    path = entry_path(config_home)
    validate(path)
    keys = desktop_entry_keys(path.read_bytes())
    assert keys["Type"] == "Application" and keys["Name"] == "Voice Assistant" and keys["Comment"]
    assert keys["Exec"] == '"/opt/voice assistant/bin/voice-assistant" --minimized'
    assert keys["Icon"] == APP_ID  # the icon install-desktop puts in the theme
    assert keys["X-GNOME-Autostart-enabled"] == "true" and keys[MARKER_KEY] == "true"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # the user's session reads it; nobody else needs to
    assert autostart_enabled() is True
    assert leftovers(path.parent) == []

    disable_autostart()
    assert not path.exists() and autostart_enabled() is False
    disable_autostart()  # nothing left to remove: fine


def test_the_exec_line_gives_the_program_every_argument_exactly_as_a_session_launches_it(
    config_home: Path, tmp_path: Path
) -> None:
    """GLib's launcher (what GNOME, Cinnamon, MATE and Xfce use for autostart entries) runs the entry; the
    program receives each argument unchanged, whatever the quoting rules make of it."""
    out = tmp_path / "argv.json"
    awkward = [
        "with space", 'double"quote', "single'quote", "back\\slash", "two\\\\back", "dollar$HOME", "tick`id`",
        "100%", "%f", "", "semi;colon", "a=b", "új ünicode", "*?#()<>|&~",
    ]  # fmt: skip
    enable_autostart([sys.executable, "-c", ARGV_WRITER, str(out), *awkward], icon=str(tmp_path / "icon folder/a.svg"))
    path = entry_path(config_home)
    validate(path)
    gio = shutil.which("gio")
    assert gio, "gio is missing: run ./test.sh, which installs libglib2.0-bin"
    done = subprocess.run([gio, "launch", str(path)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    for _ in range(200):
        if out.exists() and out.stat().st_size:
            break
        time.sleep(0.05)
    assert json.loads(out.read_text()) == [*awkward, "--minimized"]


def test_minimized_is_added_once(config_home: Path) -> None:
    enable_autostart([*COMMAND, "--minimized"])
    assert desktop_entry_keys(entry_path(config_home).read_bytes())["Exec"].count("--minimized") == 1


def test_the_default_folder_is_dot_config_when_xdg_config_home_is_unset_empty_or_relative(tmp_path: Path) -> None:
    for environ in ({}, {"XDG_CONFIG_HOME": ""}, {"XDG_CONFIG_HOME": "relative/config"}):
        backend = autostart_backend(platform="linux", environ=environ, home=tmp_path)
        assert isinstance(backend, FileAutostart)
        assert backend.path == tmp_path / ".config" / "autostart" / DESKTOP_FILE_NAME
    backend = autostart_backend(platform="freebsd14", environ={"XDG_CONFIG_HOME": str(tmp_path / "x")}, home=tmp_path)
    assert isinstance(backend, FileAutostart) and backend.path == tmp_path / "x" / "autostart" / DESKTOP_FILE_NAME


def test_enabling_again_replaces_our_own_entry_and_switches_it_back_on(config_home: Path) -> None:
    enable_autostart(COMMAND)
    path = entry_path(config_home)
    # What the desktop's settings do to switch it off: one key changed, the rest (our marker) kept.
    path.write_text(path.read_text().replace("X-GNOME-Autostart-enabled=true", "X-GNOME-Autostart-enabled=false"))
    assert autostart_enabled() is False
    enable_autostart(["voice-assistant"])
    keys = desktop_entry_keys(path.read_bytes())
    assert keys["Exec"] == "voice-assistant --minimized" and keys["X-GNOME-Autostart-enabled"] == "true"
    assert autostart_enabled() is True
    path.write_text(path.read_text() + "Hidden=true\n")
    assert autostart_enabled() is False
    assert leftovers(path.parent) == []


def test_someone_elses_entry_is_neither_replaced_nor_removed(config_home: Path) -> None:
    path = entry_path(config_home)
    path.parent.mkdir(parents=True)
    path.write_text("[Desktop Entry]\nType=Application\nName=Mine\nExec=my-own-voice-assistant\n")
    path.chmod(0o644)
    before = snapshot(path)
    assert autostart_enabled() is False
    error = refused(ErrorCode.AUTOSTART_NOT_OURS, enable_autostart, COMMAND)
    assert str(path) in error.message and "not made by Voice Assistant" in error.message
    refused(ErrorCode.AUTOSTART_NOT_OURS, disable_autostart)
    assert snapshot(path) == before
    assert leftovers(path.parent) == []


@pytest.mark.parametrize("kind", ["link to our own entry", "dangling link", "named pipe", "folder"])
def test_a_link_pipe_or_folder_in_the_entrys_place_is_refused_and_left_untouched(
    config_home: Path, tmp_path: Path, kind: str
) -> None:
    path = entry_path(config_home)
    path.parent.mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere.desktop"
    if kind == "link to our own entry":
        # Even a file of ours is not reached through a link: the link could be moved to point anywhere.
        FileAutostart(elsewhere, DesktopEntry()).enable(COMMAND)
        path.symlink_to(elsewhere)
    elif kind == "dangling link":
        path.symlink_to(tmp_path / "missing.desktop")
    elif kind == "named pipe":
        os.mkfifo(path)
    else:
        path.mkdir()
        (path / "inside").write_text("kept")
    before = snapshot(path)
    target_before = elsewhere.read_bytes() if elsewhere.exists() else None

    assert autostart_enabled() is False  # and did not block on the pipe
    error = refused(ErrorCode.AUTOSTART_UNSAFE_PATH, enable_autostart, COMMAND)
    assert str(path) in error.message and "left it as it is" in error.message
    refused(ErrorCode.AUTOSTART_UNSAFE_PATH, disable_autostart)

    assert snapshot(path) == before
    assert (elsewhere.read_bytes() if elsewhere.exists() else None) == target_before
    assert not (tmp_path / "missing.desktop").exists()
    if kind == "folder":
        assert (path / "inside").read_text() == "kept"
    assert leftovers(path.parent) == []


def test_an_entry_made_by_someone_else_while_ours_is_written_is_kept(
    config_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file appears between the check and the rename: the rename must not replace it."""
    path = entry_path(config_home)
    theirs = b"[Desktop Entry]\nType=Application\nName=Theirs\nExec=theirs\n"
    real_fsync = os.fsync

    def fsync_then_race(fd: int) -> None:
        real_fsync(fd)
        if not path.exists():
            path.write_bytes(theirs)

    monkeypatch.setattr(os, "fsync", fsync_then_race)
    refused(ErrorCode.AUTOSTART_NOT_OURS, enable_autostart, COMMAND)
    assert path.read_bytes() == theirs
    assert leftovers(path.parent) == []


def test_an_entry_another_instance_of_the_app_wrote_meanwhile_is_replaced(
    config_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = entry_path(config_home)
    real_fsync = os.fsync

    def fsync_then_race(fd: int) -> None:
        real_fsync(fd)
        if not path.exists():
            path.write_bytes(DesktopEntry().render(["older-command", "--minimized"]))

    monkeypatch.setattr(os, "fsync", fsync_then_race)
    enable_autostart(COMMAND)
    assert desktop_entry_keys(path.read_bytes())["Exec"].startswith('"/opt/voice assistant/')
    assert leftovers(path.parent) == []


def test_without_hard_links_the_entry_is_still_written_and_never_over_someone_elses(
    config_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Some file systems (FAT, some network and FUSE ones) refuse hard links: check, then rename."""

    def no_links(*_args: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    enable_autostart(COMMAND)
    path = entry_path(config_home)
    assert autostart_enabled() is True
    path.unlink()

    theirs = b"[Desktop Entry]\nType=Application\nName=Theirs\nExec=theirs\n"
    real_fsync = os.fsync

    def fsync_then_race(fd: int) -> None:
        real_fsync(fd)
        if not path.exists():
            path.write_bytes(theirs)

    monkeypatch.setattr(os, "fsync", fsync_then_race)
    refused(ErrorCode.AUTOSTART_NOT_OURS, enable_autostart, COMMAND)
    assert path.read_bytes() == theirs
    assert leftovers(path.parent) == []


def test_an_entry_swapped_for_someone_elses_while_it_is_removed_is_kept(
    config_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    enable_autostart(COMMAND)
    path = entry_path(config_home)
    theirs = b"[Desktop Entry]\nType=Application\nName=Theirs\nExec=theirs\n"
    real_read = OwnedFile._read

    def read_then_swap(self: OwnedFile) -> tuple[tuple[int, ...], bytes] | None:
        found = real_read(self)
        swap = path.with_name("swap")
        swap.write_bytes(theirs)
        os.replace(swap, path)
        return found

    monkeypatch.setattr(OwnedFile, "_read", read_then_swap)
    refused(ErrorCode.AUTOSTART_NOT_OURS, disable_autostart)
    assert path.read_bytes() == theirs


@pytest.mark.parametrize(
    "content",
    [
        b"[Desktop Entry]\nName=\xff\xfe\nX-Voice-Assistant-Managed=true\n",  # not UTF-8
        b"[Desktop Entry]\nName=Theirs\n# X-Voice-Assistant-Managed=true\n",
        b"[Desktop Entry]\nName=Theirs\n[Desktop Action x]\nX-Voice-Assistant-Managed=true\n",
        b"[Desktop Entry]\nName=Theirs\nX-Voice-Assistant-Managed=false\n",
        b"[Desktop Entry]\nX-Voice-Assistant-Managed=true\n" + b"#" * (70 * 1024) + b"\n",  # too big to be ours
    ],
)
def test_only_an_entry_with_our_marker_in_its_main_group_is_ours(config_home: Path, content: bytes) -> None:
    path = entry_path(config_home)
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    assert autostart_enabled() is False
    refused(ErrorCode.AUTOSTART_NOT_OURS, enable_autostart, COMMAND)
    refused(ErrorCode.AUTOSTART_NOT_OURS, disable_autostart)
    assert path.read_bytes() == content


def test_a_path_the_system_cannot_use_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / ("x" * 300)))  # a name longer than any file system allows
    assert autostart_enabled() is False
    error = refused(ErrorCode.AUTOSTART_FAILED, enable_autostart, COMMAND)
    assert "File name too long" in error.message
    refused(ErrorCode.AUTOSTART_FAILED, disable_autostart)


def test_a_failed_write_keeps_the_previous_entry_whole(config_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    enable_autostart(COMMAND)
    path = entry_path(config_home)
    before = path.read_bytes()

    def no_room(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", no_room)
    error = refused(ErrorCode.AUTOSTART_FAILED, enable_autostart, ["another-command"])
    assert "No space left on device" in error.message and str(path) in error.message
    assert path.read_bytes() == before
    assert leftovers(path.parent) == []


def test_a_full_disk_is_reported_and_leaves_nothing_behind(tmp_path: Path) -> None:
    """A real full disk: a tiny tmpfs in a private mount namespace holds the config folder."""
    assert shutil.which("unshare"), "unshare (util-linux) is missing: run ./test.sh, which installs it"
    mount = tmp_path / "disk"
    mount.mkdir()
    result = tmp_path / "result.json"
    child = textwrap.dedent(
        f"""
        import json, os, sys
        from pathlib import Path
        from desktop_app.autostart import enable_autostart, autostart_enabled
        from desktop_app.core.errors import AppError
        mount = Path({str(mount)!r})
        os.environ["XDG_CONFIG_HOME"] = str(mount / "config")
        enable_autostart(["voice-assistant"])
        entry = mount / "config" / "autostart" / "voice-assistant.desktop"
        before = entry.read_bytes()
        filler = os.open(mount / "filler", os.O_WRONLY | os.O_CREAT)
        try:
            while os.write(filler, b"\\0" * 4096):
                pass
        except OSError:
            pass
        os.close(filler)
        try:
            enable_autostart(["a-longer-command"] * 20)
            code, message = None, ""
        except AppError as error:
            code, message = error.code.value, error.message
        names = sorted(os.listdir(entry.parent))
        Path({str(result)!r}).write_text(json.dumps(
            {{"code": code, "message": message, "kept": entry.read_bytes() == before, "names": names,
              "enabled": autostart_enabled()}}
        ))
        """
    )
    script = f'mount -t tmpfs -o size=64k,mode=0700 tmpfs {mount} && exec {sys.executable} -c "$CHILD"'
    done = subprocess.run(
        ["unshare", "-r", "-m", "sh", "-c", script],
        env={**os.environ, "CHILD": child},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    outcome = json.loads(result.read_text())
    assert outcome["code"] == ErrorCode.AUTOSTART_FAILED.value, outcome
    assert "No space left on device" in outcome["message"]
    assert outcome["kept"] is True and outcome["enabled"] is True
    assert outcome["names"] == [DESKTOP_FILE_NAME]


def test_a_config_folder_that_is_a_file_is_reported(config_home: Path) -> None:
    config_home.mkdir()
    (config_home / "autostart").write_text("not a folder")
    assert autostart_enabled() is False
    error = refused(ErrorCode.AUTOSTART_FAILED, enable_autostart, COMMAND)
    assert "autostart" in error.message
    assert (config_home / "autostart").read_text() == "not a folder"


@pytest.mark.parametrize(
    ("command", "words"),
    [
        ([], "empty"),
        ([""], "empty"),
        (["voice-assistant", "new\nline"], "unusable character"),
        (["voice-assistant", "bad\udcffname"], "unusable character"),
        (["/opt/a=b/voice-assistant"], "'='"),
    ],
)
def test_a_command_that_cannot_be_written_is_refused(config_home: Path, command: list[str], words: str) -> None:
    error = refused(ErrorCode.INVALID_ARGUMENT, enable_autostart, command)
    assert words in error.message
    assert not entry_path(config_home).exists()


@pytest.mark.parametrize("icon", ["", "bad\nicon"])
def test_an_unusable_icon_is_refused(config_home: Path, icon: str) -> None:
    refused(ErrorCode.INVALID_ARGUMENT, lambda: enable_autostart(COMMAND, icon=icon))
    assert not entry_path(config_home).exists()


# -- macOS: the LaunchAgent -----------------------------------------------------------------------------------


def test_the_launch_agent_runs_the_command_minimised_at_log_in(tmp_path: Path) -> None:
    backend = autostart_backend(platform="darwin", home=tmp_path)
    path = tmp_path / "Library" / "LaunchAgents" / f"{LAUNCH_AGENT_LABEL}.plist"
    assert backend.enabled() is False
    backend.enable(["/Applications/Voice Assistant.app/Contents/MacOS/voice-assistant"])
    agent = plistlib.loads(path.read_bytes())
    assert agent["Label"] == LAUNCH_AGENT_LABEL
    assert agent["ProgramArguments"] == [
        "/Applications/Voice Assistant.app/Contents/MacOS/voice-assistant",
        "--minimized",
    ]
    assert agent["RunAtLoad"] is True and agent[MARKER_KEY] is True
    assert path.read_bytes().startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist')
    assert backend.enabled() is True
    agent["Disabled"] = True
    path.write_bytes(plistlib.dumps(agent))
    assert backend.enabled() is False
    backend.enable(["voice-assistant"])
    assert backend.enabled() is True
    backend.disable()
    assert not path.exists() and backend.enabled() is False


def test_someone_elses_launch_agent_and_a_broken_plist_are_left_alone(tmp_path: Path) -> None:
    backend = autostart_backend(platform="darwin", home=tmp_path)
    path = tmp_path / "Library" / "LaunchAgents" / f"{LAUNCH_AGENT_LABEL}.plist"
    path.parent.mkdir(parents=True)
    for content in (
        plistlib.dumps({"Label": LAUNCH_AGENT_LABEL, "ProgramArguments": ["theirs"]}),
        plistlib.dumps({"Label": "com.example.other", MARKER_KEY: True}),
        plistlib.dumps(["not", "a", "dict"]),
        b"not a plist",
    ):
        path.write_bytes(content)
        assert backend.enabled() is False
        refused(ErrorCode.AUTOSTART_NOT_OURS, backend.enable, COMMAND)
        refused(ErrorCode.AUTOSTART_NOT_OURS, backend.disable)
        assert path.read_bytes() == content


# -- Windows: the Run value -----------------------------------------------------------------------------------


class MemoryRegistry:
    """HKEY_CURRENT_USER in memory, with the same rules as the real one: a missing value reads as None."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, str], object] = {}
        self.fail: OSError | None = None

    def get(self, key: str, name: str) -> object | None:
        return self.values.get((key, name))

    def set(self, key: str, name: str, value: str) -> None:
        if self.fail is not None:
            raise self.fail
        self.values[(key, name)] = value

    def delete(self, key: str, name: str) -> None:
        self.values.pop((key, name), None)


def test_the_run_value_is_a_quoted_command_line_and_only_ours_is_removed() -> None:
    registry = MemoryRegistry()
    backend = RunKeyAutostart(registry)
    assert backend.enabled() is False
    backend.enable([r"C:\Program Files\Voice Assistant\voice-assistant.exe"])
    line = r'"C:\Program Files\Voice Assistant\voice-assistant.exe" --minimized'
    assert registry.values == {(RUN_KEY, RUN_VALUE): line, (RECORD_KEY, RECORD_VALUE): line}
    assert backend.enabled() is True
    backend.enable(["voice-assistant.exe", "--data-dir", r"D:\my data"])
    assert registry.values[(RUN_KEY, RUN_VALUE)] == r'voice-assistant.exe --data-dir "D:\my data" --minimized'
    backend.disable()
    assert registry.values == {} and backend.enabled() is False
    backend.disable()


def test_a_run_value_someone_else_made_is_kept() -> None:
    registry = MemoryRegistry()
    registry.values[(RUN_KEY, RUN_VALUE)] = r"C:\Other\assistant.exe"
    backend = RunKeyAutostart(registry)
    assert backend.enabled() is False
    refused(ErrorCode.AUTOSTART_NOT_OURS, backend.enable, COMMAND)
    refused(ErrorCode.AUTOSTART_NOT_OURS, backend.disable)
    assert registry.values == {(RUN_KEY, RUN_VALUE): r"C:\Other\assistant.exe"}


def test_a_registry_that_refuses_is_reported() -> None:
    registry = MemoryRegistry()
    registry.fail = PermissionError(13, "Access is denied")
    error = refused(ErrorCode.AUTOSTART_FAILED, RunKeyAutostart(registry).enable, COMMAND)
    assert "Access is denied" in error.message


def test_a_registry_that_cannot_be_read_is_reported() -> None:
    class Unreadable(MemoryRegistry):
        def get(self, key: str, name: str) -> object | None:
            raise OSError(5, "The registry is damaged")

    backend = RunKeyAutostart(Unreadable())
    for call in (backend.enabled, backend.disable, lambda: backend.enable(COMMAND)):
        error = refused(ErrorCode.AUTOSTART_FAILED, call)
        assert "The registry is damaged" in error.message


def test_a_leftover_record_without_its_run_value_is_cleared() -> None:
    registry = MemoryRegistry()
    registry.values[(RECORD_KEY, RECORD_VALUE)] = "voice-assistant.exe --minimized"
    RunKeyAutostart(registry).disable()
    assert registry.values == {}


@pytest.mark.skipif(sys.platform != "win32", reason="winreg and HKEY_CURRENT_USER exist only on Windows")
def test_the_real_registry_round_trips_a_value() -> None:  # pragma: no cover - Windows only
    registry = WinregRegistry()
    key = rf"Software\voice-assistant-test-{uuid.uuid4().hex}"
    try:
        assert registry.get(key, "value") is None
        registry.set(key, "value", '"C:\\a b\\c.exe" --minimized')
        assert registry.get(key, "value") == '"C:\\a b\\c.exe" --minimized'
        registry.delete(key, "value")
        assert registry.get(key, "value") is None
    finally:
        if sys.platform == "win32":
            import winreg

            winreg.DeleteKey(winreg.HKEY_CURRENT_USER, key)
