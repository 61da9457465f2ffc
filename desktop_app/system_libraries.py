"""The system libraries the voice features load that the Python wheels do not bring, on Linux:

  * PortAudio (libportaudio.so.2): the microphone and speaker, through sounddevice, which loads it when it is
    imported (audio.portaudio turns that failure into system_library_missing). Without it nothing is heard
    or spoken, and questions can only be typed (CLI: devices, transcribe and ask --speak refuse).
  * eSpeak NG (libespeak-ng.so.1): spoken answers, through pyttsx3's espeak driver. Without it the app still
    answers, in text only.

`missing_libraries` loads each one the way its Python library does (a few milliseconds: it runs at every
start), so what it reports is what would fail later; the messages name what is lost and the command that
installs the package on this distribution (read from os-release), or the packages by name elsewhere.

Only Linux is checked. On macOS and Windows sounddevice's wheels bring PortAudio. Speech there also goes
through pyttsx3's espeak driver (speech.tts_engine.DRIVER), so it needs eSpeak NG installed too
(macOS: brew install espeak-ng; Windows: eSpeak NG's installer); that is not checked at start: the speech
engine's own notice says so when speaking fails.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import shlex
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from desktop_app import DISPLAY_NAME
from desktop_app.core.errors import AppError, ErrorCode

log = logging.getLogger(__name__)

# The window's exit status when the user quits at the start because a library is missing (a command
# reports system_library_missing with exit status 1 like any other failure).
EXIT_SYSTEM_LIBRARY_MISSING = 3
# Where the distribution says what it is (os-release(5): the first one that exists).
OS_RELEASE_FILES = (Path("/etc/os-release"), Path("/usr/lib/os-release"))
# Distribution families by the ID (or ID_LIKE) of os-release, and how each installs packages.
FAMILY_OF_ID: Mapping[str, str] = {
    "debian": "debian",
    "ubuntu": "debian",
    "fedora": "fedora",
    "rhel": "fedora",
    "arch": "arch",
}
INSTALL_COMMANDS: Mapping[str, str] = {
    "debian": "sudo apt install",
    "fedora": "sudo dnf install",
    "arch": "sudo pacman -S",
}
FAMILY_NAMES: Mapping[str, str] = {"debian": "Debian/Ubuntu", "fedora": "Fedora", "arch": "Arch"}


def _portaudio_problem() -> str | None:
    # sounddevice asks ctypes.util.find_library("portaudio") (ldconfig's cache, then the linker), then loads it.
    found = ctypes.util.find_library("portaudio")
    if found is None:
        return "no libportaudio found by the dynamic linker"
    return _first_loadable((found,))


def _espeak_problem() -> str | None:
    # pyttsx3.drivers._espeak tries these, in this order, on Linux.
    return _first_loadable(("libespeak-ng.so.1", "/usr/local/lib/libespeak-ng.so.1", "libespeak.so.1"))


def _first_loadable(names: Sequence[str]) -> str | None:
    """None when one of `names` loads; otherwise the loader's words about the first."""
    reasons = []
    for name in names:
        try:
            ctypes.CDLL(name)
        except OSError as error:
            reasons.append(str(error))
        else:
            return None
    return reasons[0]


@dataclass(frozen=True, slots=True)
class SystemLibrary:
    name: str
    soname: str
    used_for: str  # in the user's words
    without_it: str  # what the user loses
    required: bool  # the app cannot start without it
    packages: Mapping[str, str]  # distribution family -> package
    problem: Callable[[], str | None]  # why it cannot be loaded; None when it loads

    @property
    def label(self) -> str:
        return f"{self.name} ({self.soname}, for {self.used_for})"


PORTAUDIO = SystemLibrary(
    name="PortAudio",
    soname="libportaudio.so.2",
    used_for="the microphone and speaker",
    without_it="nothing is heard or spoken: questions can only be typed",
    required=False,
    packages={"debian": "libportaudio2", "fedora": "portaudio", "arch": "portaudio"},
    problem=_portaudio_problem,
)
ESPEAK_NG = SystemLibrary(
    name="eSpeak NG",
    soname="libespeak-ng.so.1",
    used_for="spoken answers",
    without_it="answers are shown as text but not spoken",
    required=False,
    packages={"debian": "libespeak-ng1", "fedora": "espeak-ng", "arch": "espeak-ng"},
    problem=_espeak_problem,
)
LIBRARIES = (PORTAUDIO, ESPEAK_NG)


