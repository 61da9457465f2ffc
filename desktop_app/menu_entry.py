"""The app in the desktop's applications menu, for this user (Linux and the BSDs: freedesktop.org).

`install_menu_entry` puts under ``$XDG_DATA_HOME`` (``~/.local/share`` when it is unset, empty or relative):

- ``applications/<APP_ID>.desktop``: the menu entry, from resources/desktop, starting this very program
  (the bundle's executable, the ``voice-assistant`` script, or the interpreter with ``-m desktop_app``);
- ``icons/hicolor/<N>x<N>/apps/<APP_ID>.png`` and ``icons/hicolor/scalable/apps/<APP_ID>.svg``: the icon;
- ``metainfo/<APP_ID>.metainfo.xml``: the AppStream description software centres show.

Each file carries the app's marker (the entry a ``X-Voice-Assistant-Managed=true`` key, the PNGs a text
chunk of that name, the SVG and XML a comment), so only the app's own files are ever replaced or removed
(desktop_app.owned_file): someone else's file, a link, a FIFO or a folder in one of those places is refused
and left as it is. Installing checks every place before writing anything; the entry is written last and
removed first, so the menu never shows an entry whose icon is missing.
"""

from __future__ import annotations

import os
import struct
import sys
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from desktop_app import APP_ID, DISPLAY_NAME
from desktop_app.autostart import MARKER_KEY, desktop_entry_keys, exec_value, launch_command
from desktop_app.core.errors import AppError, ErrorCode
from desktop_app.owned_file import OwnedFile, Refusals
from desktop_app.resources import resource_path

ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)  # the PNGs in resources/icons (scripts/render_icons.py)
MAX_FILE_BYTES = 1024 * 1024  # the biggest file the app installs is a few tens of kilobytes
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_XML_MARKER = f"<!-- {MARKER_KEY} -->".encode()


class MenuEntryError(AppError):
    """The menu entry could not be installed or removed; nothing of anyone else's was touched."""


MENU_REFUSALS = Refusals(
    error=MenuEntryError,
    not_ours=ErrorCode.MENU_ENTRY_NOT_OURS,
    unsafe_path=ErrorCode.MENU_ENTRY_UNSAFE_PATH,
    failed=ErrorCode.MENU_ENTRY_FAILED,
    not_ours_when_writing=f"{{path}} already exists and was not made by {DISPLAY_NAME}; nothing was installed. "
    f"Remove or rename it to put {DISPLAY_NAME} in the applications menu.",
    not_ours_when_removing=f"{{path}} was not made by {DISPLAY_NAME}, so it was left as it is.",
)


@dataclass(frozen=True)
class MenuFile:
    """One file of the menu entry: where it goes, what it holds, and how the app knows its own."""

    what: str  # "menu entry", "icon 48x48", ...
    file: OwnedFile
    content: bytes


def data_home(environ: Mapping[str, str], home: Path) -> Path:
    value = environ.get("XDG_DATA_HOME", "")
    return Path(value) if os.path.isabs(value) else home / ".local" / "share"


def menu_files(
    command: Sequence[str], *, environ: Mapping[str, str] | None = None, home: Path | None = None
) -> list[MenuFile]:
    """The files, icons and metainfo first and the entry last (the order they are written in)."""
    base = data_home(os.environ if environ is None else environ, Path.home() if home is None else home)
    icons = base / "icons" / "hicolor"
    files = [_png(f"icon {n}x{n}", icons / f"{n}x{n}" / "apps" / f"{APP_ID}.png", n) for n in ICON_SIZES]
    files.append(_xml("icon (SVG)", icons / "scalable" / "apps" / f"{APP_ID}.svg", "icons/voice-assistant.svg"))
    files.append(
        _xml("AppStream metainfo", base / "metainfo" / f"{APP_ID}.metainfo.xml", f"desktop/{APP_ID}.metainfo.xml")
    )
    entry = base / "applications" / f"{APP_ID}.desktop"
    files.append(MenuFile("menu entry", _owned(entry, _is_our_entry), render_entry(command)))
    return files


def install_menu_entry(
    command: Sequence[str], *, environ: Mapping[str, str] | None = None, home: Path | None = None
) -> list[Path]:
    """Puts the app in the applications menu, starting `command`; returns the files written. Replaces an
    earlier installation of the app's own (another version, another place of the program)."""
    _require_freedesktop()
    files = menu_files(command, environ=environ, home=home)
    for item in files:  # every place is checked before anything is written
        item.file.check_place()
    for item in files:
        item.file.write(item.content)
    return [item.file.path for item in files]


