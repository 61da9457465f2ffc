"""SIGTERM and SIGINT end the app like Quit: the event loop stops, and the ordinary shutdown runs (the turn
is cancelled and its answer stored, the microphone and speaker are closed, the database is closed).

Python runs a signal handler only between bytecodes, and Qt's event loop runs none while it waits, so the
signal is also written to a socket that Qt watches: the loop wakes up at once.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
from collections.abc import Callable, Iterator

from desktop_app.ui.qt import QSocketNotifier

log = logging.getLogger(__name__)

QUIT_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@contextlib.contextmanager
def quit_on_signals(quit_app: Callable[[], None]) -> Iterator[None]:
    """While the block runs, SIGTERM and SIGINT call `quit_app` on the main thread."""
    reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)
    notifier = QSocketNotifier(reader.fileno(), QSocketNotifier.Type.Read)

    def wake_up() -> None:
        with contextlib.suppress(OSError):
            reader.recv(64)  # what arrived is only the wake-up; the handler below did the work

    def on_signal(number: int, _frame: object) -> None:
        log.info("quitting on %s", signal.Signals(number).name)
        quit_app()

    notifier.activated.connect(wake_up)
    previous = {number: signal.signal(number, on_signal) for number in QUIT_SIGNALS}
    previous_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    try:
        yield
    finally:
        signal.set_wakeup_fd(previous_fd)
        for number, handler in previous.items():
            signal.signal(number, handler)
        notifier.setEnabled(False)
        reader.close()
        writer.close()
