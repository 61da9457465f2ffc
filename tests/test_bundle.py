"""The double-click bundle, built from build.spec with PyInstaller (about a minute) and started as a user
starts it, not the source tree: its own `--self-test` passes every check on a machine with sound and a
keychain, and on an X screen with the private sound server it answers a spoken question and keeps it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from gui_app import ask_by_voice, quit_app, running_app, wait_for_messages, wait_until_listening_ready

ROOT = Path(__file__).resolve().parents[1]
BUILD_BOUND_S = 900
RUN_BOUND_S = 180

pytestmark = pytest.mark.slow
# What every desktop Linux has and PyInstaller never bundles (the C library, the loader, OpenGL, the display
# servers' client libraries): the only libraries the bundle's files may link without carrying them.
SYSTEM_BASE = {
    "ld-linux-x86-64.so.2", "libc.so.6", "libdl.so.2", "libm.so.6", "libpthread.so.0", "librt.so.1",
    "libEGL.so.1", "libGL.so.1", "libwayland-client.so.0", "libwayland-cursor.so.0", "libwayland-egl.so.1",
    "libxcb.so.1",
}  # fmt: skip


def is_elf(path: Path) -> bool:
    with path.open("rb") as opened:
        return opened.read(4) == b"\x7fELF"


def linked_but_not_bundled(internal: Path) -> set[str]:
    """The libraries the bundle's ELF files link (NEEDED) that are not in the bundle."""
    elf_files = [
        path
        for path in internal.rglob("*")
        if path.is_file() and not path.is_symlink() and path.read_bytes()[:4] == b"\x7fELF"
    ]
    names = {path.name for path in elf_files}
    linked: set[str] = set()
    for path in elf_files:
        dynamic = subprocess.run(["readelf", "-d", str(path)], capture_output=True, text=True, check=True).stdout
        linked |= set(re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", dynamic))
    return linked - names


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The bundle's executable, built once for the module into a temporary folder."""
    out = tmp_path_factory.mktemp("bundle")
    folders = ["--workpath", str(out / "work"), "--distpath", str(out / "dist")]
    built = subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", *folders, "build.spec"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=BUILD_BOUND_S,
    )
    assert built.returncode == 0, built.stderr[-4000:]
    executable = out / "dist" / "voice-assistant" / "voice-assistant"
    assert executable.is_file() and os.access(executable, os.X_OK)
    yield executable


def test_the_bundle_passes_its_self_test(bundle: Path, pulse_audio, system_keychain) -> None:
    env = {**os.environ, **pulse_audio.env(), **system_keychain.env(), "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([str(bundle), "--self-test"], env=env, capture_output=True, text=True, timeout=RUN_BOUND_S)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert [line.split()[:2] for line in lines[1:-1]] == [
        ["ok", name] for name in ("store", "recogniser", "speech", "turn", "window", "keychain", "sound")
    ], done.stdout
    assert "Traceback" not in done.stderr


@pytest.mark.gui
def test_the_bundle_answers_a_spoken_question(bundle: Path, xvfb_display: str, pulse_audio, data_dir: Path) -> None:
    from speech_audio import say_to_wav

    question = say_to_wav("what time is it", data_dir.parent / "question.wav")
    with running_app(xvfb_display, data_dir, program=[str(bundle)], PULSE_SERVER=pulse_audio.server) as (app, window):
        wait_until_listening_ready(data_dir)
        ask_by_voice(xvfb_display, window, pulse_audio, question)
        answered = wait_for_messages(data_dir, 2)
        assert answered[0] == ("user", "what time is it"), answered
        assert answered[1][0] == "assistant" and answered[1][1].startswith("It is")
        quit_app(app, xvfb_display)


def test_the_bundle_carries_what_it_needs_and_not_what_it_does_not(bundle: Path) -> None:
    """What build.spec trims (see there): Qt's translations, PostgreSQL's binary driver, the debugging
    sections of the libraries, all but the English ICU data; what it must keep: numpy's libraries as the
    wheel has them, the menu entry's files."""
    import numpy

    internal = bundle.parent / "_internal"
    assert not (internal / "PySide6" / "Qt" / "translations").exists()
    assert not (internal / "psycopg_binary").exists()  # psycopg itself is in the archive (pure Python)
    icu_data = next((internal / "PySide6" / "Qt" / "lib").glob("libicudata.so.*"))
    assert icu_data.stat().st_size < 10_000_000
    sections = subprocess.run(
        ["readelf", "-S", "-W", str(next(internal.glob("libpython3*.so*")))], capture_output=True, text=True, check=True
    ).stdout
    assert ".debug_info" not in sections and ".symtab" not in sections
    wheel_libs = Path(numpy.__file__).parent.parent / "numpy.libs"
    for library in wheel_libs.iterdir():
        assert (internal / "numpy.libs" / library.name).stat().st_size == library.stat().st_size
    assert linked_but_not_bundled(internal) <= SYSTEM_BASE, "a library the bundle leaves out is still linked"
    assert not [path for path in internal.rglob("*") if path.is_symlink() and not path.exists()]  # no dangling links
    resources = internal / "desktop_app" / "resources"
    assert (resources / "desktop").is_dir() and (resources / "icons" / "voice-assistant-512.png").is_file()
    assert not (resources / "icons" / "voice-assistant.ico").exists()


def test_the_bundle_puts_itself_in_the_applications_menu(bundle: Path, tmp_path: Path) -> None:
    share = tmp_path / "share"
    env = {**os.environ, "XDG_DATA_HOME": str(share)}
    done = subprocess.run(
        [str(bundle), "install-desktop"], env=env, capture_output=True, text=True, timeout=RUN_BOUND_S
    )
    assert done.returncode == 0, done.stderr
    entry = next((share / "applications").glob("*.desktop"))
    assert f"Exec={bundle}\n" in entry.read_text()
    validated = subprocess.run(["desktop-file-validate", str(entry)], capture_output=True, text=True)
    assert validated.returncode == 0 and not validated.stdout.strip(), validated.stdout
    done = subprocess.run(
        [str(bundle), "uninstall-desktop"], env=env, capture_output=True, text=True, timeout=RUN_BOUND_S
    )
    assert done.returncode == 0 and not [path for path in share.rglob("*") if path.is_file()], done.stderr


def test_the_bundle_keeps_conversations_in_postgresql_through_the_systems_libpq(
    bundle: Path, pg_database_url: str, tmp_path: Path
) -> None:
    """Without psycopg_binary the bundle's psycopg uses libpq from the system (libpq5)."""
    common = [str(bundle), "--data-dir", str(tmp_path / "data"), "--database-url", pg_database_url]
    asked = subprocess.run([*common, "ask", "what is 2 plus 2"], capture_output=True, text=True, timeout=RUN_BOUND_S)
    assert asked.returncode == 0, asked.stderr
    assert "4" in asked.stdout
    listed = subprocess.run([*common, "history", "list"], capture_output=True, text=True, timeout=RUN_BOUND_S)
    assert listed.returncode == 0 and "what is 2 plus 2" in listed.stdout, listed.stdout + listed.stderr
