"""Installing a model from a .zip without trusting the archive.

Every entry is checked before anything is written: no absolute paths or drive letters, no ``..``, no
backslashes, no symbolic links, devices, FIFOs or sockets (the Unix file type in the high 16 bits of the
external attributes), no encrypted or duplicate entries, and no zip bomb (one entry unpacking to more than
`MAX_RATIO` times its compressed size, or the whole archive to more than `max_unpacked`). Extraction never
follows what the archive says beyond that: each file is created fresh (O_EXCL, O_NOFOLLOW) inside a temporary
folder in the models folder and is cut off if it grows past its declared size.

The archive holds one top-level folder (as the official ones do) or the model files directly. The unpacked
folder must load as a Vosk model; then it is renamed into place, which is atomic because the temporary folder
is on the same file system. Replacing an installed model renames the old one aside, the new one in, and only
then deletes the old one. Any failure removes the temporary folder: no partial model is ever visible under its
name, and nothing is written outside the models folder.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import shutil
import stat
import sys
import tempfile
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from desktop_app.core.errors import ErrorCode, ValidationError
from desktop_app.paths import sync_directory
from desktop_app.speech.models.catalog import check_model_name
from desktop_app.speech.models.errors import DownloadCancelled, ModelError
from desktop_app.speech.models.sizes import format_size, free_space

log = logging.getLogger(__name__)

# One entry may unpack to at most this many times its compressed size (model files compress 1-5 times; a
# deflate bomb of zeros about 1000 times). Entries smaller than RATIO_FLOOR are not judged by ratio.
MAX_RATIO = 100
RATIO_FLOOR = 1_000_000
# The whole archive may unpack to at most max(MAX_UNPACKED, UNPACKED_PER_ARCHIVE_BYTE x its own size).
MAX_UNPACKED = 4 * 1024**3
UNPACKED_PER_ARCHIVE_BYTE = 4
MAX_ENTRIES = 100_000
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


def inspect_archive(archive: Path, *, max_unpacked: int = MAX_UNPACKED) -> ArchivePlan:
    """Checks every entry of `archive` without unpacking anything. ModelError(UNSAFE_ARCHIVE) for anything that
    could write outside the target or blow up, ModelError(INVALID_ARCHIVE) for a damaged or unusable one."""
    infos, archive_size = _read_entries(archive)
    limit = max(max_unpacked, UNPACKED_PER_ARCHIVE_BYTE * archive_size)
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
            if total > limit:
                raise _unsafe(archive, f"it would unpack to more than {format_size(limit)} (a zip bomb)")
        members.append(_Member(info, parts, info.is_dir()))
    # A file must not also be used as a folder by another entry.
    for parts in seen:
        for depth in range(1, len(parts)):
            if seen.get(parts[:depth]) is False:
                raise _unsafe(archive, f"{'/'.join(parts[:depth])!r} is both a file and a folder")
    return ArchivePlan(tuple(members), _top_folder(archive, members), total)


def _read_entries(archive: Path) -> tuple[list[zipfile.ZipInfo], int]:
    try:
        archive_size = archive.stat().st_size
        with zipfile.ZipFile(archive) as bundle:
            infos = bundle.infolist()
    except FileNotFoundError:
        raise ModelError(ErrorCode.INVALID_ARCHIVE, f"{archive} does not exist.") from None
    except IsADirectoryError:
        raise ModelError(ErrorCode.INVALID_ARCHIVE, f"{archive} is a folder, not a .zip file.") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as error:
        raise _invalid(archive, f"it is not a zip archive or it is damaged, perhaps cut short ({error})") from None
    except OSError as error:
        raise ModelError(ErrorCode.INVALID_ARCHIVE, f"Cannot read {archive}: {error.strerror or error}.") from error
    if len(infos) > MAX_ENTRIES:
        raise _unsafe(archive, f"it holds {len(infos)} entries (at most {MAX_ENTRIES} are accepted)")
    return infos, archive_size


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
    plan = inspect_archive(archive, max_unpacked=max_unpacked)
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
            f"Not enough disk space to install {name}: it unpacks to {format_size(plan.unpacked_size)} and needs "
            f"about {format_size(plan.unpacked_size + INSTALL_MARGIN)} in {models_dir}, but only "
            f"{format_size(free)} is free. Free some space and try again.",
        )
    staging = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{name}-", dir=models_dir))
    try:
        _unpack(archive, plan, staging, cancel)
        check(staging)
        if before_moving is not None:
            before_moving(staging, name)
        _move_into_place(staging, target, name, replace=replace)
    except OSError as error:
        raise ModelError(
            ErrorCode.DISK_FULL if error.errno == errno.ENOSPC else ErrorCode.MODEL_INSTALL_FAILED,
            f"Could not install {name} in {models_dir}: {error.strerror or error}. Nothing was installed.",
        ) from error
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    sync_directory(models_dir)
    return target


def _exists(name: str) -> ModelError:
    return ModelError(
        ErrorCode.MODEL_EXISTS,
        f"A model called {name} is already installed. Add --replace to replace it, or choose another name.",
    )


def _unpack(archive: Path, plan: ArchivePlan, staging: Path, cancel: threading.Event | None) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    strip = 1 if plan.top is not None else 0
    try:
        with zipfile.ZipFile(archive) as bundle:
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
    aside = Path(tempfile.mkdtemp(prefix=f"{OLD_PREFIX}{name}-", dir=target.parent))
    old = aside / name
    os.rename(target, old)
    try:
        os.rename(staging, target)
    except BaseException:
        os.rename(old, target)
        shutil.rmtree(aside, ignore_errors=True)
        raise
    shutil.rmtree(aside, ignore_errors=True)
