"""Windows: the same streams over a named pipe, through the standard library's pipe code
(multiprocessing.connection's AF_PIPE), used for bytes only: never its pickling recv() and no authkey, so
accept() does no handshake a silent client could stall. Each request and reply is one pipe message.

The first instance of a pipe is created with FILE_FLAG_FIRST_PIPE_INSTANCE, so of two processes that
create the same name at once exactly one succeeds; the name disappears with its last handle, so a crashed
instance leaves nothing behind. Windows' default pipe security lets only the creator, administrators and
SYSTEM write to it.

Not exercised by the test suite, which runs on Linux.
"""

from __future__ import annotations

import contextlib
import time
from multiprocessing.connection import Client, Connection
from multiprocessing.connection import Listener as ConnectionListener

from desktop_app.core.errors import ErrorCode
from desktop_app.remote.protocol import RemoteError
from desktop_app.remote.transport import not_running, timed_out, too_large


class PipeStream:  # pragma: no cover - Windows only
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def read_line(self, limit: int, deadline: float) -> bytes:
        try:
            if not self._connection.poll(max(0.0, deadline - time.monotonic())):
                raise timed_out("No complete message arrived in time.")
            return self._connection.recv_bytes(limit)
        except EOFError:
            return b""
        except OSError as error:
            if getattr(error, "winerror", None) is None:  # "bad message length": longer than `limit`
                raise too_large(limit) from None
            raise

    def write(self, data: bytes, deadline: float) -> None:
        self._connection.send_bytes(data)  # a message this small never waits for the reader

    def abort(self) -> None:
        """Nothing to do: a read waits at most until its deadline (poll's timeout)."""

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._connection.close()


class PipeListener:  # pragma: no cover - Windows only
    def __init__(self, address: str, listener: ConnectionListener) -> None:
        self._address = address
        self._listener = listener
        self._closed = False

    @classmethod
    def create(cls, address: str) -> PipeListener | None:
        """The pipe's first instance, or None when another process has it."""
        try:
            return cls(address, ConnectionListener(address, family="AF_PIPE", backlog=8))
        except PermissionError:  # ERROR_ACCESS_DENIED: FILE_FLAG_FIRST_PIPE_INSTANCE lost the race
            return None
        except OSError as error:
            raise RemoteError(
                ErrorCode.REMOTE_UNAVAILABLE, f"Could not create the pipe {address}: {error.strerror or error}."
            ) from None

    def accept(self) -> PipeStream | None:
        try:
            connection = self._listener.accept()
        except OSError:
            if self._closed:
                return None
            raise
        return PipeStream(connection)

    def wake(self) -> None:
        """accept() waits without a timeout: a connection of our own wakes it."""
        with contextlib.suppress(OSError):
            Client(self._address, family="AF_PIPE").close()

    def close(self) -> None:
        self._closed = True
        self._listener.close()


def connect_pipe(address: str, timeout: float) -> PipeStream:  # pragma: no cover - Windows only
    try:
        return PipeStream(Client(address, family="AF_PIPE"))
    except FileNotFoundError:
        raise not_running() from None
    except OSError as error:
        raise RemoteError(
            ErrorCode.REMOTE_UNAVAILABLE, f"Could not connect to the app at {address}: {error.strerror or error}."
        ) from None
