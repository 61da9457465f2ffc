"""Privacy: whether conversations are kept and for how long, whether the microphone keeps its last half
second while waiting, whether the log may hold what was said; the data folder opened, and everything said
deleted (after a confirmation whose default is Cancel)."""

from __future__ import annotations

from desktop_app.core.settings import AUDIO_PREROLL, HISTORY_KEEP_DAYS, HISTORY_SAVE, PRIVACY_LOG_CONTENT
from desktop_app.ui.qt import (
    QDesktopServices,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QSignalBlocker,
    QSpinBox,
    QUrl,
    QWidget,
)
from desktop_app.ui.settings.context import SettingsContext
from desktop_app.ui.settings.section import Section

DEFAULT_KEEP_DAYS = 90  # what "delete after" starts at when switched on
DELETE_ALL_TITLE = "Delete all conversations and remembered facts?"
DELETE_ALL_TEXT = (
    "Every conversation and everything the assistant remembers about you is deleted from this computer. "
    "This cannot be undone. Settings, API keys, speech models and pending timers stay."
)


class PrivacySection(Section):
    name = "privacy"
    title = "Privacy"

    def __init__(self, context: SettingsContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.save_history = self.bound_check_box("&Keep conversations in the history", HISTORY_SAVE, "history_save")
        self.keep_forever = QRadioButton("Keep them &forever", self)
        self.keep_forever.setObjectName("keep_forever")
        self.keep_days_on = QRadioButton("&Delete conversations not added to for", self)
        self.keep_days_on.setObjectName("keep_for_days")
        self.keep_days = QSpinBox(self)
        self.keep_days.setObjectName("keep_days")
        self.keep_days.setAccessibleName("Days to keep conversations")
        self.keep_days.setSuffix(" days")
        self.keep_days.setRange(1, int(HISTORY_KEEP_DAYS.maximum or 36_500))
        self.keep_days.setValue(DEFAULT_KEEP_DAYS)
        keep_row = QHBoxLayout()
        keep_row.addWidget(self.keep_days_on)
        keep_row.addWidget(self.keep_days)
        keep_row.addStretch(1)
        self.open_folder = QPushButton("&Open the data folder", self)
        self.open_folder.setObjectName("open_data_folder")
        self.open_folder.setToolTip(str(context.paths.data_dir))
        self.delete_all = QPushButton("Delete &all conversations and facts…", self)
        self.delete_all.setObjectName("delete_all_data")
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_folder)
        buttons.addWidget(self.delete_all)
        buttons.addStretch(1)
        self.done_line = QLabel("", self)
        self.done_line.setObjectName("privacy_done")
        self.done_line.setWordWrap(True)
        self.layout_.addWidget(self.keep_forever)
        self.layout_.addLayout(keep_row)
        self.preroll = self.bound_check_box(
            "Keep the last half second of sound while &waiting (pre-roll)", AUDIO_PREROLL, "preroll"
        )
        self.log_content = self.bound_check_box(
            "Write what is said into the &log file (for debugging)", PRIVACY_LOG_CONTENT, "log_content"
        )
        self.layout_.addLayout(buttons)
        self.layout_.addWidget(self.done_line)

        self.bindings.follow(HISTORY_KEEP_DAYS, self._show_keep_days)
        self.keep_forever.toggled.connect(self._keep_forever_chosen)
        self.keep_days_on.toggled.connect(self._days_edited)
        self.keep_days.editingFinished.connect(self._days_edited)
        self.open_folder.clicked.connect(self._open_data_folder)
        self.delete_all.clicked.connect(self._confirm_delete_all)
        self._confirmation: QMessageBox | None = None

    def _show_keep_days(self, days: int) -> None:
        with QSignalBlocker(self.keep_forever), QSignalBlocker(self.keep_days_on), QSignalBlocker(self.keep_days):
            self.keep_forever.setChecked(days == 0)
            self.keep_days_on.setChecked(days > 0)
            if days > 0:
                self.keep_days.setValue(days)
        self.keep_days.setEnabled(days > 0)

    def _save_keep_days(self, days: int) -> None:
        self.keep_days.setEnabled(days > 0)
        if days != self.context.settings.get(HISTORY_KEEP_DAYS):
            self.bindings.save(HISTORY_KEEP_DAYS, days, restore=self._show_keep_days)

    def _keep_forever_chosen(self, on: bool) -> None:
        if on:
            self._save_keep_days(0)

    def _days_edited(self, *_args: object) -> None:
        if self.keep_days_on.isChecked():
            self._save_keep_days(self.keep_days.value())

    def _open_data_folder(self) -> None:
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.context.paths.data_dir))):
            self.report(f"No file manager could open {self.context.paths.data_dir}.")

    def _confirm_delete_all(self) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, DELETE_ALL_TITLE, DELETE_ALL_TEXT, parent=self)
        box.setObjectName("confirm_delete_all")
        delete = box.addButton("Delete everything", QMessageBox.ButtonRole.DestructiveRole)
        cancel = box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(cancel)
        box.setEscapeButton(cancel)
        box.finished.connect(lambda _result: self._confirmed(box.clickedButton() is delete))
        self._confirmation = box
        box.open()

    def _confirmed(self, delete: bool) -> None:
        box, self._confirmation = self._confirmation, None
        if box is not None:
            box.deleteLater()
        if not delete:
            return
        self.delete_all.setEnabled(False)
        store = self.context.store

        def erase() -> tuple[int, int]:
            return store.delete_all_conversations(), store.delete_all_facts()

        self.context.background.run("delete-all", erase, self._deleted, self._delete_failed)

    def _deleted(self, counts: tuple[int, int]) -> None:
        self.delete_all.setEnabled(True)
        conversations, facts = counts
        self.report(None)
        self.done_line.setText(f"Deleted {conversations:,} conversations and {facts:,} remembered facts.")

    def _delete_failed(self, error: Exception) -> None:
        self.delete_all.setEnabled(True)
        self.report(f"Nothing more could be deleted: {error}")
