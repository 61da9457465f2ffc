"""Settings > Keys, driven by typing and clicks, on the real (private) Secret Service keychain, the real store
and the local OpenAI-compatible server: a key typed into the form lands in the keychain (read back with the
keyring library) and its name and fingerprint in the ledger, and the dialog never shows the secret; its
secret is replaced, it is tested against its server (works, a rejected key, a server that is down, no server
address), its limits are saved, it is removed after a confirmation, and it is picked for the assistant. Bad
input is said in words and nothing is half-stored, a keychain that cannot be reached leaves nothing in the
ledger, and the window keeps turning while a slow server answers a key test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import start_or_fail
from keyring.backends import SecretService
from keyring_session import KeyringSession
from openai_server import OpenAIServer
from settings_dialog import WAIT_MS, OpenSettings, child, click, type_over
from window_scenario import TICK_MS, Ticks

from desktop_app.core.brain.language_model import usage_window
from desktop_app.core.brain.skill import local_now
from desktop_app.core.errors import AppError, ErrorCode
from desktop_app.core.keys import KEYCHAIN_SERVICE, fingerprint
from desktop_app.core.settings import LLM_BASE_URL, LLM_KEY_NAME, NETWORK_OFFLINE
from desktop_app.llm.server_models import list_models
from desktop_app.storage.store import SqlConversationStore
from desktop_app.ui.qt import (
    QAbstractButton,
    QApplication,
    QContextMenuEvent,
    QGroupBox,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QPushButton,
    Qt,
    QTableWidget,
    QWidget,
)
from desktop_app.ui.settings.keys import KeysSection

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytestmark = pytest.mark.gui

SECRET = "sk-live-7d3a9c1e5b2f4a60"
NEW_SECRET = "sk-live-0e8b6d4c2a1f9e73"
MODELS = ["gpt-small", "gpt-large", "embed-1"]
LONGEST_GAP_MS = 100


class Keys:
    """The section's widgets, found by their object names."""

    def __init__(self, section: QWidget) -> None:
        self.section = section
        self.table = child(section, QTableWidget, "keys_table")
        self.name = child(section, QLineEdit, "new_key_name")
        self.server = child(section, QLineEdit, "new_key_server")
        self.secret = child(section, QLineEdit, "new_key_secret")
        self.requests = child(section, QLineEdit, "new_key_requests")
        self.tokens = child(section, QLineEdit, "new_key_tokens")
        self.add = child(section, QPushButton, "add_key")
        self.test = child(section, QPushButton, "test_key")
        self.use = child(section, QPushButton, "use_key")
        self.remove = child(section, QPushButton, "remove_key")
        self.limit_requests = child(section, QLineEdit, "limit_requests")
        self.limit_tokens = child(section, QLineEdit, "limit_tokens")
        self.save_limits = child(section, QPushButton, "save_limits")
        self.replace_secret = child(section, QLineEdit, "replace_secret")
        self.replace = child(section, QPushButton, "replace_key")
        self.test_result = child(section, QLabel, "key_test_result")
        self.message = child(section, QLabel, "keys_message")
        self.problem_line = child(section, QLabel, "section_problem")

    def problem(self) -> str:
        return self.problem_line.text() if self.problem_line.isVisible() else ""

    def names(self) -> list[str]:
        return [self.cell(row, "Name") for row in range(self.table.rowCount())]

    def cell(self, row: int, column: str) -> str:
        for index in range(self.table.columnCount()):
            header = self.table.horizontalHeaderItem(index)
            if header is not None and header.text() == column:
                item = self.table.item(row, index)
                return item.text() if item is not None else ""
        raise KeyError(column)

    def row_of(self, name: str) -> int:
        return self.names().index(name)


