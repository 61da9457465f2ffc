"""One instance per user and data folder: the first start becomes the server, every later one a client.

On Linux and macOS the instance is whoever holds an exclusive flock on ``<key>.lock`` beside the socket.
flock is atomic, so of two starts at the same moment exactly one wins; the kernel drops the lock when its
holder dies, however it dies. Only the holder touches the socket path: a socket found there while holding
the lock belongs to a crashed instance when connecting to it is refused, and is then replaced. Anything
else at that path is refused and left as it is (endpoint.py). A start that loses waits (up to `wait`) for
the winner to answer a ping: the winner may still be binding its socket.

The lock file is never removed: removing it would let two starts lock two different files of one name.
"""

from __future__ import annotations

import contextlib
import os
import socket
import stat
import time
from pathlib import Path

from desktop_app.core.errors import ErrorCode
from desktop_app.paths import PRIVATE_FILE_MODE, file_kind
from desktop_app.remote.client import DEFAULT_TIMEOUT, RemoteClient
from desktop_app.remote.endpoint import Endpoint, check_socket, endpoint_for, prepare_directory
from desktop_app.remote.protocol import RemoteError
from desktop_app.remote.server import RemoteServer
from desktop_app.remote.transport import Listener, UnixListener

CLAIM_WAIT = 10.0
_RETRY_INTERVAL = 0.02
# Waiting for the winner of a race to answer: app_not_running until it has bound its socket, and
# remote_unavailable when the instance that held the lock is quitting.
_TRANSIENT = frozenset({ErrorCode.APP_NOT_RUNNING, ErrorCode.REMOTE_UNAVAILABLE})


def claim_instance(
    data_dir: Path, *, wait: float = CLAIM_WAIT, timeout: float = DEFAULT_TIMEOUT
) -> RemoteServer | RemoteClient:
    """A RemoteServer (listening, not yet serving: call start()) when this process is the instance for
    `data_dir`; a RemoteClient to the running instance when there is one. RemoteError when neither is
    possible: remote_dir_unsafe, remote_endpoint_blocked, remote_unavailable, or remote_timed_out when an
    instance holds the lock but does not answer within `wait` seconds."""
    endpoint = endpoint_for(data_dir)
    deadline = time.monotonic() + wait
    while True:
        listener = _take(endpoint)
        if listener is not None:
            return RemoteServer(endpoint, listener)
        client = RemoteClient(endpoint, timeout)
        try:
            client.ping()
        except RemoteError as error:
            if error.code not in _TRANSIENT:
                raise
            if time.monotonic() >= deadline:
                raise RemoteError(
                    ErrorCode.REMOTE_TIMED_OUT,
                    f"Another start of the app holds its place but did not answer within {wait:g} s. If no "
                    "window shows up, end that process and start the app again.",
                ) from None
            time.sleep(_RETRY_INTERVAL)
            continue
        return client


def _take(endpoint: Endpoint) -> Listener | None:
    """This process's listener when it becomes the instance, None when another process is it."""
    if endpoint.directory is None:  # pragma: no cover - Windows only
        from desktop_app.remote.pipes import PipeListener

        return PipeListener.create(endpoint.address)
    import fcntl

    prepare_directory(endpoint)
    lock_fd = _open_lock(endpoint.lock_path)
    try:
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(lock_fd)
            return None
        path = endpoint.socket_path
        if check_socket(path) is not None:
            if _answers(path):  # someone serves here without the lock (it was deleted): defer to it
                os.close(lock_fd)
                return None
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)  # the socket of a crashed instance: ours (check_socket), in our private folder
        try:
            return UnixListener.bind(path, lock_fd)
        except OSError as error:
            raise RemoteError(
                ErrorCode.REMOTE_UNAVAILABLE, f"Could not listen at {path}: {error.strerror or error}."
            ) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.close(lock_fd)
        raise


def _open_lock(path: Path) -> int:
    """The lock file, created 0600 if missing. O_NOFOLLOW and O_NONBLOCK: a link or a FIFO in its place is
    refused, not followed or waited on; nothing in its place is ever changed."""
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, PRIVATE_FILE_MODE)
    except OSError as error:
        try:
            kind = file_kind(os.lstat(path).st_mode)
        except OSError:
            raise RemoteError(
                ErrorCode.REMOTE_UNAVAILABLE, f"Could not open {path}: {error.strerror or error}."
            ) from None
        raise _blocked(path, kind) from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
        os.close(fd)
        raise _blocked(path, "a file of another user" if stat.S_ISREG(info.st_mode) else file_kind(info.st_mode))
    return fd


def _blocked(path: Path, kind: str) -> RemoteError:
    return RemoteError(
        ErrorCode.REMOTE_ENDPOINT_BLOCKED,
        f"{path} is {kind}, where the app keeps its instance lock. Nothing was changed; remove it if nothing "
        "needs it, then try again.",
    )


def _answers(path: Path) -> bool:
    """Whether a process accepts connections at the socket: False for the socket of a crashed one."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.settimeout(1.0)
        probe.connect(os.fspath(path))
    except (ConnectionRefusedError, FileNotFoundError):
        return False
    except TimeoutError:  # alive, with a full backlog
        return True
    except OSError as error:
        raise RemoteError(
            ErrorCode.REMOTE_UNAVAILABLE, f"Could not check the socket {path}: {error.strerror or error}."
        ) from None
    finally:
        probe.close()
    return True
