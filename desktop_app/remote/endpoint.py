"""Where the running app listens: one endpoint per user and data folder.

Linux and macOS: a Unix socket ``<key>.sock`` in a folder private to the user (0700):
``$XDG_RUNTIME_DIR/voice-assistant/`` when XDG_RUNTIME_DIR is set (it is per user, in memory, and emptied
at log-out), otherwise ``run/`` in the app's per-user data folder. `key` is a hash of the data folder's real
path, so two instances with different --data-dir are different instances, and two spellings of one folder
(a link to it) are the same. Windows: a named pipe whose name hashes the user's name with that folder (pipe
names are machine-wide).

The app only ever removes what is provably its own: a socket, owned by this user, in this private folder.
A folder that is a link, belongs to someone else or is open to others is refused (remote_dir_unsafe); a
file, link, FIFO or folder where the socket belongs is refused (remote_endpoint_blocked). Neither is
touched.
"""

from __future__ import annotations

import hashlib
import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

from desktop_app import APP_NAME
from desktop_app.core.errors import ErrorCode
from desktop_app.remote.protocol import RemoteError

RUNTIME_DIR_ENV = "XDG_RUNTIME_DIR"
# sun_path holds 108 bytes on Linux and 104 on macOS and the BSDs, the terminating NUL included.
MAX_SOCKET_PATH_BYTES = 107 if sys.platform.startswith("linux") else 103


@dataclass(frozen=True, slots=True)
class Endpoint:
    """`address` is the socket's path, or the pipe's name on Windows (then `directory` is None).
    `make_parents`: the folders above `directory` are the app's own and may be created; XDG_RUNTIME_DIR is
    the session's, and is never created."""

    address: str
    directory: Path | None
    make_parents: bool = False

    @property
    def socket_path(self) -> Path:
        return Path(self.address)

    @property
    def lock_path(self) -> Path:
        """Held (flock) by the running instance for its whole life; the kernel lets go when it dies."""
        return self.socket_path.with_suffix(".lock")


def endpoint_for(data_dir: Path) -> Endpoint:
    """The endpoint of the instance that uses `data_dir` (AppPaths.data_dir). Creates nothing."""
    real = os.path.realpath(data_dir)
    if os.name == "nt":
        user = os.environ.get("USERNAME", "")
        key = hashlib.sha256(f"{user}\0{os.path.normcase(real)}".encode("utf-8", "surrogatepass")).hexdigest()
        return Endpoint(rf"\\.\pipe\{APP_NAME}-{key[:32]}", None)
    key = hashlib.sha256(os.fsencode(real)).hexdigest()[:24]
    directory, make_parents = runtime_directory()
    path = directory / f"{key}.sock"
    size = len(os.fsencode(path))
    if size > MAX_SOCKET_PATH_BYTES:
        raise RemoteError(
            ErrorCode.REMOTE_UNAVAILABLE,
            f"The path of the app's socket, {path}, is too long for a socket ({size} bytes; at most "
            f"{MAX_SOCKET_PATH_BYTES}). Set {RUNTIME_DIR_ENV} to a shorter folder of yours.",
        )
    return Endpoint(str(path), directory, make_parents)


def runtime_directory() -> tuple[Path, bool]:
    """The folder of the sockets, and whether its parents are the app's to create."""
    runtime = os.environ.get(RUNTIME_DIR_ENV, "")
    if runtime and os.path.isabs(runtime):  # the XDG specification says to ignore a relative value
        return Path(runtime) / APP_NAME, False
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "run", True


def prepare_directory(endpoint: Endpoint) -> Path:
    """Creates the endpoint's folder 0700, or checks the one that is there (see check_directory)."""
    directory = endpoint.directory
    assert directory is not None, "a named pipe needs no folder"
    # Imported here: clients (a key press) need none of desktop_app.paths' logging and file helpers.
    from desktop_app.paths import PRIVATE_DIR_MODE, make_private_dir

    created = False
    try:
        if endpoint.make_parents:
            make_private_dir(directory.parent)
        try:
            os.mkdir(directory, PRIVATE_DIR_MODE)
            created = True
        except FileExistsError:
            pass  # checked below, whatever it is
    except OSError as error:
        hint = "" if endpoint.make_parents else f" Set {RUNTIME_DIR_ENV} to a folder of yours, or unset it."
        raise RemoteError(
            ErrorCode.REMOTE_UNAVAILABLE, f"Could not create {directory}: {error.strerror or error}.{hint}"
        ) from None
    if created:
        os.chmod(directory, PRIVATE_DIR_MODE)  # just made by us: the umask may have taken bits we need
    if not check_directory(directory):
        raise RemoteError(ErrorCode.REMOTE_UNAVAILABLE, f"{directory} disappeared while the app was starting.")
    return directory


def check_directory(directory: Path) -> bool:
    """Whether the folder exists (False: no instance can be there); RemoteError when it is not a private
    folder of this user's."""
    try:
        info = os.lstat(directory)
    except FileNotFoundError:
        return False
    if not stat.S_ISDIR(info.st_mode):
        from desktop_app.paths import file_kind

        raise RemoteError(
            ErrorCode.REMOTE_DIR_UNSAFE,
            f"{directory} is {file_kind(info.st_mode)}, not the app's folder. Nothing was changed; remove it, or "
            f"set {RUNTIME_DIR_ENV} to another folder.",
        )
    if info.st_uid != os.geteuid():
        raise RemoteError(
            ErrorCode.REMOTE_DIR_UNSAFE,
            f"{directory} belongs to another user (uid {info.st_uid}). Nothing was changed; ask them or an "
            f"administrator to remove it, or set {RUNTIME_DIR_ENV} to a folder of yours.",
        )
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        raise RemoteError(
            ErrorCode.REMOTE_DIR_UNSAFE,
            f"{directory} is open to other users (mode {mode:04o}). Make it private (chmod 700) or remove it.",
        )
    return True


def check_socket(path: Path) -> os.stat_result | None:
    """The socket's status when it is this user's socket, None when nothing is there; RemoteError
    (remote_endpoint_blocked) when something else is."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISSOCK(info.st_mode) and info.st_uid == os.geteuid():
        return info
    from desktop_app.paths import file_kind

    kind = "a socket of another user" if stat.S_ISSOCK(info.st_mode) else file_kind(info.st_mode)
    raise RemoteError(
        ErrorCode.REMOTE_ENDPOINT_BLOCKED,
        f"{path} is {kind}, where the app keeps its socket. Nothing was changed; remove it if nothing needs "
        "it, then try again.",
    )
