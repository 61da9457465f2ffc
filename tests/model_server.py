"""A local HTTP file server for the model manager's tests (127.0.0.1, a free port, one thread per request).

It serves what a test registers, answers Range requests like a real server (206 with Content-Range, 416 past
the end, If-Range against its ETag) and has switchable faults: drop the connection after N body bytes, ignore
Range, send a wrong Content-Length, go slowly, or answer a fixed status. Every request is recorded.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote

_RANGE = re.compile(r"bytes=(\d+)-(\d*)")


@dataclass
class Faults:
    drop_after: int | None = None  # close the connection after this many body bytes...
    drops: int = 1  # ...in this many responses, then serve normally
    ignore_range: bool = False  # always answer 200 with the whole file
    length_delta: int = 0  # Content-Length off by this much (negative: the body is cut to match it)
    delay: float = 0.0  # seconds to wait before each chunk
    chunk: int = 64 * 1024
    status: int | None = None  # answer this status (with an empty body) instead


@dataclass(frozen=True)
class Request:
    path: str
    range: str | None
    if_range: str | None
    status: int
    sent: int  # body bytes written


@dataclass
class _File:
    data: bytes | None
    path: Path | None
    size: int
    etag: str


@dataclass
class ModelServer:
    faults: Faults = field(default_factory=Faults)
    requests: list[Request] = field(default_factory=list)
    _files: dict[str, _File] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _generation: int = 0  # bumped by reset(): answers to requests from before it are not recorded after it
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    def start(self) -> ModelServer:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.owner = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    def serve(self, name: str, source: bytes | str | Path) -> str:
        """Serves bytes, text or a file's contents at /name; returns the URL."""
        if isinstance(source, Path):
            size = source.stat().st_size
            stamp = f"{source}:{size}:{source.stat().st_mtime_ns}"
            entry = _File(None, source, size, f'"{hashlib.md5(stamp.encode()).hexdigest()}"')
        else:
            data = source.encode() if isinstance(source, str) else source
            entry = _File(data, None, len(data), f'"{hashlib.md5(data).hexdigest()}"')
        with self._lock:
            self._files[name] = entry
        return self.url(name)

    def reset(self) -> None:
        with self._lock:
            self.faults = Faults()
            self.requests.clear()
            self._generation += 1

    def requests_for(self, name: str) -> list[Request]:
        with self._lock:
            return [request for request in self.requests if request.path == name]

    def wait_for_requests(self, count: int, timeout: float = 10.0) -> None:
        """Waits until `count` requests are recorded (a request is recorded when its answer ends, which can be
        a little after the client gave up on it)."""
        deadline = time.monotonic() + timeout
        while len(self.requests) < count:
            assert time.monotonic() < deadline, f"only {len(self.requests)} of {count} requests arrived"
            time.sleep(0.01)

    def sent(self, name: str) -> int:
        return sum(request.sent for request in self.requests_for(name))

    # -- used by the handler --

    def _lookup(self, name: str) -> _File | None:
        with self._lock:
            return self._files.get(name)

    def _take_drop(self) -> int | None:
        with self._lock:
            if self.faults.drop_after is None or self.faults.drops <= 0:
                return None
            self.faults.drops -= 1
            return self.faults.drop_after

    def _generation_now(self) -> int:
        with self._lock:
            return self._generation

    def _record(self, request: Request, generation: int) -> None:
        with self._lock:
            if generation == self._generation:
                self.requests.append(request)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        owner: ModelServer = self.server.owner  # type: ignore[attr-defined]
        name = unquote(self.path.split("?", 1)[0]).lstrip("/")
        range_header = self.headers.get("Range")
        if_range = self.headers.get("If-Range")
        generation = owner._generation_now()
        sent = 0
        status = 500
        try:
            status, sent = self._answer(owner, name, range_header, if_range)
        finally:
            owner._record(Request(name, range_header, if_range, status, sent), generation)

    def _answer(self, owner: ModelServer, name: str, range_header: str | None, if_range: str | None) -> tuple[int, int]:
        faults = owner.faults
        found = owner._lookup(name)
        if faults.status is not None or found is None:
            status = faults.status or 404
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return status, 0
        start, end, status = 0, found.size - 1, 200
        match = _RANGE.fullmatch(range_header or "")
        if match and not faults.ignore_range and (if_range is None or if_range == found.etag):
            start = int(match.group(1))
            if start >= found.size:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{found.size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return 416, 0
            end = min(found.size - 1, int(match.group(2))) if match.group(2) else found.size - 1
            status = 206
        length = end - start + 1
        body_length = length + min(0, faults.length_delta)
        self.send_response(status)
        self.send_header("Content-Type", "application/zip")
        self.send_header("Content-Length", str(length + faults.length_delta))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", found.etag)
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{found.size}")
        self.end_headers()
        drop_after = owner._take_drop()
        sent = 0
        try:
            with self._open(found) as source:
                source.seek(start)
                while sent < body_length:
                    if faults.delay:
                        time.sleep(faults.delay)
                    block = source.read(min(faults.chunk, body_length - sent))
                    if not block:
                        break
                    if drop_after is not None and sent + len(block) >= drop_after:
                        self.wfile.write(block[: drop_after - sent])
                        sent = drop_after
                        self._drop()
                        return status, sent
                    self.wfile.write(block)
                    sent += len(block)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            return status, sent
        if faults.length_delta:
            self._drop()
        return status, sent

    @staticmethod
    def _open(found: _File) -> contextlib.AbstractContextManager[BinaryIO]:
        if found.path is not None:
            return open(found.path, "rb")
        import io

        return io.BytesIO(found.data or b"")

    def _drop(self) -> None:
        """Closes the connection at once, as a failing network would."""
        with contextlib.suppress(OSError):
            self.wfile.flush()
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
        self.close_connection = True
