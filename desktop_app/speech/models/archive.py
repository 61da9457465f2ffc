"""Installing a model from a .zip without trusting the archive.

Only a regular file is read (a link is followed to judge what it leads to): a folder, a device such as
/dev/zero, a named pipe or a socket is refused before it is opened, and the file is opened without waiting for a
writer (O_NONBLOCK), so even a pipe swapped in after that check cannot make the command hang. The archive is
opened once; what is checked is what is unpacked. Before the entry list is read, the archive's end record must
announce at most `MAX_ENTRIES` entries in at most `MAX_DIRECTORY_BYTES`, so reading the list is bounded too.

Every entry is checked before anything is written: no absolute paths or drive letters, no ``..``, no
backslashes, no symbolic links, devices, FIFOs or sockets (the Unix file type in the high 16 bits of the
external attributes), no encrypted or duplicate entries, and no zip bomb: one entry unpacking to more than
`MAX_RATIO` times its compressed size, or the whole archive to more than `unpacked_limit` of its size (at most
`MAX_TOTAL_RATIO` times, whatever the size of each entry). Extraction never follows what the archive says beyond
that: each file is created fresh (O_EXCL, O_NOFOLLOW) inside a temporary folder in the models folder and is cut
off if it grows past its declared size.

The archive holds one top-level folder (as the official ones do) or the model files directly. The unpacked
folder must load as a Vosk model; then it is renamed into place, which is atomic because the temporary folder
is on the same file system. Replacing an installed model renames the old one aside, the new one in, and only
then deletes the old one. Any failure removes the temporary folder: no partial model is ever visible under its
name, and nothing is written outside the models folder.

Working folders (`WorkingFolder`) are locked by the process that made them for as long as it works in them, so
the leftovers of a process that was killed can be told from the folders of one still running (`claim_folder`).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import shutil
import stat
import struct
import sys
import tempfile
import threading
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import BinaryIO, Literal

from desktop_app.core.atomic_file import sync_directory
from desktop_app.core.errors import ErrorCode, ValidationError
from desktop_app.paths import file_kind
from desktop_app.speech.models.catalog import check_model_name
from desktop_app.speech.models.errors import DownloadCancelled, ModelError
from desktop_app.speech.models.sizes import format_size, free_space

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; leftovers are judged by their age alone
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

# One entry may unpack to at most this many times its compressed size (model files compress 1-5 times; a
# deflate bomb of zeros about 1000 times). Entries smaller than RATIO_FLOOR are not judged by ratio...
MAX_RATIO = 100
RATIO_FLOOR = 1_000_000
# ...but the whole archive is: it may unpack to at most MAX_TOTAL_RATIO times its own size (a model archive
# unpacks to 1-3 times its size), or to RATIO_FREE_TOTAL when that is more. So many entries that are each too
# small to judge cannot add up to a bomb (4,294 entries of 999,999 zeros: 4.3 GB from a 4.7 MB archive).
MAX_TOTAL_RATIO = 20
RATIO_FREE_TOTAL = 100_000_000
# And never to more than max(MAX_UNPACKED, UNPACKED_PER_ARCHIVE_BYTE x its own size).
MAX_UNPACKED = 4 * 1024**3
UNPACKED_PER_ARCHIVE_BYTE = 4
# A Vosk model is tens of files. The entry list is read only when the archive's end record announces at most
# MAX_ENTRIES entries in at most MAX_DIRECTORY_BYTES (reading it takes memory in proportion).
MAX_ENTRIES = 10_000
MAX_DIRECTORY_BYTES = 16 * 1024**2
INSTALL_MARGIN = 20_000_000
COPY_BLOCK = 1 << 20
# Files that some zip tools add and that are not part of the model.
_IGNORED_TOP = frozenset({"__MACOSX"})
# Folders a Vosk model has at its top level; an archive without a single top folder must show some of them.
_MODEL_PARTS = frozenset({"am", "conf", "graph", "ivector", "rescore", "rnnlm"})
_DRIVE = re.compile(r"^[A-Za-z]:")
_VOSK_PREFIX = re.compile(r"^ERROR \(.*?:\d+\)\s*")
# Working folders inside the models folder; their names start with a dot, so they are never listed as models.
TEMP_PREFIX = ".install-"
OLD_PREFIX = ".replaced-"
# The models folder's own lock is held for a moment at a time (see WorkingFolder); waiting for it is bounded.
FOLDER_LOCK_WAIT = 5.0
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
# The zip end records, as zipfile reads them.
_END = struct.Struct("<4s4H2LH")
_END_SIGNATURE = b"PK\x05\x06"
_END64_LOCATOR = struct.Struct("<4sLQL")
_END64_LOCATOR_SIGNATURE = b"PK\x06\x07"
_END64 = struct.Struct("<4sQ2H2L4Q")
_END64_SIGNATURE = b"PK\x06\x06"
ModelCheck = Callable[[Path], None]


@dataclass(frozen=True, slots=True)
class _Member:
    info: zipfile.ZipInfo
    parts: tuple[str, ...]  # path components inside the archive
    is_dir: bool


@dataclass(frozen=True, slots=True)
class ArchivePlan:
    """What a checked archive will unpack to."""

    members: tuple[_Member, ...]
    top: str | None  # the single top-level folder stripped while unpacking, or None for files at the root
    unpacked_size: int

    def suggested_name(self, archive: Path) -> str:
        if self.top is not None:
            return self.top
        name = archive.name
        for suffix in (".part", ".zip"):
            name = name.removesuffix(suffix)
        return name


def _unsafe(archive: Path, reason: str) -> ModelError:
    return ModelError(ErrorCode.UNSAFE_ARCHIVE, f"Refusing to install {archive.name}: {reason}. Nothing was installed.")


def _invalid(archive: Path, reason: str) -> ModelError:
    return ModelError(ErrorCode.INVALID_ARCHIVE, f"Cannot install {archive.name}: {reason}. Nothing was installed.")


def _unreadable(archive: Path, error: OSError) -> ModelError:
    if isinstance(error, FileNotFoundError):
        return ModelError(ErrorCode.INVALID_ARCHIVE, f"{archive} does not exist.")
    return ModelError(ErrorCode.INVALID_ARCHIVE, f"Cannot read {archive}: {error.strerror or error}.")


def _not_a_file(archive: Path, mode: int) -> ModelError:
    kind = file_kind(mode)
    if os.path.islink(archive):
        return ModelError(
            ErrorCode.INVALID_ARCHIVE,
            f"Cannot install from {archive}: it leads to {os.path.realpath(archive)}, which is {kind}, not a .zip "
            "file. Nothing was installed.",
        )
    return ModelError(
        ErrorCode.INVALID_ARCHIVE,
        f"Cannot install from {archive}: it is {kind}, not a .zip file. Nothing was installed.",
    )


def unpacked_limit(archive_size: int, max_unpacked: int = MAX_UNPACKED) -> int:
    """The most an archive of `archive_size` bytes may unpack to, all entries together."""
    return min(
        max(max_unpacked, UNPACKED_PER_ARCHIVE_BYTE * archive_size),
        max(RATIO_FREE_TOTAL, MAX_TOTAL_RATIO * archive_size),
    )


def _file_type(info: zipfile.ZipInfo) -> str | None:
    """'symbolic link', 'device', ... when the Unix mode says so; None for a file, a folder or no Unix mode."""
    mode = info.external_attr >> 16
    kind = stat.S_IFMT(mode)
    if kind in (0, stat.S_IFREG, stat.S_IFDIR):
        return None
    return {
        stat.S_IFLNK: "symbolic link",
        stat.S_IFCHR: "character device",
        stat.S_IFBLK: "block device",
        stat.S_IFIFO: "FIFO",
        stat.S_IFSOCK: "socket",
    }.get(kind, f"special file (mode {mode:o})")


def _components(archive: Path, raw: str) -> tuple[str, ...]:
    shown = raw.encode("unicode_escape").decode("ascii")
    if "\x00" in raw or "\\" in raw:
        raise _unsafe(archive, f"the entry {shown!r} has a backslash or NUL in its name")
    if raw.startswith("/") or _DRIVE.match(raw):
        raise _unsafe(archive, f"the entry {shown!r} has an absolute path")
    parts = tuple(part for part in PurePosixPath(raw).parts if part not in ("", "."))
    if ".." in parts:
        raise _unsafe(archive, f"the entry {shown!r} points outside its folder ('..')")
    if not parts:
        raise _unsafe(archive, f"the entry {shown!r} has no name")
    return parts


@contextlib.contextmanager
def _open_zip(archive: Path) -> Iterator[tuple[zipfile.ZipFile, int]]:
    """The archive open for reading, with its size. Only a regular file is opened: its type is checked before
    (a link is followed for that) and again on what was opened. O_NONBLOCK: opening a named pipe put there in
    between returns at once instead of waiting for a writer (and is then refused); a regular file ignores it."""
    try:
        mode = os.stat(archive).st_mode
    except OSError as error:
        raise _unreadable(archive, error) from None
    if not stat.S_ISREG(mode):
        raise _not_a_file(archive, mode)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(archive, flags)
    except OSError as error:
        raise _unreadable(archive, error) from None
    with os.fdopen(fd, "rb") as source:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):
            raise _not_a_file(archive, opened.st_mode)
        try:
            _check_directory(archive, source, opened.st_size)
            bundle = zipfile.ZipFile(source)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as error:
            raise _invalid(archive, f"it is not a zip archive or it is damaged, perhaps cut short ({error})") from None
        except OSError as error:
            raise _unreadable(archive, error) from error
        with bundle:
            yield bundle, opened.st_size


def _check_directory(archive: Path, source: BinaryIO, size: int) -> None:
    """Refuses an archive whose end record announces more than MAX_ENTRIES entries or an entry list longer than
    MAX_DIRECTORY_BYTES, before zipfile reads that list into memory. The end record is found as zipfile finds
    it (at the very end, else the last one in the final 64 KiB, with the ZIP64 record just before it when there
    is one); reads at most 64 KiB and a little. Without an end record zipfile refuses the file itself."""
    search_from = max(size - (1 << 16) - _END.size, 0)
    read_from = max(search_from - _END64.size - _END64_LOCATOR.size, 0)
    source.seek(read_from)
    tail = source.read(size - read_from)
    if len(tail) >= _END.size and tail[-_END.size :][:4] == _END_SIGNATURE and tail[-2:] == b"\0\0":
        at = len(tail) - _END.size
    else:
        at = tail.rfind(_END_SIGNATURE, search_from - read_from)
        if at < 0 or at + _END.size > len(tail):
            return
    count, directory = _END.unpack_from(tail, at)[4:6]
    locator = at - _END64_LOCATOR.size
    record = locator - _END64.size
    if (
        record >= 0
        and tail[locator : locator + 4] == _END64_LOCATOR_SIGNATURE
        and tail[record : record + 4] == _END64_SIGNATURE
    ):
        count, directory = _END64.unpack_from(tail, record)[7:9]
    if count > MAX_ENTRIES:
        raise _unsafe(archive, f"it holds {count} entries (at most {MAX_ENTRIES} are accepted)")
    if directory > MAX_DIRECTORY_BYTES:
        raise _unsafe(
            archive,
            f"its list of entries takes {format_size(directory)} (at most {format_size(MAX_DIRECTORY_BYTES)} is "
            "accepted)",
        )
    source.seek(0)


def _plan(archive: Path, bundle: zipfile.ZipFile, archive_size: int, max_unpacked: int) -> ArchivePlan:
    infos = bundle.infolist()
    if len(infos) > MAX_ENTRIES:
        raise _unsafe(archive, f"it holds {len(infos)} entries (at most {MAX_ENTRIES} are accepted)")
    members: list[_Member] = []
    seen: dict[tuple[str, ...], bool] = {}
    total = 0
    for info in infos:
        parts = _check_entry(archive, info)
        if parts in seen:
            raise _unsafe(archive, f"the entry {info.filename!r} appears twice")
        seen[parts] = info.is_dir()
        if parts[0] in _IGNORED_TOP:
            continue
        if not info.is_dir():
            total += info.file_size
        members.append(_Member(info, parts, info.is_dir()))
    limit = unpacked_limit(archive_size, max_unpacked)
    if total > limit:
        raise _unsafe(
            archive,
            f"it would unpack to {format_size(total)} from {format_size(archive_size)}, more than the "
            f"{format_size(limit)} accepted (a zip bomb)",
        )
    # A file must not also be used as a folder by another entry.
    for parts in seen:
        for depth in range(1, len(parts)):
            if seen.get(parts[:depth]) is False:
                raise _unsafe(archive, f"{'/'.join(parts[:depth])!r} is both a file and a folder")
    return ArchivePlan(tuple(members), _top_folder(archive, members), total)


def _check_entry(archive: Path, info: zipfile.ZipInfo) -> tuple[str, ...]:
    parts = _components(archive, info.filename)
    kind = _file_type(info)
    if kind is not None:
        raise _unsafe(archive, f"the entry {info.filename!r} is a {kind}")
    if info.flag_bits & 0x1:
        raise _invalid(archive, f"the entry {info.filename!r} is encrypted")
    if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(1, info.compress_size):
        raise _unsafe(
            archive,
            f"the entry {info.filename!r} would unpack to {format_size(info.file_size)} from "
            f"{format_size(info.compress_size)} (a zip bomb)",
        )
    return parts


def _top_folder(archive: Path, members: list[_Member]) -> str | None:
    """The one top-level folder holding the model, or None when the model's files are at the top."""
    files = [member for member in members if not member.is_dir]
    if not files:
        raise _invalid(archive, "it holds no files")
    tops = {member.parts[0] for member in members}
    if len(tops) == 1 and not tops & _MODEL_PARTS and all(len(member.parts) > 1 for member in files):
        return next(iter(tops))
    if tops & _MODEL_PARTS:
        return None
    shown = ", ".join(sorted(tops)[:5]) + (", ..." if len(tops) > 5 else "")
    raise _invalid(archive, f"it should hold one folder with the model, or the model's files, but holds {shown}")


