"""A file the app puts in a place it shares with the user and other programs (a start-at-login entry, a menu
entry, an icon), and changes only while it is provably the app's own.

"Its own" is decided by the file's content (a marker the app writes into it). Anything else in that place
is refused with `not_ours`; a symbolic link, named pipe, folder or device there with `unsafe_path`: in both
cases nothing is written, replaced, changed in mode or removed. A file appears whole or not at all: it is
written beside its place under a temporary name, then renamed, and a name taken meanwhile by someone else's
file is never replaced.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from desktop_app import DISPLAY_NAME
from desktop_app.core.atomic_file import stage_file, sync_directory
from desktop_app.core.errors import AppError, ErrorCode
from desktop_app.paths import file_kind, make_private_dir

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # a FIFO swapped in after the check must not block the open

Identity = tuple[int, ...]


@dataclass(frozen=True)
class Refusals:
    """How one kind of owned file words its errors: the exception type, the three stable codes, and the
    sentences for a file of someone else's in the app's place (`{path}` is replaced by the path)."""

    error: type[AppError]
    not_ours: ErrorCode
    unsafe_path: ErrorCode
    failed: ErrorCode
    not_ours_when_writing: str
    not_ours_when_removing: str


class OwnedFile:
    """The file at `path`; `is_ours` tells the app's own content from anyone else's. A file bigger than
    `max_bytes` is not read whole and never counts as the app's."""

    def __init__(
        self, path: Path, is_ours: Callable[[bytes], bool], refusals: Refusals, *, max_bytes: int = 64 * 1024
    ) -> None:
        self.path = path
        self._is_ours = is_ours
        self._refusals = refusals
        self._max_bytes = max_bytes

    def content(self) -> bytes | None:
        """What is there now, ours or not; None when nothing is. Raises for what is not a regular file."""
        found = self._read()
        return None if found is None else found[1]

    def owns(self, content: bytes) -> bool:
        # _read stops one byte past the limit: a longer file is not one the app wrote.
        return len(content) <= self._max_bytes and self._is_ours(content)

    def check_place(self) -> None:
        """Raises unless the place is free or holds the app's own file (what `write` would refuse)."""
        found = self._read()
        if found is not None and not self.owns(found[1]):
            raise self._not_ours()

    def write(self, content: bytes) -> None:
        """Puts `content` in place: a new file, or a replacement of the app's own."""
        found = self._read()
        if found is not None and not self.owns(found[1]):
            raise self._not_ours()
        try:
            make_private_dir(self.path.parent)
            temp = stage_file(self.path, content)  # 0600: readable by the user's session only
        except OSError as error:
            raise self._failure("write", error) from error
        try:
            self._publish(temp, replacing=found is not None)
        except OSError as error:
            raise self._failure("write", error) from error
        finally:
            temp.unlink(missing_ok=True)
        sync_directory(self.path.parent)

    def remove(self) -> bool:
        """Removes the app's own file; returns whether there was one. Someone else's is refused."""
        found = self._read()
        if found is None:
            return False
        identity, content = found
        if not self.owns(content):
            raise self._not_ours(removing=True)
        try:
            if _identity(os.lstat(self.path)) != identity:  # changed since it was read: not provably ours
                raise self._not_ours(removing=True)
            os.unlink(self.path)
        except FileNotFoundError:
            return False
        except OSError as error:
            raise self._failure("remove", error) from error
        sync_directory(self.path.parent)
        return True

    def _read(self) -> tuple[Identity, bytes] | None:
        """The file's identity and content, or None when nothing is there. Refuses what is not a regular
        file without opening it, and a link, FIFO or device swapped in meanwhile without reading it."""
        try:
            info = os.lstat(self.path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as error:
            raise self._failure("read", error) from error
        if not stat.S_ISREG(info.st_mode):
            raise self._unsafe(info.st_mode)
        try:
            fd = os.open(self.path, os.O_RDONLY | _NOFOLLOW | _NONBLOCK | getattr(os, "O_NOCTTY", 0))
        except FileNotFoundError:
            return None
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise self._unsafe(stat.S_IFLNK) from None
            raise self._failure("read", error) from error
        try:
            opened = os.fstat(fd)
            if not stat.S_ISREG(opened.st_mode):
                raise self._unsafe(opened.st_mode)
            content = b""
            while len(content) <= self._max_bytes:
                chunk = os.read(fd, self._max_bytes + 1 - len(content))
                if not chunk:
                    break
                content += chunk
        except OSError as error:
            raise self._failure("read", error) from error
        finally:
            os.close(fd)
        return _identity(opened), content

    def _publish(self, temp: Path, *, replacing: bool) -> None:
        if replacing:
            found = self._read()  # checked again just before: still a regular file of ours
            if found is not None and not self.owns(found[1]):
                raise self._not_ours()
            os.replace(temp, self.path)
            return
        try:
            # A hard link fails when the name is taken, so a file that appeared meanwhile is never replaced.
            os.link(temp, self.path)
        except FileExistsError:
            # Made meanwhile: replaced only when it is ours (another instance of the app); a link, FIFO or
            # folder is refused by _read.
            found = self._read()
            if found is None:
                raise self._refusals.error(
                    self._refusals.failed, f"{self.path} changed while it was written; nothing was written."
                ) from None
            if not self.owns(found[1]):
                raise self._not_ours() from None
            os.replace(temp, self.path)
        except OSError:
            # The file system has no hard links: check, then rename.
            if os.path.lexists(self.path):
                raise self._not_ours() from None
            os.replace(temp, self.path)

    def _not_ours(self, *, removing: bool = False) -> AppError:
        refusals = self._refusals
        template = refusals.not_ours_when_removing if removing else refusals.not_ours_when_writing
        return refusals.error(refusals.not_ours, template.format(path=self.path))

    def _unsafe(self, mode: int) -> AppError:
        return self._refusals.error(
            self._refusals.unsafe_path,
            f"{self.path} is {file_kind(mode)}; {DISPLAY_NAME} neither follows nor replaces it, and left it as it is.",
        )

    def _failure(self, action: str, error: OSError) -> AppError:
        reason = error.strerror or str(error)
        return self._refusals.error(self._refusals.failed, f"Could not {action} {self.path}: {reason}.")


def _identity(info: os.stat_result) -> Identity:
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
