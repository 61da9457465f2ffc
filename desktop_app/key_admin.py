"""API-key management, shared by `voice-assistant keys` and Settings > Keys: add, replace, remove a key, change
its limits, list the keys with today's usage, and try a key against its server.

The secret goes to the system keychain only; the ledger (`store.keys`) keeps the name, the fingerprint, the
limits and the usage. Nothing is ever half-stored: a keychain write whose ledger write fails is undone, and a
keychain that cannot be reached stops the change before the ledger is touched. No secret is put into a
message, a log line or an audit entry. The keychain is opened (`open_keychain()`) only once the input has been
checked, so bad input is refused without waiting on D-Bus."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from desktop_app.core.brain.language_model import check_key_destination, usage_window
from desktop_app.core.brain.skill import local_now
from desktop_app.core.errors import AppError, ErrorCode, NotFoundError, ValidationError
from desktop_app.core.keys import KeyStore, fingerprint
from desktop_app.core.models import ApiKeyInfo, KeyUsage
from desktop_app.core.ports import AppStore
from desktop_app.core.validation import MAX_INTEGER, is_web_address, whole_number
from desktop_app.storage.keys import check_limit, clean_key_name

OpenKeychain = Callable[[], KeyStore]

DEFAULT_PROVIDER = "openai-compatible"
# How long trying a key waits for its server's list of models.
TRY_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class KeyRow:
    """A stored key with its use so far: requests in the last minute, tokens since local midnight."""

    info: ApiKeyInfo
    usage: KeyUsage


def keychain_ref(name: str) -> str:
    """The name a key's secret is filed under in the keychain."""
    return f"api-key:{name}"


def check_name(name: str) -> str:
    """The key's name as stored (spaces collapsed); ValidationError for an empty or too long name
    (invalid_argument) or one with a control character (invalid_key, as the keychain says it)."""
    clean = clean_key_name(name)
    if any(unicodedata.category(char) == "Cc" for char in clean):
        raise ValidationError(
            ErrorCode.INVALID_KEY, "A key's name cannot contain a line break or another control character."
        )
    return clean


def check_secret(secret: str) -> str:
    """The secret without the spaces around it; ValidationError (invalid_key) when it is empty or does not look
    like an API key (keys are printable ASCII without spaces)."""
    clean = secret.strip()
    if not clean:
        raise ValidationError(ErrorCode.INVALID_KEY, "The key is empty. Paste the API key from your provider.")
    if not (clean.isascii() and clean.isprintable()) or " " in clean:
        raise ValidationError(
            ErrorCode.INVALID_KEY,
            "That does not look like an API key: keys are letters, digits and symbols, without spaces or "
            "accented letters. Copy the key again from your provider.",
        )
    return clean


def check_base_url(text: str) -> str | None:
    """A key's server address (None when empty); ValidationError for one that is not an http(s) address."""
    address = text.strip().rstrip("/")
    if not address:
        return None
    if not is_web_address(address, query=False):
        raise ValidationError(
            ErrorCode.INVALID_ARGUMENT,
            "The server address must be an http:// or https:// address without spaces, e.g. https://api.openai.com/v1.",
        )
    return address


def parse_limit(text: str, what: str) -> int | None:
    """A limit as typed in a form: empty or 0 is no limit, else a whole number up to what the database holds."""
    if not text.strip():
        return None
    try:
        value = whole_number(text, minimum=0, maximum=MAX_INTEGER)
    except ValueError as error:
        raise ValidationError(ErrorCode.INVALID_ARGUMENT, f"The {what} limit {error} (0 or empty: no limit).") from None
    return value or None


def _refuse_existing(store: AppStore, name: str) -> None:
    try:
        store.keys.get_key(name)
    except AppError as missing:
        if missing.code is not ErrorCode.KEY_NOT_FOUND:
            raise
    else:
        raise ValidationError(ErrorCode.KEY_EXISTS, f"A key named {name!r} is already stored. Remove it first.")


