"""The list of downloadable Vosk models.

The official list is ``model-list.json`` beside the models on the Vosk site: a JSON array of objects with
``name, lang, lang_text, url, size`` (bytes), ``size_text, md5, type`` ("small", "big", ...), ``version`` and
``obsolete``, which is the *string* "true" or "false" there (a real boolean is accepted too).

A copy ships with the app (``catalog.json`` in this package, read with importlib.resources so it works from
the source tree, a wheel and a frozen bundle alike) so the list is there offline. Its md5 fields are empty and
some sizes are 0 (unknown): a download then takes the checksum from a refreshed official list, or checks the
size only and says so. ``Catalog.refresh`` fetches the official list, validates it and saves it atomically in
the cache folder; loading prefers that copy and falls back to the shipped one. A refresh that fails leaves the
copy in use untouched.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import httpx

from desktop_app.core.atomic_file import replace_file
from desktop_app.core.errors import ErrorCode, ValidationError
from desktop_app.speech.models.errors import ModelError

log = logging.getLogger(__name__)

DEFAULT_CATALOG_URL = "https://alphacephei.com/vosk/models/model-list.json"
REFRESHED_FILE = "vosk-model-list.json"
SHIPPED_RESOURCE = "catalog.json"
# The official list is about 30 KB; anything this large is not it.
MAX_CATALOG_BYTES = 5_000_000

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")
_MD5 = re.compile(r"[0-9a-f]{32}")
MAX_NAME_LENGTH = 200

CatalogSource = Literal["refreshed", "shipped"]


def check_model_name(name: str) -> str:
    """The name as a single, plain folder name; ValidationError for separators, `..`, hidden or odd names."""
    if not isinstance(name, str) or len(name) > MAX_NAME_LENGTH or ".." in name or not _NAME.fullmatch(name):
        raise ValidationError(
            ErrorCode.INVALID_ARGUMENT,
            f"{name!r} is not a model name: use letters, digits, '.', '_', '+' and '-' only, starting with a "
            "letter or digit, without '..' or path separators.",
        )
    return name


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    name: str
    lang: str
    lang_text: str
    url: str
    size: int  # bytes of the .zip; 0 when unknown
    size_text: str
    md5: str  # lowercase hex; "" when unknown
    type: str
    version: str
    obsolete: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _text(item: dict[str, Any], key: str) -> str:
    value = item.get(key, "")
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"{key} is not text")
    return str(value).strip()


def _obsolete(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, str) and value.strip().lower() in ("true", "false", ""):
        return value.strip().lower() == "true"
    raise ValueError(f"obsolete must be 'true' or 'false', not {value!r}")


def _size(value: Any) -> int:
    if value is None or value == "":
        return 0
    if isinstance(value, bool):
        raise ValueError("size is not a number")
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or value < 0:
        raise ValueError(f"size must be a whole number of bytes, not {value!r}")
    return value


def parse_entry(item: Any) -> CatalogEntry:
    """One entry of the official list; ValueError saying what is wrong with it."""
    if not isinstance(item, dict):
        raise ValueError("entry is not an object")
    name = _text(item, "name")
    try:
        check_model_name(name)
    except ValidationError as error:
        raise ValueError(error.message) from None
    url = _text(item, "url")
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"{name}: url must be http(s), not {url!r}")
    md5 = _text(item, "md5").lower()
    if md5 and not _MD5.fullmatch(md5):
        raise ValueError(f"{name}: md5 is not 32 hex digits")
    return CatalogEntry(
        name=name,
        lang=_text(item, "lang"),
        lang_text=_text(item, "lang_text"),
        url=url,
        size=_size(item.get("size")),
        size_text=_text(item, "size_text"),
        md5=md5,
        type=_text(item, "type"),
        version=_text(item, "version"),
        obsolete=_obsolete(item.get("obsolete")),
    )


def parse_catalog(document: str | bytes, source: str) -> list[CatalogEntry]:
    """Every valid entry of a model list, in order. A malformed entry is skipped with a warning (one odd line in
    the official list must not hide the others); a document that is not a JSON array of objects, or that holds
    no valid entry at all, raises ModelError(MODEL_CATALOG_INVALID)."""
    try:
        raw = json.loads(document)
    except (ValueError, UnicodeDecodeError) as error:
        raise ModelError(
            ErrorCode.MODEL_CATALOG_INVALID, f"The model list from {source} is not valid JSON ({error})."
        ) from None
    if not isinstance(raw, list):
        raise ModelError(
            ErrorCode.MODEL_CATALOG_INVALID, f"The model list from {source} is not a JSON array of models."
        )
    entries: list[CatalogEntry] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        try:
            entry = parse_entry(item)
        except ValueError as error:
            log.warning("model list %s: skipping entry %d: %s", source, index, error)
            continue
        if entry.name in seen:
            log.warning("model list %s: skipping a second entry called %s", source, entry.name)
            continue
        seen.add(entry.name)
        entries.append(entry)
    if not entries:
        raise ModelError(ErrorCode.MODEL_CATALOG_INVALID, f"The model list from {source} holds no usable model.")
    return entries


def shipped_catalog() -> list[CatalogEntry]:
    """The copy that ships with the app."""
    document = resources.files(__package__).joinpath(SHIPPED_RESOURCE).read_bytes()
    return parse_catalog(document, "the built-in list")


class Catalog:
    """The model list in use: the last refreshed copy in `cache_dir`, else the shipped one. Not thread-safe:
    use one instance per thread, or guard it."""

    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = cache_dir
        self._entries: list[CatalogEntry] | None = None
        self._source: CatalogSource = "shipped"

    @property
    def refreshed_file(self) -> Path:
        return self.cache_dir / REFRESHED_FILE

    @property
    def source(self) -> CatalogSource:
        self._load()
        return self._source

    def entries(self, *, include_obsolete: bool = False) -> list[CatalogEntry]:
        return [entry for entry in self._load() if include_obsolete or not entry.obsolete]

    def find(self, name: str) -> CatalogEntry | None:
        """The entry called `name`, obsolete or not."""
        return next((entry for entry in self._load() if entry.name == name), None)

    def refresh(self, url: str = DEFAULT_CATALOG_URL, *, timeout: float = 30.0) -> list[CatalogEntry]:
        """Fetches, validates and saves the official list; returns its entries (obsolete ones included).
        ModelError(MODEL_CATALOG_UNAVAILABLE or MODEL_CATALOG_INVALID) when it cannot; the list in use is kept."""
        document = _fetch(url, timeout)
        entries = parse_catalog(document, url)
        try:
            _write_file(self.refreshed_file, document)
        except OSError as error:
            raise ModelError(
                ErrorCode.MODEL_CATALOG_UNAVAILABLE,
                f"The model list was fetched but could not be saved in {self.cache_dir}: "
                f"{error.strerror or error}. Check that folder's permissions and free space.",
            ) from error
        self._entries, self._source = entries, "refreshed"
        return list(entries)

    def _load(self) -> list[CatalogEntry]:
        if self._entries is None:
            self._entries, self._source = self._read()
        return self._entries

    def _read(self) -> tuple[list[CatalogEntry], CatalogSource]:
        try:
            document = self.refreshed_file.read_bytes()
        except FileNotFoundError:
            return shipped_catalog(), "shipped"
        except OSError as error:
            log.warning("cannot read %s (%s); using the built-in model list", self.refreshed_file, error)
            return shipped_catalog(), "shipped"
        try:
            return parse_catalog(document, str(self.refreshed_file)), "refreshed"
        except ModelError as error:
            log.warning("%s; using the built-in model list", error)
            return shipped_catalog(), "shipped"


def _fetch(url: str, timeout: float) -> bytes:
    if not url.startswith(("https://", "http://")):
        raise ModelError(ErrorCode.MODEL_CATALOG_UNAVAILABLE, f"{url!r} is not an http(s) address.")
    unavailable = (
        f"Could not fetch the model list from {url}: {{}}. Check the internet connection (or the address) and "
        "try again; the list already saved is still used."
    )
    try:
        with (
            httpx.Client(timeout=timeout, follow_redirects=True) as client,
            client.stream("GET", url, headers={"Accept": "application/json"}) as response,
        ):
            if response.status_code != httpx.codes.OK:
                raise ModelError(
                    ErrorCode.MODEL_CATALOG_UNAVAILABLE,
                    unavailable.format(f"the server answered {response.status_code} {response.reason_phrase}"),
                )
            chunks: list[bytes] = []
            received = 0
            for chunk in response.iter_bytes():
                received += len(chunk)
                if received > MAX_CATALOG_BYTES:
                    raise ModelError(
                        ErrorCode.MODEL_CATALOG_INVALID,
                        f"The model list from {url} is larger than {MAX_CATALOG_BYTES} bytes; it is not a model list.",
                    )
                chunks.append(chunk)
            return b"".join(chunks)
    except httpx.HTTPError as error:
        raise ModelError(ErrorCode.MODEL_CATALOG_UNAVAILABLE, unavailable.format(_describe(error))) from error


def _describe(error: httpx.HTTPError) -> str:
    if isinstance(error, httpx.TimeoutException):
        return "it did not answer in time"
    if isinstance(error, httpx.ConnectError):
        return "could not connect"
    return str(error) or type(error).__name__


def _write_file(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    replace_file(target, data)