def vosk_check(path: Path) -> None:
    """Loads the folder as a Vosk model (seconds for a small one) and frees it; ModelError(INVALID_MODEL) when
    Vosk refuses it. Vosk's own error lines go to the log, not to the terminal."""
    import vosk

    vosk.SetLogLevel(-1)
    with _captured_stderr() as captured:
        try:
            model = vosk.Model(str(path))
        except Exception as error:  # vosk raises a bare Exception when the folder is not a model
            problem = error
        else:
            del model
            return
    said = [_VOSK_PREFIX.sub("", line.strip()).split(". ")[0] for line in captured() if "ERROR" in line]
    detail = f" (Vosk says: {said[-1][:300]})" if said else ""
    raise ModelError(
        ErrorCode.INVALID_MODEL,
        f"The archive unpacked, but it is not a Vosk model that loads{detail}. Nothing was installed.",
    ) from problem


_stderr_lock = threading.Lock()


@contextlib.contextmanager
def _captured_stderr() -> Iterator[Callable[[], list[str]]]:
    """Sends file descriptor 2 to a temporary file while the native library loads (Kaldi prints its errors there
    whatever the log level), then restores it; yields a function returning the captured lines."""
    lines: list[str] = []
    if os.name != "posix":
        yield lambda: lines
        return
    with _stderr_lock, tempfile.TemporaryFile() as sink:
        with contextlib.suppress(ValueError, OSError, AttributeError):
            sys.stderr.flush()
        saved = os.dup(2)
        try:
            os.dup2(sink.fileno(), 2)
            yield lambda: lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            text = sink.read(1_000_000).decode("utf-8", "replace")
            lines.extend(text.splitlines())
            for line in lines:
                if line.strip():
                    log.debug("vosk: %s", line)