def uninstall_menu_entry(*, environ: Mapping[str, str] | None = None, home: Path | None = None) -> list[Path]:
    """Removes the app's own menu files (the entry first); returns those removed. Someone else's file in
    one of the places is left, and reported once the app's own are gone."""
    _require_freedesktop()
    files = menu_files([sys.executable], environ=environ, home=home)  # the command plays no part in removing
    removed: list[Path] = []
    refused: list[AppError] = []
    for item in reversed(files):
        try:
            if item.file.remove():
                removed.append(item.file.path)
        except MenuEntryError as error:
            refused.append(error)
    if refused:
        raise MenuEntryError(refused[0].code, " ".join(error.message for error in refused))
    return removed


def menu_entry_supported() -> bool:
    """Whether this system has a freedesktop.org applications menu (not macOS, not Windows)."""
    return sys.platform not in ("darwin", "win32")


def menu_entry_installed(*, environ: Mapping[str, str] | None = None, home: Path | None = None) -> bool:
    """Whether the app's own entry is in the applications menu (someone else's, or none, counts as not)."""
    if not menu_entry_supported():
        return False
    entry = menu_files([sys.executable], environ=environ, home=home)[-1].file
    try:
        content = entry.content()
    except MenuEntryError:
        return False
    return content is not None and entry.owns(content)


def set_menu_entry(on: bool) -> bool:
    """Puts this app (started as `launch_command()` says it was) in the applications menu, or takes it
    out; returns whether its entry is there now."""
    if on:
        install_menu_entry(launch_command())
    else:
        uninstall_menu_entry()
    return menu_entry_installed()


def render_entry(command: Sequence[str]) -> bytes:
    """The shipped entry with Exec set to `command` and the app's marker added."""
    template = resource_path(f"desktop/{APP_ID}.desktop").read_text(encoding="utf-8")
    lines = [f"Exec={exec_value(command)}" if line.startswith("Exec=") else line for line in template.splitlines()]
    return ("\n".join([*lines, f"{MARKER_KEY}=true"]) + "\n").encode("utf-8")


def mark_png(data: bytes) -> bytes:
    """The PNG with a text chunk naming the app's marker, right after its header chunk (IHDR)."""
    if not data.startswith(_PNG_SIGNATURE) or data[12:16] != b"IHDR":
        raise ValueError("not a PNG file")
    header_end = 8 + 8 + 13 + 4  # signature, IHDR's length and type, its 13 bytes, its CRC
    body = MARKER_KEY.encode("latin-1") + b"\0true"
    chunk = struct.pack(">I", len(body)) + b"tEXt" + body + struct.pack(">I", zlib.crc32(b"tEXt" + body))
    return data[:header_end] + chunk + data[header_end:]


def png_is_ours(content: bytes) -> bool:
    """Whether the PNG has the marker chunk mark_png adds (chunks are walked, not searched for)."""
    if not content.startswith(_PNG_SIGNATURE):
        return False
    position = len(_PNG_SIGNATURE)
    while position + 8 <= len(content):
        (length,) = struct.unpack(">I", content[position : position + 4])
        kind = content[position + 4 : position + 8]
        body = content[position + 8 : position + 8 + length]
        if kind == b"tEXt" and body == MARKER_KEY.encode("latin-1") + b"\0true":
            return True
        if kind in (b"IDAT", b"IEND"):  # mark_png puts the chunk before the image data
            return False
        position += 12 + length
    return False


def mark_xml(data: bytes) -> bytes:
    """The XML (or SVG) with the marker comment after its declaration, or first when it has none."""
    if data.startswith(b"<?xml"):
        end = data.index(b"?>") + 2
        return data[:end] + b"\n" + _XML_MARKER + data[end:]
    return _XML_MARKER + b"\n" + data


def xml_is_ours(content: bytes) -> bool:
    return _XML_MARKER in content


def _is_our_entry(content: bytes) -> bool:
    return desktop_entry_keys(content).get(MARKER_KEY) == "true"


def _owned(path: Path, is_ours: Callable[[bytes], bool]) -> OwnedFile:
    return OwnedFile(path, is_ours, MENU_REFUSALS, max_bytes=MAX_FILE_BYTES)


def _png(what: str, path: Path, size: int) -> MenuFile:
    data = resource_path(f"icons/voice-assistant-{size}.png").read_bytes()
    return MenuFile(what, _owned(path, png_is_ours), mark_png(data))


def _xml(what: str, path: Path, resource: str) -> MenuFile:
    return MenuFile(what, _owned(path, xml_is_ours), mark_xml(resource_path(resource).read_bytes()))


def _require_freedesktop() -> None:
    if menu_entry_supported():
        return
    advice = {
        "darwin": f"drag {DISPLAY_NAME}.app into the Applications folder instead",
        "win32": "pin voice-assistant.exe to the Start menu instead",
    }.get(sys.platform)
    if advice:
        raise MenuEntryError(
            ErrorCode.MENU_ENTRY_UNSUPPORTED,
            f"The applications menu entry is for Linux and BSD desktops; on this system, {advice}.",
        )
