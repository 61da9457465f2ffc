"""Writing an export file safely: a private temporary file beside the target, then one atomic rename, so a
reader never sees half a file and a failed export leaves nothing behind."""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from desktop_app.cli.errors import CommandError
from desktop_app.paths import PRIVATE_FILE_MODE, sync_directory


def check_target(target: Path, *, overwrite: bool) -> None:
    """Refuses early, before any work, what `atomic_text_file` would refuse at the end."""
    if target.is_dir():
        raise CommandError("invalid_output", f"{target} is a folder; give a file name to export to.")
    if not target.parent.is_dir():
        raise CommandError("invalid_output", f"The folder {target.parent} does not exist; create it first.")
    if target.exists() and not overwrite:
        raise CommandError("file_exists", f"{target} already exists; add --force to replace it.")


def write_failure(target: Path, error: OSError) -> CommandError:
    reason = error.strerror or str(error)
    if error.errno == errno.ENOSPC:
        return CommandError("disk_full", f"Could not write {target}: the disk is full. Nothing was written.")
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return CommandError("permission_denied", f"Could not write {target}: {reason}. Nothing was written.")
    return CommandError("write_failed", f"Could not write {target}: {reason}. Nothing was written.")


@contextmanager
def atomic_text_file(target: Path, *, overwrite: bool) -> Iterator[TextIO]:
    """Yields a UTF-8 text stream (no newline translation); on success the file appears at `target`, mode
    0600. Refuses to replace an existing file unless `overwrite`, even one created while writing."""
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


def _publish(temp: Path, target: Path, *, overwrite: bool) -> None:
    if overwrite:
        os.replace(temp, target)
        return
    try:
        # A hard link fails if the name is taken, so a file that appeared meanwhile is never replaced.
        os.link(temp, target)
    except FileExistsError:
        raise CommandError("file_exists", f"{target} already exists; add --force to replace it.") from None
    except OSError:
        # The file system has no hard links: check, then rename.
        if target.exists():
            raise CommandError("file_exists", f"{target} already exists; add --force to replace it.") from None
        os.replace(temp, target)