def _paste(qtbot: Any, field: QLineEdit, text: str) -> None:
    """Pastes over what the field holds, as a person pastes a key copied from elsewhere (key clicks cannot
    type accented letters or control characters)."""
    QApplication.clipboard().setText(text)
    type_over(qtbot, field, "")
    qtbot.keyClick(field, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert field.text() == text


def _select(qtbot: Any, keys: Keys, name: str) -> None:
    """Clicks the key's row in the table."""
    row = keys.row_of(name)
    item = keys.table.item(row, 0)
    assert item is not None
    at = keys.table.visualItemRect(item).center()
    qtbot.mouseClick(keys.table.viewport(), Qt.MouseButton.LeftButton, pos=at)
    qtbot.waitUntil(keys.use.isEnabled, timeout=WAIT_MS)


def _add(qtbot: Any, keys: Keys, name: str, secret: str, server: str = "", *limits: str) -> None:
    """Fills in the add form and clicks Add; returns once the key is in the table."""
    type_over(qtbot, keys.name, name)
    type_over(qtbot, keys.server, server)
    type_over(qtbot, keys.secret, secret)
    for field, value in zip((keys.requests, keys.tokens), limits, strict=False):
        type_over(qtbot, field, value)
    click(qtbot, keys.add)
    qtbot.waitUntil(lambda: name in keys.names() and keys.add.isEnabled(), timeout=WAIT_MS)


def _keychain_secret(name: str) -> str | None:
    """The secret filed under the key's name, read with keyring's own Secret Service backend."""
    backend = SecretService.Keyring()
    secret = backend.get_password(KEYCHAIN_SERVICE, f"api-key:{name}")
    return None if secret is None else str(secret)


def _every_text(root: QWidget) -> list[str]:
    """Every text the window shows or tells assistive tools: labels, fields as shown, buttons, titles, table
    cells and headers, tooltips and accessible names of every widget."""
    texts = [root.windowTitle()]
    for widget in [root, *root.findChildren(QWidget)]:
        texts += [widget.toolTip(), widget.accessibleName(), widget.accessibleDescription(), widget.windowTitle()]
        if isinstance(widget, QLabel):
            texts.append(widget.text())
        elif isinstance(widget, QLineEdit):
            texts += [widget.displayText(), widget.placeholderText()]
        elif isinstance(widget, QAbstractButton):
            texts.append(widget.text())
        elif isinstance(widget, QGroupBox):
            texts.append(widget.title())
        elif isinstance(widget, QTableWidget):
            for column in range(widget.columnCount()):
                header = widget.horizontalHeaderItem(column)
                texts += [header.text(), header.toolTip()] if header is not None else []
                for row in range(widget.rowCount()):
                    item = widget.item(row, column)
                    if item is not None:
                        texts += [item.text(), item.toolTip(), item.statusTip(), item.whatsThis()]
    return texts


def _shows_no_secret(root: QWidget, *secrets: str) -> None:
    for text in _every_text(root):
        for secret in secrets:
            assert secret not in text, text


@pytest.fixture
def opened(qtbot, store: SqlConversationStore, data_dir: Path) -> Iterator[OpenSettings]:
    settings = OpenSettings(qtbot, store, data_dir, (KeysSection,))
    yield settings
    settings.close()


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    with OpenAIServer.start(models=MODELS, api_key=SECRET) as running:
        yield running


def test_a_key_typed_in_goes_to_the_keychain_and_only_its_fingerprint_is_shown(
    qtbot, system_keychain: KeyringSession, store: SqlConversationStore, opened: OpenSettings, data_dir: Path
) -> None:
    keys = Keys(opened.section("keys"))
    assert keys.secret.echoMode() is QLineEdit.EchoMode.Password
    _add(qtbot, keys, "work", SECRET, "https://api.example.com/v1", "60", "100000")
    assert _keychain_secret("work") == SECRET
    info = store.keys.get_key("work")
    assert info.fingerprint == fingerprint(SECRET) and info.keychain_ref == "api-key:work"
    assert (info.base_url, info.requests_per_minute, info.tokens_per_day) == ("https://api.example.com/v1", 60, 100000)
    row = keys.row_of("work")
    assert keys.cell(row, "Fingerprint") == fingerprint(SECRET)
    assert keys.cell(row, "Server") == "https://api.example.com/v1"
    assert keys.cell(row, "Limits") == "60 requests a minute\n100,000 tokens a day"
    assert keys.cell(row, "Today") == "0 requests in the last minute\n0 tokens today"
    assert keys.cell(row, "Last used") == "never"
    assert fingerprint(SECRET) in keys.message.text() and keys.problem() == ""
    assert keys.secret.text() == ""  # cleared once stored
    _shows_no_secret(opened.dialog, SECRET)
    for path in data_dir.rglob("*"):  # not in the database, its journal or the settings
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
    assert [entry.action for entry in store.list_audit()][:1] == ["api_key_added"]


def test_use_for_the_assistant_sets_the_key_and_its_server_when_none_is_set(
    qtbot, system_keychain: KeyringSession, opened: OpenSettings
) -> None:
    keys = Keys(opened.section("keys"))
    _add(qtbot, keys, "work", SECRET, "https://api.example.com/v1")
    _add(qtbot, keys, "other", NEW_SECRET, "https://other.example.com/v1")
    _select(qtbot, keys, "work")
    click(qtbot, keys.use)
    opened.wait_saved(LLM_KEY_NAME, "work")
    assert opened.saved(LLM_BASE_URL) == "https://api.example.com/v1"
    qtbot.waitUntil(lambda: "now uses the key work" in keys.message.text(), timeout=WAIT_MS)
    assert "The assistant uses the key work." in child(keys.section, QLabel, "assistant_key").text()
    # A server is set now: picking another key (from its context menu) leaves it, and says the key is not
    # sent there.
    _select(qtbot, keys, "other")
    item = keys.table.item(keys.row_of("other"), 0)
    assert item is not None
    at = keys.table.visualItemRect(item).center()
    viewport = keys.table.viewport()
    QApplication.sendEvent(viewport, QContextMenuEvent(QContextMenuEvent.Reason.Mouse, at, viewport.mapToGlobal(at)))
    qtbot.waitUntil(lambda: isinstance(QApplication.activePopupWidget(), QMenu), timeout=WAIT_MS)
    menu = QApplication.activePopupWidget()
    assert isinstance(menu, QMenu)
    assert [action.text() for action in menu.actions()] == ["&Test", "&Use for the assistant", "&Remove…"]
    qtbot.keyClick(menu, Qt.Key.Key_U)
    opened.wait_saved(LLM_KEY_NAME, "other")
    assert opened.saved(LLM_BASE_URL) == "https://api.example.com/v1"
    qtbot.waitUntil(lambda: "only sent to https://other.example.com/v1" in keys.message.text(), timeout=WAIT_MS)


def test_bad_input_is_said_under_the_form_and_nothing_is_half_stored(
    qtbot, system_keychain: KeyringSession, store: SqlConversationStore, opened: OpenSettings
) -> None:
    keys = Keys(opened.section("keys"))
    refused = [
        (("", SECRET), "must be 1 to 100 characters"),
        (("work", "sk-with space"), "does not look like an API key"),
        (("work", "sk-clé-accent"), "does not look like an API key"),
        (("work", ""), "The key is empty"),
    ]
    for (name, secret), said in refused:
        type_over(qtbot, keys.name, name)
        _paste(qtbot, keys.secret, secret)
        click(qtbot, keys.add)
        assert said in keys.problem(), (name, keys.problem())
    type_over(qtbot, keys.secret, SECRET)
    for field, value, said in (
        (keys.server, "ftp://files.example.com", "http:// or https://"),
        (keys.requests, "-1", "requests a minute limit must be from 0"),
        (keys.tokens, str(2**63), "tokens a day limit must be from 0 to 9223372036854775807"),
        (keys.tokens, "lots", "expected a whole number"),
    ):
        type_over(qtbot, field, value)
        click(qtbot, keys.add)
        assert said in keys.problem(), (value, keys.problem())
        type_over(qtbot, field, "")
    _paste(qtbot, keys.name, "bad\x07name")  # a control character in the name
    click(qtbot, keys.add)
    assert "control character" in keys.problem()
    assert store.keys.list_keys() == []
    assert system_keychain.count(KEYCHAIN_SERVICE, "api-key:work") == 0
    assert keys.secret.text() == SECRET  # kept to try again: nothing typed is lost
    # A name already stored: refused, and the stored secret is the first one still.
    _add(qtbot, keys, "work", SECRET)
    type_over(qtbot, keys.name, "work")
    type_over(qtbot, keys.secret, NEW_SECRET)
    click(qtbot, keys.add)
    qtbot.waitUntil(lambda: "already stored" in keys.problem() and keys.add.isEnabled(), timeout=WAIT_MS)
    assert _keychain_secret("work") == SECRET
    assert [info.fingerprint for info in store.keys.list_keys()] == [fingerprint(SECRET)]


def test_replacing_the_secret_keeps_the_limits_and_shows_the_new_fingerprint(
    qtbot, system_keychain: KeyringSession, store: SqlConversationStore, opened: OpenSettings
) -> None:
    keys = Keys(opened.section("keys"))
    _add(qtbot, keys, "work", SECRET, "https://api.example.com/v1", "30")
    _select(qtbot, keys, "work")
    type_over(qtbot, keys.replace_secret, "not a key")
    click(qtbot, keys.replace)
    assert "does not look like an API key" in keys.problem()
    assert _keychain_secret("work") == SECRET
    type_over(qtbot, keys.replace_secret, NEW_SECRET)
    click(qtbot, keys.replace)
    qtbot.waitUntil(lambda: keys.cell(keys.row_of("work"), "Fingerprint") == fingerprint(NEW_SECRET), timeout=WAIT_MS)
    assert _keychain_secret("work") == NEW_SECRET
    info = store.keys.get_key("work")
    assert info.fingerprint == fingerprint(NEW_SECRET) and info.requests_per_minute == 30
    assert f"now {fingerprint(NEW_SECRET)} (it was {fingerprint(SECRET)})" in keys.message.text()
    assert keys.replace_secret.text() == "" and keys.problem() == ""
    assert store.list_audit()[0].action == "api_key_replaced"
    _shows_no_secret(opened.dialog, SECRET, NEW_SECRET)


def test_testing_a_key_says_whether_its_server_takes_it(
    qtbot, system_keychain: KeyringSession, opened: OpenSettings, server: OpenAIServer
) -> None:
    keys = Keys(opened.section("keys"))
    _add(qtbot, keys, "work", SECRET, server.base_url)
    _add(qtbot, keys, "old", "sk-revoked", server.base_url)
    _add(qtbot, keys, "anywhere", "sk-any-server")

    _select(qtbot, keys, "work")
    click(qtbot, keys.test)
    qtbot.waitUntil(lambda: "works" in keys.test_result.text(), timeout=WAIT_MS)
    assert keys.test_result.text() == "The key work works: 3 models: embed-1, gpt-large, gpt-small."
    assert server.requests[-1].authorization == f"Bearer {SECRET}" and server.requests[-1].path == "/v1/models"

    _select(qtbot, keys, "old")
    click(qtbot, keys.test)
    qtbot.waitUntil(lambda: "did not work" in keys.test_result.text(), timeout=WAIT_MS)
    assert "rejected the API key (HTTP 401 Unauthorized)" in keys.test_result.text()
    assert "sk-revoked" not in keys.test_result.text()

    _select(qtbot, keys, "anywhere")
    requests_before = len(server.requests)
    click(qtbot, keys.test)
    assert "has no server address, so it cannot be tested" in keys.test_result.text()
    assert len(server.requests) == requests_before

    # Offline mode: no request at all, and the test says why.
    opened.settings.set(NETWORK_OFFLINE, True)
    _select(qtbot, keys, "work")
    click(qtbot, keys.test)
    qtbot.waitUntil(lambda: "did not work" in keys.test_result.text(), timeout=WAIT_MS)
    assert "Offline mode is on, so no key is tested" in keys.test_result.text()
    assert len(server.requests) == requests_before
    opened.settings.set(NETWORK_OFFLINE, False)

    base_url = server.base_url
    server.stop()
    with pytest.raises(AppError) as down:
        list_models(base_url, SECRET, timeout=5)
    assert down.value.code is ErrorCode.LLM_UNREACHABLE
    _select(qtbot, keys, "work")
    click(qtbot, keys.test)
    qtbot.waitUntil(lambda: "did not work" in keys.test_result.text(), timeout=WAIT_MS)
    assert keys.test_result.text() == f"The key work did not work: {down.value.message}"
    assert "cannot be reached" in keys.test_result.text()
    assert keys.test.isEnabled() and keys.test.text() == "&Test"
    _shows_no_secret(opened.dialog, SECRET, "sk-revoked", "sk-any-server")


def test_limits_are_saved_and_shown(
    qtbot, system_keychain: KeyringSession, store: SqlConversationStore, opened: OpenSettings
) -> None:
    keys = Keys(opened.section("keys"))
    _add(qtbot, keys, "work", SECRET, "https://api.example.com/v1")
    _select(qtbot, keys, "work")
    assert (keys.limit_requests.text(), keys.limit_tokens.text()) == ("", "")
    # The assistant uses the key once (through the ledger, as the language model does): shown at the next read.
    now, day_start = usage_window(local_now())
    used = store.keys.begin_request(store.keys.get_key("work").id, "test-model", now, day_start, lambda _usage: None)
    store.keys.finish_request(used, 40, 2, "ok")
    type_over(qtbot, keys.limit_requests, "12")
    type_over(qtbot, keys.limit_tokens, "50000")
    click(qtbot, keys.save_limits)
    qtbot.waitUntil(lambda: keys.cell(0, "Limits") == "12 requests a minute\n50,000 tokens a day", timeout=WAIT_MS)
    info = store.keys.get_key("work")
    assert (info.requests_per_minute, info.tokens_per_day) == (12, 50000)
    assert keys.cell(0, "Today") == "1 request in the last minute\n42 tokens today"
    assert keys.cell(0, "Last used") == now.astimezone().strftime("%Y-%m-%d %H:%M")
    assert keys.message.text() == "The key work now has these limits: 12 requests a minute, 50,000 tokens a day."
    # Out of range: said, and what is stored stays.
    type_over(qtbot, keys.limit_tokens, "99999999999999999999")
    click(qtbot, keys.save_limits)
    assert "tokens a day limit must be from 0 to 9223372036854775807" in keys.problem()
    assert store.keys.get_key("work").tokens_per_day == 50000
    # 0 and empty: no limit.
    type_over(qtbot, keys.limit_requests, "0")
    type_over(qtbot, keys.limit_tokens, "")
    click(qtbot, keys.save_limits)
    qtbot.waitUntil(lambda: keys.cell(0, "Limits") == "none", timeout=WAIT_MS)
    info = store.keys.get_key("work")
    assert (info.requests_per_minute, info.tokens_per_day) == (None, None)
    assert keys.problem() == "" and store.list_audit()[0].action == "api_key_limits"


def _confirmation(qtbot: Any) -> QMessageBox:
    found: list[QMessageBox] = []

    def shown() -> bool:
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox) and box.isVisible():
            found[:] = [box]
            return True
        return False

    qtbot.waitUntil(shown, timeout=WAIT_MS)
    return found[0]