def install_archive(
    archive: Path,
    models_dir: Path,
    *,
    name: str | None = None,
    replace: bool = False,
    check: ModelCheck = vosk_check,
    cancel: threading.Event | None = None,
    free_space: Callable[[Path], int] = free_space,
    max_unpacked: int = MAX_UNPACKED,
    before_moving: Callable[[Path, str], None] | None = None,
) -> Path:
    """Unpacks `archive` into `models_dir`/<name> (name: given, else the archive's top folder, else the file
    name) and returns that folder. `before_moving(folder, name)` may add to the checked folder before it is
    moved into place. ModelError: UNSAFE_ARCHIVE, INVALID_ARCHIVE, INVALID_MODEL, MODEL_EXISTS (unless
    `replace`), NOT_ENOUGH_SPACE, MODEL_INSTALL_FAILED; ValidationError for a bad name."""
    with _open_zip(archive) as (bundle, archive_size):
        plan = _plan(archive, bundle, archive_size, max_unpacked)
        try:
            name = check_model_name(name if name is not None else plan.suggested_name(archive))
        except ValidationError as error:
            raise ValidationError(
                error.code, f"{error.message} Choose the name with --name." if name is None else error.message
            ) from None
        target = models_dir / name
        if not replace and os.path.lexists(target):
            raise _exists(name)
        models_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        free = free_space(models_dir)
        if free < plan.unpacked_size + INSTALL_MARGIN:
            raise ModelError(
                ErrorCode.NOT_ENOUGH_SPACE,
                f"Not enough disk space to install {name}: it unpacks to {format_size(plan.unpacked_size)} and "
                f"needs about {format_size(plan.unpacked_size + INSTALL_MARGIN)} in {models_dir}, but only "
                f"{format_size(free)} is free. Free some space and try again.",
            )
        try:
            with WorkingFolder.create(models_dir, f"{TEMP_PREFIX}{name}-") as staging:
                _unpack(archive, bundle, plan, staging.path, cancel)
                check(staging.path)
                if before_moving is not None:
                    before_moving(staging.path, name)
                _move_into_place(staging.path, target, name, replace=replace)
        except OSError as error:
            raise ModelError(
                ErrorCode.DISK_FULL if error.errno == errno.ENOSPC else ErrorCode.MODEL_INSTALL_FAILED,
                f"Could not install {name} in {models_dir}: {error.strerror or error}. Nothing was installed.",
            ) from error
    sync_directory(models_dir)
    return target


