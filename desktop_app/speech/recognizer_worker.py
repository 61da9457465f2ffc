"""The recogniser process's side (speech.recognizer_process starts it): loads the model, then decodes the
utterances the app streams to it, in order, until told to stop or until the app's end of the pipe closes
(the app ended, however it ended).

Runs in a process of its own so that PocketSphinx and Vosk, which hold Python's interpreter lock inside
their C code for hundreds of milliseconds while loading, never hold the app's.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from multiprocessing.connection import Connection

from desktop_app.core.errors import AppError, ErrorCode
from desktop_app.speech.domain_cache import DomainModelCache
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
    UtteranceRequest,
)
from desktop_app.speech.split_recognizer import SplitRecognizer

log = logging.getLogger(__name__)


class _Replies:
    """The pipe to the app; the decoders' own threads log through it too, so sends take turns."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._lock = threading.Lock()

    def send(self, reply: Reply) -> None:
        with self._lock:
            self._connection.send(reply)


class _ToApp(logging.Handler):
    """Log records go to the app's log (this process has no log file of its own)."""

    def __init__(self, replies: _Replies) -> None:
        super().__init__(logging.INFO)
        self._replies = replies

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):  # the app is gone: nobody is left to tell
            self._replies.send(LogLine(record.name, record.levelno, self.format(record)))


def serve(requests: Connection, replies_out: Connection, spec: RecogniserSpec) -> None:
    """The process's whole life."""
    # Ctrl+C in a terminal reaches the whole process group: the app decides when this process ends. The app
    # terminates a process that is still loading: it exits through its clean-up (the model's scratch folder).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _exit_now)
    replies = _Replies(replies_out)
    root = logging.getLogger()
    root.addHandler(_ToApp(replies))
    root.setLevel(logging.INFO)
    try:
        try:
            recognizer = load(spec)
        except AppError as error:
            replies.send(LoadFailed(error.code.value, error.message))
            return
        except Exception as error:
            log.exception("the speech recogniser could not be loaded")
            replies.send(LoadFailed(ErrorCode.SPEECH_MODEL_UNAVAILABLE.value, _load_failure(spec, error)))
            return
        replies.send(Ready(recognizer.name))
        _decode(requests, replies, recognizer)
    except (EOFError, OSError):
        pass  # the app's end closed: it has ended or is closing
    finally:
        requests.close()
        replies_out.close()


def _exit_now(_signal: int, _frame: object) -> None:
    raise SystemExit(0)


def load(spec: RecogniserSpec) -> SplitRecognizer:
    if spec.engine == "vosk" and spec.model is not None:
        from desktop_app.speech.vosk_recognizer import VoskRecognizer, has_runtime_graph, load_model

        model = load_model(spec.model)
        # Only a model whose graph is built at run time can take the sentences as a grammar.
        return VoskRecognizer(model, spec.commands if has_runtime_graph(spec.model) else ())
    from desktop_app.speech.pocketsphinx_recognizer import PocketSphinxRecognizer

    cache = DomainModelCache.open(spec.cache_dir) if spec.cache_dir is not None else None
    return PocketSphinxRecognizer(spec.commands, cache=cache)


def _load_failure(spec: RecogniserSpec, error: Exception) -> str:
    what = f"the speech model in {spec.model}" if spec.model is not None else "the built-in speech recogniser"
    return f"{what[0].upper()}{what[1:]} could not be loaded ({error}). Install the app again if this goes on."


def _decode(requests: Connection, replies: _Replies, recognizer: SplitRecognizer) -> None:
    current = 0  # the utterance under way (0: none)
    while True:
        request: Request = requests.recv()
        if isinstance(request, Stop):
            recognizer.cancel()
            return
        if request.utterance != current and not isinstance(request, Start):
            continue  # about an utterance that was cancelled or failed
        try:
            current = _answer(request, recognizer, replies)
        except Exception as error:  # a decoder's fault ends this utterance, not the process
            log.exception("speech recognition failed")
            replies.send(Failed(request.utterance, f"{type(error).__name__}: {error}"))
            current = 0
            try:
                recognizer.cancel()
            except Exception:
                log.exception("the recogniser could not be reset")


def _answer(request: UtteranceRequest, recognizer: SplitRecognizer, replies: _Replies) -> int:
    """Does what `request` asks; returns the utterance under way afterwards."""
    if isinstance(request, Start):
        recognizer.start_utterance()
        return request.utterance
    if isinstance(request, Audio):
        partial = recognizer.feed(request.pcm16)
        if partial is not None:
            replies.send(Partial(request.utterance, partial))
    elif isinstance(request, Finish):
        command = recognizer.command_transcript()
        replies.send(Heard(request.utterance, command.text, command.confidence))
    elif isinstance(request, TakeCommand):
        recognizer.abandon_general()
        return 0
    elif isinstance(request, TakeGeneral):
        general = recognizer.general_transcript()
        replies.send(Final(request.utterance, general.text, general.confidence))
        return 0
    elif isinstance(request, Cancel):
        recognizer.cancel()
        return 0
    return request.utterance
