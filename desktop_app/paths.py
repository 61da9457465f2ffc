"""Where the app keeps its state: per-user directories, or everything under one --data-dir; private log
files; and per-run scratch folders that a later run removes when their run was killed."""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import os
import re
import shutil
import stat
import tempfile
import time
from dataclasses import dataclass
from io import TextIOWrapper
from pathlib import Path

import platformdirs

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; scratch folders are not swept there
    fcntl = None  # type: ignore[assignment]

from desktop_app import APP_NAME

DATA_DIR_ENV = "VOICE_ASSISTANT_DATA_DIR"
DATABASE_URL_ENV = "VOICE_ASSISTANT_DATABASE_URL"
DATABASE_FILE = "assistant.db"
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


@dataclass(frozen=True, slots=True)
class AppPaths:
    data_dir: Path
    config_dir: Path
    cache_dir: Path
    log_dir: Path
    models_dir: Path

    @property
    def database_file(self) -> Path:
        return self.data_dir / DATABASE_FILE

    @property
    def settings_file(self) -> Path:
        return self.config_dir / "settings.json"

    @property
    def window_state_file(self) -> Path:
        """The window's size and position between runs (Qt writes it)."""
        return self.config_dir / "window.ini"

    @classmethod
    def resolve(cls, data_dir: str | os.PathLike[str] | None = None) -> AppPaths:
        """--data-dir first, then the environment variable, then the platform's per-user directories."""
        override = data_dir if data_dir is not None else os.environ.get(DATA_DIR_ENV) or None
        if override is not None:
            root = Path(override).expanduser().absolute()
            return cls(root, root / "config", root / "cache", root / "logs", root / "models")
        data = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
        return cls(
            data_dir=data,
            config_dir=Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
            cache_dir=Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
            log_dir=Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
            models_dir=data / "models",
        )

    def ensure(self) -> AppPaths:
        """Creates the directories that are missing, private to the user (0700). Folders that exist are left
        as they are (their permissions are the user's choice), and nothing is created inside a read-only
        one: reading what is there must still work."""
        for directory in (self.data_dir, self.config_dir, self.cache_dir, self.log_dir, self.models_dir):
            if directory.parent.is_dir() and not is_writable_folder(directory.parent):
                continue
            make_private_dir(directory)
        return self


def make_private_dir(directory: Path) -> None:
    """Creates `directory` (and missing parents) 0700; one that exists is left exactly as it is."""
    if directory.is_dir():
        return
    directory.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    if os.name == "posix":
        os.chmod(directory, PRIVATE_DIR_MODE)  # mkdir's mode passes through the umask; this is ours to set


def file_kind(mode: int) -> str:
    """What a file of this (l)stat mode is, worded for a message: "a named pipe (FIFO)", "a folder"..."""
    kinds = (
        (stat.S_ISREG, "a regular file"),
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((word for test, word in kinds if test(mode)), "not a regular file")


def is_writable_folder(directory: Path) -> bool:
    """Whether the app may write in `directory`. A folder without its owner's write bit (0555) counts as
    read-only even for root, who could write there anyway: the mode says what its owner wants."""
    try:
        info = directory.stat()
    except OSError:
        return False
    if os.name == "posix" and not info.st_mode & stat.S_IWUSR:
        return False
    return os.access(directory, os.W_OK)


def touch_private_file(path: Path) -> None:
    """Creates the file 0600 before anything else opens it, so it is never readable by others."""
    fd = os.open(path, os.O_CREAT | os.O_RDWR, PRIVATE_FILE_MODE)
    os.close(fd)
    if os.name == "posix":
        os.chmod(path, PRIVATE_FILE_MODE)


# -- private log files ------------------------------------------------------------------------------------


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log file that is private to the user (0600) from the moment it exists: the file is
    created by os.open with that mode, not tightened afterwards, and rotation renames it (the mode goes
    with it) before creating the next one the same way. A log file an earlier release left readable by
    others is tightened when opened, the rotated ones too. A symbolic link in the file's place is refused."""

    def __init__(self, filename: Path, max_bytes: int, backup_count: int) -> None:
        super().__init__(filename, maxBytes=max_bytes, backupCount=backup_count, encoding="utf-8")
        for number in range(1, backup_count + 1):
            tighten_private_file(Path(f"{self.baseFilename}.{number}"))

    def _open(self) -> TextIOWrapper:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT | _NOFOLLOW, PRIVATE_FILE_MODE)
        try:
            _tighten(fd)
            return os.fdopen(fd, "a", encoding=self.encoding, errors=self.errors)
        except BaseException:
            os.close(fd)
            raise


def tighten_private_file(path: Path) -> None:
    """Makes an existing regular file of ours 0600; a missing file, a link or someone else's file is left."""
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW)
    except OSError:
        return
    try:
        _tighten(fd)
    finally:
        os.close(fd)


def _tighten(fd: int) -> None:
    if os.name != "posix":
        return
    info = os.fstat(fd)
    if stat.S_ISREG(info.st_mode) and info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) & 0o077:
        os.fchmod(fd, PRIVATE_FILE_MODE)


