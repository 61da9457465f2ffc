"""Vosk: streaming recognition with downloadable models (any language the user installs)."""

from __future__ import annotations

import json
from pathlib import Path

import vosk

from desktop_app.core.errors import AppError, ErrorCode
from desktop_app.core.ports import Transcript

SAMPLE_RATE = 16_000


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

    def __init__(self, model: vosk.Model) -> None:
        self._model = model
        self._recognizer: vosk.KaldiRecognizer | None = None
        self._done: list[str] = []
        self._confidences: list[float] = []
        self._partial = ""

    def start_utterance(self) -> None:
        self._recognizer = vosk.KaldiRecognizer(self._model, SAMPLE_RATE)
        self._recognizer.SetWords(True)
        self._done = []
        self._confidences = []
        self._partial = ""

    def feed(self, pcm16: bytes) -> str | None:
        recognizer = self._recognizer
        if recognizer is None or not pcm16:
            return None
        if recognizer.AcceptWaveform(pcm16):
            self._take(json.loads(recognizer.Result()))
            current = " ".join(self._done)
        else:
            partial = json.loads(recognizer.PartialResult()).get("partial", "")
            current = " ".join([*self._done, partial]).strip()
        if current != self._partial:
            self._partial = current
            return current
        return None

    def finish(self) -> Transcript:
        recognizer, self._recognizer = self._recognizer, None
        if recognizer is None:
            return Transcript("", None)
        self._take(json.loads(recognizer.FinalResult()))
        confidence = sum(self._confidences) / len(self._confidences) if self._confidences else None
        return Transcript(" ".join(self._done), confidence)

    def cancel(self) -> None:
        self._recognizer = None

    def _take(self, result: dict[str, object]) -> None:
        text = str(result.get("text", "")).strip()
        if text:
            self._done.append(text)
        words = result.get("result")
        if isinstance(words, list):
            self._confidences += [float(w["conf"]) for w in words if isinstance(w, dict) and "conf" in w]
