"""The applications menu entry (`voice-assistant install-desktop` / `uninstall-desktop`): the files it puts
under XDG_DATA_HOME pass the desktop's own validators (desktop-file-validate, appstreamcli), land in the
hicolor theme's folders, start the program when GLib launches the entry, and only the app's own files are
ever replaced or removed. Also: the committed bitmaps of the icon still match the SVG they are made from."""

from __future__ import annotations

import importlib.util
import os
import shutil
import stat
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
from desktop_app.resources import resource_path

from desktop_app import APP_ID
from desktop_app.autostart import MARKER_KEY
from desktop_app.core.errors import AppError, ErrorCode
from desktop_app.menu_entry import (
    ICON_SIZES,
    MenuEntryError,
    install_menu_entry,
    mark_png,
    mark_xml,
    png_is_ours,
    uninstall_menu_entry,
    xml_is_ours,
)

ROOT = Path(__file__).resolve().parent.parent
COMMAND = ["/opt/Voice Assistant/voice-assistant", "--data-dir", "/home/me/va data"]


@pytest.fixture
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "share"
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    return home


def entry(data_home: Path) -> Path:
    return data_home / "applications" / f"{APP_ID}.desktop"


def icon(data_home: Path, size: int) -> Path:
    return data_home / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"


def metainfo(data_home: Path) -> Path:
    return data_home / "metainfo" / f"{APP_ID}.metainfo.xml"


def tree(folder: Path) -> dict[str, bytes | str]:
    """Every file and link under `folder` with its content or link target."""
    found: dict[str, bytes | str] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            found[str(path.relative_to(folder))] = os.readlink(path)
        elif path.is_file():
            found[str(path.relative_to(folder))] = path.read_bytes()
    return found


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def refused(code: ErrorCode, call: object, *args: object) -> AppError:
    with pytest.raises(MenuEntryError) as raised:
        call(*args)  # type: ignore[operator]
    assert raised.value.code is code, raised.value
    return raised.value


# -- installing ----------------------------------------------------------------------------------------------


