"""Input checks shared by every store: bad input is refused before anything is written."""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from datetime import datetime
from enum import StrEnum
from typing import TypeVar
from urllib.parse import urlsplit

from desktop_app.core.errors import ErrorCode, ValidationError
from desktop_app.core.models import MAX_CONTENT_CHARS, MAX_FACT_CHARS, MAX_TITLE_CHARS, Role

E = TypeVar("E", bound=StrEnum)

# The largest whole number the database holds (SQLite INTEGER and PostgreSQL BIGINT are signed 64-bit):
# every id, offset and count from the command line is refused above it, before it reaches the store.
MAX_INTEGER = 2**63 - 1
# A stored API key's name ("openai"): the key list, the setting that chooses one and the store agree on it.
MAX_KEY_NAME_CHARS = 100

# Characters that show nothing though they are not whitespace (Unicode's Default_Ignorable_Code_Point
# outside the format category, and the blank fillers and pattern that stand for a space): with
# whitespace, control and format characters (zero-width spaces and joiners, the byte order mark, bidi
# controls, the soft hyphen), text made only of them is blank.
_INVISIBLE = frozenset(
    "\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180f\u2800\u3164\uffa0"
    + "".join(chr(code) for code in range(0xFE00, 0xFE10))
    + "".join(chr(code) for code in range(0xE0100, 0xE01F0))
)


def is_blank(text: str) -> bool:
    """True when `text` has nothing a person can see: it is empty, or only whitespace, control and format
    characters (zero-width spaces, joiners, byte order marks, bidi controls) and blank fillers. The one
    definition of an empty message, fact, title, key name or setting."""
    return all(char.isspace() or char in _INVISIBLE or unicodedata.category(char) in ("Cc", "Cf") for char in text)


def is_web_address(text: str, *, query: bool = True) -> bool:
    """An http:// or https:// address with a host (and, when given, a valid port), without spaces, control
    characters or a fragment; with `query` False, without a query either (an API root that paths are added
    to)."""
    if any(char.isspace() or unicodedata.category(char) == "Cc" for char in text):
        return False
    try:
        parts = urlsplit(text)
        _ = parts.port  # a port that is not a number from 0 to 65535 raises ValueError
    except ValueError:
        return False
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or "#" in text:
        return False
    return query or (not parts.query and "?" not in text)


def is_loopback_host(host: str | None) -> bool:
    """Whether a URL's host (as `urlsplit(url).hostname` gives it) is this computer: "localhost" (with or
    without the final dot, in any case) or a loopback address: 127.0.0.0/8, ::1, or a 127 address written as
    IPv4-mapped IPv6 (::ffff:127.0.0.1), with or without brackets. A name that merely resolves there
    ("127.0.0.1.nip.io", "localhost.example.com") is not: its address is up to whoever answers for the name.
    The one definition of a local server (plain http allowed for keys, no proxy, local hints)."""
    if not host:
        return False
    name = host.lower()
    if name in ("localhost", "localhost."):
        return True
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    try:
        address = ipaddress.ip_address(name)  # strict: "127.1" and "0177.0.0.1" are refused, not guessed
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback  # Python 3.11's is_loopback says False for these
    return address.is_loopback


def parse_choice(kind: type[E], value: str, what: str, code: ErrorCode = ErrorCode.INVALID_ARGUMENT) -> E:
    """One of an enumeration's values, or a clear error that lists them."""
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise ValidationError(code, f"Unknown {what} {value!r}; expected one of: {allowed}.") from None


def parse_role(role: str | Role) -> Role:
    return parse_choice(Role, role, "message role", ErrorCode.INVALID_ROLE)


