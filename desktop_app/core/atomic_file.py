"""Files that appear whole or not at all: the data goes to a private temporary file beside the target,
reaches the disk, and only then takes the target's name. A crash or a full disk leaves the old file (or
none) and at most a temporary file its writer's folder sweeps, never half a file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

TEMPORARY_SUFFIX = ".part"


def is_temporary(name: str) -> bool:
    """Whether a file name is one stage_file makes (a sweeper removes old ones: their writer died)."""
    return name.startswith(".") and name.endswith(TEMPORARY_SUFFIX)


def stage_file(target: Path, data: bytes, *, durable: bool = True) -> Path:
    """Writes `data` to a new temporary file in `target`'s folder and returns its path; the caller gives it
    its name (os.replace, or os.link where an existing file must never be replaced) and removes it when
    that fails. mkstemp makes it 0600 whatever the umask. `durable`: fsynced before it is returned. On an
    error nothing is left behind."""
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TEMPORARY_SUFFIX, dir=target.parent)
    temporary = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            if durable:
                out.flush()
                os.fsync(out.fileno())
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary


def replace_file(target: Path, data: bytes, *, durable: bool = True) -> None:
    """`target` holds `data`, or is as it was when this raises. It replaces whatever file has the name, so
    callers check first that the name is theirs to replace. `durable`: the data and the rename survive a
    power cut (both fsynced)."""
    temporary = stage_file(target, data, durable=durable)
    try:
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    if durable:
        sync_directory(target.parent)


def sync_directory(directory: Path) -> None:
    """Makes a rename inside `directory` durable (POSIX: fsync the folder). Best effort: some file systems
    refuse, and the rename itself has happened either way."""
    if os.name != "posix":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
