"""The platform metadata of the double-click bundle (desktop_app/bundle_info.py, used by build.spec): the macOS
Info.plist as plistlib writes it, the Windows version resource as PyInstaller's own loader and binary parser
read it back, the icons they point at, and build.spec taking each platform's options from there. Nothing is
built: tests/test_bundle.py builds the bundle."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import plistlib
import struct
import sys
import tomllib
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from desktop_app import __version__
from desktop_app.bundle_info import (
    COPYRIGHT,
    DESCRIPTION,
    LICENCE,
    MACOS_ICON,
    MICROPHONE_USAGE,
    WINDOWS_ICON,
    app_bundle_options,
    exe_options,
    installed_wheel_tags,
    macos_info_plist,
    macos_minimum_version,
    macos_version,
    windows_version_info,
    windows_version_numbers,
)

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
APP_ID = "local.voice_assistant.VoiceAssistant"


@pytest.fixture(scope="module")
def versioninfo() -> Iterator[Any]:
    """PyInstaller.utils.win32.versioninfo. At import it takes win32api from PyInstaller.compat (defined only
    on Windows) and imports pefile (installed with PyInstaller only on Windows), both for reading and writing
    .exe files, which is not tested here: elsewhere they are stood in for during the import, and the
    structures, their text form and the loader under test are PyInstaller's own code."""
    name = "PyInstaller.utils.win32.versioninfo"
    if sys.platform == "win32":
        yield importlib.import_module(name)
        return
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(importlib.import_module("PyInstaller.compat"), "win32api", None, raising=False)
        if importlib.util.find_spec("pefile") is None:
            patch.setitem(sys.modules, "pefile", types.ModuleType("pefile"))
        module = importlib.import_module(name)
    yield module


def string_table(info: Any) -> dict[str, str]:
    """The name/value strings of a version resource's only string table."""
    (string_file_info,) = [kid for kid in info.kids if type(kid).__name__ == "StringFileInfo"]
    (table,) = string_file_info.kids
    assert table.name == "040904B0"  # U.S. English, Unicode: what the Translation entry says
    return {entry.name: entry.val for entry in table.kids}


