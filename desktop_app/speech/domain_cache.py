"""The command language model on disk, so it is built once rather than at every start.

Building it (speech.domain_model) reads the 134,000-word dictionary and ranks the general model's words:
about a second of Python, with the same result every time for the same sentences and model files. An entry
is one file, named by a hash of everything the result depends on (`domain_key`), holding both parts and a
checksum of them. A missing, short, altered or unreadable entry is rebuilt, never trusted.

Only a folder the app made itself is written to: it holds the app's marker file, is a real folder (not a
link) and belongs to this user. Entries are written to a temporary file in that folder and renamed into
place, so a reader never sees half of one. Anything else found there (a link or folder where an entry
belongs, someone else's file) is left exactly as it is and the model is built without the cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import stat
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from desktop_app.core.atomic_file import is_temporary, replace_file

log = logging.getLogger(__name__)

FOLDER = "recognition"
MARKER = ".voice-assistant-cache"
_MARKER_TEXT = b"voice-assistant cache folder: its files are made by the app and may be removed\n"
_MAGIC = b"voice-assistant domain model\n"
_ENTRY = re.compile(r"domain-[0-9a-f]{32}\.model")
# Entries kept (the newest by time written): the current sentences' and a few earlier versions'.
KEEP_ENTRIES = 4
# A temporary file this old was left by a process that ended while writing it.
STALE_TEMPORARY_S = 3600.0
MAX_ENTRY_BYTES = 64 * 1024 * 1024
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_PRIVATE_DIR = 0o700
_PRIVATE_FILE = 0o600


@dataclass(frozen=True, slots=True)
class DomainModelText:
    arpa: bytes
    dictionary: bytes


def domain_key(
    sentences: Sequence[str], inputs: Iterable[Path], builder: str, *, file_hash: Iterable[Path] = ()
) -> str:
    """The name of the entry for these sentences, model files and builder (its version and settings).
    A file is known by its path, size and modification time; those in `file_hash` by their content too."""
    digest = hashlib.sha256()

    def add(text: str) -> None:
        data = text.encode("utf-8")
        digest.update(len(data).to_bytes(8, "little") + data)

    add(builder)
    for path in inputs:
        info = path.stat()
        add(f"{path.resolve()}\0{info.st_size}\0{info.st_mtime_ns}")
    for path in file_hash:
        add(hashlib.sha256(path.read_bytes()).hexdigest())
    add(str(len(sentences)))
    for sentence in sentences:
        add(sentence)
    return digest.hexdigest()[:32]


class DomainModelCache:
    """Entries in the app's own cache folder (see `open`)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @classmethod
    def open(cls, cache_dir: Path) -> DomainModelCache | None:
        """The cache in `cache_dir`/recognition, made (private) when missing; None when that folder is not
        the app's own or cannot be made (the model is then built at each start, and that is logged)."""
        folder = cache_dir / FOLDER
        try:
            if not folder.exists() and not folder.is_symlink():
                cache_dir.mkdir(parents=True, exist_ok=True, mode=_PRIVATE_DIR)
                with contextlib.suppress(FileExistsError):  # another process made it first: its marker decides
                    folder.mkdir(mode=_PRIVATE_DIR)
                    _write_marker(folder)
            if _owned_folder(folder):
                return cls(folder)
            log.warning("%s is not the app's own cache folder: the command language model is not cached", folder)
        except OSError as error:
            log.warning("no cache for the command language model in %s: %s", folder, error)
        return None

    def entry(self, key: str) -> Path:
        return self.folder / f"domain-{key}.model"

    def load(self, key: str) -> DomainModelText | None:
        """The entry's parts when it is whole and is this key's; None otherwise (missing or damaged)."""
        path = self.entry(key)
        try:
            fd = os.open(path, os.O_RDONLY | _NOFOLLOW)
        except FileNotFoundError:
            return None
        except OSError as error:
            log.info("cached command language model %s not read: %s", path.name, error)
            return None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_ENTRY_BYTES:
                return None
            with os.fdopen(fd, "rb", closefd=False) as handle:
                data = handle.read(MAX_ENTRY_BYTES + 1)
        except OSError as error:
            log.info("cached command language model %s not read: %s", path.name, error)
            return None
        finally:
            os.close(fd)
        found = _parse(data, key)
        if found is None:
            log.warning("the cached command language model %s is damaged: it is built again", path.name)
        return found

    def store(self, key: str, model: DomainModelText) -> bool:
        """Writes the entry (atomically, replacing only a regular file of ours); False when it was not
        written. Never raises for the file system: the model works without the cache."""
        path = self.entry(key)
        if not _replaceable(path):
            log.warning("%s is not a cache entry of the app's: left as it is, the model is not cached", path)
            return False
        try:
            replace_file(path, _serialise(key, model))
        except OSError as error:
            log.warning("the command language model could not be cached: %s", error)
            return False
        self._prune(keep=path.name)
        return True

    def _prune(self, keep: str) -> None:
        """Removes older entries beyond KEEP_ENTRIES and temporary files that their writer left behind."""
        try:
            children = list(os.scandir(self.folder))
        except OSError:
            return
        entries: list[tuple[float, str]] = []
        removed: list[str] = []
        now = time.time()
        for child in children:
            try:
                info = child.stat(follow_symlinks=False)
            except OSError:
                continue
            if not stat.S_ISREG(info.st_mode) or not _mine(info):
                continue
            if _ENTRY.fullmatch(child.name) and child.name != keep:
                entries.append((info.st_mtime, child.name))
            elif is_temporary(child.name) and now - info.st_mtime > STALE_TEMPORARY_S:
                removed.append(child.name)
        entries.sort(reverse=True)
        removed += [name for _, name in entries[KEEP_ENTRIES - 1 :]]
        for name in removed:
            with contextlib.suppress(OSError):
                (self.folder / name).unlink()