def test_the_installed_files_pass_the_desktops_validators(data_home: Path) -> None:
    written = install_menu_entry(COMMAND)
    assert written[-1] == entry(data_home)  # the entry last: never one whose icon is not there yet
    assert sorted(written) == sorted(data_home / name for name in tree(data_home))

    done = subprocess.run(["desktop-file-validate", str(entry(data_home))], capture_output=True, text=True)
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr
    done = subprocess.run(
        ["appstreamcli", "validate", "--no-net", str(metainfo(data_home))], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert not [line for line in done.stdout.splitlines() if line.startswith(("W:", "E:"))], done.stdout

    text = entry(data_home).read_text()
    assert f"Icon={APP_ID}\n" in text and f"{MARKER_KEY}=true\n" in text
    assert 'Exec="/opt/Voice Assistant/voice-assistant" --data-dir "/home/me/va data"\n' in text
    assert f'<launchable type="desktop-id">{APP_ID}.desktop</launchable>' in metainfo(data_home).read_text()


def test_the_icons_go_where_the_hicolor_theme_looks(data_home: Path) -> None:
    """hicolor's index.theme (the fallback theme every desktop reads) lists each folder the icons go in."""
    install_menu_entry(COMMAND)
    index = Path("/usr/share/icons/hicolor/index.theme")
    assert index.is_file(), "the hicolor icon theme is missing: run ./test.sh, which installs hicolor-icon-theme"
    directories = next(line for line in index.read_text().splitlines() if line.startswith("Directories="))
    listed = set(directories.partition("=")[2].split(","))
    for size in ICON_SIZES:
        data = icon(data_home, size).read_bytes()
        assert f"{size}x{size}/apps" in listed
        assert png_size(data) == (size, size) and png_is_ours(data)
    svg = data_home / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg"
    assert "scalable/apps" in listed and xml_is_ours(svg.read_bytes())


def test_glib_launches_the_installed_entry_with_every_argument(data_home: Path, tmp_path: Path) -> None:
    """GLib's launcher (what GNOME, Cinnamon, MATE and Xfce menus use) runs the entry's Exec line."""
    program = tmp_path / "bin dir" / "voice-assistant"
    program.parent.mkdir()
    out = tmp_path / "argv.txt"
    program.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > "{out}"\n')
    program.chmod(0o755)
    install_menu_entry([str(program), "--data-dir", "/d with space/100%"])
    done = subprocess.run(["gio", "launch", str(entry(data_home))], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    for _ in range(300):
        if out.exists() and out.read_text().endswith("\n"):
            break
        time.sleep(0.02)
    assert out.read_text().splitlines() == ["--data-dir", "/d with space/100%"]


def test_installing_again_replaces_the_apps_own_files(data_home: Path) -> None:
    install_menu_entry(COMMAND)
    install_menu_entry(["/usr/bin/voice-assistant"])
    assert "Exec=/usr/bin/voice-assistant\n" in entry(data_home).read_text()
    assert not [path for path in data_home.rglob("*") if path.name.endswith(".part")]


def test_an_unset_or_relative_data_home_means_dot_local_share(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", "relative/share")
    install_menu_entry(COMMAND, home=tmp_path)
    assert (tmp_path / ".local" / "share" / "applications" / f"{APP_ID}.desktop").is_file()
    assert not Path("relative").exists()


# -- someone else's files --------------------------------------------------------------------------------------


def test_someone_elses_icon_in_one_place_stops_the_install_before_anything_is_written(data_home: Path) -> None:
    theirs = icon(data_home, 48)
    theirs.parent.mkdir(parents=True)
    theirs.write_bytes(resource_path("icons/voice-assistant-48.png").read_bytes())  # the same picture, unmarked
    before = tree(data_home)
    error = refused(ErrorCode.MENU_ENTRY_NOT_OURS, install_menu_entry, COMMAND)
    assert str(theirs) in error.message and "nothing was installed" in error.message
    assert tree(data_home) == before


@pytest.mark.parametrize("kind", ["symlink", "fifo", "folder"])
def test_a_link_fifo_or_folder_where_the_entry_goes_is_left_as_it_is(
    data_home: Path, tmp_path: Path, kind: str
) -> None:
    place = entry(data_home)
    place.parent.mkdir(parents=True)
    target = tmp_path / "someone-elses.desktop"
    target.write_text(f"[Desktop Entry]\nName=Theirs\n{MARKER_KEY}=true\n")
    if kind == "symlink":
        place.symlink_to(target)  # even a link to a file with the marker is not followed
    elif kind == "fifo":
        os.mkfifo(place)
    else:
        place.mkdir()
    before = tree(data_home)
    error = refused(ErrorCode.MENU_ENTRY_UNSAFE_PATH, install_menu_entry, COMMAND)
    assert str(place) in error.message
    assert tree(data_home) == before and target.read_text().startswith("[Desktop Entry]\nName=Theirs")
    refused(ErrorCode.MENU_ENTRY_UNSAFE_PATH, uninstall_menu_entry)
    assert (
        stat.S_IFMT(os.lstat(place).st_mode)
        == {
            "symlink": stat.S_IFLNK,
            "fifo": stat.S_IFIFO,
            "folder": stat.S_IFDIR,
        }[kind]
    )


def test_uninstalling_removes_the_apps_own_files_and_reports_someone_elses(data_home: Path) -> None:
    install_menu_entry(COMMAND)
    theirs = icon(data_home, 256)
    theirs.write_bytes(resource_path("icons/voice-assistant-256.png").read_bytes())  # replaced by the user
    error = refused(ErrorCode.MENU_ENTRY_NOT_OURS, uninstall_menu_entry)
    assert str(theirs) in error.message
    assert [path for path in tree(data_home)] == [str(theirs.relative_to(data_home))]
    assert entry(data_home).parent.is_dir()  # the folders stay: they may have been there before


def test_uninstalling_when_nothing_is_installed_removes_nothing(data_home: Path) -> None:
    assert uninstall_menu_entry() == []
    other = data_home / "applications" / "other.desktop"
    other.parent.mkdir(parents=True)
    other.write_text("[Desktop Entry]\nName=Other\n")
    install_menu_entry(COMMAND)
    assert len(uninstall_menu_entry()) == len(ICON_SIZES) + 3
    assert tree(data_home) == {"applications/other.desktop": b"[Desktop Entry]\nName=Other\n"}


def test_the_markers_are_found_only_where_they_were_put() -> None:
    png = resource_path("icons/voice-assistant-32.png").read_bytes()
    assert not png_is_ours(png) and png_is_ours(mark_png(png))
    assert png_size(mark_png(png)) == (32, 32)
    assert not png_is_ours(b"not a png") and not png_is_ours(png[:20])
    with pytest.raises(ValueError):
        mark_png(b"GIF89a")
    svg = resource_path("icons/voice-assistant.svg").read_bytes()
    assert not xml_is_ours(svg) and xml_is_ours(mark_xml(svg)) and mark_xml(svg).endswith(svg)
    xml = resource_path(f"desktop/{APP_ID}.metainfo.xml").read_bytes()
    assert mark_xml(xml).startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<!-- ')


# -- the command line ------------------------------------------------------------------------------------------


def cli(*args: str, data_home: Path) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "XDG_DATA_HOME": str(data_home)}
    return subprocess.run(
        [sys.executable, "-m", "desktop_app", *args], capture_output=True, text=True, timeout=60, env=environment
    )


def test_the_commands_install_and_uninstall_for_the_program_as_it_was_started(tmp_path: Path) -> None:
    data_home = tmp_path / "share"
    done = cli("install-desktop", "--data-dir", str(tmp_path / "data"), data_home=data_home)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1].startswith("Voice Assistant is in the applications menu")
    expected = f"Exec={sys.executable} -m desktop_app --data-dir {tmp_path / 'data'}\n"
    assert expected in entry(data_home).read_text()

    done = cli("uninstall-desktop", data_home=data_home)
    assert done.returncode == 0, done.stderr
    assert len([line for line in done.stdout.splitlines() if line.startswith("removed ")]) == len(ICON_SIZES) + 3
    assert tree(data_home) == {}


def test_the_command_refuses_someone_elses_entry_with_its_code(tmp_path: Path) -> None:
    data_home = tmp_path / "share"
    theirs = entry(data_home)
    theirs.parent.mkdir(parents=True)
    theirs.write_text("[Desktop Entry]\nType=Application\nName=Theirs\nExec=theirs\n")
    done = cli("install-desktop", data_home=data_home)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.rstrip().endswith("[menu_entry_not_ours]")
    assert theirs.read_text().startswith("[Desktop Entry]\nType=Application\nName=Theirs")
    assert list(tree(data_home)) == ["applications/" + theirs.name]


# -- the committed icon files ----------------------------------------------------------------------------------


def test_the_committed_bitmaps_match_the_svg() -> None:
    """scripts/render_icons.py made them; a changed SVG without a new rendering fails here. Pixels are
    compared with a small tolerance, so a newer Qt's anti-aliasing does not count as a change."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication, QImage

    spec = importlib.util.spec_from_file_location("render_icons", ROOT / "scripts" / "render_icons.py")
    assert spec is not None and spec.loader is not None
    render_icons = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(render_icons)
    _app = QGuiApplication.instance() or QGuiApplication([])
    for size in render_icons.PNG_SIZES:
        committed = QImage.fromData(render_icons.png_path(size).read_bytes())
        fresh = QImage.fromData(render_icons.render_png(render_icons.SOURCE, size))
        assert committed.size() == fresh.size()
        worst = max(
            abs((committed.pixel(x, y) >> shift & 0xFF) - (fresh.pixel(x, y) >> shift & 0xFF))
            for x in range(0, size, max(1, size // 64))
            for y in range(0, size, max(1, size // 64))
            for shift in (0, 8, 16, 24)
        )
        assert worst <= 8, f"{render_icons.png_path(size).name} differs from the SVG by {worst}"

    ico = (ROOT / "resources" / "icons" / "voice-assistant.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", ico[:6])
    assert (reserved, kind, count) == (0, 1, len(render_icons.ICO_SIZES))
    for index, size in enumerate(render_icons.ICO_SIZES):
        width, _, _, _, _, _, length, offset = struct.unpack("<BBBBHHII", ico[6 + 16 * index : 22 + 16 * index])
        assert (width or 256) == size and png_size(ico[offset : offset + length]) == (size, size)

    icns = (ROOT / "resources" / "icons" / "voice-assistant.icns").read_bytes()
    assert icns[:4] == b"icns" and struct.unpack(">I", icns[4:8])[0] == len(icns)
    position, found = 8, {}
    while position < len(icns):
        kind_code, length = icns[position : position + 4], struct.unpack(">I", icns[position + 4 : position + 8])[0]
        found[kind_code] = png_size(icns[position + 8 : position + length])
        position += length
    assert found == {kind: (size, size) for kind, size in render_icons.ICNS_TYPES}


def test_the_shipped_files_validate_as_they_are() -> None:
    """Distribution packagers can copy resources/desktop as it is (Exec=voice-assistant, the script pip makes)."""
    shipped = ROOT / "resources" / "desktop"
    done = subprocess.run(["desktop-file-validate", str(shipped / f"{APP_ID}.desktop")], capture_output=True, text=True)
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout
    appstream = shutil.which("appstreamcli")
    assert appstream, "appstreamcli is missing: run ./test.sh, which installs appstream"
    done = subprocess.run(
        [appstream, "validate", "--no-net", str(shipped / f"{APP_ID}.metainfo.xml")], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout
