"""The key-store port: API keys live only in the OS keychain; the database keeps a name, a fingerprint and
the limits, never the secret."""

from __future__ import annotations

import hashlib
from typing import Protocol

# The keychain "service" every secret is filed under, so the user can find (and remove) them in their
# keychain manager.
KEYCHAIN_SERVICE = "voice-assistant"


def fingerprint(secret: str) -> str:
    """A short, non-reversible tag to tell keys apart in lists ("sk-…3f9a" style, but not leaking)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()[:12]


class KeyStore(Protocol):
    """Secrets by reference name. Raises AppError(KEYCHAIN_UNAVAILABLE) with advice when no keychain can be
    reached, NotFoundError(KEY_NOT_FOUND) for an unknown reference."""

    def set_secret(self, ref: str, secret: str) -> None: ...

    def get_secret(self, ref: str) -> str: ...

    def delete_secret(self, ref: str) -> None: ...

    def check(self) -> None:
        """Raises AppError(KEYCHAIN_UNAVAILABLE) when the keychain cannot be used right now."""
        ...
