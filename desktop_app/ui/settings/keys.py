"""Keys: the API keys for language-model servers. A table of the stored keys (name, provider, server,
fingerprint, limits, today's usage, last use); add a key, replace a key's secret, test it against its server,
change its limits, remove it (after a confirmation), and pick it for the assistant.

A secret goes from its password field straight to the system keychain (`key_admin`, as `voice-assistant keys
add` does) and the field is emptied once it is stored; a stored key is only ever shown by its name and
fingerprint. Everything that reads the store, the keychain or the network runs on a worker."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from desktop_app import key_admin
from desktop_app.cli.output import one_line
from desktop_app.core.errors import AppError
from desktop_app.core.models import ApiKeyInfo
from desktop_app.core.settings import LLM_BASE_URL, LLM_KEY_NAME, NETWORK_OFFLINE
from desktop_app.key_admin import KeyRow
from desktop_app.ui.qt import (
    QAbstractItemView,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QPoint,
    QPushButton,
    Qt,
    QTableWidget,
    QTableWidgetItem,
    QTimer,
    QWidget,
)
from desktop_app.ui.settings.context import SettingsContext
from desktop_app.ui.settings.section import Section

COLUMNS = ("Name", "Provider", "Server", "Fingerprint", "Limits", "Today", "Last used")
TABLE_MIN_HEIGHT = 170  # the header and about three keys
# Today's usage moves while the section is shown (the assistant may be answering): read again this often.
REFRESH_MS = 15_000
TEST = "&Test"
TESTING = "Testing…"
NO_LIMIT_HINT = "no limit"


def _shown(text: str) -> str:
    """Stored text as a cell shows it: one line, control and bidi characters made visible, never obeyed."""
    return one_line(text)


def _count(number: int, what: str) -> str:
    return f"{number:,} {what}{'' if number == 1 else 's'}"


def _limits_text(info: ApiKeyInfo) -> str:
    limits = []
    if info.requests_per_minute:
        limits.append(_count(info.requests_per_minute, "request") + " a minute")
    if info.tokens_per_day:
        limits.append(_count(info.tokens_per_day, "token") + " a day")
    return "\n".join(limits) or "none"


def _cells(row: KeyRow) -> tuple[str, ...]:
    info, usage = row.info, row.usage
    last_used = info.last_used_at.astimezone().strftime("%Y-%m-%d %H:%M") if info.last_used_at else "never"
    return (
        _shown(info.name),
        _shown(info.provider),
        _shown(info.base_url) if info.base_url else "not set",
        info.fingerprint,
        _limits_text(info),
        f"{_count(usage.requests_last_minute, 'request')} in the last minute\n"
        f"{_count(usage.tokens_today, 'token')} today",
        last_used,
    )


@dataclass(frozen=True, slots=True)
class _NewKey:
    name: str
    provider: str
    server: str | None
    requests_per_minute: int | None
    tokens_per_day: int | None
    secret: str


def _limit_field(parent: QWidget, name: str, accessible: str) -> QLineEdit:
    field = QLineEdit(parent)
    field.setObjectName(name)
    field.setAccessibleName(accessible)
    field.setPlaceholderText(NO_LIMIT_HINT)
    field.setToolTip("A whole number; 0 or empty: no limit.")
    return field


def _secret_field(parent: QWidget, name: str, accessible: str) -> QLineEdit:
    field = QLineEdit(parent)
    field.setObjectName(name)
    field.setAccessibleName(accessible)
    field.setEchoMode(QLineEdit.EchoMode.Password)  # also stops copying it out again
    field.setPlaceholderText("paste the key from your provider")
    return field


def _button(parent: QWidget, text: str, name: str, slot: Callable[[], None]) -> QPushButton:
    button = QPushButton(text, parent)
    button.setObjectName(name)
    button.setAccessibleName(text.replace("&", "").rstrip("…"))
    button.clicked.connect(slot)
    return button


def _row(form: QFormLayout, parent: QWidget, text: str, field: QWidget) -> None:
    label = QLabel(text, parent)
    label.setBuddy(field)
    form.addRow(label, field)


def _button_row(form: QFormLayout, button: QPushButton) -> None:
    """A button under the fields, at its own width."""
    row = QHBoxLayout()
    row.addWidget(button)
    row.addStretch(1)
    form.addRow("", row)


class KeysSection(Section):
    name = "keys"
    title = "Keys"

    def __init__(self, context: SettingsContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self._rows: list[KeyRow] = []
        self._limits_shown_for: str | None = None  # the key whose limits the fields hold
        self._select_after_refresh: str | None = None
        self._testing = False
        self._confirmation: QMessageBox | None = None
        intro = QLabel(
            "API keys for language-model servers. A key is kept only in the system keychain; here it is shown "
            "by its name and fingerprint, never in full.",
            self,
        )
        intro.setWordWrap(True)
        self.in_use = QLabel("", self)
        self.in_use.setObjectName("assistant_key")
        self.in_use.setWordWrap(True)
        self.layout_.addWidget(intro)
        self.layout_.addWidget(self.in_use)
        self._build_table()
        self._build_selected()
        self._build_add()
        self.message = QLabel("", self)
        self.message.setObjectName("keys_message")
        self.message.setAccessibleName("Keys message")
        self.message.setWordWrap(True)
        self.layout_.addWidget(self.message)
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setInterval(REFRESH_MS)
        self._refresh_timer.timeout.connect(self.refresh)
        self.bindings.follow(LLM_KEY_NAME, self._show_in_use)
        self._update_buttons()

    # -- building ------------------------------------------------------------------------------------

    def _build_table(self) -> None:
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setObjectName("keys_table")
        self.table.setAccessibleName("Stored keys")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setMinimumHeight(TABLE_MIN_HEIGHT)
        self.table.setWordWrap(False)  # the limits and today's use are two lines each, on purpose
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._show_menu)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.empty_note = QLabel("No keys stored yet. Add one below.", self)
        self.empty_note.setObjectName("keys_empty")
        self.empty_note.hide()
        self.test_button = _button(self, TEST, "test_key", self._test)
        self.test_button.setToolTip("Ask the key's server for its list of models with the key.")
        self.use_button = _button(self, "&Use for the assistant", "use_key", self._use_for_assistant)
        self.use_button.setToolTip(LLM_KEY_NAME.description)
        self.remove_button = _button(self, "&Remove…", "remove_key", self._confirm_remove)
        buttons = QHBoxLayout()
        for button in (self.test_button, self.use_button, self.remove_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.test_result = QLabel("", self)
        self.test_result.setObjectName("key_test_result")
        self.test_result.setAccessibleName("Key test")
        self.test_result.setWordWrap(True)
        self.layout_.addWidget(self.table, 1)
        self.layout_.addWidget(self.empty_note)
        self.layout_.addLayout(buttons)
        self.layout_.addWidget(self.test_result)

    def _build_selected(self) -> None:
        self.selected_box = QGroupBox("The selected key", self)
        form = QFormLayout(self.selected_box)
        self.limit_requests = _limit_field(self.selected_box, "limit_requests", "Requests a minute")
        self.limit_tokens = _limit_field(self.selected_box, "limit_tokens", "Tokens a day")
        self.save_limits = _button(self.selected_box, "Save &limits", "save_limits", self._save_limits)
        _row(form, self.selected_box, "Re&quests a minute:", self.limit_requests)
        _row(form, self.selected_box, "T&okens a day:", self.limit_tokens)
        _button_row(form, self.save_limits)
        self.replace_secret = _secret_field(self.selected_box, "replace_secret", "New secret")
        self.replace_button = _button(self.selected_box, "Re&place the secret", "replace_key", self._replace)
        _row(form, self.selected_box, "New s&ecret:", self.replace_secret)
        _button_row(form, self.replace_button)
        self.layout_.addWidget(self.selected_box)

    def _build_add(self) -> None:
        box = QGroupBox("Add a key", self)
        form = QFormLayout(box)
        self.new_name = QLineEdit(box)
        self.new_name.setObjectName("new_key_name")
        self.new_name.setAccessibleName("Name")
        self.new_name.setPlaceholderText("e.g. openai")
        self.new_provider = QLineEdit(key_admin.DEFAULT_PROVIDER, box)
        self.new_provider.setObjectName("new_key_provider")
        self.new_provider.setAccessibleName("Provider")
        self.new_server = QLineEdit(box)
        self.new_server.setObjectName("new_key_server")
        self.new_server.setAccessibleName("Server address")
        self.new_server.setPlaceholderText("e.g. https://api.openai.com/v1")
        self.new_server.setToolTip("The key is only ever sent to this server.")
        self.new_secret = _secret_field(box, "new_key_secret", "Key")
        self.new_requests = _limit_field(box, "new_key_requests", "Requests a minute")
        self.new_tokens = _limit_field(box, "new_key_tokens", "Tokens a day")
        self.add_button = _button(box, "A&dd the key", "add_key", self._add)
        _row(form, box, "&Name:", self.new_name)
        _row(form, box, "Pro&vider:", self.new_provider)
        _row(form, box, "Server &address:", self.new_server)
        _row(form, box, "&Key:", self.new_secret)
        _row(form, box, "Requests a m&inute:", self.new_requests)
        _row(form, box, "Tokens a da&y:", self.new_tokens)
        _button_row(form, self.add_button)
        self.new_secret.returnPressed.connect(self._add)
        self.layout_.addWidget(box)

    # -- the section shown or hidden -----------------------------------------------------------------

    def entered(self) -> None:
        self.refresh()
        self._refresh_timer.start()

    def left(self) -> None:
        self._refresh_timer.stop()

    # -- the table -----------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Reads the keys and their usage on a worker, then shows them."""
        store = self.context.store
        self.context.background.run("keys:list", lambda: key_admin.list_keys(store), self._show_rows, self._failed)

    def _show_rows(self, rows: Sequence[KeyRow]) -> None:
        chosen = self._select_after_refresh or self.selected_name()
        self._select_after_refresh = None
        self._rows = list(rows)
        self.table.blockSignals(True)
        try:
            self.table.setRowCount(len(self._rows))
            for index, row in enumerate(self._rows):
                for column, text in enumerate(_cells(row)):
                    item = QTableWidgetItem(text)
                    item.setFlags(Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled)
                    self.table.setItem(index, column, item)
            self.table.clearSelection()
            for index, row in enumerate(self._rows):
                if row.info.name == chosen:
                    self.table.selectRow(index)
            self.table.resizeRowsToContents()
        finally:
            self.table.blockSignals(False)
        self.empty_note.setVisible(not self._rows)
        self._selection_changed()

    def selected_name(self) -> str | None:
        info = self._selected()
        return info.name if info is not None else None

    def _selected(self) -> ApiKeyInfo | None:
        rows = {index.row() for index in self.table.selectionModel().selectedRows()}
        if len(rows) != 1:
            return None
        row = rows.pop()
        return self._rows[row].info if 0 <= row < len(self._rows) else None

    def _selection_changed(self) -> None:
        info = self._selected()
        name = info.name if info is not None else None
        if name != self._limits_shown_for:  # a refresh must not undo what is being typed
            self._show_limits(info)
        self._update_buttons()

    def _show_limits(self, info: ApiKeyInfo | None) -> None:
        self._limits_shown_for = info.name if info is not None else None
        per_minute = info.requests_per_minute if info is not None else None
        per_day = info.tokens_per_day if info is not None else None
        self.limit_requests.setText(str(per_minute) if per_minute else "")
        self.limit_tokens.setText(str(per_day) if per_day else "")
        self.selected_box.setTitle(f"The key {_shown(info.name)}" if info is not None else "The selected key")

    def _update_buttons(self) -> None:
        chosen = self._selected() is not None
        for widget in (self.use_button, self.remove_button, self.selected_box):
            widget.setEnabled(chosen)
        self.test_button.setEnabled(chosen and not self._testing)

    def _show_menu(self, at: QPoint) -> None:
        if self._selected() is None:
            return
        menu = QMenu(self)
        menu.setObjectName("key_menu")
        menu.addAction("&Test", self._test).setEnabled(not self._testing)
        menu.addAction("&Use for the assistant", self._use_for_assistant)
        menu.addAction("&Remove…", self._confirm_remove)
        menu.aboutToHide.connect(menu.deleteLater)
        menu.popup(self.table.viewport().mapToGlobal(at))

    def _show_in_use(self, name: str | None) -> None:
        self.in_use.setText(
            f"The assistant uses the key {_shown(name)}." if name else "The assistant uses no key (a local server)."
        )

    # -- outcomes ------------------------------------------------------------------------------------

    def _said(self, text: str) -> None:
        self.report(None)
        self.message.setText(text)

    def _failed(self, error: Exception) -> None:
        """An error in words under the form (the AppError's message: what happened and what to do)."""
        self.message.setText("")
        self.report(str(error) if isinstance(error, AppError) else f"That did not work: {error}")

    # -- add, replace, remove, limits ----------------------------------------------------------------

    def _typed_key(self) -> _NewKey:
        """The add form's fields, checked (no store, keychain or network); AppError saying what is wrong."""
        return _NewKey(
            name=key_admin.check_name(self.new_name.text()),
            provider=" ".join(self.new_provider.text().split()) or key_admin.DEFAULT_PROVIDER,
            server=key_admin.check_base_url(self.new_server.text()),
            requests_per_minute=key_admin.parse_limit(self.new_requests.text(), "requests a minute"),
            tokens_per_day=key_admin.parse_limit(self.new_tokens.text(), "tokens a day"),
            secret=key_admin.check_secret(self.new_secret.text()),
        )

    def _add(self) -> None:
        try:
            new = self._typed_key()
        except AppError as error:
            self._failed(error)
            return
        context = self.context
        self.add_button.setEnabled(False)

        def store() -> ApiKeyInfo:
            return key_admin.add_key(
                context.store,
                context.key_store,
                new.name,
                new.secret,
                provider=new.provider,
                base_url=new.server,
                requests_per_minute=new.requests_per_minute,
                tokens_per_day=new.tokens_per_day,
            )

        context.background.run("keys:add", store, self._added, self._add_failed)

    def _added(self, info: ApiKeyInfo) -> None:
        self.add_button.setEnabled(True)
        for field in (self.new_secret, self.new_name, self.new_server, self.new_requests, self.new_tokens):
            field.clear()  # the secret first: it is in the keychain now
        self._said(
            f"Stored the key {_shown(info.name)} in the system keychain (fingerprint {info.fingerprint}). "
            "Pick it with Use for the assistant."
        )
        self._select_after_refresh = info.name
        self.refresh()

    def _add_failed(self, error: Exception) -> None:
        self.add_button.setEnabled(True)
        self._failed(error)

    def _replace(self) -> None:
        info = self._selected()
        if info is None:
            return
        try:
            secret = key_admin.check_secret(self.replace_secret.text())
        except AppError as error:
            self._failed(error)
            return
        context, name = self.context, info.name
        self.replace_button.setEnabled(False)

        def replace() -> tuple[str, ApiKeyInfo]:
            return info.fingerprint, key_admin.replace_secret(context.store, context.key_store, name, secret)

        context.background.run("keys:replace", replace, self._replaced, self._replace_failed)

    def _replaced(self, outcome: tuple[str, ApiKeyInfo]) -> None:
        before, info = outcome
        self.replace_button.setEnabled(True)
        self.replace_secret.clear()
        self._said(
            f"Replaced the secret of the key {_shown(info.name)}: its fingerprint is now {info.fingerprint} "
            f"(it was {before})."
        )
        self.refresh()

    def _replace_failed(self, error: Exception) -> None:
        self.replace_button.setEnabled(True)
        self._failed(error)

    def _save_limits(self) -> None:
        info = self._selected()
        if info is None:
            return
        try:
            per_minute = key_admin.parse_limit(self.limit_requests.text(), "requests a minute")
            per_day = key_admin.parse_limit(self.limit_tokens.text(), "tokens a day")
        except AppError as error:
            self._failed(error)
            return
        store, name = self.context.store, info.name
        self.save_limits.setEnabled(False)
        self.context.background.run(
            "keys:limits",
            lambda: key_admin.set_limits(store, name, per_minute, per_day),
            self._limits_saved,
            self._limits_failed,
        )

    def _limits_saved(self, info: ApiKeyInfo) -> None:
        self.save_limits.setEnabled(True)
        self._show_limits(info)
        limits = _limits_text(info).replace("\n", ", ")
        self._said(f"The key {_shown(info.name)} now has these limits: {limits}.")
        self.refresh()

    def _limits_failed(self, error: Exception) -> None:
        self.save_limits.setEnabled(True)
        self._failed(error)

    def _confirm_remove(self) -> None:
        info = self._selected()
        if info is None or self._confirmation is not None:
            return
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Remove the key?",
            f"Remove the key {_shown(info.name)} (fingerprint {info.fingerprint}) from the system keychain and "
            "from the app? The secret cannot be shown again: to use the key later, paste it again from your "
            "provider.",
            parent=self,
        )
        box.setObjectName("confirm_remove_key")
        remove = box.addButton("&Remove", QMessageBox.ButtonRole.DestructiveRole)
        remove.setObjectName("confirm_remove")
        cancel = box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(cancel)
        box.setEscapeButton(cancel)
        box.finished.connect(lambda _result: self._confirmed(info.name, box.clickedButton() is remove))
        self._confirmation = box
        box.open()

    def _confirmed(self, name: str, remove: bool) -> None:
        box, self._confirmation = self._confirmation, None
        if box is not None:
            box.deleteLater()
        if not remove:
            return
        context = self.context
        self.remove_button.setEnabled(False)

        def remove_it() -> str:
            key_admin.remove_key(context.store, context.key_store, name)
            return name

        context.background.run("keys:remove", remove_it, self._removed, self._failed)

    def _removed(self, name: str) -> None:
        in_use = self.context.settings.get(LLM_KEY_NAME) == name
        self._said(
            f"Removed the key {_shown(name)} from the system keychain and from the app."
            + (" The assistant was set to use it: pick another key." if in_use else "")
        )
        self.refresh()

    # -- the assistant's key ---------------------------------------------------------------------------

    def _use_for_assistant(self) -> None:
        info = self._selected()
        if info is None:
            return
        settings = self.context.settings

        def use() -> tuple[str | None, bool]:
            """The assistant's server after the change, and whether it was set to the key's."""
            values: dict[str, object] = {LLM_KEY_NAME.key: info.name}
            server = settings.get(LLM_BASE_URL)
            filled = not server and bool(info.base_url)
            if filled:
                values[LLM_BASE_URL.key] = info.base_url
            settings.update(values)
            return (info.base_url if filled else server), filled

        self.context.background.run("keys:use", use, lambda outcome: self._used(info, *outcome), self._failed)

    def _used(self, info: ApiKeyInfo, server: str | None, filled: bool) -> None:
        text = f"The assistant now uses the key {_shown(info.name)}"
        if filled:
            text += f" and its server, {_shown(server or '')}."
        else:
            text += "."
            if info.base_url and server and server.rstrip("/").lower() != info.base_url.rstrip("/").lower():
                text += (
                    f" Its server is set to {_shown(server)}, but this key is only sent to "
                    f"{_shown(info.base_url)}: change the server in the assistant's settings."
                )
        self._said(text)

    # -- the test --------------------------------------------------------------------------------------

    def _test(self) -> None:
        info = self._selected()
        if info is None or self._testing:
            return
        if not info.base_url:
            self.test_result.setText(
                f"The key {_shown(info.name)} has no server address, so it cannot be tested. Remove it and add it "
                "again with its server's address."
            )
            return
        context, name, server = self.context, info.name, info.base_url
        self._testing = True
        self.test_button.setText(TESTING)
        self._update_buttons()
        self.test_result.setText(f"Testing the key {_shown(name)} against {_shown(server)}…")

        def ask() -> list[str]:
            offline = context.settings.get(NETWORK_OFFLINE)
            return key_admin.try_key(context.store, context.key_store, name, offline=offline)

        context.background.run(
            "keys:test", ask, lambda models: self._tested(name, models), lambda error: self._test_failed(name, error)
        )

    def _test_over(self) -> None:
        self._testing = False
        self.test_button.setText(TEST)
        self._update_buttons()

    def _tested(self, name: str, models: list[str]) -> None:
        self._test_over()
        count = len(models)
        listed = f": {', '.join(_shown(model) for model in models[:3])}{'…' if count > 3 else ''}" if models else ""
        self.test_result.setText(f"The key {_shown(name)} works: {count} model{'' if count == 1 else 's'}{listed}.")
        self.refresh()

    def _test_failed(self, name: str, error: Exception) -> None:
        self._test_over()
        reason = str(error) if isinstance(error, AppError) else f"the test failed ({error})"
        self.test_result.setText(f"The key {_shown(name)} did not work: {reason}")

    def close_section(self) -> None:
        if self._confirmation is not None:
            self._confirmation.close()
        super().close_section()
