"""Calling out without holding a lock, in the order things happened.

`Outbox`: events are queued under the caller's lock (a deque append, nothing else) and delivered after the
lock is released, by one thread at a time, in the order they were queued. A listener that calls back into the
object that queued the event (press from inside an event handler) queues its own events and returns; they are
delivered next by the thread already delivering, so nothing deadlocks and nothing overtakes.

`SerialCalls`: calls run one after another on a thread of their own, in the order they were submitted, so a
slow callee (stopping audio waits for the device) never holds up the caller.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class Outbox(Generic[T]):
    def __init__(self, deliver: Callable[[T], None]) -> None:
        self._deliver = deliver
        self._items: deque[T] = deque()
        self._lock = threading.Lock()  # guards the deque and the flag only; never held while delivering
        self._delivering = False

    def put(self, item: T) -> None:
        with self._lock:
            self._items.append(item)

    def flush(self) -> None:
        """Delivers what is queued, unless another thread (or an outer call on this one) already is: then that
        one delivers it, right after what it is delivering now."""
        with self._lock:
            if self._delivering:
                return
            self._delivering = True
        while True:
            with self._lock:
                if not self._items:
                    self._delivering = False
                    return
                item = self._items.popleft()
            try:
                self._deliver(item)
            except Exception:  # a listener's bug must not stop the others or the caller
                log.exception("event listener failed")


class SerialCalls:
    """Runs submitted calls in order on one daemon thread. `close` runs what is queued, then stops."""

    def __init__(self, name: str) -> None:
        self._calls: queue.SimpleQueue[Callable[[], object] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, call: Callable[[], object]) -> None:
        self._calls.put(call)

    def close(self, timeout: float) -> bool:
        """Stops after the calls already submitted; False when they did not finish within `timeout`."""
        self._calls.put(None)
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        while (call := self._calls.get()) is not None:
            try:
                call()
            except Exception:
                log.exception("%s: a call failed", self._thread.name)