def test_removing_asks_first_and_removes_from_keychain_and_ledger(
    qtbot, system_keychain: KeyringSession, store: SqlConversationStore, opened: OpenSettings
) -> None:
    keys = Keys(opened.section("keys"))
    _add(qtbot, keys, "work", SECRET, "https://api.example.com/v1")
    _select(qtbot, keys, "work")
    click(qtbot, keys.remove)
    box = _confirmation(qtbot)
    assert "work" in box.text() and fingerprint(SECRET) in box.text() and SECRET not in box.text()
    cancel = box.button(QMessageBox.StandardButton.Cancel)
    assert cancel is not None
    click(qtbot, cancel)
    qtbot.waitUntil(lambda: QApplication.activeModalWidget() is None, timeout=WAIT_MS)
    assert _keychain_secret("work") == SECRET and [info.name for info in store.keys.list_keys()] == ["work"]

    click(qtbot, keys.remove)
    box = _confirmation(qtbot)
    click(qtbot, child(box, QPushButton, "confirm_remove"))
    qtbot.waitUntil(lambda: keys.names() == [], timeout=WAIT_MS)
    assert _keychain_secret("work") is None and store.keys.list_keys() == []
    assert "Removed the key work" in keys.message.text()
    assert store.list_audit()[0].action == "api_key_removed"


