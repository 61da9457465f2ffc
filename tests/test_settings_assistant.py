"""Settings > Language model, driven by clicks and keys on the real settings file: each preset saves its
address and the preset shown follows the address in use; an address that does not fit is said and not saved;
"List models" asks the local OpenAI-compatible server on a worker (with a key stored in the real Secret
Service keychain), fills the model list, says a server that is down or refuses the key in words, and leaves
the window turning while a slow server answers; offline mode disables it; the system prompt, context budget
and timeout are saved; and a change the CLI writes while the dialog is open shows in the widgets."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from keyring_session import KeyringSession
from openai_server import OpenAIServer
from settings_dialog import WAIT_MS, OpenSettings, child, click, type_over
from window_scenario import TICK_MS, Ticks

from desktop_app.brain import system_key_store
from desktop_app.core.keys import fingerprint
from desktop_app.core.llm_presets import (
    BUILT_IN,
    LLAMA_CPP,
    LM_STUDIO,
    OLLAMA,
    OPENAI,
    OTHER,
    LlmPreset,
    preset_for,
)
from desktop_app.core.settings import (
    LLM_BASE_URL,
    LLM_CONTEXT_TOKENS,
    LLM_KEY_NAME,
    LLM_MODEL,
    LLM_SYSTEM_PROMPT,
    LLM_TIMEOUT_SECONDS,
    NETWORK_OFFLINE,
    Settings,
)
from desktop_app.paths import AppPaths
from desktop_app.storage.store import SqlConversationStore
from desktop_app.ui.qt import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPoint,
    QPushButton,
    QSpinBox,
    Qt,
)
from desktop_app.ui.settings.assistant import LIST_MODELS, LISTING, OFFLINE_NOTE, AssistantSection
from desktop_app.ui.settings.section import Section

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytestmark = pytest.mark.gui

KEY = "sk-test-7c1e9a2b4d6f8e0a"
MODELS = ["qwen2.5", "llama3.2", "Gemma3"]
LISTED = ["Gemma3", "llama3.2", "qwen2.5"]  # as the server's list is shown: sorted, whatever the case
# The timer's period while a slow list is asked for, and the longest the main thread may go without it
# firing: a network or keychain call on the main thread would stall it for the whole two seconds.
LONGEST_GAP_MS = 100.0


class Widgets:
    """The section's widgets, found as a test (or a screen reader) finds them: by name."""

    def __init__(self, section: Section) -> None:
        self.section = section
        self.preset = child(section, QComboBox, "llm_preset")
        self.address = child(section, QLineEdit, "llm_base_url")
        self.model = child(section, QComboBox, "llm_model")
        self.model_text = child(section, QLineEdit, "llm_model_text")
        self.list_models = child(section, QPushButton, "list_models")
        self.key = child(section, QComboBox, "llm_key")
        self.offline = child(section, QCheckBox, "network_offline")
        self.prompt = child(section, QPlainTextEdit, "llm_system_prompt")
        self.save_prompt = child(section, QPushButton, "save_prompt")
        self.reset_prompt = child(section, QPushButton, "reset_prompt")
        self.context_tokens = child(section, QSpinBox, "llm_context_tokens")
        self.timeout = child(section, QDoubleSpinBox, "llm_timeout_seconds")
        self.listing = child(section, QLabel, "list_models_note")

    def problem(self) -> str:
        return self.section.problem.text() if self.section.problem.isVisible() else ""

    def items(self, combo: QComboBox) -> list[str]:
        return [combo.itemText(index) for index in range(combo.count())]


def _settings_file(data_dir: Path) -> Path:
    return AppPaths.resolve(data_dir).ensure().settings_file


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _type_into(qtbot, edit: QLineEdit, text: str) -> None:
    """Replaces what the field holds and presses Enter, as a person would."""
    type_over(qtbot, edit, text)
    qtbot.keyClick(edit, Qt.Key.Key_Return)