@dataclass(frozen=True, slots=True)
class MissingLibrary:
    library: SystemLibrary
    reason: str  # the loader's words, for the log


def missing_libraries(libraries: Sequence[SystemLibrary] = LIBRARIES) -> list[MissingLibrary]:
    """The libraries that cannot be loaded here (always none outside Linux: see the module's notes)."""
    if not sys.platform.startswith("linux"):
        return []
    found = []
    for library in libraries:
        reason = library.problem()
        if reason is not None:
            found.append(MissingLibrary(library, reason))
    return found


def distribution_family(os_release: Path | None = None) -> str | None:
    """The distribution's family ("debian", "fedora" or "arch") by os-release's ID, then its ID_LIKE; None when
    unknown or unreadable."""
    fields = _read_os_release(os_release)
    for identifier in [fields.get("ID", ""), *fields.get("ID_LIKE", "").split()]:
        family = FAMILY_OF_ID.get(identifier.lower())
        if family is not None:
            return family
    return None


def _read_os_release(path: Path | None) -> dict[str, str]:
    candidates = (path,) if path is not None else OS_RELEASE_FILES
    for candidate in candidates:
        try:
            text = candidate.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        fields = {}
        for line in text.splitlines():
            key, equals, value = line.partition("=")
            if equals and not key.lstrip().startswith("#"):
                try:
                    words = shlex.split(value)  # values may be quoted, as in a shell
                except ValueError:
                    continue
                fields[key.strip()] = " ".join(words)
        return fields
    return {}


def install_command(libraries: Sequence[SystemLibrary], os_release: Path | None = None) -> str | None:
    """The command that installs `libraries` on this distribution; None when it is not one of those known."""
    family = distribution_family(os_release)
    if family is None:
        return None
    return f"{INSTALL_COMMANDS[family]} {' '.join(library.packages[family] for library in libraries)}"


def how_to_install(
    libraries: Sequence[SystemLibrary], os_release: Path | None = None, before_command: str = " "
) -> str:
    """A sentence: the command that installs `libraries` here (after `before_command`), or their packages by
    distribution."""
    command = install_command(libraries, os_release)
    if command is not None:
        return f"Install {'it' if len(libraries) == 1 else 'them'} with:{before_command}{command}"
    by_family = "; ".join(
        f"{FAMILY_NAMES[family]}: {', '.join(library.packages[family] for library in libraries)}"
        for family in INSTALL_COMMANDS
    )
    provides = "the package that provides" if len(libraries) == 1 else "the packages that provide"
    sonames = " and ".join(library.soname for library in libraries)
    return f"Install {provides} {sonames} with your system's package manager ({by_family})."


def describe(libraries: Sequence[SystemLibrary], os_release: Path | None = None) -> str:
    """What is missing and how to install it, in one line (the command line's error, the self-test's line)."""
    named = " and ".join(library.label for library in libraries)
    verb = "is" if len(libraries) == 1 else "are"
    return f"{named} {verb} missing. {how_to_install(libraries, os_release)}"


def require(libraries: Sequence[SystemLibrary], doing: str) -> None:
    """Raises system_library_missing when one of `libraries` cannot be loaded; `doing` is what could not be done
    ("list the sound devices")."""
    missing = missing_libraries(libraries)
    if missing:
        for item in missing:
            log.error("%s cannot be loaded: %s", item.library.soname, item.reason)
        found = [item.library for item in missing]
        raise AppError(ErrorCode.SYSTEM_LIBRARY_MISSING, f"Cannot {doing}: {describe(found)}")


@dataclass(frozen=True, slots=True)
class StartWarning:
    """What the window says at the start when libraries are missing."""

    headline: str
    details: str
    can_continue: bool  # every missing library is one the app runs without


def start_warning(missing: Sequence[MissingLibrary], os_release: Path | None = None) -> StartWarning:
    libraries = [item.library for item in missing]
    can_continue = not any(library.required for library in libraries)
    named = " and ".join(library.name for library in libraries)
    verb = "is" if len(libraries) == 1 else "are"
    headline = (
        f"{named} {verb} not installed."
        if can_continue
        else f"{DISPLAY_NAME} cannot start: {named} {verb} not installed."
    )
    lines = [f"{library.label}: without it, {library.without_it}." for library in libraries]
    install = how_to_install(libraries, os_release, before_command="\n")  # a command apart, not broken at a hyphen
    details = "\n".join([*lines, "", install, "", f"Then start {DISPLAY_NAME} again."])
    return StartWarning(headline, details, can_continue)
