"""API keys in the system keychain, against a real GNOME Keyring on a private D-Bus session bus
(tests/keyring_session.py): no mocks, the same Secret Service a Linux desktop gives the app."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import start_or_fail
from keyring.backends import fail
from keyring_session import KeyringSession

from desktop_app.core.errors import AppError, ErrorCode, NotFoundError, ValidationError
from desktop_app.core.keys import KEYCHAIN_SERVICE, KeyStore
from desktop_app.secrets.keychain import MAX_SECRET_LENGTH, KeychainKeyStore, SecretServiceKeyring

SECRET = "sk-test-5f0c2d9e8b7a4c31a6e2f9d08b1c7e44"
# A keychain that cannot be had must say so at once, never hang: a generous bound, not a benchmark.
NO_HANG_SECONDS = 5.0


@pytest.fixture
def private_keychain(monkeypatch: pytest.MonkeyPatch) -> Iterator[KeyringSession]:
    """A keychain of this test's own, for tests that lock or restart it."""
    session = start_or_fail(KeyringSession.start)
    try:
        for name, value in session.variables.items():
            monkeypatch.setenv(name, value)
        yield session
    finally:
        session.stop()


@pytest.fixture
def store() -> KeychainKeyStore:
    return KeychainKeyStore()


def _lookup(session: KeyringSession, ref: str) -> subprocess.CompletedProcess[str]:
    return session.secret_tool("lookup", "service", KEYCHAIN_SERVICE, "username", ref)


def _unavailable(call: Callable[[], object]) -> AppError:
    started = time.monotonic()
    with pytest.raises(AppError) as caught:
        call()
    assert time.monotonic() - started < NO_HANG_SECONDS
    assert caught.value.code is ErrorCode.KEYCHAIN_UNAVAILABLE
    return caught.value


def _all_operations(store: KeychainKeyStore) -> dict[str, Callable[[], object]]:
    return {
        "set": lambda: store.set_secret("openai", SECRET),
        "get": lambda: store.get_secret("openai"),
        "delete": lambda: store.delete_secret("openai"),
        "check": store.check,
    }


def test_the_keychain_store_implements_every_method_of_the_port() -> None:
    port_methods = {name for name in dir(KeyStore) if not name.startswith("_")}
    assert port_methods <= set(dir(KeychainKeyStore))


def test_set_get_delete_round_trip(system_keychain: KeyringSession, store: KeychainKeyStore) -> None:
    store.check()
    store.set_secret("openai", SECRET)
    assert store.get_secret("openai") == SECRET

    store.delete_secret("openai")

    with pytest.raises(NotFoundError) as caught:
        store.get_secret("openai")
    assert caught.value.code is ErrorCode.KEY_NOT_FOUND
    assert _lookup(system_keychain, "openai").stdout == ""


def test_setting_again_replaces_the_secret(system_keychain: KeyringSession, store: KeychainKeyStore) -> None:
    store.set_secret("openai", "sk-first")
    store.set_secret("openai", "sk-second")

    assert store.get_secret("openai") == "sk-second"
    assert system_keychain.count(KEYCHAIN_SERVICE, "openai") == 1


def test_secrets_are_kept_apart_by_reference(system_keychain: KeyringSession, store: KeychainKeyStore) -> None:
    store.set_secret("openai", "sk-one")
    store.set_secret("groq", "gsk-two")
    store.delete_secret("openai")

    assert store.get_secret("groq") == "gsk-two"


@pytest.mark.parametrize("operation", ["get", "delete"])
def test_an_unknown_reference_is_not_found(
    system_keychain: KeyringSession, store: KeychainKeyStore, operation: str
) -> None:
    with pytest.raises(NotFoundError) as caught:
        getattr(store, f"{operation}_secret")("never-stored")

    assert caught.value.code is ErrorCode.KEY_NOT_FOUND
    assert "never-stored" in caught.value.message


def test_the_secret_is_in_the_real_keychain(system_keychain: KeyringSession, store: KeychainKeyStore) -> None:
    store.set_secret("openai", SECRET)

    found = _lookup(system_keychain, "openai")

    assert (found.returncode, found.stdout) == (0, SECRET)


def test_a_secret_stored_by_another_program_is_read(system_keychain: KeyringSession, store: KeychainKeyStore) -> None:
    stored = system_keychain.secret_tool(
        "store", "--label=added by hand", "service", KEYCHAIN_SERVICE, "username", "by-hand", input=SECRET
    )
    assert stored.returncode == 0, stored.stderr

    assert store.get_secret("by-hand") == SECRET


def test_the_secret_is_not_on_disk_in_plain_text(system_keychain: KeyringSession, store: KeychainKeyStore) -> None:
    before = {path: path.read_bytes() for path in system_keychain.keyring_files()}

    store.set_secret("openai", SECRET)

    after = {path: path.read_bytes() for path in system_keychain.keyring_files()}
    assert after != before, "the keyring wrote nothing to disk"
    everything = [path for path in system_keychain.directory.rglob("*") if path.is_file()]
    assert any(path.name.endswith(".keyring") for path in everything)
    for path in everything:
        content = path.read_bytes()
        assert SECRET.encode() not in content, path
        assert SECRET.encode("utf-16-le") not in content, path


def test_another_process_reads_the_secret(system_keychain: KeyringSession, store: KeychainKeyStore) -> None:
    store.set_secret("openai", SECRET)
    code = (
        "from desktop_app.secrets.keychain import KeychainKeyStore\n"
        "store = KeychainKeyStore()\n"
        "print(store.get_secret('openai'), end='')\n"
        "store.set_secret('groq', 'gsk-from-the-child')\n"
    )

    child = subprocess.run(
        [sys.executable, "-c", code], env=system_keychain.env(), capture_output=True, text=True, timeout=60
    )

    assert child.returncode == 0, child.stderr
    assert child.stdout == SECRET
    assert store.get_secret("groq") == "gsk-from-the-child"