def _serialise(key: str, model: DomainModelText) -> bytes:
    body = model.arpa + model.dictionary
    header = {
        "key": key,
        "arpa": len(model.arpa),
        "dictionary": len(model.dictionary),
        "sha256": hashlib.sha256(body).hexdigest(),
    }
    return _MAGIC + json.dumps(header, sort_keys=True).encode("ascii") + b"\n" + body


def _parse(data: bytes, key: str) -> DomainModelText | None:
    if not data.startswith(_MAGIC):
        return None
    header_line, newline, body = data[len(_MAGIC) :].partition(b"\n")
    if not newline:
        return None
    try:
        header = json.loads(header_line)
    except ValueError:
        return None
    if not isinstance(header, dict) or header.get("key") != key:
        return None
    arpa_size, dictionary_size = header.get("arpa"), header.get("dictionary")
    if not isinstance(arpa_size, int) or not isinstance(dictionary_size, int) or arpa_size < 0:
        return None
    if len(body) != arpa_size + dictionary_size or hashlib.sha256(body).hexdigest() != header.get("sha256"):
        return None
    return DomainModelText(body[:arpa_size], body[arpa_size:])


def _mine(info: os.stat_result) -> bool:
    return os.name != "posix" or info.st_uid == os.getuid()


def _owned_folder(folder: Path) -> bool:
    """A real folder of this user's, holding the app's marker (a regular file of this user's)."""
    try:
        info = os.lstat(folder)
        marker = os.lstat(folder / MARKER)
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and _mine(info) and stat.S_ISREG(marker.st_mode) and _mine(marker)


def _write_marker(folder: Path) -> None:
    if os.name == "posix":
        os.chmod(folder, _PRIVATE_DIR)  # mkdir's mode passes through the umask; the folder is new and ours
    fd = os.open(folder / MARKER, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, _PRIVATE_FILE)
    with os.fdopen(fd, "wb") as out:
        out.write(_MARKER_TEXT)


def _replaceable(path: Path) -> bool:
    """Nothing there, or a regular file of this user's (an entry written earlier, whole or damaged)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return stat.S_ISREG(info.st_mode) and _mine(info)