def clean_content(content: str, *, limit: int = MAX_CONTENT_CHARS, what: str = "Message") -> str:
    """Returns the content to store (unchanged) or raises: content must be text with something in it."""
    if not isinstance(content, str):
        raise ValidationError(ErrorCode.INVALID_ARGUMENT, f"{what} must be text, not {type(content).__name__}.")
    if is_blank(content):
        raise ValidationError(ErrorCode.EMPTY_CONTENT, f"{what} is empty; nothing was saved.")
    if len(content) > limit:
        raise ValidationError(
            ErrorCode.CONTENT_TOO_LONG,
            f"{what} is {len(content):,} characters; the limit is {limit:,}. Nothing was saved.",
        )
    if "\x00" in content:
        raise ValidationError(ErrorCode.INVALID_ARGUMENT, f"{what} contains a NUL character; nothing was saved.")
    return content


def clean_title(title: str) -> str:
    return clean_content(title, limit=MAX_TITLE_CHARS, what="Title").strip()


def clean_fact(text: str) -> str:
    return clean_content(text, limit=MAX_FACT_CHARS, what="Fact").strip()


def parse_id(value: object, what: str = "conversation") -> int:
    """Ids arrive from the CLI and the API as text: accept whole numbers from 1 to MAX_INTEGER only."""
    if isinstance(value, bool):
        raise ValidationError(ErrorCode.INVALID_ARGUMENT, f"Invalid {what} id {value!r}.")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        number = int(value.strip())
    else:
        raise ValidationError(ErrorCode.INVALID_ARGUMENT, f"Invalid {what} id {value!r}: expected a positive number.")
    if number <= 0:
        raise ValidationError(ErrorCode.INVALID_ARGUMENT, f"Invalid {what} id {value!r}: expected a positive number.")
    if number > MAX_INTEGER:
        raise ValidationError(
            ErrorCode.INVALID_ARGUMENT,
            f"Invalid {what} id {shortened(value)}: ids go up to {MAX_INTEGER}, so there is no such {what}.",
        )
    return number


def whole_number(text: str, *, minimum: int = 0, maximum: int = MAX_INTEGER) -> int:
    """A whole number typed on the command line, from `minimum` to `maximum`; ValueError saying what is allowed
    (the database holds at most MAX_INTEGER)."""
    word = text.strip()
    if not (word.isascii() and re.fullmatch(r"[+-]?[0-9]+", word)):
        raise ValueError(f"expected a whole number, got {shortened(text)}")
    if len(word.lstrip("+-0")) > len(str(maximum)) + 1:  # never convert thousands of digits
        raise ValueError(f"must be from {minimum} to {maximum}, got {shortened(text)}")
    value = int(word)
    if not minimum <= value <= maximum:
        raise ValueError(f"must be from {minimum} to {maximum}, got {shortened(text)}")
    return value


def shortened(value: object, limit: int = 40) -> str:
    """A refused value as shown in a message: quoted (control and invisible characters as escapes), and cut
    when it is very long."""
    shown = repr(value) if isinstance(value, str) else str(value)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def check_text_argument(value: str, what: str) -> str:
    """Text from the command line must be text: bytes that were not UTF-8 reach Python as lone surrogates,
    which can be neither stored nor printed. Raises ValidationError naming the argument."""
    if any("\ud800" <= char <= "\udfff" for char in value):
        raise ValidationError(
            ErrorCode.INVALID_ARGUMENT,
            f"{what} is not valid text (it holds bytes that are not UTF-8); type it again in a UTF-8 terminal. "
            "Nothing was done.",
        )
    return value


def title_from_text(text: str, limit: int = 60) -> str:
    """A conversation's default title: the start of its first user message, cut at a word."""
    words = " ".join(text.split())
    if len(words) <= limit:
        return words
    cut = words[:limit].rsplit(" ", 1)[0] or words[:limit]
    return cut + "…"


def check_aware_time(value: datetime, what: str) -> datetime:
    """A datetime with its zone (the store keeps UTC and never guesses a naive time's zone)."""
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ValidationError(ErrorCode.INVALID_ARGUMENT, f"{what} must be a date and time with its time zone.")
    return value