def test_the_secret_survives_a_restart_of_the_keyring(private_keychain: KeyringSession) -> None:
    KeychainKeyStore().set_secret("openai", SECRET)

    private_keychain.stop_keyring()
    _unavailable(KeychainKeyStore().check)
    private_keychain.start_keyring()

    assert KeychainKeyStore().get_secret("openai") == SECRET


def test_a_unicode_secret_round_trips(system_keychain: KeyringSession, store: KeychainKeyStore) -> None:
    secret = "ключ-🔑-密钥-ñ"
    store.set_secret("unicode", secret)

    assert store.get_secret("unicode") == secret
    assert _lookup(system_keychain, "unicode").stdout == secret


def test_the_longest_secret_allowed_round_trips(system_keychain: KeyringSession, store: KeychainKeyStore) -> None:
    secret = "k" * MAX_SECRET_LENGTH
    store.set_secret("long", secret)

    assert store.get_secret("long") == secret


@pytest.mark.parametrize(
    "secret",
    [
        "",
        "   ",
        "sk-abc\n",
        "sk-abc\r\ndef",
        "sk-abc\tdef",
        " sk-abc",
        "sk-abc ",
        "k" * (MAX_SECRET_LENGTH + 1),
    ],
    ids=["empty", "spaces", "newline", "crlf", "tab", "leading-space", "trailing-space", "too-long"],
)
def test_an_invalid_secret_is_refused_and_nothing_is_stored(
    system_keychain: KeyringSession, store: KeychainKeyStore, secret: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        store.set_secret("openai", secret)

    assert caught.value.code is ErrorCode.INVALID_KEY
    if secret.strip():
        assert secret.strip() not in caught.value.message
    assert system_keychain.count(KEYCHAIN_SERVICE, "openai") == 0


@pytest.mark.parametrize("ref", ["", "  ", "open\nai", " openai", "openai ", "r" * 201])
def test_an_invalid_reference_is_refused_and_nothing_is_stored(
    system_keychain: KeyringSession, store: KeychainKeyStore, ref: str
) -> None:
    for call in (
        lambda: store.set_secret(ref, SECRET),
        lambda: store.get_secret(ref),
        lambda: store.delete_secret(ref),
    ):
        with pytest.raises(ValidationError) as caught:
            call()
        assert caught.value.code is ErrorCode.INVALID_KEY
        assert SECRET not in caught.value.message
    assert system_keychain.count(KEYCHAIN_SERVICE, ref) == 0


@pytest.mark.parametrize("address", ["nowhere", None], ids=["address-to-nowhere", "no-address"])
def test_no_session_bus_means_the_keychain_is_unavailable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, address: str | None
) -> None:
    if address is None:
        monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    else:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path / 'no-bus-here'}")
    store = KeychainKeyStore()

    for operation, call in _all_operations(store).items():
        error = _unavailable(call)
        assert "Secret Service" in error.message, operation
        assert "GNOME Keyring or KWallet" in error.message
        assert "local model server" in error.message


def test_a_bus_without_a_keyring_means_the_keychain_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    bus_only = start_or_fail(lambda: KeyringSession.start(keyring=False))
    try:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", bus_only.address)
        for call in _all_operations(KeychainKeyStore()).values():
            assert "Start your desktop's keyring" in _unavailable(call).message
    finally:
        bus_only.stop()


def test_a_locked_keychain_is_unavailable_and_keeps_its_secrets(private_keychain: KeyringSession) -> None:
    store = KeychainKeyStore()
    store.set_secret("openai", SECRET)

    private_keychain.lock_all()

    for call in _all_operations(store).values():
        assert "locked" in _unavailable(call).message
    private_keychain.stop_keyring()
    private_keychain.start_keyring()  # unlocks it again with the login password
    assert store.get_secret("openai") == SECRET


def test_a_keychain_with_no_default_keyring_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    empty = start_or_fail(lambda: KeyringSession.start(login=False))
    try:
        for name, value in empty.variables.items():
            monkeypatch.setenv(name, value)
        for call in _all_operations(KeychainKeyStore()).values():
            assert "no default keyring" in _unavailable(call).message
    finally:
        empty.stop()


def test_a_failing_backend_is_reported_as_unavailable() -> None:
    store = KeychainKeyStore(backend=fail.Keyring())

    for call in _all_operations(store).values():
        _unavailable(call)


def test_the_backend_is_chosen_explicitly(system_keychain: KeyringSession, monkeypatch: pytest.MonkeyPatch) -> None:
    # keyring's own choice follows this variable (and installed plugins); the app's never does.
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")

    store = KeychainKeyStore()

    assert isinstance(store.backend, SecretServiceKeyring)
    store.set_secret("openai", SECRET)
    assert store.get_secret("openai") == SECRET


def test_the_secret_is_never_logged(
    system_keychain: KeyringSession, store: KeychainKeyStore, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.DEBUG)
    store.set_secret("openai", SECRET)
    store.get_secret("openai")
    store.delete_secret("openai")
    with pytest.raises(ValidationError):
        store.set_secret("openai", SECRET + "\n")

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path / 'no-bus-here'}")
        error = _unavailable(lambda: store.set_secret("openai", SECRET))

    assert SECRET not in error.message
    assert caplog.records, "nothing was logged"
    assert SECRET not in caplog.text
