"""The sending side, used by ``voice-assistant ptt`` and by a second start of the app (``show``): one
connection per request, the reply awaited up to a timeout."""

from __future__ import annotations

import time

from desktop_app.core.errors import ErrorCode
from desktop_app.remote.endpoint import Endpoint, check_directory, check_socket
from desktop_app.remote.protocol import (
    MAX_REPLY_BYTES,
    Command,
    CommandName,
    RemoteError,
    Reply,
    decode_reply,
    encode_request,
)
from desktop_app.remote.transport import Stream, connect_unix, not_running

DEFAULT_TIMEOUT = 3.0


class RemoteClient:
    """Talks to the instance at `endpoint`. Every failure is a RemoteError: app_not_running when nothing
    listens, remote_timed_out when the app does not answer within `timeout` seconds, or the code of the
    app's refusal."""

    def __init__(self, endpoint: Endpoint, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.endpoint = endpoint
        self.timeout = timeout

    def send(self, command: Command, timeout: float | None = None) -> Reply:
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        stream = _connect(self.endpoint, limit)
        try:
            stream.write(encode_request(command), deadline)
            line = stream.read_line(MAX_REPLY_BYTES, deadline)
        except OSError as error:
            raise RemoteError(
                ErrorCode.REMOTE_UNAVAILABLE,
                f"The connection to the app broke ({error.strerror or error}); it may be quitting.",
            ) from None
        except RemoteError as error:
            if error.code is ErrorCode.REMOTE_MESSAGE_TOO_LARGE:
                raise RemoteError(ErrorCode.REMOTE_BAD_REPLY, "The app's reply is too long.") from None
            if error.code is ErrorCode.REMOTE_TIMED_OUT:
                raise RemoteError(
                    ErrorCode.REMOTE_TIMED_OUT,
                    f"The app did not answer within {limit:g} s. It may be busy or stuck; if it stays so, quit "
                    "it and start it again.",
                ) from None
            raise
        finally:
            stream.close()
        if not line:
            raise RemoteError(
                ErrorCode.REMOTE_UNAVAILABLE, "The app closed the connection without answering; it may be quitting."
            )
        return decode_reply(line)

    def ping(self, timeout: float | None = None) -> Reply:
        """The running instance's process id and version."""
        return self.send(Command(CommandName.PING), timeout)


def _connect(endpoint: Endpoint, timeout: float) -> Stream:
    if endpoint.directory is None:  # pragma: no cover - Windows only
        from desktop_app.remote.pipes import connect_pipe

        return connect_pipe(endpoint.address, timeout)
    # Checked before connecting: never talk to a socket that a link or another user put in our place.
    if not check_directory(endpoint.directory) or check_socket(endpoint.socket_path) is None:
        raise not_running()
    return connect_unix(endpoint.socket_path, timeout)