def _exists(name: str) -> ModelError:
    return ModelError(
        ErrorCode.MODEL_EXISTS,
        f"A model called {name} is already installed. Add --replace to replace it, or choose another name.",
    )


def _unpack(
    archive: Path, bundle: zipfile.ZipFile, plan: ArchivePlan, staging: Path, cancel: threading.Event | None
) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | getattr(os, "O_BINARY", 0)
    strip = 1 if plan.top is not None else 0
    try:
        for member in plan.members:
            if cancel is not None and cancel.is_set():
                raise DownloadCancelled(f"Installing from {archive.name} was cancelled. Nothing was installed.")
            parts = member.parts[strip:]
            if not parts:
                continue
            destination = staging.joinpath(*parts)
            if member.is_dir:
                destination.mkdir(parents=True, exist_ok=True, mode=0o755)
                continue
            destination.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
            declared = member.info.file_size
            written = 0
            fd = os.open(destination, flags, 0o644)
            with os.fdopen(fd, "wb") as out, bundle.open(member.info) as source:
                while block := source.read(COPY_BLOCK):
                    written += len(block)
                    if written > declared:
                        raise _unsafe(archive, f"the entry {member.info.filename!r} is larger than it claims")
                    out.write(block)
    except (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError) as error:
        raise _invalid(archive, f"it is damaged, perhaps cut short ({error})") from None


