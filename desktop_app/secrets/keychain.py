"""API keys in the operating system's keychain, through `keyring`: the Secret Service (GNOME Keyring, KWallet)
on Linux, the login Keychain on macOS, the Credential Manager on Windows.

Each secret is filed under the service `KEYCHAIN_SERVICE` with the key's reference name as the user name, so
people find (and can remove) them in their own keychain manager. The backend is chosen explicitly, never by
keyring's automatic choice, which can fall onto a file-based chain that waits on a password prompt in the
terminal. No secret is ever logged or put into a message.
"""

from __future__ import annotations

import logging
import sys
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager

from keyring.backend import KeyringBackend
from keyring.errors import KeyringError, KeyringLocked, NoKeyringError, PasswordDeleteError

from desktop_app.core.errors import AppError, ErrorCode, NotFoundError, ValidationError
from desktop_app.core.keys import KEYCHAIN_SERVICE

log = logging.getLogger(__name__)

MAX_SECRET_LENGTH = 4096
MAX_REF_LENGTH = 200
# The reference check() looks up: finding nothing under it is the expected answer.
_PROBE_REF = "voice-assistant-keychain-check"
_NO_KEY_ALTERNATIVE = "or use a local model server that needs no key."


class NoDefaultKeyring(KeyringError):
    """The keychain has no default keyring, and making one was refused or could not be asked for."""


if sys.platform == "linux":
    import secretstorage
    from jeepney.wrappers import DBusErrorResponse
    from keyring.backends import SecretService
    from secretstorage.exceptions import LockedException, PromptDismissedException, SecretStorageException

    class SecretServiceKeyring(SecretService.Keyring):
        """keyring's Secret Service backend, but it closes its D-Bus connection when the default collection
        cannot be used (the library's own leaves it open then), and tells a missing default keyring apart."""

        def get_preferred_collection(self) -> secretstorage.Collection:
            connection = secretstorage.dbus_init()
            try:
                try:
                    # A collection named by keyring's `preferred_collection` property, else the default one
                    # (created, with the user's consent, when there is none).
                    path = getattr(self, "preferred_collection", None)
                    if path:
                        collection = secretstorage.Collection(connection, path)
                    else:
                        collection = secretstorage.get_default_collection(connection)
                except PromptDismissedException as exc:
                    # The default collection did not exist and the prompt to create one was dismissed.
                    raise NoDefaultKeyring("no default collection") from exc
                if collection.is_locked():
                    collection.unlock()
                    if collection.is_locked():
                        raise KeyringLocked("the default collection stayed locked")
            except BaseException:
                connection.close()
                raise
            return collection

    _LOCKED_ERRORS: tuple[type[Exception], ...] = (KeyringLocked, LockedException, PromptDismissedException)
    _DBUS_ERRORS: tuple[type[Exception], ...] = (DBusErrorResponse,)
    _UNREACHABLE_ERRORS: tuple[type[Exception], ...] = (SecretStorageException,)
    _NOT_AVAILABLE = (
        "The system keychain is not available (no Secret Service on the session bus). Start your desktop's "
        f"keyring (GNOME Keyring or KWallet), {_NO_KEY_ALTERNATIVE}"
    )
    _LOCKED = (
        "The system keychain is locked and was not unlocked. Unlock it (your desktop's keyring asks for your "
        f"login password) and try again, {_NO_KEY_ALTERNATIVE}"
    )
    _NO_DEFAULT = (
        "The system keychain has no default keyring, and none could be created. Create one in your desktop's "
        f"password manager (Passwords and Keys, or KWallet) and make it the default, {_NO_KEY_ALTERNATIVE}"
    )
elif sys.platform == "darwin":
    _LOCKED_ERRORS = (KeyringLocked,)
    _DBUS_ERRORS = ()
    _UNREACHABLE_ERRORS = ()
    _NOT_AVAILABLE = (
        "The macOS keychain is not available. Open Keychain Access and check that your login keychain exists "
        f"and is unlocked, {_NO_KEY_ALTERNATIVE}"
    )
    _LOCKED = f"The macOS login keychain is locked. Unlock it in Keychain Access and try again, {_NO_KEY_ALTERNATIVE}"
    _NO_DEFAULT = _NOT_AVAILABLE
elif sys.platform == "win32":
    _LOCKED_ERRORS = (KeyringLocked,)
    _DBUS_ERRORS = ()
    _UNREACHABLE_ERRORS = ()
    _NOT_AVAILABLE = (
        "The Windows Credential Manager is not available. Sign in with your own account (not a temporary "
        f"profile) and try again, {_NO_KEY_ALTERNATIVE}"
    )
    _LOCKED = f"The Windows Credential Manager is locked. Sign in again and retry, {_NO_KEY_ALTERNATIVE}"
    _NO_DEFAULT = _NOT_AVAILABLE
else:
    _LOCKED_ERRORS = (KeyringLocked,)
    _DBUS_ERRORS = ()
    _UNREACHABLE_ERRORS = ()
    _NOT_AVAILABLE = (
        "This system has no keychain the app can use, so it cannot keep an API key. Use a local model server "
        "that needs no key."
    )
    _LOCKED = _NO_DEFAULT = _NOT_AVAILABLE

# Failures of the keychain itself (as opposed to a programming error, which propagates): keyring's own errors,
# a missing or refused socket, a backend that reports itself unusable (RuntimeError from its priority), and the
# Secret Service client's errors on Linux.
_BACKEND_ERRORS: tuple[type[Exception], ...] = (
    KeyringError,
    OSError,
    RuntimeError,
    *_LOCKED_ERRORS,
    *_DBUS_ERRORS,
    *_UNREACHABLE_ERRORS,
)