def test_a_keychain_that_cannot_be_reached_is_said_and_nothing_is_stored(
    qtbot, store: SqlConversationStore, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bus_only = start_or_fail(lambda: KeyringSession.start(keyring=False))  # a session with no Secret Service
    try:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", bus_only.address)
        opened = OpenSettings(qtbot, store, data_dir, (KeysSection,))
        try:
            keys = Keys(opened.section("keys"))
            type_over(qtbot, keys.name, "work")
            type_over(qtbot, keys.secret, SECRET)
            click(qtbot, keys.add)
            qtbot.waitUntil(lambda: keys.problem() != "" and keys.add.isEnabled(), timeout=WAIT_MS)
            assert "The system keychain is not available" in keys.problem()
            assert "Start your desktop's keyring" in keys.problem()
            assert store.keys.list_keys() == [] and keys.names() == []
            assert keys.secret.text() == SECRET  # kept, to try again once the keyring runs
        finally:
            opened.close()
    finally:
        bus_only.stop()


def test_the_window_keeps_turning_during_a_key_test_against_a_slow_server(
    qtbot, system_keychain: KeyringSession, store: SqlConversationStore, opened: OpenSettings
) -> None:
    with OpenAIServer.start(models=MODELS, api_key=SECRET, models_delay=2) as slow:
        keys = Keys(opened.section("keys"))
        _add(qtbot, keys, "work", SECRET, slow.base_url)
        _select(qtbot, keys, "work")
        ticks = Ticks()
        ticks.phase("key test")
        try:
            click(qtbot, keys.test)
            assert keys.test.text() == "Testing…" and not keys.test.isEnabled()
            # The rest of the section stays usable meanwhile: limits typed and saved while the test runs.
            type_over(qtbot, keys.limit_requests, "7")
            click(qtbot, keys.save_limits)
            qtbot.waitUntil(lambda: store.keys.get_key("work").requests_per_minute == 7, timeout=WAIT_MS)
            assert keys.test.text() == "Testing…"
            qtbot.waitUntil(lambda: "works" in keys.test_result.text(), timeout=WAIT_MS)
        finally:
            ticks.stop()
        assert keys.test.text() == "&Test" and keys.test.isEnabled()
    gaps = ticks.phases["key test"]
    print(f"longest gap between {TICK_MS} ms ticks during a key test: {gaps.longest_ms:.1f} ms ({gaps.ticks} ticks)")
    assert gaps.ticks > 100  # two seconds of ticks: the wait was measured
    assert gaps.longest_ms < LONGEST_GAP_MS
