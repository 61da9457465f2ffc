"""Recognition in a process of its own: the app's side (core.ports.Recognizer).

PocketSphinx and Vosk hold Python's interpreter lock inside their C code for hundreds of milliseconds at a
time while a model loads, which stalled the window even with loading on a thread. In a process of their
own they hold that process's lock, never the app's.

The process is started with the "spawn" method (a fresh interpreter): forking a process that runs Qt and
threads is unsafe. Requests go out through a sender thread, so neither the turn nor the audio ever waits on
a full pipe; replies come back through a reader thread into a queue, which `feed` empties without waiting
(partial texts) and `finish` waits on, within a bound. A process that ends unexpectedly (a crash, or killed)
or stops answering fails the turn under way with its own error code and is started again for the next turn;
one that crashes between turns is started again when the next turn begins. Closing stops it within a bound
(then terminates, then kills it), and a process whose app ended however it ended sees its pipe close and
ends too (speech.recognizer_worker).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import multiprocessing
import queue
import threading
import time
import weakref
from multiprocessing.connection import Connection
from typing import NoReturn, TypeVar

from desktop_app.core.errors import AppError, ErrorCode
from desktop_app.core.ports import Transcript
from desktop_app.speech.recognizer_protocol import (
    Audio,
    Cancel,
    Failed,
    Final,
    Finish,
    Heard,
    LoadFailed,
    LogLine,
    Partial,
    Ready,
    RecogniserSpec,
    Reply,
    Request,
    Start,
    Stop,
    TakeCommand,
    TakeGeneral,
)
from desktop_app.speech.recognizer_worker import serve
from desktop_app.speech.split_recognizer import Understands, command_wins

log = logging.getLogger(__name__)

_SPAWN = multiprocessing.get_context("spawn")
# Bounds. Loading: a large Vosk model takes tens of seconds. Answering: decoding keeps pace with speech, so
# a process that has not given the transcript this long after the release is stuck. Stopping: it ends at
# once when asked; then it is terminated, then killed.
LOAD_BOUND_S = 180.0
REPLY_BOUND_S = 30.0
STOP_BOUND_S = 2.0
KILL_BOUND_S = 2.0

CRASHED = (
    "Speech recognition stopped unexpectedly, so that was not heard. It is starting again: hold the key and say "
    "it again in a moment."
)
TIMED_OUT = (
    "Speech recognition stopped answering, so that was not heard. It is starting again: hold the key and say it "
    "again in a moment."
)
SWITCHED = "The speech model is being loaded. Try again soon."


class _Gone:
    """The process's end of the reply pipe closed: it has ended."""


_GONE = _Gone()
_Answer = TypeVar("_Answer", Heard, Final)


