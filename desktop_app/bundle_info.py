"""What the double-click bundle (build.spec) tells the operating system about the app: on macOS the
Info.plist of "Voice Assistant.app" (name, identifier, version, icon, why it asks for the microphone), on
Windows the executable's icon and version resource (what Explorer's Details tab and Task Manager show).
Linux executables carry neither. Qt-free; PyInstaller, which only builds and tests install, is imported
where it is needed.
"""

from __future__ import annotations

import importlib.metadata
import re
import sysconfig
from collections.abc import Iterable
from typing import TYPE_CHECKING

from desktop_app import APP_ID, APP_NAME, DISPLAY_NAME, __version__

if TYPE_CHECKING:
    from PyInstaller.utils.win32.versioninfo import VSVersionInfo  # type: ignore[import-untyped]

# Paths relative to build.spec; scripts/render_icons.py renders both from voice-assistant.svg.
MACOS_ICON = "resources/icons/voice-assistant.icns"
WINDOWS_ICON = "resources/icons/voice-assistant.ico"
MACOS_APP_NAME = f"{DISPLAY_NAME}.app"
WINDOWS_EXECUTABLE = f"{APP_NAME}.exe"
DESCRIPTION = "An offline desktop voice assistant: push to talk, hear the answer, keep every conversation."
LICENCE = "MIT"  # pyproject.toml's licence
COPYRIGHT = f"Copyright (c) the {DISPLAY_NAME} authors. Released under the {LICENCE} License."
# macOS shows this in the permission dialog the first time the app opens the microphone. The microphone runs
# while idle too when pre-roll is on (audio.preroll, on by default), so the sentence says so.
MICROPHONE_USAGE = (
    f"{DISPLAY_NAME} uses the microphone to hear you after you press the push-to-talk key or the Talk "
    "button, and to show its level while you set it up. While it waits it keeps only the last half second "
    "of sound in memory, so your first word is not cut off (Settings > Privacy turns this off). Speech is "
    "recognised on this computer; no recording is sent anywhere."
)
# A Windows version resource holds four numbers of 16 bits each.
WINDOWS_VERSION_PARTS = 4
WINDOWS_VERSION_PART_MAX = 0xFFFF
# CFBundleShortVersionString is at most three numbers (major.minor.patch).
MACOS_VERSION_PARTS = 3
_MACOS_TAG = re.compile(r"macosx_(\d+)_(\d+)_")


def release_numbers(version: str) -> tuple[int, ...]:
    """The numbers of a version's release part: "0.1.0" -> (0, 1, 0), "1.2rc1" -> (1, 2)."""
    release = re.match(r"\d+(?:\.\d+)*", version)
    if release is None:
        raise ValueError(f"version {version!r} does not begin with a number")
    return tuple(int(part) for part in release.group().split("."))


def windows_version_numbers(version: str = __version__) -> tuple[int, int, int, int]:
    """The four numbers of a Windows version resource: "0.1.0" -> (0, 1, 0, 0)."""
    numbers = release_numbers(version)
    if len(numbers) > WINDOWS_VERSION_PARTS or max(numbers) > WINDOWS_VERSION_PART_MAX:
        raise ValueError(f"version {version!r} does not fit a Windows version resource (four numbers up to 65535)")
    first, second, third, fourth = (*numbers, 0, 0, 0)[:WINDOWS_VERSION_PARTS]
    return first, second, third, fourth


def macos_version(version: str = __version__) -> str:
    """CFBundleShortVersionString and CFBundleVersion: the release numbers, as macOS wants them."""
    numbers = release_numbers(version)
    if len(numbers) > MACOS_VERSION_PARTS:
        raise ValueError(f"version {version!r} has more than the three numbers a macOS app version may have")
    return ".".join(str(number) for number in numbers)


