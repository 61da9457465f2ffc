"""Fetching a model archive: streamed to ``<name>.zip.part`` with progress, cancel, resume, retries, a size and
checksum check, and a free-space check before anything is written.

Why httpx: it is already a dependency (the language-model client uses it); ``Client.stream`` with
``iter_raw`` hands over the body chunk by chunk as it arrives, so progress and cancel work per chunk and memory
stays flat; it has separate connect and read timeouts (a stalled server becomes an error, not a hang), follows
redirects and honours the usual proxy variables. urllib has one timeout for everything and no connection reuse;
requests is not a dependency.

Why no retry library: a dropped connection is retried by *resuming* from the bytes already on disk (an HTTP
Range request), so every attempt must look at the part file again and the back-off sleep must wake up when the
user cancels. That loop is a few lines here. httpx's transport ``retries=`` only repeats a failed connect, never
a body cut off half-way, so it is used for that alone; tenacity would wrap the same loop for one more
dependency.

Resume: ``Range: bytes=N-`` (with ``If-Range`` carrying the ETag or Last-Modified saved in ``.part.json`` when
the server gave one). 206 with a matching Content-Range appends; 200 means the server ignored the range (or the
file changed), so the download starts over; 416 with ``*/N`` equal to the bytes we hold means the file was
already complete.

Blocking: run it on a worker thread; `cancel` (a threading.Event) stops it within one chunk or one read
timeout, keeps the part file and raises DownloadCancelled.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import httpx

from desktop_app.core.errors import ErrorCode
from desktop_app.speech.models.catalog import CatalogEntry
from desktop_app.speech.models.errors import DownloadCancelled, ModelError
from desktop_app.speech.models.sizes import format_size, free_space

log = logging.getLogger(__name__)

# A model unpacks to about 2.5 times its archive; the archive stays on disk until it is unpacked.
EXTRACT_FACTOR = 2.5
SPACE_MARGIN = 50_000_000
CHUNK_SIZE = 256 * 1024
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=15.0)
# Attempts in a row that fetch nothing before giving up; an attempt that makes progress resets the count.
MAX_ATTEMPTS = 5
MAX_BACKOFF = 30.0
# Progress is reported at most this often (seconds), plus once at the start and once at the end.
REPORT_INTERVAL = 0.1
# The transfer rate is sampled over windows this long and smoothed (exponential moving average).
RATE_WINDOW = 0.5
RATE_SMOOTHING = 0.3

_RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
_CONTENT_RANGE = re.compile(r"bytes\s+(?:(\d+)-(\d+)|\*)/(\d+|\*)", re.IGNORECASE)

Verification = Literal["md5", "size", "none"]


@dataclass(frozen=True, slots=True)
class DownloadProgress:
    name: str
    done: int  # bytes of the archive on disk; goes back to 0 if the server ignores a resume and it starts over
    total: int | None  # None while unknown
    rate: float  # bytes per second, smoothed
    eta: float | None  # seconds left, None while unknown

    @property
    def fraction(self) -> float | None:
        return min(1.0, self.done / self.total) if self.total else None


ProgressCallback = Callable[[DownloadProgress], None]


@dataclass(frozen=True, slots=True)
class DownloadResult:
    path: Path  # the verified archive (still named .part until it is installed)
    size: int
    verified: Verification  # what was checked: the md5, the size only, or nothing (neither was known)
    resumed_from: int  # bytes that were already on disk when this call started


def part_file(directory: Path, name: str) -> Path:
    return directory / f"{name}.zip.part"


def _meta_file(part: Path) -> Path:
    return part.with_name(part.name + ".json")


def discard_part(directory: Path, name: str) -> None:
    part = part_file(directory, name)
    part.unlink(missing_ok=True)
    _meta_file(part).unlink(missing_ok=True)


def required_space(total: int, have: int = 0) -> int:
    """Bytes needed to finish a download of `total` bytes (`have` already on disk) and unpack it."""
    return max(0, total - have) + int(total * EXTRACT_FACTOR) + SPACE_MARGIN


@dataclass
class _Attempt:
    total: int | None
    received: int = 0
    complete: bool = False
    start_over: bool = False


@dataclass
class _Meter:
    """Turns chunks into throttled DownloadProgress reports with a smoothed rate."""

    name: str
    done: int
    total: int | None
    callback: ProgressCallback | None
    clock: Callable[[], float] = time.monotonic
    rate: float = 0.0
    _start: float = field(init=False)
    _session_start_done: int = field(init=False)
    _window_time: float = field(init=False)
    _window_done: int = field(init=False)
    _last_report: float = field(init=False, default=float("-inf"))

    def __post_init__(self) -> None:
        self._start = self._window_time = self.clock()
        self._session_start_done = self._window_done = self.done

    def restart(self, done: int) -> None:
        self.done = self._session_start_done = self._window_done = done
        self._start = self._window_time = self.clock()

    def add(self, count: int) -> None:
        self.done += count
        now = self.clock()
        elapsed = now - self._window_time
        if elapsed >= RATE_WINDOW:
            sample = (self.done - self._window_done) / elapsed
            self.rate = sample if self.rate <= 0 else RATE_SMOOTHING * sample + (1 - RATE_SMOOTHING) * self.rate
            self._window_time, self._window_done = now, self.done
        if now - self._last_report >= REPORT_INTERVAL:
            self.report(now)

    def report(self, now: float | None = None) -> None:
        if self.callback is None:
            return
        now = self.clock() if now is None else now
        self._last_report = now
        rate = self.rate
        if rate <= 0 and now > self._start:
            rate = (self.done - self._session_start_done) / (now - self._start)
        eta = (self.total - self.done) / rate if self.total and rate > 0 else None
        self.callback(DownloadProgress(self.name, self.done, self.total, rate, None if eta is None else max(0.0, eta)))


@dataclass
class _Job:
    entry: CatalogEntry
    part: Path
    cancel: threading.Event
    space_dir: Path
    meter: _Meter

    @property
    def meta(self) -> Path:
        return _meta_file(self.part)

    def kept(self, advice: str) -> str:
        """What is left on disk and what to do next, in one go: "The 3.0 MB of 41.2 MB fetched so far is kept;
        run the download again to resume from there." When nothing arrived, the empty part file is removed and
        the sentence says nothing was kept."""
        have = _size_of(self.part)
        if not have:
            discard_part(self.part.parent, self.entry.name)
            return f"Nothing had arrived, so nothing was kept. {advice}."
        of_total = f" of {format_size(self.meter.total)}" if self.meter.total else ""
        return f"The {format_size(have)}{of_total} fetched so far is kept. {advice} to resume from there."

    def stop_if_cancelled(self) -> None:
        if self.cancel.is_set():
            raise DownloadCancelled(
                f"The download of {self.entry.name} was cancelled. {self.kept('Run the same download again')}"
            )

    def start_over(self, attempt: _Attempt) -> None:
        self.part.unlink(missing_ok=True)
        self.meta.unlink(missing_ok=True)
        self.meter.restart(0)
        attempt.start_over = True


class Downloader:
    """Downloads catalog entries into one folder. `free_space` is how room is measured (a parameter so tests can
    make the disk look small); `backoff` is the first wait between retries, doubled after each failure."""

    def __init__(
        self,
        *,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        max_attempts: int = MAX_ATTEMPTS,
        backoff: float = 1.0,
        chunk_size: int = CHUNK_SIZE,
        free_space: Callable[[Path], int] = free_space,
    ) -> None:
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.chunk_size = chunk_size
        self.free_space = free_space

    def check_space(self, name: str, total: int, have: int, where: Path) -> None:
        """ModelError(NOT_ENOUGH_SPACE) unless `where` has room to finish the download and unpack it."""
        need = required_space(total, have)
        free = self.free_space(where)
        if free < need:
            raise ModelError(
                ErrorCode.NOT_ENOUGH_SPACE,
                f"Not enough disk space for {name}: it needs about {format_size(need)} in {where} (the rest of the "
                f"{format_size(total)} download, about {format_size(total * EXTRACT_FACTOR)} once unpacked and "
                f"{format_size(SPACE_MARGIN)} to spare), but only {format_size(free)} is free. "
                "Free some space and try again.",
            )

    def download(
        self,
        entry: CatalogEntry,
        directory: Path,
        *,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
        space_dir: Path | None = None,
    ) -> DownloadResult:
        """Fetches `entry` into `directory`/<name>.zip.part, resuming what an earlier attempt left there, and
        checks its size and md5 when the catalog knows them. ModelError on failure: NOT_ENOUGH_SPACE,
        DOWNLOAD_FAILED (the part is kept for a later resume), DOWNLOAD_CORRUPT (the part is removed), DISK_FULL;
        DownloadCancelled when `cancel` is set (the part is kept)."""
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        with _exclusive(directory, entry.name):
            return self._download(entry, directory, progress, cancel, space_dir)

    def _download(
        self,
        entry: CatalogEntry,
        directory: Path,
        progress: ProgressCallback | None,
        cancel: threading.Event | None,
        space_dir: Path | None,
    ) -> DownloadResult:
        part = part_file(directory, entry.name)
        _forget_other_source(part, entry.url)
        resumed_from = _size_of(part)
        job = _Job(
            entry=entry,
            part=part,
            cancel=cancel or threading.Event(),
            space_dir=space_dir or directory,
            meter=_Meter(entry.name, resumed_from, entry.size or None, progress),
        )
        if entry.size:
            self.check_space(entry.name, entry.size, resumed_from, job.space_dir)
        with httpx.Client(
            timeout=self.timeout, follow_redirects=True, transport=httpx.HTTPTransport(retries=2)
        ) as client:
            self._fetch(client, job)
        job.meter.report()
        size = _size_of(part)
        verified = self._verify(entry, part, size)
        return DownloadResult(part, size, verified, resumed_from)

    def _fetch(self, client: httpx.Client, job: _Job) -> None:
        """Attempts until the whole file is there; retries dropped connections with back-off."""
        failures = 0
        last_problem = ""
        while True:
            job.stop_if_cancelled()
            attempt = _Attempt(total=job.meter.total)
            try:
                self._attempt(client, job, attempt)
            except (httpx.TransportError, _RetryableStatus) as error:
                if isinstance(error, httpx.UnsupportedProtocol):
                    raise ModelError(ErrorCode.DOWNLOAD_FAILED, f"Cannot download {job.entry.url}: {error}.") from error
                last_problem = _describe(error)
                log.info("download of %s interrupted: %s", job.entry.name, last_problem)
            else:
                if attempt.complete:
                    return
                if attempt.start_over:
                    continue
                last_problem = "the connection closed before the whole file arrived"
            job.stop_if_cancelled()
            failures = 1 if attempt.received else failures + 1
            if failures >= self.max_attempts:
                raise ModelError(
                    ErrorCode.DOWNLOAD_FAILED,
                    f"Downloading {job.entry.name} failed {failures} times in a row ({last_problem}). "
                    f"{job.kept('Check the connection and run the download again')}",
                )
            job.cancel.wait(min(MAX_BACKOFF, self.backoff * 2 ** (failures - 1)))

    def _attempt(self, client: httpx.Client, job: _Job, attempt: _Attempt) -> None:
        """One request: resume (or start) and append what arrives to the part file."""
        entry, part, meter = job.entry, job.part, job.meter
        have = _size_of(part)
        headers = {"Accept-Encoding": "identity"}
        if have:
            headers["Range"] = f"bytes={have}-"
            validator = _read_validator(job.meta)
            if validator:
                headers["If-Range"] = validator
        with client.stream("GET", entry.url, headers=headers) as response:
            status = response.status_code
            content_range = _parse_content_range(response.headers.get("content-range"))
            if status == httpx.codes.REQUESTED_RANGE_NOT_SATISFIABLE and have:
                if content_range is not None and content_range[2] == have:
                    attempt.total, attempt.complete = have, True
                    meter.total = have
                    return
                log.info("%s: the server refused to resume at %d bytes; starting over", entry.name, have)
                job.start_over(attempt)
                return
            if status == httpx.codes.PARTIAL_CONTENT and have:
                if content_range is None or content_range[0] != have:
                    log.info("%s: the server resumed at the wrong place (%s); starting over", entry.name, content_range)
                    job.start_over(attempt)
                    return
                attempt.total = content_range[2] or entry.size or None
            elif status == httpx.codes.OK:
                if have:
                    log.info("%s: the server ignored the resume request; starting over", entry.name)
                have = 0
                length = response.headers.get("content-length", "")
                attempt.total = int(length) if length.isdigit() else entry.size or None
            elif status in _RETRYABLE_STATUS:
                raise _RetryableStatus(f"the server answered {status} {response.reason_phrase}")
            else:
                raise ModelError(
                    ErrorCode.DOWNLOAD_FAILED,
                    f"Cannot download {entry.name}: {entry.url} answered {status} {response.reason_phrase}. "
                    "The model list may be out of date: run `voice-assistant models refresh` and try again.",
                )
            if attempt.total:
                self.check_space(entry.name, attempt.total, have, job.space_dir)
            _save_validator(job.meta, entry.url, response.headers)
            self._receive(response, job, attempt, append=bool(have))

    def _receive(self, response: httpx.Response, job: _Job, attempt: _Attempt, *, append: bool) -> None:
        meter = job.meter
        if not append:
            meter.restart(0)
        meter.total = attempt.total
        meter.done = _size_of(job.part) if append else 0
        meter.report()
        try:
            with open(job.part, "ab" if append else "wb") as out:
                for chunk in response.iter_raw(self.chunk_size):
                    out.write(chunk)
                    attempt.received += len(chunk)
                    meter.add(len(chunk))
                    if job.cancel.is_set():
                        return
        except OSError as error:
            raise ModelError(
                ErrorCode.DISK_FULL if error.errno == errno.ENOSPC else ErrorCode.DOWNLOAD_FAILED,
                f"Could not write the download of {job.entry.name} to {job.part.parent}: "
                f"{error.strerror or error}. {job.kept('Free some space and run the download again')}",
            ) from error
        attempt.complete = attempt.total is None or _size_of(job.part) >= attempt.total

    def _verify(self, entry: CatalogEntry, part: Path, size: int) -> Verification:
        if entry.size and size != entry.size:
            discard_part(part.parent, entry.name)
            raise ModelError(
                ErrorCode.DOWNLOAD_CORRUPT,
                f"The download of {entry.name} is {size} bytes but the model list says {entry.size}; it was "
                "removed. Try again; if it happens again, run `voice-assistant models refresh` first.",
            )
        if entry.md5:
            digest = _md5(part)
            if digest != entry.md5:
                discard_part(part.parent, entry.name)
                raise ModelError(
                    ErrorCode.DOWNLOAD_CORRUPT,
                    f"The download of {entry.name} is damaged (md5 {digest}, expected {entry.md5}); it was removed. "
                    "Try again; if it happens again, run `voice-assistant models refresh` first.",
                )
            return "md5"
        return "size" if entry.size else "none"


@contextlib.contextmanager
def _exclusive(directory: Path, name: str) -> Iterator[None]:
    """One download at a time per downloads folder, across processes (the window and the command line share
    the part files): a lock on the folder itself, so no lock file is left behind. POSIX only."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ModelError(
                ErrorCode.DOWNLOAD_BUSY,
                f"Cannot download {name} now: another model download is running (in another window or command). "
                "Wait for it to finish, then try again.",
            ) from None
        yield
    finally:
        os.close(fd)


