"""Settings > Speech recognition: the language, the engine and the model the app listens with (bound to
speech.language, speech.engine and speech.vosk_model; the running app's recogniser follows them), a line
saying which recogniser that choice gives and why, and the model manager: the model list with sizes and what
is installed, downloads (progress, speed, time left, cancel, resume), removal and installs from a .zip file,
with the same checks and messages as `voice-assistant models`.

Nothing here waits on the main thread: the models folder, the list and the network are read on the dialog's
workers. A download runs on one of them for as long as it lasts and reports through `context.post`. One model
operation runs at a time (download, install or removal; the others' buttons wait), so the other worker stays
free for the settings. Leaving the section keeps a download running (its progress is there on return);
closing the dialog cancels it, and the part fetched so far stays for the next attempt to resume from.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Literal

from desktop_app.core.errors import ErrorCode
from desktop_app.core.settings import (
    NETWORK_OFFLINE,
    SPEECH_ENGINE,
    SPEECH_LANGUAGE,
    SPEECH_MODELS_CATALOG_URL,
    SPEECH_VOSK_MODEL,
    Settings,
)
from desktop_app.paths import AppPaths
from desktop_app.speech.models import DownloadCancelled, DownloadProgress, InstalledModel, InstallResult, ModelError
from desktop_app.speech.models.download import part_file
from desktop_app.speech.models.library import model_rows, open_manager, progress_text, remove_model
from desktop_app.speech.models.sizes import format_size
from desktop_app.speech.recognisers import Recognisers, read_recognisers, recogniser_in_use
from desktop_app.speech.recognition import LANGUAGE_NAMES, language_name, primary_language
from desktop_app.ui.qt import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSignalBlocker,
    Qt,
    QTableView,
    QVBoxLayout,
    QWidget,
)
from desktop_app.ui.settings.context import SettingsContext
from desktop_app.ui.settings.section import Section
from desktop_app.ui.settings.speech_models import ModelTable, Shelf

ENGINES = (
    ("auto", "Automatic: a Vosk model of the language, else the built-in English recogniser"),
    ("vosk", "Vosk only"),
    ("pocketsphinx", "PocketSphinx (built-in English)"),
)
FIRST_OF_LANGUAGE = "First installed model of the language"
OFFLINE_NOTE = (
    "Offline mode is on (network.offline), so models are not downloaded and the list is not refreshed. "
    "Installing from a .zip file still works."
)
SHIPPED_LIST_NOTE = "This is the list that ships with the app; Refresh list fetches the latest."
PROGRESS_STEPS = 1000
TABLE_HEIGHT = 200
Operation = Literal["download", "install", "remove"]


def read_shelf(settings: Settings, paths: AppPaths) -> tuple[Shelf, Recognisers]:
    """The list merged with what is installed, the downloads left part-way, and what listens (on a worker)."""
    manager = open_manager(settings, paths.models_dir, paths.cache_dir)
    choice = recogniser_in_use(settings, paths.models_dir)
    rows = model_rows(manager.available(), manager.installed(), choice, settings.get(SPEECH_LANGUAGE))
    parts: dict[str, int] = {}
    for row in rows:
        if row["in_catalog"] and not row["installed"]:
            try:
                size = part_file(manager.downloads_dir, row["name"]).stat().st_size
            except OSError:
                continue
            if size:
                parts[row["name"]] = size
    shelf = Shelf(tuple(rows), parts, manager.catalog.source == "shipped")
    return shelf, read_recognisers(settings, paths.models_dir)


def installed_text(model: InstalledModel) -> str:
    language = language_name(model.language) if model.language else "language unknown"
    return f"Installed {model.name} ({format_size(model.size)} on disk, {language})."


class SpeechSection(Section):
    name = "speech"
    title = "Speech recognition"

    def __init__(self, context: SettingsContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self._language = context.settings.get(SPEECH_LANGUAGE)
        self._model: str | None = context.settings.get(SPEECH_VOSK_MODEL)
        self._offline = False
        self._shelf = Shelf(())
        self._installed_models: tuple[str, ...] = ()
        self._operation: Operation | None = None
        self._downloading: str | None = None
        self._cancel: threading.Event | None = None
        self._refreshing = False
        self._closed = False
        self._build_choices()
        self._build_manager()
        self._bind()

    # -- building -------------------------------------------------------------------------------------------

    def _build_choices(self) -> None:
        self.language = QComboBox(self)
        self.language.setObjectName("speech_language")
        self.language.setAccessibleName("Language")
        self.language.setToolTip(SPEECH_LANGUAGE.description)
        self.engine = QComboBox(self)
        self.engine.setObjectName("speech_engine")
        self.engine.setAccessibleName("Engine")
        self.engine.setToolTip(SPEECH_ENGINE.description)
        for value, text in ENGINES:
            self.engine.addItem(text, value)
        self.model = QComboBox(self)
        self.model.setObjectName("speech_model")
        self.model.setAccessibleName("Model")
        self.model.setToolTip(SPEECH_VOSK_MODEL.description)
        self.in_use = QLabel("", self)
        self.in_use.setObjectName("recogniser_in_use")
        self.in_use.setAccessibleName("Recogniser in use")
        self.in_use.setWordWrap(True)
        form = QFormLayout()
        for text, field in (("&Language:", self.language), ("&Engine:", self.engine), ("&Model:", self.model)):
            label = QLabel(text, self)
            label.setBuddy(field)
            form.addRow(label, field)
        self.layout_.addLayout(form)
        self.layout_.addWidget(self.in_use)

    def _build_manager(self) -> None:
        box = QGroupBox("Speech models", self)
        box.setObjectName("speech_models")
        self.show_all = QCheckBox("Show &all languages", box)
        self.show_all.setObjectName("show_all_languages")
        self.refresh = QPushButton("&Refresh list", box)
        self.refresh.setObjectName("refresh_models")
        self.refresh.setToolTip("Fetches the latest list of models from speech.models_catalog_url.")
        self.table = ModelTable()
        self.view = QTableView(box)
        self.view.setObjectName("models_table")
        self.view.setAccessibleName("Speech models")
        self.view.setModel(self.table)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.verticalHeader().hide()
        self.view.setWordWrap(False)  # one line a model; the full name is in the tooltip
        self.view.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2, 3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.view.setMinimumHeight(TABLE_HEIGHT)
        self.table.on_changed = self.view.viewport().update
        top = QHBoxLayout()
        top.addWidget(self.show_all)
        top.addStretch(1)
        top.addWidget(self.refresh)
        inside = QVBoxLayout(box)
        inside.addLayout(top)
        inside.addWidget(self.view)
        self.list_source = QLabel(SHIPPED_LIST_NOTE, box)
        self.list_source.setObjectName("models_list_source")
        self.list_source.setWordWrap(True)
        inside.addWidget(self.list_source)
        self.catalog_url = QLineEdit(box)
        self.catalog_url.setObjectName("models_catalog_url")
        self.catalog_url.setAccessibleName("Where the list of models comes from")
        self.catalog_url.setToolTip(SPEECH_MODELS_CATALOG_URL.description)
        catalog_label = QLabel("List &from:", box)
        catalog_label.setBuddy(self.catalog_url)
        catalog_row = QHBoxLayout()
        catalog_row.addWidget(catalog_label)
        catalog_row.addWidget(self.catalog_url, 1)
        inside.addLayout(catalog_row)
        self.bindings.line(self.catalog_url, SPEECH_MODELS_CATALOG_URL)
        self._build_actions(box, inside)
        self.layout_.addWidget(box)

    def _build_actions(self, box: QGroupBox, inside: QVBoxLayout) -> None:
        self.download = QPushButton("&Download", box)
        self.download.setObjectName("download_model")
        self.remove = QPushButton("Remo&ve", box)
        self.remove.setObjectName("remove_model")
        self.install = QPushButton("&Install from file…", box)
        self.install.setObjectName("install_model_file")
        self.install.setToolTip("Installs a Vosk model from a .zip file you have, with the same checks as a download.")
        self.progress = QProgressBar(box)
        self.progress.setObjectName("download_progress")
        self.progress.setAccessibleName("Download progress")
        self.cancel = QPushButton("&Cancel download", box)
        self.cancel.setObjectName("cancel_download")
        self.progress_text = QLabel("", box)
        self.progress_text.setObjectName("download_text")
        self.status = QLabel("", box)
        self.status.setObjectName("models_status")
        self.status.setAccessibleName("Model manager")
        self.offline_note = QLabel(OFFLINE_NOTE, box)
        self.offline_note.setObjectName("offline_note")
        for label in (self.progress_text, self.status, self.offline_note):
            label.setWordWrap(True)
        actions = QHBoxLayout()
        for button in (self.download, self.remove, self.install):
            actions.addWidget(button)
        actions.addStretch(1)
        running = QHBoxLayout()
        running.addWidget(self.progress, 1)
        running.addWidget(self.cancel)
        inside.addLayout(actions)
        inside.addLayout(running)
        for label in (self.progress_text, self.status, self.offline_note):
            inside.addWidget(label)
        for widget in (self.progress, self.cancel, self.progress_text, self.status, self.offline_note):
            widget.hide()

    def _bind(self) -> None:
        self.bindings.follow(SPEECH_LANGUAGE, self._show_language)
        self.language.activated.connect(self._language_chosen)
        self.bindings.combo(self.engine, SPEECH_ENGINE)
        self.bindings.follow(SPEECH_ENGINE, lambda _engine: self._read())
        self.bindings.follow(SPEECH_VOSK_MODEL, self._show_model)
        self.model.activated.connect(self._model_chosen)
        self.bindings.follow(NETWORK_OFFLINE, self._show_offline)
        self.show_all.toggled.connect(lambda _on: self._show_table())
        self.view.selectionModel().currentRowChanged.connect(lambda _now, _before: self._update_buttons())
        self.refresh.clicked.connect(self._refresh)
        self.download.clicked.connect(self._start_download)
        self.cancel.clicked.connect(self._cancel_download)
        self.remove.clicked.connect(self._ask_remove)
        self.install.clicked.connect(self._choose_file)
        self._update_buttons()

    # -- the choice -----------------------------------------------------------------------------------------

    def _show_language(self, language: str) -> None:
        self._language = language
        self._fill_languages()
        self._show_table()
        self._read()

    def _fill_languages(self) -> None:
        """Every language the app has a name for and the list has models in, by name; the one in use too."""
        codes = set(LANGUAGE_NAMES) | {primary_language(row["lang"]) for row in self._shelf.rows if row["lang"]}
        codes.add(self._language)
        items = sorted((f"{language_name(code)} ({code})", code) for code in codes)
        with QSignalBlocker(self.language):
            # Filled again only when the languages change, so a read never closes the list the user has open.
            if [self.language.itemData(index) for index in range(self.language.count())] != [c for _, c in items]:
                self.language.clear()
                for text, code in items:
                    self.language.addItem(text, code)
            self.language.setCurrentIndex(self.language.findData(self._language))

    def _language_chosen(self, index: int) -> None:
        language = self.language.itemData(index)
        if not isinstance(language, str) or language == self._language:
            return
        self._language = language
        self._show_table()
        self.bindings.save(SPEECH_LANGUAGE, language, restore=self._show_language)

    def _show_model(self, model: str | None) -> None:
        self._model = model
        self._fill_models()
        self._read()

    def _fill_models(self) -> None:
        with QSignalBlocker(self.model):
            self.model.clear()
            self.model.addItem(FIRST_OF_LANGUAGE, None)
            for name in self._installed_models:
                self.model.addItem(name, name)
            if self._model is not None and self._model not in self._installed_models:
                self.model.addItem(f"{self._model} (not installed)", self._model)
            self.model.setCurrentIndex(self.model.findData(self._model))

    def _model_chosen(self, index: int) -> None:
        model = self.model.itemData(index)
        if model == self._model:
            return
        self._model = model
        self.bindings.save(SPEECH_VOSK_MODEL, model, restore=self._show_model)

    def _show_offline(self, offline: bool) -> None:
        self._offline = offline
        self.offline_note.setVisible(offline)
        self._update_buttons()

    # -- reading the models ---------------------------------------------------------------------------------

    def entered(self) -> None:
        self._read()  # a model installed or removed meanwhile (by the command line) shows up

    def _read(self) -> None:
        if self._closed:
            return
        settings, paths = self.context.settings, self.context.paths
        self.context.background.run(
            "speech-models", partial(read_shelf, settings, paths), self._shelf_read, self._failed
        )

    def _shelf_read(self, found: tuple[Shelf, Recognisers]) -> None:
        if self._closed:
            return
        self._shelf, recognisers = found
        self.list_source.setVisible(self._shelf.shipped_list)
        self._installed_models = tuple(model.name for model in recognisers.models)
        self._fill_models()
        self._fill_languages()
        self._show_table()
        self.in_use.setText(f"Listening with {recognisers.description}, because {recognisers.reason}.")

    def _show_table(self) -> None:
        chosen = self._selected_name()
        self.table.show(self._shelf, self._language, self.show_all.isChecked())
        row = self.table.row_named(chosen) if chosen is not None else -1
        if row >= 0:
            self.view.selectRow(row)
        self._update_buttons()

    def _selected_name(self) -> str | None:
        row = self.table.row_at(self.view.currentIndex().row()) if self.view.currentIndex().isValid() else None
        return None if row is None else str(row["name"])

    def _update_buttons(self) -> None:
        row = self.table.row_at(self.view.currentIndex().row()) if self.view.currentIndex().isValid() else None
        idle = self._operation is None
        fetchable = row is not None and bool(row["in_catalog"]) and not row["installed"]
        resumes = fetchable and row is not None and self.table.part_of(row["name"]) > 0
        self.download.setText("Resume &download" if resumes else "&Download")
        self.download.setEnabled(idle and fetchable and not self._offline)
        self.remove.setEnabled(idle and row is not None and bool(row["installed"]) and row["engine"] == "vosk")
        self.install.setEnabled(idle)
        self.refresh.setEnabled(not self._refreshing and not self._offline)
        downloading = self._operation == "download"
        self.progress.setVisible(self._operation is not None)
        self.progress_text.setVisible(self._operation is not None)
        self.cancel.setVisible(downloading)

    def _failed(self, error: Exception) -> None:
        if not self._closed:
            self.report(str(error))

    def _say(self, text: str) -> None:
        self.status.setText(text)
        self.status.setVisible(bool(text))

    # -- refresh ----------------------------------------------------------------------------------------------

    def _refresh(self) -> None:
        settings, paths = self.context.settings, self.context.paths
        self._refreshing = True
        self._update_buttons()
        self._say("Fetching the model list…")

        def work() -> str:
            manager = open_manager(settings, paths.models_dir, paths.cache_dir)
            entries = manager.refresh()
            current = sum(not entry.obsolete for entry in entries)
            return f"The model list was refreshed from {manager.catalog_url}: {current} current models."

        self.context.background.run("speech-refresh", work, self._refreshed, self._refresh_failed)

    def _refreshed(self, said: str) -> None:
        self._refreshing = False
        self.report(None)
        self._say(said)
        self._update_buttons()
        self._read()

    def _refresh_failed(self, error: Exception) -> None:
        self._refreshing = False
        self._say("")
        self._failed(error)
        self._update_buttons()

    # -- download ---------------------------------------------------------------------------------------------

    def _start_download(self) -> None:
        name = self._selected_name()
        if name is None or self._operation is not None:
            return
        cancel = threading.Event()
        self._operation, self._downloading, self._cancel = "download", name, cancel
        self.report(None)
        self._say("")
        self.progress.setRange(0, PROGRESS_STEPS)
        self.progress.setValue(0)
        self.progress_text.setText(f"Starting the download of {name}…")
        self.cancel.setEnabled(True)
        self.table.show_download(name, "starting…")
        self._update_buttons()
        settings, paths, post = self.context.settings, self.context.paths, self.context.post

        def work() -> InstallResult:
            manager = open_manager(settings, paths.models_dir, paths.cache_dir)
            return manager.download_and_install(
                name,
                progress=lambda report: post(partial(self._progress, cancel, report)),
                cancel=cancel,
                stage=lambda stage: post(partial(self._unpacking, cancel)) if stage == "install" else None,
            )

        self.context.background.run(
            "speech-model-operation", work, partial(self._downloaded, cancel), partial(self._not_downloaded, cancel)
        )

    def _current(self, cancel: threading.Event) -> bool:
        return not self._closed and cancel is self._cancel

    def _progress(self, cancel: threading.Event, report: DownloadProgress) -> None:
        if not self._current(cancel) or cancel.is_set():
            return
        fraction = report.fraction
        if fraction is None:
            self.progress.setRange(0, 0)  # the size is not known: a busy bar
            state = f"downloading, {format_size(report.done)}"
        else:
            self.progress.setRange(0, PROGRESS_STEPS)
            self.progress.setValue(round(fraction * PROGRESS_STEPS))
            state = f"downloading, {fraction * 100:.0f} %"
        self.progress_text.setText(progress_text(report))
        self.table.show_download(report.name, state)

    def _unpacking(self, cancel: threading.Event) -> None:
        if not self._current(cancel):
            return
        self.progress.setRange(0, 0)
        self.progress_text.setText(f"Unpacking and checking {self._downloading}…")
        self.table.show_download(self._downloading, "unpacking and checking…")

    def _cancel_download(self) -> None:
        if self._cancel is not None:
            self._cancel.set()
            self.cancel.setEnabled(False)
            self.progress_text.setText("Cancelling…")

    def _downloaded(self, cancel: threading.Event, result: InstallResult) -> None:
        if not self._current(cancel):
            return
        self._finish_operation()
        self._say(" ".join((installed_text(result.model), *result.notes)))
        self._read()

    def _not_downloaded(self, cancel: threading.Event, error: Exception) -> None:
        if not self._current(cancel):
            return
        self._finish_operation()
        if isinstance(error, DownloadCancelled):
            self._say(error.message)
        else:
            self._failed(error)
        self._read()

    def _finish_operation(self) -> None:
        self._operation, self._downloading, self._cancel = None, None, None
        self.table.show_download(None)
        self.progress_text.setText("")
        self._update_buttons()

    # -- remove -----------------------------------------------------------------------------------------------

    def _ask_remove(self) -> None:
        name = self._selected_name()
        row = self.table.row_at(self.table.row_named(name)) if name is not None else None
        if name is None or row is None or self._operation is not None:
            return
        in_use = (
            " It is the model listening now; the app then listens with the next choice." if row.get("active") else ""
        )
        size = format_size(row["installed_size"] or 0)
        self._ask(
            "Remove speech model", f"Remove {name} ({size} on disk)?{in_use}", "&Remove", partial(self._remove, name)
        )

    def _ask(self, title: str, text: str, yes: str, then: Callable[[], None]) -> None:
        """A question that does not block (open(), not exec()); `then` runs only when the user says yes."""
        question = QMessageBox(
            QMessageBox.Icon.Question,
            title,
            text,
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            self,
        )
        question.setObjectName("speech_question")
        question.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        agree = question.button(QMessageBox.StandardButton.Yes)
        agree.setText(yes)
        question.setDefaultButton(QMessageBox.StandardButton.Cancel)
        question.finished.connect(lambda _result: then() if question.clickedButton() is agree else None)
        question.open()

    def _remove(self, name: str) -> None:
        if self._operation is not None or self._closed:
            return
        self._operation = "remove"
        self.report(None)
        self._say(f"Removing {name}…")
        self._update_buttons()
        self.progress.setRange(0, 0)
        settings, paths = self.context.settings, self.context.paths

        def work() -> bool:
            return remove_model(open_manager(settings, paths.models_dir, paths.cache_dir), settings, name)

        def removed(forgotten: bool) -> None:
            self._finish_operation()
            forgot = f" The model choice is back to: {FIRST_OF_LANGUAGE.lower()}." if forgotten else ""
            self._say(f"Removed {name}.{forgot}")
            self._read()

        self.context.background.run("speech-model-operation", work, removed, self._operation_failed)

    def _operation_failed(self, error: Exception) -> None:
        if self._closed:
            return
        self._finish_operation()
        self._say("")
        self._failed(error)
        self._read()

    # -- install from a file ----------------------------------------------------------------------------------

    def _choose_file(self) -> None:
        chooser = QFileDialog(self, "Install a speech model from a file", str(Path.home()))
        chooser.setObjectName("install_model_chooser")
        chooser.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        chooser.setOption(QFileDialog.Option.DontUseNativeDialog)
        chooser.setFileMode(QFileDialog.FileMode.ExistingFile)
        chooser.setAcceptMode(QFileDialog.AcceptMode.AcceptOpen)
        chooser.setNameFilters(["Model archives (*.zip)", "All files (*)"])
        chooser.fileSelected.connect(self._install_file)
        chooser.open()

    def _install_file(self, chosen: str, replace: bool = False) -> None:
        if self._operation is not None or self._closed or not chosen:
            return
        archive = Path(chosen).absolute()
        self._operation = "install"
        self.report(None)
        self._say("")
        self.progress.setRange(0, 0)
        self.progress_text.setText(f"Unpacking and checking {archive.name}…")
        self._update_buttons()
        settings, paths = self.context.settings, self.context.paths

        def work() -> InstalledModel:
            # The manager refuses a folder, a device, a pipe or a link to one before reading it, as the command does.
            manager = open_manager(settings, paths.models_dir, paths.cache_dir)
            return manager.install_archive(archive, replace=replace)

        def installed(model: InstalledModel) -> None:
            self._finish_operation()
            self._say(installed_text(model))
            self._read()

        def refused(error: Exception) -> None:
            if isinstance(error, ModelError) and error.code == ErrorCode.MODEL_EXISTS and not self._closed:
                self._finish_operation()
                already = error.message.partition(". ")[0]  # "A model called NAME is already installed"
                self._ask(
                    "Replace speech model",
                    f"{already}. Replace it with the one in {archive.name}?",
                    "R&eplace",
                    partial(self._install_file, str(archive), True),
                )
                return
            self._operation_failed(error)

        self.context.background.run("speech-model-operation", work, installed, refused)

    # -- closing ----------------------------------------------------------------------------------------------

    def close_section(self) -> None:
        """A download still running is cancelled: the dialog's workers wait (bounded) for it to stop within a
        chunk, and its part file stays for the next attempt to resume from."""
        if self._cancel is not None:
            self._cancel.set()
        self._closed = True
        super().close_section()