def _choose_from_popup(qtbot, combo: QComboBox, text: str) -> None:
    """Opens the combo's list with a click (on its arrow, for one that can be typed in) and clicks the
    entry."""
    arrow = QPoint(combo.width() - 8, combo.height() // 2)
    qtbot.mouseClick(combo, Qt.MouseButton.LeftButton, pos=arrow if combo.isEditable() else combo.rect().center())
    view = combo.view()
    qtbot.waitUntil(view.isVisible, timeout=WAIT_MS)
    index = combo.findText(text)
    assert index >= 0, (text, [combo.itemText(i) for i in range(combo.count())])
    where = view.visualRect(view.model().index(index, 0)).center()
    # A combo box takes a release this soon after its list opened for the end of the click that opened it.
    qtbot.wait(QApplication.doubleClickInterval() + 50)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=where)
    qtbot.waitUntil(lambda: not view.isVisible(), timeout=WAIT_MS)


@pytest.fixture
def open_dialog(qtbot, store: SqlConversationStore, data_dir: Path) -> Iterator[Callable[[], OpenSettings]]:
    """Opens the dialog at the Language model section (settings written beforehand are read as at a start)."""
    opened: list[OpenSettings] = []

    def opener() -> OpenSettings:
        dialog = OpenSettings(qtbot, store, data_dir, (AssistantSection,))
        opened.append(dialog)
        return dialog

    yield opener
    for dialog in opened:
        dialog.close()


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    with OpenAIServer.start(models=MODELS, api_key=KEY) as running:
        yield running


def _store_key(store: SqlConversationStore, name: str, secret: str, base_url: str) -> None:
    """A key stored as `voice-assistant keys add` stores it: the secret in the system keychain, the record
    (with the secret's name there) in the ledger."""
    ref = f"api-key:{name}"
    system_key_store().set_secret(ref, secret)
    store.keys.add_key(name, "openai", base_url, ref, fingerprint(secret))


# -- presets and the address --------------------------------------------------------------------------


def test_each_preset_saves_its_address_and_the_preset_follows_the_address(qtbot, open_dialog) -> None:
    opened = open_dialog()
    widgets = Widgets(opened.section("assistant"))
    assert widgets.preset.currentText() == BUILT_IN.title and widgets.address.text() == ""
    widgets.preset.setFocus()

    def shows(preset: LlmPreset) -> None:
        qtbot.waitUntil(
            lambda: widgets.preset.currentText() == preset.title and widgets.address.text() == (preset.base_url or ""),
            timeout=WAIT_MS,
        )

    for preset in (OLLAMA, LM_STUDIO, LLAMA_CPP, OPENAI):  # the next one down, by key
        qtbot.keyClick(widgets.preset, Qt.Key.Key_Down)
        opened.wait_saved(LLM_BASE_URL, preset.base_url)
        shows(preset)
    _choose_from_popup(qtbot, widgets.preset, OLLAMA.title)  # and by clicks
    opened.wait_saved(LLM_BASE_URL, OLLAMA.base_url)
    shows(OLLAMA)
    qtbot.keyClick(widgets.preset, Qt.Key.Key_Home)
    opened.wait_saved(LLM_BASE_URL, None)
    shows(BUILT_IN)
    # "Other…" keeps the address in use and puts the cursor in the field, for the address to be typed.
    _choose_from_popup(qtbot, widgets.preset, OPENAI.title)
    opened.wait_saved(LLM_BASE_URL, OPENAI.base_url)
    shows(OPENAI)
    _choose_from_popup(qtbot, widgets.preset, OTHER.title + "…")
    qtbot.waitUntil(widgets.address.hasFocus, timeout=WAIT_MS)
    assert widgets.address.selectedText() == OPENAI.base_url
    qtbot.keyClicks(widgets.address, "http://192.168.1.20:8000/v1")
    qtbot.keyClick(widgets.address, Qt.Key.Key_Return)
    opened.wait_saved(LLM_BASE_URL, "http://192.168.1.20:8000/v1")
    qtbot.waitUntil(lambda: widgets.preset.currentText() == OTHER.title + "…", timeout=WAIT_MS)
    assert widgets.problem() == ""