def _move_into_place(staging: Path, target: Path, name: str, *, replace: bool) -> None:
    if not os.path.lexists(target):
        try:
            os.rename(staging, target)  # fails if a non-empty folder appeared meanwhile
        except OSError as error:
            if error.errno in (errno.EEXIST, errno.ENOTEMPTY):
                raise _exists(name) from None
            raise
        return
    if not replace:
        raise _exists(name)
    aside = WorkingFolder.create(target.parent, f"{OLD_PREFIX}{name}-")
    old = aside.path / name
    try:
        os.rename(target, old)
    except BaseException:
        aside.close()
        raise
    try:
        os.rename(staging, target)
    except BaseException:
        try:
            os.rename(old, target)
        except BaseException:
            aside.release()  # the old model stays aside, and the next look at the models folder puts it back
            raise
        aside.close()
        raise
    aside.close()


# -- working folders and their locks --------------------------------------------------------------------------


class WorkingFolder:
    """A working folder in the models folder (``.install-…``, ``.replaced-…``, ``.removing-…``), locked (flock)
    by the process that made it until close(), which removes it while still holding the lock.

    The kernel drops the lock when that process ends, however it ends (SIGKILL, a crash), so a folder whose lock
    nobody holds is a leftover and one whose lock is held is in use (`claim_folder`). The folder is made and
    locked while the models folder itself is locked (`models_folder_lock`), and leftovers are judged under that
    same lock, so a folder is never judged between being made and being locked."""

    def __init__(self, path: Path, lock_fd: int | None) -> None:
        self.path = path
        self._lock_fd = lock_fd

    @classmethod
    def create(cls, parent: Path, prefix: str) -> WorkingFolder:
        with models_folder_lock(parent):
            path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
            return cls(path, _lock_new_folder(path))

    def close(self) -> None:
        """Removes the folder, then lets go of its lock."""
        shutil.rmtree(self.path, ignore_errors=True)
        self.release()

    def release(self) -> None:
        """Lets go of the lock and keeps the folder: the next look at the models folder deals with it."""
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> WorkingFolder:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()


