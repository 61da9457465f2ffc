"""A system tray host on a virtual screen: trayer (a small XEmbed tray, the Debian package `trayer`) as a
panel along the top edge. Qt finds it through the _NET_SYSTEM_TRAY_S0 selection, which its start-up waits
for; stop() ends it, and the X server drops the selection with it."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from Xlib import X
from Xlib.display import Display

INSTALL_HINT = "Run ./test.sh once: it installs trayer (the Debian/Ubuntu package `trayer`)."
TRAY_SELECTION = "_NET_SYSTEM_TRAY_S0"  # screen 0's tray, as the system tray protocol names it
PANEL_HEIGHT = 24


class TrayHostUnavailable(RuntimeError):
    """trayer is missing or did not take the tray selection; the message says what to do."""


def tray_owner(display: str) -> int:
    """The window that owns screen 0's tray selection on `display` (0: no tray host)."""
    connection = Display(display)
    try:
        owner = connection.get_selection_owner(connection.intern_atom(TRAY_SELECTION))
        # python-xlib returns a Window object (its stubs say int), or X.NONE when nobody owns it.
        return 0 if owner == X.NONE else int(getattr(owner, "id", owner))
    finally:
        connection.close()


class TrayHost:
    """One running trayer on `display`."""

    def __init__(self, process: subprocess.Popen[bytes], display: str, log: IO[bytes]) -> None:
        self.process = process
        self.display = display
        self._log = log

    @classmethod
    def start(cls, display: str, timeout: float = 20.0) -> TrayHost:
        executable = shutil.which("trayer")
        if executable is None:
            raise TrayHostUnavailable(f"trayer not found on PATH. {INSTALL_HINT}")
        if tray_owner(display):
            raise TrayHostUnavailable(f"{display} already has a tray host; the tests need a screen of their own.")
        log = tempfile.TemporaryFile()  # noqa: SIM115 (the host owns it and closes it in stop())
        command = [
            executable,
            *("--edge", "top", "--align", "right", "--widthtype", "request"),
            *("--height", str(PANEL_HEIGHT), "--SetDockType", "true", "--expand", "true"),
        ]
        try:
            process = subprocess.Popen(
                command,
                env={**os.environ, "DISPLAY": display},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        except OSError as exc:
            log.close()
            raise TrayHostUnavailable(f"could not run trayer: {exc}") from exc
        host = cls(process, display, log)
        atexit.register(host.stop)
        deadline = time.monotonic() + timeout
        while not tray_owner(display):
            if process.poll() is not None or time.monotonic() > deadline:
                output = host._output()
                host.stop()
                raise TrayHostUnavailable(f"trayer did not take the tray selection within {timeout:.0f} s:\n{output}")
            time.sleep(0.05)
        return host

    def stop(self) -> None:
        """Ends trayer and reaps it. Safe to call twice."""
        atexit.unregister(self.stop)
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if not self._log.closed:
            self._log.close()

    def _output(self) -> str:
        if self._log.closed:
            return ""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")


@contextmanager
def running_tray_host(display: str) -> Iterator[TrayHost]:
    """A tray host for the duration of the block, ended however the block ends."""
    host = TrayHost.start(display)
    try:
        yield host
    finally:
        host.stop()