def test_an_address_typed_by_hand_shows_its_preset_or_other(qtbot, open_dialog) -> None:
    opened = open_dialog()
    widgets = Widgets(opened.section("assistant"))
    _type_into(qtbot, widgets.address, "http://localhost:11434/v1/")  # Ollama's, written another way
    opened.wait_saved(LLM_BASE_URL, "http://localhost:11434/v1/")
    qtbot.waitUntil(lambda: widgets.preset.currentText() == OLLAMA.title, timeout=WAIT_MS)
    _type_into(qtbot, widgets.address, "https://llm.example.org/v1")
    opened.wait_saved(LLM_BASE_URL, "https://llm.example.org/v1")
    qtbot.waitUntil(lambda: widgets.preset.currentText() == OTHER.title + "…", timeout=WAIT_MS)
    # An empty field is no language model, as `settings set llm.base_url none` is.
    _type_into(qtbot, widgets.address, "")
    opened.wait_saved(LLM_BASE_URL, None)
    qtbot.waitUntil(lambda: widgets.preset.currentText() == BUILT_IN.title, timeout=WAIT_MS)


def test_an_address_that_does_not_fit_is_said_and_not_saved(qtbot, open_dialog) -> None:
    opened = open_dialog()
    widgets = Widgets(opened.section("assistant"))
    qtbot.keyClick(widgets.preset, Qt.Key.Key_Down)
    opened.wait_saved(LLM_BASE_URL, OLLAMA.base_url)
    for typed in ("localhost:11434", "http://127.0.0.1:11434/v1?key=1", "ftp://example.org/v1"):
        _type_into(qtbot, widgets.address, typed)
        qtbot.waitUntil(lambda: widgets.problem() != "", timeout=WAIT_MS)
        assert "llm.base_url" in widgets.problem() and "http:// or https://" in widgets.problem()
        assert widgets.address.text() == OLLAMA.base_url  # the value in use, shown again
        assert widgets.preset.currentText() == OLLAMA.title
        assert opened.saved(LLM_BASE_URL) == OLLAMA.base_url
        _type_into(qtbot, widgets.address, str(OLLAMA.base_url))  # unchanged: nothing to save, nothing said
        widgets.section.report(None)


# -- listing the models -------------------------------------------------------------------------------


def test_list_models_fills_the_list_asking_with_the_stored_key(
    qtbot, open_dialog, store: SqlConversationStore, server: OpenAIServer, system_keychain: KeyringSession
) -> None:
    _store_key(store, "work", KEY, server.base_url)
    opened = open_dialog()
    widgets = Widgets(opened.section("assistant"))
    # The stored keys are read on a worker; "No key" comes first.
    qtbot.waitUntil(lambda: widgets.items(widgets.key) == ["No key", "work"], timeout=WAIT_MS)
    _type_into(qtbot, widgets.address, server.base_url)
    opened.wait_saved(LLM_BASE_URL, server.base_url)
    assert widgets.preset.currentText() == OTHER.title + "…"
    _choose_from_popup(qtbot, widgets.key, "work")
    opened.wait_saved(LLM_KEY_NAME, "work")
    click(qtbot, widgets.list_models)
    qtbot.waitUntil(lambda: widgets.items(widgets.model) == LISTED, timeout=WAIT_MS)
    assert server.requests[-1].path == "/v1/models" and server.requests[-1].authorization == f"Bearer {KEY}"
    assert widgets.listing.text() == "3 models at " + server.base_url + ": choose one from the list."
    assert widgets.problem() == "" and widgets.list_models.text() == LIST_MODELS
    assert widgets.model_text.text() == ""  # listing chose nothing
    # Choosing one from the list saves it; so does a name typed that the list does not have.
    _choose_from_popup(qtbot, widgets.model, "llama3.2")
    opened.wait_saved(LLM_MODEL, "llama3.2")
    widgets.model.setFocus()
    qtbot.keyClick(widgets.model, Qt.Key.Key_Down)
    opened.wait_saved(LLM_MODEL, "qwen2.5")
    _type_into(qtbot, widgets.model_text, "mistral-small")
    opened.wait_saved(LLM_MODEL, "mistral-small")
    # "No key" is saved as no key.
    _choose_from_popup(qtbot, widgets.key, "No key")
    opened.wait_saved(LLM_KEY_NAME, None)
    # Another server: this one's models are no longer offered; the name in use stays.
    _choose_from_popup(qtbot, widgets.preset, OLLAMA.title)
    opened.wait_saved(LLM_BASE_URL, OLLAMA.base_url)
    qtbot.waitUntil(lambda: widgets.items(widgets.model) == [] and widgets.listing.text() == "", timeout=WAIT_MS)
    assert widgets.model_text.text() == "mistral-small"


