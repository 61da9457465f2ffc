"""Settings > Language model: which server answers what the built-in skills cannot (a preset or an address),
the model on it (typed, or chosen from the list the server offers), the API key sent to it, offline mode,
the system prompt, the context budget and the timeout. The server and the keychain are asked on a worker:
the dialog keeps turning while a slow server thinks about its list."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from desktop_app.core.brain.language_model import check_key_destination
from desktop_app.core.errors import AppError
from desktop_app.core.keys import KeyStore
from desktop_app.core.llm_presets import BY_NAME, OTHER, PRESETS, LlmPreset, preset_for
from desktop_app.core.models import ApiKeyInfo
from desktop_app.core.ports import KeyLedger
from desktop_app.core.settings import (
    LLM_BASE_URL,
    LLM_CONTEXT_TOKENS,
    LLM_KEY_NAME,
    LLM_MODEL,
    LLM_SYSTEM_PROMPT,
    LLM_TIMEOUT_SECONDS,
    NETWORK_OFFLINE,
    Setting,
)
from desktop_app.llm.failures import display_url
from desktop_app.ui.qt import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFocusEvent,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSignalBlocker,
    QSizePolicy,
    QSpinBox,
    Qt,
    QWidget,
)
from desktop_app.ui.settings.context import SettingsContext
from desktop_app.ui.settings.dialog import SettingsDialog
from desktop_app.ui.settings.section import PROBLEM_STYLE, Section

LIST_MODELS = "&List models"
LISTING = "Listing models…"
NO_KEY = "No key"
KEYS_SECTION = "keys"
OFFLINE_NOTE = "Offline mode is on: the app makes no network call, so the server cannot be asked for its models."
NO_SERVER_NOTE = "Choose a server first: the built-in skills have no models to list."
PROMPT_LINES = 5
# A listing that failed is said in the colour of the section's problems.
LISTING_FAILED_STYLE = PROBLEM_STYLE.replace("#section_problem", "#list_models_note")


@dataclass(frozen=True, slots=True)
class ListedModels:
    base_url: str
    names: list[str]


def ask_for_models(
    base_url: str, key_name: str | None, ledger: KeyLedger, key_store: Callable[[], KeyStore], timeout: float
) -> ListedModels:
    """(On a worker.) The models the server at `base_url` lists, asked with the stored key `key_name` (its
    secret read from the keychain here), which goes only where a question would send it."""
    from desktop_app.llm.server_models import list_models

    secret = None
    if key_name is not None:
        key = ledger.get_key(key_name)
        check_key_destination(key, base_url)
        secret = key_store().get_secret(key.keychain_ref)
    return ListedModels(base_url, list_models(base_url, secret, timeout=timeout))


def _in_words(error: Exception) -> str:
    return error.message if isinstance(error, AppError) else str(error)


def _tooltip(setting: Setting[Any]) -> str:
    return f"{setting.description}\n\nTakes {setting.allowed()}."


def _button(text: str, parent: QWidget, name: str) -> QPushButton:
    """A button that Enter in a field of the dialog does not press (that Enter saves the field)."""
    button = QPushButton(text, parent)
    button.setObjectName(name)
    button.setAutoDefault(False)
    return button


def _buddy_label(text: str, buddy: QWidget, parent: QWidget) -> QLabel:
    """A form label whose mnemonic moves to `buddy` (QFormLayout sets a buddy only for a lone widget)."""
    label = QLabel(text, parent)
    label.setBuddy(buddy)
    return label


class _Note(QLabel):
    """A line of explanation under a field: shown only while it says something, so no empty row is left."""

    def setText(self, text: str) -> None:
        super().setText(text)
        self.setVisible(bool(text))


def _note(parent: QWidget, name: str) -> QLabel:
    label = _Note("", parent)
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    # Wrapped text in a form is given room for the narrowest width it could have: no more than its lines.
    label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setVisible(False)
    return label


class PromptEdit(QPlainTextEdit):
    """A text field that says when the focus leaves it (a text field has no "editing finished")."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.focus_left: Callable[[], None] | None = None

    def focusOutEvent(self, event: QFocusEvent) -> None:
        super().focusOutEvent(event)
        if self.focus_left is not None:
            self.focus_left()


