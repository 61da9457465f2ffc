"""Writing an export file safely: a private temporary file beside the target, then one atomic rename, so a
reader never sees half a file and a failed export leaves nothing behind.

Only a regular file is ever replaced. A named pipe (FIFO) or a character device such as /dev/null is
written to directly, as a shell redirection would; a symbolic link, a folder, a socket or a block device
is refused. Symbolic links are never followed, and nothing the app did not create is changed in mode or
removed."""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from desktop_app.cli.errors import CommandError
from desktop_app.core.atomic_file import sync_directory
from desktop_app.paths import PRIVATE_FILE_MODE, file_kind


def _existing_mode(target: Path) -> int | None:
    """The mode of `target` itself (a symbolic link is not followed), or None when nothing is there."""
    try:
        return os.lstat(target).st_mode
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        raise CommandError(
            "invalid_output", f"{target.parent} is not a folder; give a file name to export to."
        ) from None
    except OSError as error:
        raise write_failure(target, error) from error


def _is_stream(mode: int) -> bool:
    return stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)


def _refuse_kind(target: Path, mode: int) -> CommandError | None:
    """Why `target` (of this lstat mode) can be neither replaced nor written to, or None when it can."""
    if stat.S_ISDIR(mode):
        return CommandError("invalid_output", f"{target} is a folder; give a file name to export to.")
    if stat.S_ISLNK(mode):
        return CommandError(
            "unsafe_output",
            f"{target} is a symbolic link; links are not followed or replaced. Give the real file's path, "
            "or --out - for standard output.",
        )
    if stat.S_ISREG(mode) or _is_stream(mode):
        return None
    return CommandError("unsafe_output", f"{target} is {file_kind(mode)}; give a file name to export to.")


def check_target(target: Path, *, overwrite: bool) -> None:
    """Refuses early, before any work, what `atomic_text_file` would refuse at the end."""
    mode = _existing_mode(target)
    if mode is not None:
        refused = _refuse_kind(target, mode)
        if refused is not None:
            raise refused
        if stat.S_ISREG(mode) and not overwrite:
            raise CommandError("file_exists", f"{target} already exists; add --force to replace it.")
        return
    if not target.parent.is_dir():
        raise CommandError("invalid_output", f"The folder {target.parent} does not exist; create it first.")


def write_failure(target: Path, error: OSError, *, streamed: bool = False) -> CommandError:
    reason = error.strerror or str(error)
    outcome = "The export is incomplete." if streamed else "Nothing was written."
    if error.errno == errno.ENOSPC:
        return CommandError("disk_full", f"Could not write {target}: the disk is full. {outcome}")
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return CommandError("permission_denied", f"Could not write {target}: {reason}. {outcome}")
    return CommandError("write_failed", f"Could not write {target}: {reason}. {outcome}")


@contextmanager
def atomic_text_file(target: Path, *, overwrite: bool) -> Iterator[TextIO]:
    """Yields a UTF-8 text stream (no newline translation); on success the file appears at `target`, mode
    0600. Refuses to replace an existing file unless `overwrite`, even one created while writing. A FIFO
    or character device at `target` is written to directly instead (opening a FIFO waits for a reader)."""
    mode = _existing_mode(target)
    if mode is not None and _is_stream(mode):
        with _stream_text_file(target) as handle:
            yield handle
        return
    if mode is not None:
        refused = _refuse_kind(target, mode)
        if refused is not None:
            raise refused
    try:
        fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    except OSError as error:
        raise write_failure(target, error) from error
    temp = Path(temp_name)
    try:
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
                yield handle
                handle.flush()
                os.fsync(handle.fileno())
            if os.name == "posix":
                os.chmod(temp, PRIVATE_FILE_MODE)
            _publish(temp, target, overwrite=overwrite)
        except OSError as error:
            raise write_failure(target, error) from error
    finally:
        temp.unlink(missing_ok=True)
    sync_directory(target.parent)


@contextmanager
def _stream_text_file(target: Path) -> Iterator[TextIO]:
    """Writes straight into an existing FIFO or character device: no temporary file, no rename, no chmod."""
    flags = os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(target, flags)
    except OSError as error:
        if error.errno == errno.ELOOP:  # replaced by a symbolic link meanwhile
            raise CommandError("unsafe_output", f"{target} is a symbolic link; links are not followed.") from None
        raise write_failure(target, error) from error
    if not _is_stream(os.fstat(fd).st_mode):  # replaced by something else meanwhile: touch nothing
        os.close(fd)
        raise CommandError("unsafe_output", f"{target} changed while the export started; nothing was written.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            yield handle
            handle.flush()
    except OSError as error:
        raise write_failure(target, error, streamed=True) from error


def _publish(temp: Path, target: Path, *, overwrite: bool) -> None:
    if overwrite:
        mode = _existing_mode(target)
        if mode is not None and not stat.S_ISREG(mode):  # something else appeared meanwhile: leave it be
            raise CommandError("unsafe_output", f"{target} is no longer a regular file; nothing was written.")
        os.replace(temp, target)
        return
    try:
        # A hard link fails if the name is taken, so a file that appeared meanwhile is never replaced.
        os.link(temp, target)
    except FileExistsError:
        raise CommandError("file_exists", f"{target} already exists; add --force to replace it.") from None
    except OSError:
        # The file system has no hard links: check, then rename.
        if os.path.lexists(target):
            raise CommandError("file_exists", f"{target} already exists; add --force to replace it.") from None
        os.replace(temp, target)