def test_a_rejected_key_or_a_key_for_another_server_is_said_without_the_key(
    qtbot, open_dialog, store: SqlConversationStore, server: OpenAIServer, system_keychain: KeyringSession
) -> None:
    wrong = "sk-wrong-0011223344556677"
    _store_key(store, "old", wrong, server.base_url)
    _store_key(store, "cloud", KEY, "https://api.openai.com/v1")
    opened = open_dialog()
    widgets = Widgets(opened.section("assistant"))
    qtbot.waitUntil(lambda: widgets.items(widgets.key) == ["No key", "cloud", "old"], timeout=WAIT_MS)
    _type_into(qtbot, widgets.address, server.base_url)
    _choose_from_popup(qtbot, widgets.key, "old")
    click(qtbot, widgets.list_models)
    qtbot.waitUntil(lambda: "rejected the API key" in widgets.listing.text(), timeout=WAIT_MS)
    assert wrong not in widgets.listing.text() and server.requests[-1].authorization == f"Bearer {wrong}"
    assert widgets.list_models.isEnabled() and widgets.list_models.text() == LIST_MODELS
    # A key for OpenAI is not sent to this server at all.
    asked = len(server.requests)
    _choose_from_popup(qtbot, widgets.key, "cloud")
    click(qtbot, widgets.list_models)
    qtbot.waitUntil(lambda: "is for https://api.openai.com/v1" in widgets.listing.text(), timeout=WAIT_MS)
    assert len(server.requests) == asked and KEY not in widgets.listing.text()


def test_a_server_that_is_down_or_wants_a_key_is_said(qtbot, open_dialog, server: OpenAIServer) -> None:
    opened = open_dialog()
    widgets = Widgets(opened.section("assistant"))
    _type_into(qtbot, widgets.address, f"http://127.0.0.1:{_free_port()}/v1")
    click(qtbot, widgets.list_models)
    qtbot.waitUntil(lambda: "cannot be reached" in widgets.listing.text(), timeout=WAIT_MS)
    assert "connection refused" in widgets.listing.text()
    assert widgets.list_models.isEnabled() and widgets.items(widgets.model) == []
    _type_into(qtbot, widgets.address, server.base_url)  # wants a key, and none is chosen
    click(qtbot, widgets.list_models)
    qtbot.waitUntil(lambda: "asks for an API key" in widgets.listing.text(), timeout=WAIT_MS)
    # A server that answers makes the last problem go away.
    with OpenAIServer.start(models=MODELS) as open_server:
        _type_into(qtbot, widgets.address, open_server.base_url)
        click(qtbot, widgets.list_models)
        qtbot.waitUntil(lambda: widgets.items(widgets.model) == LISTED, timeout=WAIT_MS)
        assert widgets.listing.text().startswith("3 models at")


def test_the_window_keeps_turning_while_a_slow_server_lists(qtbot, open_dialog) -> None:
    with OpenAIServer.start(models=MODELS, models_delay=2) as slow:
        opened = open_dialog()
        widgets = Widgets(opened.section("assistant"))
        _type_into(qtbot, widgets.address, slow.base_url)
        opened.wait_saved(LLM_BASE_URL, slow.base_url)
        ticks = Ticks()
        ticks.phase("listing")
        try:
            click(qtbot, widgets.list_models)
            assert widgets.list_models.text() == LISTING and not widgets.list_models.isEnabled()
            # The rest of the section stays usable meanwhile: a model name typed is saved.
            _type_into(qtbot, widgets.model_text, "typed-while-listing")
            opened.wait_saved(LLM_MODEL, "typed-while-listing")
            assert widgets.list_models.text() == LISTING
            qtbot.waitUntil(lambda: widgets.items(widgets.model) == LISTED, timeout=WAIT_MS)
        finally:
            ticks.stop()
        assert widgets.list_models.text() == LIST_MODELS and widgets.list_models.isEnabled()
        assert widgets.model_text.text() == "typed-while-listing"  # what was typed stays
    gaps = ticks.phases["listing"]
    print(f"longest gap between {TICK_MS} ms ticks while listing: {gaps.longest_ms:.1f} ms ({gaps.ticks} ticks)")
    assert gaps.ticks > 100  # two seconds of ticks: the wait was measured
    assert gaps.longest_ms < LONGEST_GAP_MS