def system_backend() -> KeyringBackend:
    """The keychain of this operating system, chosen explicitly."""
    backend: type[KeyringBackend]
    if sys.platform == "darwin":
        from keyring.backends import macOS

        backend = macOS.Keyring
    elif sys.platform == "win32":
        from keyring.backends import Windows

        backend = Windows.WinVaultKeyring
    elif sys.platform == "linux":
        backend = SecretServiceKeyring
    else:
        # No keychain that keyring supports here: every operation raises NoKeyringError.
        from keyring.backends import fail

        backend = fail.Keyring
    return backend()  # type: ignore[no-untyped-call]  # keyring's constructors carry no annotations


def _unavailable(operation: str, exc: Exception) -> AppError:
    """The KEYCHAIN_UNAVAILABLE error for a backend failure, with advice that fits its cause."""
    if isinstance(exc, NoDefaultKeyring):
        message = _NO_DEFAULT
    elif isinstance(exc, _LOCKED_ERRORS):
        message = _LOCKED
    elif isinstance(exc, _DBUS_ERRORS):
        name = getattr(exc, "name", None) or "unknown D-Bus error"
        message = (
            f"The system keychain refused the request ({name}). Check that your desktop's keyring is running "
            f"and unlocked, {_NO_KEY_ALTERNATIVE}"
        )
    else:
        message = _NOT_AVAILABLE
    # The type only: a backend's own text never carries the secret, but nothing from it is needed here either.
    log.warning("keychain %s failed: %s", operation, type(exc).__name__)
    return AppError(ErrorCode.KEYCHAIN_UNAVAILABLE, message)


def _has_control_character(text: str) -> bool:
    return any(unicodedata.category(char) == "Cc" for char in text)


def _validate_ref(ref: object) -> str:
    if not isinstance(ref, str) or not ref.strip():
        raise ValidationError(ErrorCode.INVALID_KEY, "A key needs a name: give it a short one, like 'openai'.")
    if ref != ref.strip():
        raise ValidationError(ErrorCode.INVALID_KEY, "A key's name cannot start or end with a space.")
    if _has_control_character(ref):
        raise ValidationError(
            ErrorCode.INVALID_KEY, "A key's name cannot contain a line break or another control character."
        )
    if len(ref) > MAX_REF_LENGTH:
        raise ValidationError(
            ErrorCode.INVALID_KEY,
            f"A key's name can be at most {MAX_REF_LENGTH} characters long; this one has {len(ref)}.",
        )
    return ref


def _validate_secret(secret: object) -> str:
    if not isinstance(secret, str) or not secret.strip():
        raise ValidationError(ErrorCode.INVALID_KEY, "The key is empty. Paste the API key from your provider.")
    if _has_control_character(secret):
        raise ValidationError(
            ErrorCode.INVALID_KEY,
            "The key contains a line break or another control character. Paste the key alone, on one line.",
        )
    if secret != secret.strip():
        raise ValidationError(
            ErrorCode.INVALID_KEY, "The key starts or ends with a space. Paste the key alone, without spaces."
        )
    if len(secret) > MAX_SECRET_LENGTH:
        raise ValidationError(
            ErrorCode.INVALID_KEY,
            f"The key is {len(secret)} characters long; API keys are at most {MAX_SECRET_LENGTH}. "
            "Check that you pasted only the key.",
        )
    return secret


class KeychainKeyStore:
    """The KeyStore port on the system keychain. `backend` defaults to this system's keychain
    (`system_backend()`); any keyring backend can be given instead."""

    def __init__(self, backend: KeyringBackend | None = None, *, service: str = KEYCHAIN_SERVICE) -> None:
        self._backend = backend if backend is not None else system_backend()
        self._service = service

    @property
    def backend(self) -> KeyringBackend:
        return self._backend

    @contextmanager
    def _keychain(self, operation: str) -> Iterator[None]:
        try:
            yield
        except _BACKEND_ERRORS as exc:
            raise _unavailable(operation, exc) from exc

    def set_secret(self, ref: str, secret: str) -> None:
        """Stores the secret under `ref`, replacing any secret stored under it before."""
        ref = _validate_ref(ref)
        secret = _validate_secret(secret)
        with self._keychain("set"):
            self._backend.set_password(self._service, ref, secret)
        log.info("key %r stored in the keychain", ref)

    def get_secret(self, ref: str) -> str:
        ref = _validate_ref(ref)
        with self._keychain("get"):
            secret = self._backend.get_password(self._service, ref)
        if secret is None:
            raise NotFoundError(
                ErrorCode.KEY_NOT_FOUND,
                f"No key named {ref!r} is in the system keychain. Add the key again.",
            )
        return secret

    def delete_secret(self, ref: str) -> None:
        ref = _validate_ref(ref)
        with self._keychain("delete"):
            try:
                self._backend.delete_password(self._service, ref)
            except PasswordDeleteError:
                # Every backend reports a missing entry this way.
                raise NotFoundError(
                    ErrorCode.KEY_NOT_FOUND, f"No key named {ref!r} is in the system keychain; nothing was removed."
                ) from None
        log.info("key %r removed from the keychain", ref)

    def check(self) -> None:
        """Asks the backend whether it can work here (its priority), then makes one lookup, which also finds a
        locked keychain (the desktop may ask the user to unlock it)."""
        with self._keychain("check"):
            if self._backend.priority <= 0:
                raise NoKeyringError(f"{type(self._backend).__name__} is not a usable keychain")
            self._backend.get_password(self._service, _PROBE_REF)