def _forget_other_source(part: Path, url: str) -> None:
    """A part file fetched from another address (the list changed) cannot be resumed from this one."""
    meta = _meta_file(part)
    try:
        saved = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if isinstance(saved, dict) and saved.get("url") != url:
        part.unlink(missing_ok=True)
        meta.unlink(missing_ok=True)


class _RetryableStatus(Exception):
    """The server answered with a status worth retrying (busy, gateway trouble)."""


def _describe(error: Exception) -> str:
    if isinstance(error, httpx.TimeoutException):
        return "the server stopped answering"
    if isinstance(error, httpx.ConnectError):
        return "could not connect"
    if isinstance(error, httpx.RemoteProtocolError | httpx.ReadError):
        return "the connection dropped"
    return str(error) or type(error).__name__


def _size_of(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _parse_content_range(value: str | None) -> tuple[int | None, int | None, int | None] | None:
    """'bytes 100-199/1000' -> (100, 199, 1000); 'bytes */1000' -> (None, None, 1000); None when absent/odd."""
    if not value:
        return None
    match = _CONTENT_RANGE.fullmatch(value.strip())
    if not match:
        return None
    first, last, total = match.groups()
    return (
        int(first) if first is not None else None,
        int(last) if last is not None else None,
        int(total) if total and total != "*" else None,
    )


def _read_validator(meta: Path) -> str | None:
    try:
        saved = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(saved, dict):
        return None
    etag, modified = saved.get("etag"), saved.get("last_modified")
    # If-Range needs a strong validator: a weak ETag (W/"...") cannot be used.
    if isinstance(etag, str) and etag and not etag.startswith("W/"):
        return etag
    return modified if isinstance(modified, str) and modified else None


def _save_validator(meta: Path, url: str, headers: httpx.Headers) -> None:
    document = {"url": url, "etag": headers.get("etag"), "last_modified": headers.get("last-modified")}
    with contextlib.suppress(OSError):
        meta.write_text(json.dumps(document), encoding="utf-8")
        if os.name == "posix":
            os.chmod(meta, 0o600)