def test_offline_mode_disables_list_models_and_says_why(qtbot, open_dialog, server: OpenAIServer) -> None:
    opened = open_dialog()
    widgets = Widgets(opened.section("assistant"))
    note = widgets.listing
    assert not widgets.list_models.isEnabled()  # no server yet: nothing to ask
    _type_into(qtbot, widgets.address, server.base_url)
    qtbot.waitUntil(widgets.list_models.isEnabled, timeout=WAIT_MS)
    click(qtbot, widgets.offline)
    opened.wait_saved(NETWORK_OFFLINE, True)
    qtbot.waitUntil(lambda: not widgets.list_models.isEnabled(), timeout=WAIT_MS)
    assert note.text() == OFFLINE_NOTE and widgets.offline.isChecked()
    click(qtbot, widgets.offline)
    opened.wait_saved(NETWORK_OFFLINE, False)
    qtbot.waitUntil(widgets.list_models.isEnabled, timeout=WAIT_MS)
    assert note.text() == ""


# -- prompt, budget, timeout --------------------------------------------------------------------------


def test_the_system_prompt_is_saved_and_reset(qtbot, open_dialog) -> None:
    opened = open_dialog()
    widgets = Widgets(opened.section("assistant"))
    assert widgets.prompt.toPlainText() == LLM_SYSTEM_PROMPT.default
    qtbot.mouseClick(widgets.prompt.viewport(), Qt.MouseButton.LeftButton)
    qtbot.keyClick(widgets.prompt, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(widgets.prompt, "Answer like a pirate.")
    qtbot.keyClick(widgets.prompt, Qt.Key.Key_Return)
    qtbot.keyClicks(widgets.prompt, "Keep it short.")
    assert opened.saved(LLM_SYSTEM_PROMPT) == LLM_SYSTEM_PROMPT.default  # not at every key
    click(qtbot, widgets.save_prompt)
    opened.wait_saved(LLM_SYSTEM_PROMPT, "Answer like a pirate.\nKeep it short.")
    # Leaving the field (Tab) saves it too.
    qtbot.mouseClick(widgets.prompt.viewport(), Qt.MouseButton.LeftButton)
    qtbot.keyClick(widgets.prompt, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(widgets.prompt, " Arr.")
    qtbot.keyClick(widgets.prompt, Qt.Key.Key_Tab)
    opened.wait_saved(LLM_SYSTEM_PROMPT, "Answer like a pirate.\nKeep it short. Arr.")
    click(qtbot, widgets.reset_prompt)
    opened.wait_saved(LLM_SYSTEM_PROMPT, LLM_SYSTEM_PROMPT.default)
    qtbot.waitUntil(lambda: widgets.prompt.toPlainText() == LLM_SYSTEM_PROMPT.default, timeout=WAIT_MS)


def test_a_prompt_that_is_only_spaces_is_said_and_not_saved(qtbot, open_dialog) -> None:
    opened = open_dialog()
    widgets = Widgets(opened.section("assistant"))
    qtbot.mouseClick(widgets.prompt.viewport(), Qt.MouseButton.LeftButton)
    qtbot.keyClick(widgets.prompt, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(widgets.prompt, "   ")
    click(qtbot, widgets.save_prompt)
    qtbot.waitUntil(lambda: "llm.system_prompt was not changed" in widgets.problem(), timeout=WAIT_MS)
    assert widgets.prompt.toPlainText() == LLM_SYSTEM_PROMPT.default
    assert opened.saved(LLM_SYSTEM_PROMPT) == LLM_SYSTEM_PROMPT.default


def test_the_context_budget_and_timeout_are_saved(qtbot, open_dialog) -> None:
    opened = open_dialog()
    widgets = Widgets(opened.section("assistant"))
    assert widgets.context_tokens.value() == LLM_CONTEXT_TOKENS.default
    assert widgets.context_tokens.maximum() == LLM_CONTEXT_TOKENS.maximum
    for spin, typed in ((widgets.context_tokens, "8000"), (widgets.timeout, "90")):
        qtbot.mouseClick(spin, Qt.MouseButton.LeftButton)
        qtbot.keyClick(spin, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
        qtbot.keyClicks(spin, typed)
        qtbot.keyClick(spin, Qt.Key.Key_Return)
    opened.wait_saved(LLM_CONTEXT_TOKENS, 8000)
    opened.wait_saved(LLM_TIMEOUT_SECONDS, 90.0)
    # A step with the arrow key is saved when the field is left.
    widgets.context_tokens.setFocus()
    qtbot.keyClick(widgets.context_tokens, Qt.Key.Key_Up)
    assert opened.saved(LLM_CONTEXT_TOKENS) == 8000
    qtbot.keyClick(widgets.context_tokens, Qt.Key.Key_Tab)
    opened.wait_saved(LLM_CONTEXT_TOKENS, 8500)


# -- changes made elsewhere ---------------------------------------------------------------------------


def test_a_change_made_by_another_process_shows_in_the_widgets(qtbot, open_dialog, data_dir: Path) -> None:
    opened = open_dialog()
    widgets = Widgets(opened.section("assistant"))
    opened.settings.watch(interval=0.05)
    cli = Settings(opened.paths.settings_file)
    cli.set(LLM_BASE_URL, "http://localhost:1234/v1")
    qtbot.waitUntil(lambda: widgets.address.text() == "http://localhost:1234/v1", timeout=WAIT_MS)
    assert widgets.preset.currentText() == LM_STUDIO.title
    cli.set(LLM_MODEL, "qwen2.5-7b-instruct")
    qtbot.waitUntil(lambda: widgets.model_text.text() == "qwen2.5-7b-instruct", timeout=WAIT_MS)
    cli.set(LLM_KEY_NAME, "gone")  # a key the ledger does not have: said as such, not as "No key"
    qtbot.waitUntil(lambda: widgets.key.currentText() == "gone (not stored)", timeout=WAIT_MS)
    cli.set(NETWORK_OFFLINE, True)
    qtbot.waitUntil(lambda: widgets.offline.isChecked() and not widgets.list_models.isEnabled(), timeout=WAIT_MS)
    cli.set(LLM_SYSTEM_PROMPT, "Be brief.")
    qtbot.waitUntil(lambda: widgets.prompt.toPlainText() == "Be brief.", timeout=WAIT_MS)
    cli.update({LLM_CONTEXT_TOKENS.key: 12000, LLM_TIMEOUT_SECONDS.key: 45.0})
    qtbot.waitUntil(
        lambda: widgets.context_tokens.value() == 12000 and widgets.timeout.value() == 45.0, timeout=WAIT_MS
    )
    cli.set(LLM_BASE_URL, "https://example.net/v1")
    qtbot.waitUntil(lambda: widgets.preset.currentText() == OTHER.title + "…", timeout=WAIT_MS)
    assert widgets.problem() == ""


# -- the way to the keys ------------------------------------------------------------------------------


class KeysSection(Section):
    """The dialog's Keys section, as far as this section knows it: its name."""

    name = "keys"
    title = "Keys"


def test_manage_keys_opens_the_keys_section(qtbot, store: SqlConversationStore, data_dir: Path) -> None:
    opened = OpenSettings(qtbot, store, data_dir, (AssistantSection, KeysSection))
    try:
        section = opened.section("assistant")
        manage = child(section, QPushButton, "manage_keys")
        assert manage.isVisible() and manage.text().replace("&", "") == "Manage keys in Keys"
        click(qtbot, manage)
        assert opened.dialog.section_list.currentItem().text() == "Keys"
    finally:
        opened.close()


def test_presets_match_addresses_written_any_equivalent_way() -> None:
    assert preset_for(None) is BUILT_IN and preset_for("  ") is BUILT_IN
    assert preset_for("http://127.0.0.1:11434/v1") is OLLAMA
    assert preset_for("HTTP://LOCALHOST:11434/v1/") is OLLAMA
    assert preset_for("http://[::1]:1234/v1") is LM_STUDIO
    assert preset_for("https://api.openai.com:443/v1") is OPENAI
    assert preset_for("http://api.openai.com/v1") is OTHER  # not the same server: unencrypted
    assert preset_for("http://127.0.0.1:11434") is OTHER  # not the API root
    assert preset_for("http://192.168.1.5:8080/v1") is OTHER