class _Worker:
    """One recogniser process, and the two threads that talk to it."""

    def __init__(self, spec: RecogniserSpec) -> None:
        requests_in, requests_out = _SPAWN.Pipe(duplex=False)
        replies_in, replies_out = _SPAWN.Pipe(duplex=False)
        self.process = _SPAWN.Process(
            target=serve, args=(requests_in, replies_out, spec), name="speech-recogniser", daemon=True
        )
        try:
            self.process.start()
        except BaseException:
            requests_out.close()
            replies_in.close()
            raise
        finally:
            # Only the process holds its ends now, so when it ends the reader sees the pipe close, and when
            # the app ends the process does.
            requests_in.close()
            replies_out.close()
        self.pid = self.process.pid
        self.ready = False  # its model has loaded
        self._exitcode: int | None = None
        self._stopping = threading.Lock()
        self.replies: queue.SimpleQueue[Reply | _Gone] = queue.SimpleQueue()
        self.gone = threading.Event()
        self._outbox: queue.SimpleQueue[Request | None] = queue.SimpleQueue()
        self._reader = threading.Thread(target=self._read, args=(replies_in,), name="recogniser-in", daemon=True)
        self._sender = threading.Thread(target=self._send, args=(requests_out,), name="recogniser-out", daemon=True)
        self._reader.start()
        self._sender.start()
        _live.add(self)

    def alive(self) -> bool:
        """Running, as far as can be told without waiting (its exit may not have reached the reader yet)."""
        return not self.gone.is_set() and self._poll() is None

    def send(self, request: Request) -> None:
        """Returns at once: the sender thread writes it."""
        self._outbox.put(request)

    def wait_ready(self, bound: float) -> str:
        """The recogniser's name once loaded; AppError when it could not load (the process is stopped)."""
        try:
            reply = self.replies.get(timeout=bound)
        except queue.Empty:
            self.stop(0)
            raise AppError(
                ErrorCode.SPEECH_MODEL_UNAVAILABLE, f"The speech model did not load within {bound:.0f} seconds."
            ) from None
        if isinstance(reply, Ready):
            self.ready = True
            return reply.name
        self.stop()
        if isinstance(reply, LoadFailed):
            raise AppError(ErrorCode(reply.code), reply.message)
        raise AppError(
            ErrorCode.SPEECH_MODEL_UNAVAILABLE,
            f"The speech recogniser ended while loading its model ({self.ending()}).",
        )

    def ending(self) -> str:
        """How the process ended, in words for the log and messages."""
        code = self._exitcode if self._exitcode is not None else self._poll()
        if code is None:
            return "still running"
        return f"killed by signal {-code}" if code < 0 else f"exit status {code}"

    def _poll(self) -> int | None:
        try:
            return self.process.exitcode
        except ValueError:  # closed: it had ended
            return self._exitcode

    def stop(self, bound: float = STOP_BOUND_S) -> None:
        """Asks the process to end, then terminates and at last kills it; each step within its bound. Once.
        One still loading its model would only read the request when done: it is terminated at once."""
        with self._stopping:
            if self._exitcode is not None:
                return
            self.send(Stop())
            self._outbox.put(None)
            process = self.process
            bound = bound if self.ready else 0.0
            for step, wait in ((None, bound), (process.terminate, KILL_BOUND_S), (process.kill, KILL_BOUND_S)):
                if step is not None and process.exitcode is None:
                    step()
                process.join(wait)
                if process.exitcode is not None:
                    break
            else:
                log.error("the speech recogniser's process %s did not end", self.pid)
                return
            self._exitcode = process.exitcode
            self._reader.join(KILL_BOUND_S)
            self._sender.join(KILL_BOUND_S)
            process.close()
            _live.discard(self)

    def _read(self, connection: Connection) -> None:
        try:
            while True:
                reply = connection.recv()
                if isinstance(reply, LogLine):
                    logging.getLogger(reply.logger).log(reply.level, "%s", reply.message)
                else:
                    self.replies.put(reply)
        except (EOFError, OSError):
            pass
        except Exception:  # a message that could not be read: the process cannot be trusted any more
            log.exception("the speech recogniser sent something unreadable")
            with contextlib.suppress(ValueError):  # unless it has been closed already
                self.process.kill()
        finally:
            connection.close()
            self.gone.set()
            self.replies.put(_GONE)

    def _send(self, connection: Connection) -> None:
        try:
            while (request := self._outbox.get()) is not None:
                connection.send(request)
        except (OSError, ValueError):
            pass  # the process has ended: the reader says so
        finally:
            connection.close()


# Processes still running, stopped when the app exits without closing them (multiprocessing would only
# terminate them).
_live: weakref.WeakSet[_Worker] = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    for worker in list(_live):
        worker.stop()


