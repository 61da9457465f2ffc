"""The running app's side: a thread that accepts connections, and one short-lived thread per connection
that reads one request, hands it to the app's handler and writes the reply.

Each connection has READ_TIMEOUT to deliver its request and at most MAX_CLIENTS are served at once (the
next one is told remote_busy), so a client that connects and says nothing, or floods, costs one slot for a
few seconds and blocks neither other clients nor the app. stop() wakes and joins every thread and removes
the socket only while it is still this server's.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from desktop_app import __version__
from desktop_app.core.errors import AppError, ErrorCode
from desktop_app.remote.endpoint import Endpoint
from desktop_app.remote.protocol import (
    MAX_REQUEST_BYTES,
    CommandName,
    Handler,
    RemoteError,
    Reply,
    decode_request,
    encode_error,
    encode_ok,
)
from desktop_app.remote.transport import Listener, Stream

log = logging.getLogger(__name__)

READ_TIMEOUT = 2.0
WRITE_TIMEOUT = 1.0
MAX_CLIENTS = 16
STOP_TIMEOUT = 5.0
# After a failed accept (out of file descriptors), wait this long before the next try rather than spin.
_ACCEPT_RETRY = 0.1


class RemoteServer:
    """Made by claim_instance, listening already: clients that connect before start() wait in the socket's
    backlog (their own timeout bounds the wait)."""

    def __init__(self, endpoint: Endpoint, listener: Listener) -> None:
        self.endpoint = endpoint
        self._listener = listener
        self._handler: Handler | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._acceptor: threading.Thread | None = None
        self._clients: dict[threading.Thread, Stream] = {}
        self._closed = False

    def start(self, handler: Handler) -> None:
        """Serves requests on threads of its own; `handler` gets every command but ping (see Handler)."""
        with self._lock:
            if self._acceptor is not None or self._closed:
                raise RuntimeError("the server was started or stopped already")
            self._handler = handler
            self._acceptor = threading.Thread(target=self._accept_loop, name="remote-accept", daemon=True)
        self._acceptor.start()

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stops serving, waits (up to `timeout`) for the threads, removes the socket if it is still ours
        and lets go of the instance. Safe to call more than once and from any thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._stopping.set()
            acceptor = self._acceptor
        deadline = time.monotonic() + timeout
        self._listener.wake()
        if acceptor is not None and acceptor is not threading.current_thread():
            acceptor.join(max(0.0, deadline - time.monotonic()))
        with self._lock:  # called by the handler, its own request still gets its answer
            clients = [(t, s) for t, s in self._clients.items() if t is not threading.current_thread()]
        for _, stream in clients:
            stream.abort()
        for thread, _ in clients:
            thread.join(max(0.0, deadline - time.monotonic()))
        alive = [thread.name for thread, _ in clients if thread.is_alive()]
        if acceptor is not None and acceptor.is_alive():
            alive.append(acceptor.name)
        if alive:
            log.warning("remote control: threads still running after %.1f s: %s", timeout, alive)
        self._listener.close()

    def __enter__(self) -> RemoteServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                stream = self._listener.accept()
            except OSError as error:
                log.warning("remote control: accept failed: %s", error)
                self._stopping.wait(_ACCEPT_RETRY)
                continue
            if stream is not None:
                self._dispatch(stream)

    def _dispatch(self, stream: Stream) -> None:
        thread = threading.Thread(target=self._serve, args=(stream,), name="remote-client", daemon=True)
        with self._lock:
            full = len(self._clients) >= MAX_CLIENTS
            taken = not full and not self._stopping.is_set()
            if taken:
                self._clients[thread] = stream
        if taken:
            thread.start()
            return
        if full:
            _write(stream, encode_error(ErrorCode.REMOTE_BUSY, "The app is busy with other remote commands. Retry."))
        stream.close()

    def _serve(self, stream: Stream) -> None:
        try:
            try:
                line = stream.read_line(MAX_REQUEST_BYTES, time.monotonic() + READ_TIMEOUT)
            except RemoteError as error:  # too large, or too slow: say so, then hang up
                _write(stream, encode_error(error.code, error.message))
                return
            except OSError:
                return
            if line:  # a client that connected and left without a word gets no answer
                _write(stream, self._answer(line))
        finally:
            stream.close()
            with self._lock:
                self._clients.pop(threading.current_thread(), None)

    def _answer(self, line: bytes) -> bytes:
        try:
            command = decode_request(line)
        except RemoteError as error:
            return encode_error(error.code, error.message)
        if command.name is CommandName.PING:
            return encode_ok(Reply(pid=os.getpid(), version=__version__))
        handler = self._handler
        assert handler is not None, "serving starts only in start()"
        try:
            handler(command)
        except AppError as error:
            return encode_error(error.code, error.message)
        except Exception:
            log.exception("remote control: the handler failed on %s", command.name.value)
            return encode_error(
                ErrorCode.REMOTE_COMMAND_FAILED, f"The app could not carry out {command.name.value}; see its log."
            )
        return encode_ok()


def _write(stream: Stream, data: bytes) -> None:
    try:
        stream.write(data, time.monotonic() + WRITE_TIMEOUT)
    except (OSError, RemoteError) as error:  # the client left or stopped reading: nothing more to do for it
        log.debug("remote control: reply not delivered: %s", error)