LockState = Literal["held", "busy", "unsupported"]


@contextlib.contextmanager
def models_folder_lock(models_dir: Path, wait: float = FOLDER_LOCK_WAIT) -> Iterator[LockState]:
    """An exclusive lock on the models folder itself (no lock file is left), held while a working folder is made
    and locked, and while leftovers are judged: each holds it for a moment and never waits for anything else
    meanwhile. Yields "held"; "busy" when it stayed taken for `wait` seconds (a holder that is stopped); or
    "unsupported" (no locks on this platform or file system). Making a working folder goes ahead anyway: a
    judge cannot be judging meanwhile, since it must hold the lock to do so."""
    if fcntl is None:
        yield "unsupported"
        return
    try:
        fd = os.open(models_dir, os.O_RDONLY | _DIRECTORY)
    except OSError:
        yield "unsupported"
        return
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    state: LockState = "busy"
                    break
                time.sleep(0.01)
            except OSError:
                state = "unsupported"
                break
            else:
                state = "held"
                break
        yield state
    finally:
        os.close(fd)


def _lock_new_folder(path: Path) -> int | None:
    if fcntl is None:
        return None
    fd = os.open(path, os.O_RDONLY | _DIRECTORY | _NOFOLLOW)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)  # no locks on this file system: the folder is judged by its age
        return None
    return fd


@dataclass(frozen=True, slots=True)
class Claim:
    """What `claim_folder` found: "left" (nobody holds its lock; `lock_fd` now does), "busy" (in use), "aged"
    (locks are not available: `age` in seconds tells), or "foreign" (not a real folder of this user: not ours)."""

    state: Literal["left", "busy", "aged", "foreign"]
    lock_fd: int | None = None
    age: float = 0.0

    def release(self) -> None:
        if self.lock_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.lock_fd)


def claim_folder(path: Path) -> Claim:
    """Judges a working folder, to be called while holding `models_folder_lock`. A symbolic link, anything but a
    folder, or a folder of another user is "foreign" and is never followed or opened as a folder."""
    try:
        info = os.lstat(path)
    except OSError:
        return Claim("foreign")
    getuid = getattr(os, "getuid", None)
    if not stat.S_ISDIR(info.st_mode) or (getuid is not None and info.st_uid != getuid()):
        return Claim("foreign")
    aged = Claim("aged", age=time.time() - info.st_mtime)
    if fcntl is None:
        return aged
    try:
        fd = os.open(path, os.O_RDONLY | _DIRECTORY | _NOFOLLOW)
    except OSError:
        return Claim("foreign")
    opened = os.fstat(fd)
    if (opened.st_dev, opened.st_ino) != (info.st_dev, info.st_ino):
        os.close(fd)
        return Claim("foreign")
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return Claim("busy")
    except OSError:
        os.close(fd)
        return aged
    return Claim("left", lock_fd=fd)


def still_the_same(path: Path, claim: Claim) -> bool:
    """Whether `path` is still the folder `claim` holds locked (it was not swapped for another meanwhile)."""
    if claim.lock_fd is None:
        return True
    try:
        now, held = os.lstat(path), os.fstat(claim.lock_fd)
    except OSError:
        return False
    return stat.S_ISDIR(now.st_mode) and (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino)
