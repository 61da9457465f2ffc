"""./start.sh installs every system library Qt's xcb platform needs, and the start-up check names the right
package for each.

Qt's libraries come in the PySide6 wheel; the system libraries under them do not. `ldd` on the xcb platform
plugin, the plugins Qt loads beside it and the Qt libraries the window uses lists what the dynamic loader
resolves; `dpkg -S` names the Debian package of each; every one must be in APP_PACKAGES of
scripts/packages.sh, a dependency of one of them, or part of the essential base system.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest

from desktop_app.ui.platform_check import XCB_LIBRARY_PACKAGES, qt_dir

ROOT = Path(__file__).resolve().parents[1]
PACKAGES_SH = ROOT / "scripts" / "packages.sh"

# What Qt loads for the window on X11, relative to PySide6's Qt folder.
QT_BINARIES = (
    "plugins/platforms/libqxcb.so",
    "plugins/xcbglintegrations/libqxcb-glx-integration.so",
    "plugins/xcbglintegrations/libqxcb-egl-integration.so",
    "plugins/platforminputcontexts/libcomposeplatforminputcontextplugin.so",
    "plugins/platforminputcontexts/libibusplatforminputcontextplugin.so",
    "plugins/platformthemes/libqxdgdesktopportal.so",
    "plugins/iconengines/libqsvgicon.so",
    "plugins/imageformats/libqsvg.so",
    "lib/libQt6XcbQpa.so.6",
    "lib/libQt6Widgets.so.6",
    "lib/libQt6Gui.so.6",
    "lib/libQt6Core.so.6",
    "lib/libQt6DBus.so.6",
    "lib/libQt6Svg.so.6",
)
# The C library and the loader itself: without them nothing runs, Python included.
C_LIBRARY = {"libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1", "ld-linux-x86-64.so.2"}
_LDD_LINE = re.compile(r"^\s*(?P<soname>\S+)\s+=>\s+(?P<path>\S+)\s+\(0x[0-9a-f]+\)\s*$")
_LDD_MISSING = re.compile(r"^\s*(?P<soname>\S+)\s+=>\s+not found\s*$")


def _need(program: str) -> str:
    found = shutil.which(program)
    assert found, f"{program} is missing: run ./test.sh on Debian or Ubuntu, which has it"
    return found


@cache
def app_packages() -> tuple[str, ...]:
    """APP_PACKAGES of scripts/packages.sh, as bash reads it."""
    done = subprocess.run(
        ["bash", "-c", f'. "{PACKAGES_SH}"; printf "%s\\n" "${{APP_PACKAGES[@]}}"'],
        capture_output=True,
        text=True,
        check=True,
    )
    return tuple(line for line in done.stdout.splitlines() if line)


@cache
def qt_system_libraries() -> dict[str, str]:
    """soname -> resolved path of every library outside the wheel that the Qt binaries load."""
    ldd = _need("ldd")
    qt = qt_dir()
    assert qt is not None, "PySide6 is not installed"
    wheel = qt.parent.parent  # site-packages: PySide6 and shiboken6
    found: dict[str, str] = {}
    missing: list[str] = []
    for relative in QT_BINARIES:
        binary = qt / relative
        assert binary.is_file(), f"{binary} is not in the PySide6 wheel any more: update QT_BINARIES"
        output = subprocess.run([ldd, str(binary)], capture_output=True, text=True, check=True).stdout
        for line in output.splitlines():
            if (gone := _LDD_MISSING.match(line)) is not None:
                missing.append(f"{gone.group('soname')} (for {relative})")
            elif (match := _LDD_LINE.match(line)) is not None:
                path = match.group("path")
                if not Path(path).resolve().is_relative_to(wheel.resolve()):
                    found[match.group("soname")] = path
    assert not missing, f"libraries Qt needs are not installed: {missing}; run ./start.sh"
    return found


def _dpkg_candidates(path: str) -> list[str]:
    """The names dpkg may have recorded a library under (merged /usr: /lib and /usr/lib are one folder)."""
    real = str(Path(path).resolve())
    names = [path, real]
    for name in (path, real):
        if name.startswith("/usr/lib/"):
            names.append(name.removeprefix("/usr"))
        elif name.startswith("/lib/"):
            names.append("/usr" + name)
    return list(dict.fromkeys(names))


@cache
def package_of(path: str) -> str:
    dpkg = _need("dpkg")
    for candidate in _dpkg_candidates(path):
        done = subprocess.run([dpkg, "-S", candidate], capture_output=True, text=True, check=False)
        for line in done.stdout.splitlines():
            owner, _, listed = line.partition(": ")
            if listed.strip() == candidate and "diversion" not in owner:
                return owner.split(",")[0].strip().split(":")[0]
    raise AssertionError(f"dpkg knows no package that ships {path}")


@cache
def installed_packages() -> dict[str, dict[str, str]]:
    """Every installed package with its Depends, Pre-Depends, Provides and Essential fields."""
    query = _need("dpkg-query")
    fields = "${Package}\\t${Status}\\t${Depends}\\t${Pre-Depends}\\t${Provides}\\t${Essential}\\n"
    output = subprocess.run([query, "-W", "-f", fields], capture_output=True, text=True, check=True).stdout
    packages: dict[str, dict[str, str]] = {}
    for line in output.splitlines():
        name, status, depends, pre_depends, provides, essential = line.split("\t")
        if status.endswith(" installed"):
            packages[name] = {"depends": f"{depends}, {pre_depends}", "provides": provides, "essential": essential}
    return packages


def _names(field: str) -> list[list[str]]:
    """A Depends-style field as groups of alternatives, without versions or architectures."""
    groups = []
    for group in field.split(","):
        names = [re.split(r"[\s(:]", alternative.strip(), maxsplit=1)[0] for alternative in group.split("|")]
        names = [name for name in names if name]
        if names:
            groups.append(names)
    return groups


def dependency_closure(roots: set[str]) -> set[str]:
    """The installed packages `roots` need, directly or through others (alternatives and virtual packages
    resolved to whichever is installed)."""
    packages = installed_packages()
    providers: dict[str, set[str]] = {}
    for name, info in packages.items():
        for virtual, *_rest in _names(info["provides"]):
            providers.setdefault(virtual, set()).add(name)
    seen: set[str] = set()
    todo = [root for root in roots if root in packages]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for group in _names(packages[name]["depends"]):
            for alternative in group:
                chosen = {alternative} if alternative in packages else providers.get(alternative, set())
                if chosen:
                    todo.extend(chosen)
                    break
    return seen


def installed_alternative(spec: str) -> str | None:
    return next((name for name in spec.split("|") if name in installed_packages()), None)


@cache
def allowed_packages() -> frozenset[str]:
    """APP_PACKAGES and what they pull in, and the essential base system with what it pulls in."""
    chosen = {installed_alternative(spec) for spec in app_packages()}
    missing = [spec for spec in app_packages() if installed_alternative(spec) is None]
    assert not missing, f"APP_PACKAGES not installed here: {missing}; run ./test.sh, which installs them"
    essential = {name for name, info in installed_packages().items() if info["essential"] == "yes"}
    return frozenset(dependency_closure({name for name in chosen if name} | essential))


def test_start_sh_installs_every_system_library_qt_xcb_loads() -> None:
    uncovered = {
        f"{soname} ({path}) from {package_of(path)}"
        for soname, path in qt_system_libraries().items()
        if package_of(path) not in allowed_packages()
    }
    assert not uncovered, (
        "these libraries come from packages that neither APP_PACKAGES in scripts/packages.sh nor their "
        f"dependencies install: {sorted(uncovered)}"
    )


def test_the_start_up_check_knows_the_package_of_every_library_qt_xcb_loads() -> None:
    unknown = sorted(set(qt_system_libraries()) - set(XCB_LIBRARY_PACKAGES) - C_LIBRARY)
    assert not unknown, f"add these to XCB_LIBRARY_PACKAGES in desktop_app/ui/platform_check.py: {unknown}"


@pytest.mark.parametrize("soname", sorted(XCB_LIBRARY_PACKAGES))
def test_each_package_the_check_names_ships_that_library_and_start_sh_installs_it(soname: str) -> None:
    spec = XCB_LIBRARY_PACKAGES[soname]
    path = qt_system_libraries().get(soname)
    assert path is not None, f"{soname} is not loaded by Qt's xcb platform any more: drop it from the mapping"
    assert package_of(path) in spec.split("|"), f"{soname} comes from {package_of(path)}, not {spec}"
    assert spec in app_packages() or package_of(path) in allowed_packages(), (
        f"{spec} (for {soname}) is neither in APP_PACKAGES nor installed by one of them"
    )


def test_every_qt_package_in_app_packages_is_named_by_the_check() -> None:
    """The other way round: a library package added to APP_PACKAGES for Qt is in the check's mapping too."""
    # Speech output, sound devices and the sound server's client library: not for Qt.
    not_for_qt = {"espeak-ng", "libespeak-ng1", "libportaudio2", "libasound2-plugins", "libpulse0"}
    named = set(XCB_LIBRARY_PACKAGES.values())
    assert {spec for spec in app_packages() if spec not in not_for_qt} <= named
