"""Byte streams under the protocol: a Unix socket (Linux, macOS). Windows' named pipes are in pipes.py and
offer the same two shapes, a Listener and a Stream.

Every read and write has a deadline and every read a size limit, so a client that sends nothing, too much or
too slowly costs one connection for at most a few seconds and nothing more.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import socket
import time
from pathlib import Path
from typing import Protocol

from desktop_app.core.errors import ErrorCode
from desktop_app.remote.protocol import RemoteError

LISTEN_BACKLOG = 64
PRIVATE_SOCKET_MODE = 0o600
_CHUNK = 64 * 1024


class Stream(Protocol):
    def read_line(self, limit: int, deadline: float) -> bytes:
        """One line (with its newline), or what came before the peer closed (b"" when nothing did).
        RemoteError: remote_message_too_large past `limit` bytes, remote_timed_out past `deadline`
        (time.monotonic())."""
        ...

    def write(self, data: bytes, deadline: float) -> None: ...

    def abort(self) -> None:
        """Wakes a read blocked on another thread (it sees the end of the stream)."""
        ...

    def close(self) -> None: ...


class Listener(Protocol):
    def accept(self) -> Stream | None:
        """The next connection; None when woken by wake() or when a client left before it was taken."""
        ...

    def wake(self) -> None: ...

    def close(self) -> None:
        """Stops listening and removes the endpoint if it is still this listener's own."""
        ...


def timed_out(what: str) -> RemoteError:
    return RemoteError(ErrorCode.REMOTE_TIMED_OUT, what)


def too_large(limit: int) -> RemoteError:
    return RemoteError(ErrorCode.REMOTE_MESSAGE_TOO_LARGE, f"The message is longer than {limit} bytes.")


class SocketStream:
    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def read_line(self, limit: int, deadline: float) -> bytes:
        data = bytearray()
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise timed_out("No complete message arrived in time.")
            self._sock.settimeout(remaining)
            try:
                chunk = self._sock.recv(_CHUNK)
            except TimeoutError:
                raise timed_out("No complete message arrived in time.") from None
            if not chunk:
                return bytes(data)
            data += chunk
            newline = data.find(b"\n", 0, limit)
            if newline >= 0:
                return bytes(data[: newline + 1])  # one request per connection: anything after it is ignored
            if len(data) >= limit:
                raise too_large(limit)

    def write(self, data: bytes, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise timed_out("The message could not be sent in time.")
        self._sock.settimeout(remaining)
        try:
            self._sock.sendall(data)
        except TimeoutError:
            raise timed_out("The message could not be sent in time.") from None

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._sock.close()


def connect_unix(path: Path, timeout: float) -> SocketStream:
    """A connection to the socket at `path`; RemoteError app_not_running when nobody listens there."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(os.fspath(path))
    except (FileNotFoundError, ConnectionRefusedError):
        sock.close()
        raise not_running() from None
    except TimeoutError:  # its backlog is full: it accepts nothing, or too slowly
        sock.close()
        raise timed_out(f"The app did not take the connection within {timeout:g} s.") from None
    except OSError as error:
        sock.close()
        raise RemoteError(
            ErrorCode.REMOTE_UNAVAILABLE, f"Could not connect to the app at {path}: {error.strerror or error}."
        ) from None
    return SocketStream(sock)


def not_running() -> RemoteError:
    return RemoteError(
        ErrorCode.APP_NOT_RUNNING,
        "The app is not running (for this data folder). Start it first, with the same --data-dir if you use one.",
    )


class UnixListener:
    """Listens at `path` for as long as it lives. `lock_fd` is the instance lock (see claim.py): it is
    released only after the socket is gone, so a new instance never finds this one's socket half removed."""

    def __init__(self, sock: socket.socket, path: Path, lock_fd: int) -> None:
        info = os.lstat(path)
        self._identity = (info.st_dev, info.st_ino)
        self._sock = sock
        self._path = path
        self._lock_fd: int | None = lock_fd
        self._wake_reader, self._wake_writer = socket.socketpair()
        for item in (sock, self._wake_reader, self._wake_writer):
            item.setblocking(False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(sock, selectors.EVENT_READ)
        self._selector.register(self._wake_reader, selectors.EVENT_READ)

    @classmethod
    def bind(cls, path: Path, lock_fd: int) -> UnixListener:
        """Binds a new socket at `path`, which must be free: bind() never replaces anything."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(os.fspath(path))
            # The folder (0700) is what keeps others out; the socket's own mode says so too.
            os.chmod(path, PRIVATE_SOCKET_MODE)
            sock.listen(LISTEN_BACKLOG)
            return cls(sock, path, lock_fd)
        except BaseException:
            sock.close()
            raise

    def accept(self) -> SocketStream | None:
        for key, _ in self._selector.select():
            if key.fileobj is self._wake_reader:
                with contextlib.suppress(OSError):
                    self._wake_reader.recv(_CHUNK)
                return None
        try:
            connection, _ = self._sock.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return None
        connection.setblocking(True)
        return SocketStream(connection)

    def wake(self) -> None:
        with contextlib.suppress(OSError):  # full (already woken) or closed
            self._wake_writer.send(b"\0")

    def close(self) -> None:
        self._selector.close()
        self._sock.close()
        self._wake_reader.close()
        self._wake_writer.close()
        with contextlib.suppress(OSError):
            info = os.lstat(self._path)
            if (info.st_dev, info.st_ino) == self._identity:  # still ours: not replaced by someone else
                os.unlink(self._path)
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