# -- scratch folders of one run ---------------------------------------------------------------------------

RUN_MARKER = ".voice-assistant-run"
_RUN_MAGIC = b"voice-assistant scratch folder\n"
_RANDOM = r"[a-z0-9_]{8}"  # what tempfile.mkdtemp puts after the prefix
# Folders of releases before the marker: "va-tts-" + mkdtemp's 8 characters, holding only rendered speech.
_LEGACY_CONTENT = re.compile(r"utterance-\d+\.wav")
LEGACY_MIN_AGE_SECONDS = 24 * 3600


class RunFolder:
    """A private scratch folder in the temporary directory for one run of the app, removed by close().

    A run that is killed or crashes cannot remove its folder, so the next run does (`remove_stale`): a
    folder is removed only when its name has the app's pattern (prefix, owner pid, mkdtemp's random part),
    it is a real folder (not a link) owned by this user, it holds the app's marker file, and no process
    holds the lock on that marker. The creating process locks the marker (flock) for as long as it lives,
    and the kernel drops the lock when it ends however it ends, so a live run's folder is never taken and
    a reused process id cannot fool the check."""

    def __init__(self, path: Path, lock_fd: int | None) -> None:
        self.path = path
        self._lock_fd = lock_fd

    @classmethod
    def create(cls, prefix: str, parent: Path | None = None) -> RunFolder:
        """Removes abandoned folders of earlier runs with this prefix, then makes this run's folder (0700)."""
        remove_stale(prefix, parent)
        path = Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=parent))
        if fcntl is None:
            return cls(path, None)
        # The marker appears complete and locked or not at all: written under another name, then renamed.
        pending = path / f"{RUN_MARKER}.new"
        fd = os.open(pending, os.O_RDWR | os.O_CREAT | os.O_EXCL | _NOFOLLOW, PRIVATE_FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.write(fd, _RUN_MAGIC + f"pid={os.getpid()}\n".encode())
            os.rename(pending, path / RUN_MARKER)
        except BaseException:
            os.close(fd)
            shutil.rmtree(path, ignore_errors=True)
            raise
        return cls(path, fd)

    def close(self) -> None:
        """Removes the folder (still holding the lock, so no other run takes it meanwhile)."""
        shutil.rmtree(self.path, ignore_errors=True)
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._lock_fd)
            self._lock_fd = None


def remove_stale(prefix: str, parent: Path | None = None) -> list[Path]:
    """Removes the scratch folders with this prefix whose run has ended (see RunFolder); returns them.
    Anything else with a similar name is left alone. Never raises: clean-up is best effort."""
    if fcntl is None:
        return []
    directory = Path(parent if parent is not None else tempfile.gettempdir())
    current = re.compile(re.escape(prefix) + r"\d+-" + _RANDOM)
    legacy = re.compile(re.escape(prefix) + _RANDOM)
    removed: list[Path] = []
    try:
        entries = [entry.name for entry in os.scandir(directory)]
    except OSError:
        return removed
    for name in entries:
        path = directory / name
        try:
            if (current.fullmatch(name) and _remove_if_abandoned(path)) or (
                legacy.fullmatch(name) and _remove_if_legacy(path)
            ):
                removed.append(path)
        except OSError as error:
            logging.getLogger(__name__).debug("could not remove %s: %s", path, error)
    return removed


def _own_folder(path: Path) -> os.stat_result | None:
    """The folder's status when it is a real folder (not a link) owned by this user."""
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        return None
    return info


def _remove_if_abandoned(path: Path) -> bool:
    """Removes a folder made by RunFolder.create whose process is gone (its marker is ours and nobody holds
    its lock), holding that lock while it does."""
    assert fcntl is not None
    if _own_folder(path) is None:
        return False
    folder = os.open(path, os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW)
    try:
        try:
            marker = os.open(RUN_MARKER, os.O_RDONLY | _NOFOLLOW, dir_fd=folder)
        except OSError:
            return False  # no marker (yet): not provably ours
    finally:
        os.close(folder)
    try:
        info = os.fstat(marker)
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
            return False
        try:
            fcntl.flock(marker, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False  # its run is alive
        if not os.read(marker, 256).startswith(_RUN_MAGIC):
            return False
        shutil.rmtree(path)
        return True
    finally:
        os.close(marker)


def _remove_if_legacy(path: Path) -> bool:
    """Removes a speech folder of a release before the marker: ours, 0700 as mkdtemp makes it, holding
    nothing but rendered utterances, and untouched for a day (a run writes into it at every sentence)."""
    info = _own_folder(path)
    if info is None or stat.S_IMODE(info.st_mode) != 0o700:
        return False
    if time.time() - info.st_mtime < LEGACY_MIN_AGE_SECONDS:
        return False
    with os.scandir(path) as children:
        for child in children:
            if not _LEGACY_CONTENT.fullmatch(child.name) or not child.is_file(follow_symlinks=False):
                return False
    shutil.rmtree(path)
    return True