class AssistantSection(Section):
    name = "assistant"
    title = "Language model"

    def __init__(self, context: SettingsContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self._listing = False
        self._offline = False
        self._listed_for: str | None = None  # the server whose models the list holds
        form = QFormLayout()
        self.layout_.addLayout(form)
        self._build_server(form)
        self._build_model(form)
        self._build_key(form)
        self._build_offline(form)
        self._build_prompt(form)
        self._build_budget(form)
        # Bound once every widget they show in is there (the preset also sets the model's example).
        self.bindings.line(self.address, LLM_BASE_URL)
        self.bindings.follow(LLM_BASE_URL, self._server_in_use)
        self.bindings.follow(NETWORK_OFFLINE, self._show_offline)

    # -- building ------------------------------------------------------------------------------------

    def _build_server(self, form: QFormLayout) -> None:
        self.preset = QComboBox(self)
        self.preset.setObjectName("llm_preset")
        self.preset.setAccessibleName("Answer with")
        for preset in PRESETS:
            self.preset.addItem(preset.title + ("…" if preset is OTHER else ""), preset.name)
        self.preset_note = _note(self, "llm_preset_note")
        self.address = QLineEdit(self)
        self.address.setObjectName("llm_base_url")
        self.address.setAccessibleName("Server address")
        self.address.setToolTip(_tooltip(LLM_BASE_URL))
        self.address.setPlaceholderText("none: the built-in skills only")
        form.addRow("&Answer with:", self.preset)
        form.addRow("", self.preset_note)
        form.addRow("Server a&ddress:", self.address)
        self.preset.activated.connect(self._preset_chosen)
        self.address.editingFinished.connect(self._address_finished)
        self.address.textChanged.connect(lambda _text: self._update_list_button())

    def _build_model(self, form: QFormLayout) -> None:
        self.model = QComboBox(self)
        self.model.setObjectName("llm_model")
        self.model.setAccessibleName("Model")
        self.model_text = QLineEdit(self.model)  # the combo's own field: typed, bound like the address
        self.model.setLineEdit(self.model_text)
        self.model.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.model.setToolTip(_tooltip(LLM_MODEL))
        self.model_text.setObjectName("llm_model_text")
        self.model_text.setAccessibleName("Model name")
        self.list_models = _button(LIST_MODELS, self, "list_models")
        self.list_models.setAccessibleName("List models")
        self.list_models.setToolTip("Ask the server which models it offers (GET /models).")
        row = QHBoxLayout()
        row.addWidget(self.model, 1)
        row.addWidget(self.list_models)
        form.addRow(_buddy_label("&Model:", self.model, self), row)  # a row of two: the label names the combo
        self.models_note = _note(self, "list_models_note")
        form.addRow("", self.models_note)
        self.bindings.line(self.model_text, LLM_MODEL)
        self.model.textActivated.connect(self._model_chosen)
        self.list_models.clicked.connect(self._list_models)

    def _build_key(self, form: QFormLayout) -> None:
        self.key = QComboBox(self)
        self.key.setObjectName("llm_key")
        self.key.setAccessibleName("API key")
        self.key.setToolTip(_tooltip(LLM_KEY_NAME))
        self.key.addItem(NO_KEY, None)
        self.manage_keys = _button("Manage &keys in Keys", self, "manage_keys")
        self.manage_keys.setAccessibleName("Manage keys in Keys")
        row = QHBoxLayout()
        row.addWidget(self.key, 1)
        row.addWidget(self.manage_keys)
        form.addRow(_buddy_label("API ke&y:", self.key, self), row)
        self.bindings.follow(LLM_KEY_NAME, self._show_key)
        self.key.activated.connect(self._key_chosen)
        self.manage_keys.clicked.connect(self._open_keys)

    def _build_offline(self, form: QFormLayout) -> None:
        self.offline = QCheckBox("&Offline mode: make no network call", self)
        self.offline.setObjectName("network_offline")
        self.offline.setToolTip(NETWORK_OFFLINE.description)
        form.addRow("", self.offline)
        self.bindings.check_box(self.offline, NETWORK_OFFLINE)

    def _build_prompt(self, form: QFormLayout) -> None:
        self.prompt = PromptEdit(self)
        self.prompt.setObjectName("llm_system_prompt")
        self.prompt.setAccessibleName("System prompt")
        self.prompt.setToolTip(LLM_SYSTEM_PROMPT.description)
        self.prompt.setTabChangesFocus(True)  # Tab leaves the field, as in the rest of the dialog
        self.prompt.setFixedHeight(self.prompt.fontMetrics().lineSpacing() * PROMPT_LINES + 12)
        self.save_prompt = _button("&Save prompt", self, "save_prompt")
        self.reset_prompt = _button("&Reset to default", self, "reset_prompt")
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.save_prompt)
        buttons.addWidget(self.reset_prompt)
        form.addRow("System &prompt:", self.prompt)
        form.addRow("", buttons)
        self._save_prompt = self.bindings.text(self.prompt, LLM_SYSTEM_PROMPT)
        self.prompt.focus_left = self._save_prompt
        self.save_prompt.clicked.connect(self._save_prompt)
        self.reset_prompt.clicked.connect(self._reset_prompt)

    def _build_budget(self, form: QFormLayout) -> None:
        self.context_tokens = QSpinBox(self)
        self.context_tokens.setObjectName("llm_context_tokens")
        self.context_tokens.setAccessibleName("Context budget in tokens")
        self.context_tokens.setSuffix(" tokens")
        self.context_tokens.setSingleStep(500)
        self.context_tokens.setToolTip(_tooltip(LLM_CONTEXT_TOKENS))
        self.timeout = QDoubleSpinBox(self)
        self.timeout.setObjectName("llm_timeout_seconds")
        self.timeout.setAccessibleName("Timeout in seconds")
        self.timeout.setSuffix(" s")
        self.timeout.setDecimals(0)
        self.timeout.setToolTip(_tooltip(LLM_TIMEOUT_SECONDS))
        form.addRow("&Context budget:", self.context_tokens)
        form.addRow("&Timeout:", self.timeout)
        self.bindings.spin(self.context_tokens, LLM_CONTEXT_TOKENS)
        self.bindings.spin(self.timeout, LLM_TIMEOUT_SECONDS)

    # -- the section is shown / hidden ---------------------------------------------------------------

    def entered(self) -> None:
        """The keys are read again each time: they may have been added in Keys meanwhile."""
        self.manage_keys.setVisible(self._dialog_has_keys())
        ledger = self.context.store.keys
        self.context.background.run("assistant:keys", ledger.list_keys, self._show_keys, self._keys_failed)

    def left(self) -> None:
        self._save_prompt()

    # -- server --------------------------------------------------------------------------------------

    def _server_in_use(self, base_url: str | None) -> None:
        """Another server: its preset shown, and the models another one listed taken away (the name typed
        stays)."""
        self._show_preset(base_url)
        if self._listed_for is not None and base_url != self._listed_for:
            self._listed_for = None
            with QSignalBlocker(self.model):
                typed = self.model.currentText()
                self.model.clear()
                self.model.setEditText(typed)
            if not self._offline:
                self._say_listing("")

    def _show_preset(self, base_url: str | None) -> None:
        preset = preset_for(base_url)
        with QSignalBlocker(self.preset):
            self.preset.setCurrentIndex(self.preset.findData(preset.name))
        self._describe(preset)

    def _describe(self, preset: LlmPreset) -> None:
        self.preset_note.setText(preset.note)
        self.model_text.setPlaceholderText(f"e.g. {preset.example_model}" if preset.example_model else "")

    def _preset_chosen(self, index: int) -> None:
        preset = BY_NAME[str(self.preset.itemData(index))]
        self._describe(preset)
        if preset is OTHER:
            self.address.setFocus(Qt.FocusReason.OtherFocusReason)
            self.address.selectAll()
            return
        with QSignalBlocker(self.address):
            self.address.setText(preset.base_url or "")
        self._update_list_button()
        if preset.base_url != self.context.settings.get(LLM_BASE_URL):
            self.bindings.save(LLM_BASE_URL, preset.base_url, restore=self._show_address)

    def _address_finished(self) -> None:
        """The preset of the address about to be saved (or, refused, of the one in use): also after "Other…"
        was chosen and the address left as it was."""
        try:
            base_url = LLM_BASE_URL.parse(self.address.text())
        except ValueError:
            base_url = self.context.settings.get(LLM_BASE_URL)
        self._show_preset(base_url)

    def _show_address(self, base_url: str | None) -> None:
        with QSignalBlocker(self.address):
            self.address.setText(base_url or "")
        self._show_preset(base_url)
        self._update_list_button()

    # -- model ---------------------------------------------------------------------------------------

    def _model_chosen(self, text: str) -> None:
        """A name picked from the list (or Enter on one): saved as the command line would take it."""
        try:
            value = LLM_MODEL.parse(text)
        except ValueError as error:
            self.report(f"{LLM_MODEL.key}: {error}")
            self._show_model(self.context.settings.get(LLM_MODEL))
            return
        if value != self.context.settings.get(LLM_MODEL):
            self.bindings.save(LLM_MODEL, value, restore=self._show_model)

    def _show_model(self, name: str | None) -> None:
        with QSignalBlocker(self.model):
            self.model.setEditText(name or "")

    def _list_models(self) -> None:
        try:
            base_url = LLM_BASE_URL.parse(self.address.text())
        except ValueError as error:
            self._say_listing(f"{LLM_BASE_URL.key}: {error}", failed=True)
            return
        if base_url is None:
            self._say_listing(NO_SERVER_NOTE, failed=True)
            return
        key_name = self.key.currentData()
        ledger = self.context.store.keys
        key_store = self.context.key_store
        timeout = self.context.settings.get(LLM_TIMEOUT_SECONDS)
        self._listing = True
        self.list_models.setText(LISTING)
        self._say_listing(f"Asking {display_url(base_url)} for its models…")
        self._update_list_button()
        self.context.background.run(
            "assistant:models",
            lambda: ask_for_models(base_url, key_name, ledger, key_store, timeout),
            self._show_models,
            self._models_failed,
        )

    def _show_models(self, listed: ListedModels) -> None:
        self._listing_over()
        self._listed_for = listed.base_url
        typed = self.model.currentText()
        with QSignalBlocker(self.model):
            self.model.clear()
            self.model.addItems(listed.names)
            self.model.setEditText(typed)
        if listed.names:
            count = f"{len(listed.names)} model" + ("s" if len(listed.names) != 1 else "")
            self._say_listing(f"{count} at {display_url(listed.base_url)}: choose one from the list.")
        else:
            self._say_listing(f"The server at {display_url(listed.base_url)} lists no models: type the model's name.")

    def _models_failed(self, error: Exception) -> None:
        self._listing_over()
        self._say_listing(_in_words(error), failed=True)

    def _say_listing(self, text: str, *, failed: bool = False) -> None:
        """How the last listing went, beside its button: a setting saved meanwhile (which clears the
        section's problem line) does not take a failure away."""
        self.models_note.setText(text)
        self.models_note.setStyleSheet(LISTING_FAILED_STYLE if failed else "")

    def _listing_over(self) -> None:
        self._listing = False
        self.list_models.setText(LIST_MODELS)
        self._update_list_button()

    # -- key -----------------------------------------------------------------------------------------

    def _show_keys(self, keys: list[ApiKeyInfo]) -> None:
        with QSignalBlocker(self.key):
            self.key.clear()
            self.key.addItem(NO_KEY, None)
            for key in keys:
                self.key.addItem(key.name, key.name)
                if key.base_url:
                    self.key.setItemData(self.key.count() - 1, f"For {key.base_url}", Qt.ItemDataRole.ToolTipRole)
        self._show_key(self.context.settings.get(LLM_KEY_NAME))

    def _keys_failed(self, error: Exception) -> None:
        self.report(f"The stored keys could not be read: {_in_words(error)}")

    def _show_key(self, name: str | None) -> None:
        """Shows the key in use; one named in the settings but not stored (removed, or not read yet) is
        shown as such rather than as "No key"."""
        with QSignalBlocker(self.key):
            index = self.key.findData(name)
            if index < 0:
                self.key.addItem(f"{name} (not stored)", name)
                index = self.key.count() - 1
            self.key.setCurrentIndex(index)

    def _key_chosen(self, index: int) -> None:
        self.bindings.save(LLM_KEY_NAME, self.key.itemData(index), restore=self._show_key)

    def _dialog_has_keys(self) -> bool:
        dialog = self.window()
        if not isinstance(dialog, SettingsDialog):
            return False
        return any(section.name == KEYS_SECTION for section in dialog.sections)

    def _open_keys(self) -> None:
        dialog = self.window()
        if isinstance(dialog, SettingsDialog):
            dialog.show_section(KEYS_SECTION)

    # -- offline mode --------------------------------------------------------------------------------

    def _show_offline(self, offline: bool) -> None:
        self._offline = offline
        self._update_list_button()

    def _update_list_button(self) -> None:
        has_server = bool(self.address.text().strip())
        self.list_models.setEnabled(not self._listing and not self._offline and has_server)
        if self._offline:
            self.list_models.setToolTip(OFFLINE_NOTE)
            if not self._listing:
                self._say_listing(OFFLINE_NOTE)
        elif self.models_note.text() == OFFLINE_NOTE:
            self._say_listing("")
            self.list_models.setToolTip("Ask the server which models it offers (GET /models).")

    # -- system prompt -------------------------------------------------------------------------------

    def _reset_prompt(self) -> None:
        with QSignalBlocker(self.prompt):
            self.prompt.setPlainText(LLM_SYSTEM_PROMPT.default)
        self._save_prompt()