def installed_wheel_tags() -> list[str]:
    """The platform tags of this interpreter and of every installed distribution (from their WHEEL files)."""
    tags = [re.sub(r"[-.]", "_", sysconfig.get_platform())]  # "macosx-11.0-arm64" -> "macosx_11_0_arm64"
    for distribution in importlib.metadata.distributions():
        wheel = distribution.read_text("WHEEL") or ""
        tags += [line.partition(":")[2].strip() for line in wheel.splitlines() if line.startswith("Tag:")]
    return tags


def macos_minimum_version(wheel_tags: Iterable[str]) -> str | None:
    """The newest macOS any of the tags asks for ("macosx_12_0_universal2" -> "12.0"), or None if no tag names
    macOS. Every binary in the bundle comes from one of these wheels, so the app cannot run on anything older."""
    versions = [(int(found[1]), int(found[2])) for tag in wheel_tags if (found := _MACOS_TAG.search(tag))]
    if not versions:
        return None
    major, minor = max(versions)
    return f"{major}.{minor}"


def macos_info_plist(minimum_system_version: str | None = None) -> dict[str, object]:
    """Info.plist entries for the .app (PyInstaller's BUNDLE adds the executable's and the icon's names)."""
    version = macos_version()
    plist: dict[str, object] = {
        "CFBundleName": DISPLAY_NAME,
        "CFBundleDisplayName": DISPLAY_NAME,
        "CFBundleIdentifier": APP_ID,
        "CFBundleShortVersionString": version,
        "CFBundleVersion": version,
        "NSHumanReadableCopyright": COPYRIGHT,
        "NSHighResolutionCapable": True,
        "NSMicrophoneUsageDescription": MICROPHONE_USAGE,
    }
    if minimum_system_version is not None:
        plist["LSMinimumSystemVersion"] = minimum_system_version
    return plist


def windows_version_info() -> VSVersionInfo:
    """The executable's version resource, in PyInstaller's own structure (EXE(version=...) takes it)."""
    from PyInstaller.utils.win32.versioninfo import (
        FixedFileInfo,
        StringFileInfo,
        StringStruct,
        StringTable,
        VarFileInfo,
        VarStruct,
        VSVersionInfo,
    )

    numbers = windows_version_numbers()
    dotted = ".".join(str(number) for number in numbers)
    strings = {
        "CompanyName": DISPLAY_NAME,
        "FileDescription": DISPLAY_NAME,  # Task Manager's name for the process
        "FileVersion": dotted,
        "InternalName": APP_NAME,
        "LegalCopyright": COPYRIGHT,
        "OriginalFilename": WINDOWS_EXECUTABLE,
        "ProductName": DISPLAY_NAME,
        "ProductVersion": dotted,
        "Comments": DESCRIPTION,
    }
    # U.S. English (0x0409) in Unicode (code page 1200): the table's name and the translation must agree.
    return VSVersionInfo(
        ffi=FixedFileInfo(filevers=numbers, prodvers=numbers),  # defaults: an application for Windows NT
        kids=[
            StringFileInfo([StringTable("040904B0", [StringStruct(key, value) for key, value in strings.items()])]),
            VarFileInfo([VarStruct("Translation", [0x0409, 1200])]),
        ],
    )


def exe_options(platform: str) -> dict[str, object]:
    """Keyword arguments of build.spec's EXE step: Windows's icon and version resource. macOS takes its icon
    from the .app (app_bundle_options) and Linux executables carry none."""
    if platform == "win32":
        return {"icon": WINDOWS_ICON, "version": windows_version_info()}
    return {}


def app_bundle_options(platform: str) -> dict[str, object] | None:
    """Keyword arguments of build.spec's BUNDLE step, which makes the .app around the folder on macOS; None
    where there is no such step."""
    if platform != "darwin":
        return None
    return {
        "name": MACOS_APP_NAME,
        "icon": MACOS_ICON,
        "bundle_identifier": APP_ID,
        "version": macos_version(),
        "info_plist": macos_info_plist(macos_minimum_version(installed_wheel_tags())),
    }
