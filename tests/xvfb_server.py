"""A private virtual screen: `Xvfb -displayfd` picks a free display number and reports it on a pipe, so two
test sessions (or a developer's own X server) never collide."""

from __future__ import annotations

import atexit
import os
import select
import shutil
import subprocess
import tempfile
import time
from types import TracebackType
from typing import IO

INSTALL_HINT = "Run ./test.sh once: it installs Xvfb (the Debian/Ubuntu package `xvfb`)."
SCREEN = "1280x800x24"


class XvfbUnavailable(RuntimeError):
    """Xvfb is missing or did not start; the message says what to do."""


class XvfbServer:
    """One running Xvfb. `display` is the value for DISPLAY (":N")."""

    def __init__(self, process: subprocess.Popen[bytes], display: str, log: IO[bytes]) -> None:
        self.process = process
        self.display = display
        self._log = log

    @classmethod
    def start(cls, screen: str = SCREEN, timeout: float = 30.0) -> XvfbServer:
        executable = shutil.which("Xvfb")
        if executable is None:
            raise XvfbUnavailable(f"Xvfb not found on PATH. {INSTALL_HINT}")
        # Xvfb's output, kept for the error message; the server object owns it and closes it in stop().
        log = tempfile.TemporaryFile()  # noqa: SIM115
        read_fd, write_fd = os.pipe()
        try:
            process = subprocess.Popen(
                [executable, "-displayfd", str(write_fd), "-screen", "0", screen, "-nolisten", "tcp", "-noreset"],
                pass_fds=(write_fd,),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        except OSError as exc:
            os.close(read_fd)
            log.close()
            raise XvfbUnavailable(f"could not run Xvfb: {exc}") from exc
        finally:
            os.close(write_fd)
        server = cls(process, "", log)
        atexit.register(server.stop)
        try:
            number = _read_line(read_fd, timeout)
        finally:
            os.close(read_fd)
        if not number.isdigit():
            output = server._output()
            server.stop()
            raise XvfbUnavailable(f"Xvfb did not report a display within {timeout:.0f} s:\n{output}")
        server.display = f":{number}"
        return server

    def stop(self) -> None:
        """Ends Xvfb and reaps it. Safe to call twice."""
        atexit.unregister(self.stop)
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()

    def __enter__(self) -> XvfbServer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _output(self) -> str:
        if self._log.closed:
            return ""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")


def _read_line(fd: int, timeout: float) -> str:
    """Reads up to a newline (or EOF, when the writer dies) from a pipe, giving up after `timeout` seconds."""
    data = b""
    deadline = time.monotonic() + timeout
    while b"\n" not in data:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            break
        chunk = os.read(fd, 64)
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace").strip()