class RecognizerProcess:
    """core.ports.Recognizer, decoding in a recogniser process. `understands`: the assistant's judgement
    of a command transcript (core.ports.Brain.understands), made here in the app."""

    def __init__(self, spec: RecogniserSpec, understands: Understands | None = None) -> None:
        """Starts the process, which loads its model meanwhile (see `wait_ready`)."""
        self.name: str = spec.engine
        self._spec = spec
        self._understands = understands
        self._lock = threading.Lock()
        worker = _start_worker(spec)
        self._worker: _Worker | None = worker
        self._workers = {worker}  # every process started and not yet stopped
        self._restart: threading.Thread | None = None
        self._restart_error: AppError | None = None
        self._utterance = 0
        self._active = False
        self._retired = False
        self._closed = False

    @classmethod
    def start(
        cls, spec: RecogniserSpec, understands: Understands | None = None, *, bound: float = LOAD_BOUND_S
    ) -> RecognizerProcess:
        """A recogniser whose model has loaded (waited for within `bound`)."""
        recognizer = cls(spec, understands)
        recognizer.wait_ready(bound)
        return recognizer

    def wait_ready(self, bound: float = LOAD_BOUND_S) -> None:
        """Waits until the model is loaded; AppError (with the loader's own code and message) when it could
        not be, or this recogniser was closed meanwhile. The process is stopped then."""
        worker = self._worker
        if worker is None:
            raise AppError(ErrorCode.SPEECH_MODEL_UNAVAILABLE, SWITCHED)
        try:
            self.name = worker.wait_ready(bound)
        except AppError:
            self.close()
            raise

    @property
    def pid(self) -> int | None:
        """The process decoding now (None while one is being started again)."""
        worker = self._worker
        return worker.pid if worker is not None else None

    @property
    def closed(self) -> bool:
        return self._closed

    # -- core.ports.Recognizer (the turn's thread) ------------------------------------------------------------

    def start_utterance(self) -> None:
        self.cancel()
        worker = self._ready_worker()
        with self._lock:
            if self._closed:  # retired and closed meanwhile
                raise AppError(ErrorCode.SPEECH_MODEL_UNAVAILABLE, SWITCHED)
            self._active = True
        self._utterance += 1
        _discard_waiting(worker)
        worker.send(Start(self._utterance))

    def feed(self, pcm16: bytes) -> str | None:
        worker = self._worker
        if not self._active or worker is None or not pcm16:
            return None
        if worker.gone.is_set():
            self._lost(worker, CRASHED)
        worker.send(Audio(self._utterance, pcm16))
        latest: str | None = None
        while True:  # what has come back so far; never waits
            try:
                reply = worker.replies.get_nowait()
            except queue.Empty:
                return latest
            text = self._partial(worker, reply)
            latest = text if text is not None else latest

    def finish(self) -> Transcript:
        worker = self._worker
        if not self._active or worker is None:
            return Transcript("", None)
        try:
            worker.send(Finish(self._utterance))
            heard = self._wait_for(worker, Heard)
            if command_wins(heard.command, self._understands):
                worker.send(TakeCommand(self._utterance))
                return Transcript(heard.command, heard.confidence)
            worker.send(TakeGeneral(self._utterance))
            final = self._wait_for(worker, Final)
            return Transcript(final.text, final.confidence)
        finally:
            self._end_utterance()

    def cancel(self) -> None:
        worker = self._worker
        if not self._active:
            return
        if worker is not None:
            worker.send(Cancel(self._utterance))
        self._end_utterance()

    # -- the processes ---------------------------------------------------------------------------------------

    def retire(self) -> None:
        """Another recogniser replaces this one: it closes once the utterance under way (if any) has ended."""
        with self._lock:
            self._retired = True
            workers = set() if self._active else self._take_workers()
        _stop_in_background(workers)

    def close(self, bound: float = STOP_BOUND_S) -> None:
        """Stops every process of this recogniser (each within `bound`, then terminated, then killed)."""
        with self._lock:
            workers = self._take_workers()
        for worker in workers:
            worker.stop(bound)

    def _take_workers(self) -> set[_Worker]:
        """(Under the lock.) Closed from now on: the processes to stop."""
        self._closed = True
        self._worker = None
        workers, self._workers = self._workers, set()
        return workers

    def _end_utterance(self) -> None:
        with self._lock:
            self._active = False
            workers = self._take_workers() if self._retired else set()
        _stop_in_background(workers)

    def _ready_worker(self) -> _Worker:
        """The process to decode with: started again (waiting for it, within the load bound) when it ended."""
        with self._lock:
            if self._closed:
                raise AppError(ErrorCode.SPEECH_MODEL_UNAVAILABLE, SWITCHED)
            worker = self._worker
            if worker is not None and worker.alive():
                return worker
        if worker is not None:
            log.warning("the speech recogniser's process ended between turns (%s)", worker.ending())
            self._replace(worker)
        restart = self._restart
        if restart is not None:
            restart.join(LOAD_BOUND_S + STOP_BOUND_S + KILL_BOUND_S)
        with self._lock:
            if self._worker is not None:
                return self._worker
            failure = self._restart_error
        raise failure or AppError(ErrorCode.SPEECH_RECOGNISER_TIMED_OUT, TIMED_OUT)

    def _replace(self, worker: _Worker) -> None:
        """Starts a new process in the background in place of `worker`, which has ended or is stuck."""
        with self._lock:
            if self._closed or self._worker is not worker:
                return
            self._worker = None
            self._restart_error = None
            self._restart = threading.Thread(
                target=self._restart_with, args=(worker,), name="recogniser-restart", daemon=True
            )
            self._restart.start()

    def _restart_with(self, old: _Worker) -> None:
        with self._lock:
            self._workers.discard(old)
            if self._closed:
                return
        # Ended, or stuck (ending a stuck one takes its bounds): the new one loads meanwhile.
        threading.Thread(target=old.stop, args=(0.0,), name="recogniser-stop", daemon=True).start()
        try:
            worker = _start_worker(self._spec)
        except AppError as error:
            self._restart_error = error
            return
        with self._lock:
            self._workers.add(worker)
        try:
            worker.wait_ready(LOAD_BOUND_S)
        except AppError as error:
            log.error("the speech recogniser could not start again: %s", error.message)
            self._restart_error = error
            with self._lock:
                self._workers.discard(worker)
            return
        with self._lock:
            if not self._closed:
                self._worker = worker
                log.info("the speech recogniser is running again (process %s)", worker.pid)
                return
            self._workers.discard(worker)
        worker.stop()

    def _partial(self, worker: _Worker, reply: Reply | _Gone) -> str | None:
        """The text of a partial result of the utterance under way; raises for a failure or an ended process."""
        if isinstance(reply, _Gone):
            self._lost(worker, CRASHED)
        if isinstance(reply, Failed) and reply.utterance == self._utterance:
            self._end_utterance()
            raise RuntimeError(f"speech recognition failed: {reply.message}")
        if isinstance(reply, Partial) and reply.utterance == self._utterance:
            return reply.text
        return None

    def _wait_for(self, worker: _Worker, kind: type[_Answer]) -> _Answer:
        deadline = time.monotonic() + REPLY_BOUND_S
        while True:
            try:
                reply = worker.replies.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self._lost(worker, TIMED_OUT)
            self._partial(worker, reply)
            if isinstance(reply, kind) and reply.utterance == self._utterance:
                return reply

    def _lost(self, worker: _Worker, message: str) -> NoReturn:
        """The process ended or stopped answering mid-utterance: the turn fails; a new process starts."""
        crashed = message is CRASHED
        if crashed:
            log.error("the speech recogniser's process ended during a turn (%s)", worker.ending())
        else:
            log.error("the speech recogniser's process %s stopped answering: it is ended", worker.pid)
        self._end_utterance()
        self._replace(worker)
        code = ErrorCode.SPEECH_RECOGNISER_CRASHED if crashed else ErrorCode.SPEECH_RECOGNISER_TIMED_OUT
        raise AppError(code, message)


def _stop_in_background(workers: set[_Worker]) -> None:
    for worker in workers:
        threading.Thread(target=worker.stop, name="recogniser-stop", daemon=True).start()


def _start_worker(spec: RecogniserSpec) -> _Worker:
    try:
        return _Worker(spec)
    except OSError as error:  # no process could be made (too many processes, out of memory)
        raise AppError(
            ErrorCode.SPEECH_MODEL_UNAVAILABLE, f"The speech recogniser could not be started ({error})."
        ) from error


def _discard_waiting(worker: _Worker) -> None:
    """Drops replies about earlier utterances; an ended process's mark stays for `feed` to find."""
    while True:
        try:
            reply = worker.replies.get_nowait()
        except queue.Empty:
            return
        if isinstance(reply, _Gone):
            worker.replies.put(reply)
            return