def add_key(
    store: AppStore,
    open_keychain: OpenKeychain,
    name: str,
    secret: str,
    *,
    provider: str = DEFAULT_PROVIDER,
    base_url: str | None = None,
    requests_per_minute: int | None = None,
    tokens_per_day: int | None = None,
) -> ApiKeyInfo:
    """Stores the secret in the keychain, then its record in the ledger (the keychain write is undone when
    the ledger refuses it), and notes it in the audit log."""
    name = check_name(name)
    secret = check_secret(secret)
    per_minute = check_limit(requests_per_minute, "requests-per-minute")
    per_day = check_limit(tokens_per_day, "tokens-per-day")
    _refuse_existing(store, name)
    keychain = open_keychain()
    ref = keychain_ref(name)
    keychain.set_secret(ref, secret)
    try:
        info = store.keys.add_key(
            name,
            provider,
            base_url,
            ref,
            fingerprint(secret),
            requests_per_minute=per_minute,
            tokens_per_day=per_day,
        )
    except BaseException:
        keychain.delete_secret(ref)  # nothing half-stored: no secret without its record
        raise
    store.record_audit("api_key_added", name, {"provider": provider, "fingerprint": info.fingerprint})
    return info


def replace_secret(store: AppStore, open_keychain: OpenKeychain, name: str, secret: str) -> ApiKeyInfo:
    """A new secret for a stored key: the keychain first, then the ledger's fingerprint (the secret before
    is put back when the ledger refuses it). The limits and the usage stay."""
    name = clean_key_name(name)
    secret = check_secret(secret)
    before = store.keys.get_key(name)
    keychain = open_keychain()
    try:
        previous: str | None = keychain.get_secret(before.keychain_ref)
    except NotFoundError:
        previous = None  # gone from the keychain (removed by hand): the new secret fills the gap
    keychain.set_secret(before.keychain_ref, secret)
    try:
        info = store.keys.set_fingerprint(name, fingerprint(secret))
    except BaseException:
        if previous is None:
            keychain.delete_secret(before.keychain_ref)
        else:
            keychain.set_secret(before.keychain_ref, previous)
        raise
    store.record_audit(
        "api_key_replaced", name, {"fingerprint": info.fingerprint, "previous_fingerprint": before.fingerprint}
    )
    return info


def remove_key(store: AppStore, open_keychain: OpenKeychain, name: str) -> None:
    """Removes the secret from the keychain (one already gone from it is fine), then the key's record."""
    info = store.keys.get_key(clean_key_name(name))
    try:
        open_keychain().delete_secret(info.keychain_ref)
    except AppError as error:
        if error.code is not ErrorCode.KEY_NOT_FOUND:  # already gone from the keychain: still forget it
            raise
    store.keys.delete_key(info.name)
    store.record_audit("api_key_removed", info.name)


def set_limits(store: AppStore, name: str, requests_per_minute: int | None, tokens_per_day: int | None) -> ApiKeyInfo:
    """Changes a key's limits (None: no limit) and notes it in the audit log."""
    info = store.keys.set_limits(clean_key_name(name), requests_per_minute, tokens_per_day)
    store.record_audit("api_key_limits", info.name, {"rpm": requests_per_minute, "tokens_per_day": tokens_per_day})
    return info


def list_keys(store: AppStore, now: datetime | None = None) -> list[KeyRow]:
    """Every stored key, by name, with its requests in the last minute and its tokens today."""
    moment, day_start = usage_window(local_now() if now is None else now)
    return [KeyRow(info, store.keys.usage(info.id, moment, day_start)) for info in store.keys.list_keys()]


def try_key(
    store: AppStore, open_keychain: OpenKeychain, name: str, *, offline: bool = False, timeout: float = TRY_TIMEOUT_S
) -> list[str]:
    """Asks the key's own server for its list of models with the key (the cheapest request that tells whether
    the key works) and returns the names; AppError (LLM_*, KEY_*, OFFLINE_MODE) saying why not."""
    from desktop_app.llm.server_models import list_models

    if offline:
        raise AppError(
            ErrorCode.OFFLINE_MODE,
            "Offline mode is on, so no key is tested. Turn it off to test the key: "
            "voice-assistant settings set network.offline false.",
        )
    info = store.keys.get_key(clean_key_name(name))
    if not info.base_url:
        raise ValidationError(
            ErrorCode.INVALID_ARGUMENT,
            f"The key {info.name!r} has no server address, so it cannot be tested. Remove it and add it again "
            "with its server's address.",
        )
    check_key_destination(info, info.base_url)  # never sent unencrypted over the network
    secret = open_keychain().get_secret(info.keychain_ref)
    return list_models(info.base_url, secret, timeout=timeout)
