"""Vosk: streaming recognition with downloadable models (any language the user installs)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import vosk

from desktop_app.core.errors import AppError, ErrorCode
from desktop_app.core.ports import Transcript

SAMPLE_RATE = 16_000
# Vosk decides where an utterance segment ends each time it is given audio, so the same sound cut into
# different pieces can come out differently. Audio is handed to it in fixed 100 ms steps, whatever size
# the microphone delivers: the transcript depends only on the sound (and partials still update 10 times a
# second).
STEP_BYTES = SAMPLE_RATE // 10 * 2


def load_model(path: Path) -> vosk.Model:
    """Loads a model folder (seconds for a small model: call it off the UI thread)."""
    vosk.SetLogLevel(-1)
    try:
        return vosk.Model(str(path))
    except Exception as error:  # vosk raises a bare Exception when the folder is not a model
        raise AppError(
            ErrorCode.SPEECH_MODEL_UNAVAILABLE,
            f"The speech model in {path} could not be loaded ({error}). Install it again from Settings > Speech.",
        ) from error


class VoskRecognizer:
    name = "vosk"

    def __init__(
        self, model: vosk.Model, command_phrases: Sequence[str] = (), understands: Callable[[str], bool] | None = None
    ) -> None:
        """`command_phrases` and `understands` are for a domain-biased decode, which is not done yet: the
        model's own graph decides (see docs/benchmarks.md)."""
        del command_phrases, understands
        self._model = model
        self._recognizer: vosk.KaldiRecognizer | None = None
        self._done: list[str] = []
        self._confidences: list[float] = []
        self._partial = ""
        self._pending = bytearray()

    def start_utterance(self) -> None:
        self._recognizer = vosk.KaldiRecognizer(self._model, SAMPLE_RATE)
        self._recognizer.SetWords(True)
        self._done = []
        self._confidences = []
        self._partial = ""
        self._pending = bytearray()

    def feed(self, pcm16: bytes) -> str | None:
        recognizer = self._recognizer
        if recognizer is None or not pcm16:
            return None
        self._pending += pcm16
        if len(self._pending) < STEP_BYTES:
            return None
        current = self._partial
        while len(self._pending) >= STEP_BYTES:
            step = bytes(self._pending[:STEP_BYTES])
            del self._pending[:STEP_BYTES]
            current = self._accept(recognizer, step)
        if current != self._partial:
            self._partial = current
            return current
        return None

    def finish(self) -> Transcript:
        recognizer, self._recognizer = self._recognizer, None
        if recognizer is None:
            return Transcript("", None)
        if self._pending:
            self._accept(recognizer, bytes(self._pending))
            self._pending.clear()
        self._take(json.loads(recognizer.FinalResult()))
        confidence = sum(self._confidences) / len(self._confidences) if self._confidences else None
        return Transcript(" ".join(self._done), confidence)

    def cancel(self) -> None:
        self._recognizer = None
        self._pending.clear()

    def _accept(self, recognizer: vosk.KaldiRecognizer, step: bytes) -> str:
        if recognizer.AcceptWaveform(step):
            self._take(json.loads(recognizer.Result()))
            return " ".join(self._done)
        partial = json.loads(recognizer.PartialResult()).get("partial", "")
        return " ".join([*self._done, partial]).strip()

    def _take(self, result: dict[str, object]) -> None:
        text = str(result.get("text", "")).strip()
        if text:
            self._done.append(text)
        words = result.get("result")
        if isinstance(words, list):
            self._confidences += [float(w["conf"]) for w in words if isinstance(w, dict) and "conf" in w]