def version_numbers(ffi: Any) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The file and product version numbers a FixedFileInfo holds."""

    def split(most: int, least: int) -> tuple[int, ...]:
        return (most >> 16, most & 0xFFFF, least >> 16, least & 0xFFFF)

    return split(ffi.fileVersionMS, ffi.fileVersionLS), split(ffi.productVersionMS, ffi.productVersionLS)


def test_the_info_plist_names_the_app_its_version_and_why_it_uses_the_microphone() -> None:
    plist = plistlib.loads(plistlib.dumps(macos_info_plist("12.0")))

    assert plist["CFBundleName"] == plist["CFBundleDisplayName"] == "Voice Assistant"
    assert plist["CFBundleIdentifier"] == APP_ID
    assert plist["CFBundleShortVersionString"] == plist["CFBundleVersion"] == __version__
    assert plist["NSHighResolutionCapable"] is True
    assert plist["LSMinimumSystemVersion"] == "12.0"
    assert plist["NSHumanReadableCopyright"] == COPYRIGHT
    usage = plist["NSMicrophoneUsageDescription"]
    assert usage == MICROPHONE_USAGE
    for words in ("microphone", "push-to-talk key", "recognised on this computer", "Settings > Privacy"):
        assert words in usage
    assert usage.endswith(".")
    # The app has a window and a Dock icon: not an agent, not a background-only program.
    assert not {"LSUIElement", "LSBackgroundOnly"} & plist.keys()


def test_the_info_plist_states_no_minimum_macos_when_none_is_known() -> None:
    assert "LSMinimumSystemVersion" not in macos_info_plist()


def test_the_minimum_macos_is_the_newest_any_wheel_asks_for() -> None:
    tags = [
        "py3-none-any",
        "cp311-cp311-macosx_10_9_x86_64",
        "cp39-abi3-macosx_12_0_universal2",
        "cp311-cp311-macosx_10_13_universal2",
        "cp311-cp311-manylinux_2_17_x86_64",
    ]
    assert macos_minimum_version(tags) == "12.0"
    assert macos_minimum_version(["macosx_10_9_x86_64", "macosx_10_13_universal2"]) == "10.13"  # by number
    assert macos_minimum_version(["py3-none-any", "cp311-cp311-win_amd64"]) is None


def test_the_installed_wheel_tags_include_this_platforms_binary_wheels() -> None:
    tags = installed_wheel_tags()
    assert "py3-none-any" in tags  # pure-Python wheels (pytest's, among others)
    platform_word = {"darwin": "macosx", "win32": "win"}.get(sys.platform, "linux")
    assert any(platform_word in tag for tag in tags[1:])  # binary wheels: PySide6's, numpy's
    assert (macos_minimum_version(tags) is not None) == (sys.platform == "darwin")


def test_versions_become_the_numbers_each_platform_takes() -> None:
    assert windows_version_numbers("0.1.0") == (0, 1, 0, 0)
    assert windows_version_numbers("1.2.3.4") == (1, 2, 3, 4)
    assert windows_version_numbers("2.0rc1") == (2, 0, 0, 0)
    assert macos_version("1.2.3") == "1.2.3"
    assert macos_version("0.4.dev2") == "0.4"
    with pytest.raises(ValueError, match="Windows version resource"):
        windows_version_numbers("1.2.3.4.5")
    with pytest.raises(ValueError, match="Windows version resource"):
        windows_version_numbers("70000.0")
    with pytest.raises(ValueError, match="does not begin with a number"):
        windows_version_numbers("v1.0")
    with pytest.raises(ValueError, match="three numbers"):
        macos_version("1.2.3.4")


def test_the_windows_version_info_survives_pyinstallers_version_file_loader(versioninfo: Any, tmp_path: Path) -> None:
    info = windows_version_info()
    assert isinstance(info, versioninfo.VSVersionInfo)
    version_file = tmp_path / "version.txt"
    version_file.write_text(str(info), encoding="utf-8")

    loaded = versioninfo.load_version_info_from_text_file(str(version_file))

    assert loaded.toRaw() == info.toRaw()
    numbers = windows_version_numbers(__version__)
    assert version_numbers(loaded.ffi) == (numbers, numbers)
    dotted = ".".join(map(str, numbers))
    assert dotted.startswith(__version__)  # "0.1.0" -> "0.1.0.0"
    assert string_table(loaded) == {
        "CompanyName": "Voice Assistant",
        "FileDescription": "Voice Assistant",
        "FileVersion": dotted,
        "InternalName": "voice-assistant",
        "LegalCopyright": COPYRIGHT,
        "OriginalFilename": "voice-assistant.exe",
        "ProductName": "Voice Assistant",
        "ProductVersion": dotted,
        "Comments": DESCRIPTION,
    }


@pytest.mark.skipif(
    sys.platform != "win32",
    reason="PyInstaller packs the resource's numbers as the C long of the machine: 32 bits, as Windows reads "
    "them, only on Windows",
)
def test_the_windows_version_resource_reads_back_from_its_bytes(versioninfo: Any) -> None:
    """What Windows reads is the binary resource PyInstaller writes from the structure (toRaw)."""
    info = windows_version_info()
    parsed = versioninfo.VSVersionInfo()
    parsed.fromRaw(info.toRaw())

    numbers = windows_version_numbers(__version__)
    assert version_numbers(parsed.ffi) == (numbers, numbers)
    assert string_table(parsed) == string_table(info)
    (var_file_info,) = [kid for kid in parsed.kids if type(kid).__name__ == "VarFileInfo"]
    (translation,) = var_file_info.kids
    assert (translation.name, translation.kids) == ("Translation", [0x0409, 1200])


def test_copyright_and_description_follow_pyproject() -> None:
    assert PYPROJECT["license"]["text"] == LICENCE
    assert f"{LICENCE} License" in COPYRIGHT
    assert PYPROJECT["description"] == DESCRIPTION


def test_only_windows_gives_the_executable_an_icon_and_a_version_resource(versioninfo: Any) -> None:
    assert exe_options("linux") == {}
    assert exe_options("darwin") == {}  # the .app carries macOS's icon
    windows = exe_options("win32")
    assert windows.keys() == {"icon", "version"}
    assert windows["icon"] == WINDOWS_ICON
    assert isinstance(windows["version"], versioninfo.VSVersionInfo)
    assert windows["version"].toRaw() == windows_version_info().toRaw()


def test_only_macos_wraps_the_folder_in_an_app_bundle() -> None:
    assert app_bundle_options("linux") is None
    assert app_bundle_options("win32") is None
    options = app_bundle_options("darwin")
    assert options is not None
    info_plist = options.pop("info_plist")
    assert options == {
        "name": "Voice Assistant.app",
        "icon": MACOS_ICON,
        "bundle_identifier": APP_ID,
        "version": __version__,
    }
    assert isinstance(info_plist, dict)
    expected = macos_info_plist(macos_minimum_version(installed_wheel_tags()))
    assert info_plist == expected


def test_the_icons_build_spec_names_are_an_ico_and_an_icns() -> None:
    ico = (ROOT / WINDOWS_ICON).read_bytes()
    reserved, kind, images = struct.unpack_from("<HHH", ico)
    assert (reserved, kind) == (0, 1) and images >= 1  # ICONDIR: type 1 is an icon
    icns = (ROOT / MACOS_ICON).read_bytes()
    magic, length = struct.unpack_from(">4sI", icns)
    assert magic == b"icns" and length == len(icns)


def test_build_spec_takes_each_platforms_options_from_bundle_info() -> None:
    spec = ast.parse((ROOT / "build.spec").read_text())
    nodes = list(ast.walk(spec))
    imported = {
        alias.name
        for node in nodes
        if isinstance(node, ast.ImportFrom) and node.module == "desktop_app.bundle_info"
        for alias in node.names
    }
    assert {"exe_options", "app_bundle_options"} <= imported

    def calls(name: str) -> list[ast.Call]:
        return [n for n in nodes if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == name]

    (exe,) = calls("EXE")
    assert [ast.unparse(keyword.value) for keyword in exe.keywords if keyword.arg is None] == [
        "exe_options(sys.platform)"
    ]
    assert not {"icon", "version"} & {keyword.arg for keyword in exe.keywords}

    (bundle,) = calls("BUNDLE")
    (unpacked,) = [ast.unparse(keyword.value) for keyword in bundle.keywords if keyword.arg is None]
    assignments = {
        target.id: ast.unparse(node.value)
        for node in nodes
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    assert assignments[unpacked] == "app_bundle_options(sys.platform)"

    # The icons become metadata, not files in the bundle's resources folder.
    bundled = {f"desktop_app/{path}" for path in (WINDOWS_ICON, MACOS_ICON)}
    (unused,) = [node.value for node in spec.body if isinstance(node, ast.Assign) and assignment_name(node) == "UNUSED"]
    assert bundled <= set(ast.literal_eval(unused))


def assignment_name(node: ast.Assign) -> str | None:
    target = node.targets[0]
    return target.id if isinstance(target, ast.Name) else None
