"""Vosk: streaming recognition with downloadable models (any language the user installs).

With a model whose graph is built at run time (the small models: graph/HCLr.fst and Gr.fst) in the
language of the assistant's sentences, a second recogniser listens with a grammar of those sentences
(Vosk's runtime grammar, "[unk]" standing for any other word), as the PocketSphinx recogniser does with its
domain language model: its transcript wins when the assistant understands it, the model's own otherwise.
A model with a fixed graph (HCLG.fst, the large ones) cannot take a grammar, and decodes alone.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import vosk

from desktop_app.core.audio_format import SPEECH_FORMAT
from desktop_app.core.errors import AppError, ErrorCode
from desktop_app.core.ports import Transcript
from desktop_app.speech import split_recognizer

# Vosk decides where an utterance segment ends each time it is given audio, so the same sound cut into
# different pieces can come out differently. Audio is handed to it in fixed 100 ms steps, whatever size
# the microphone delivers: the transcript depends only on the sound (and partials still update 10 times a
# second).
STEP_SECONDS = 0.1
STEP_BYTES = SPEECH_FORMAT.bytes_for(STEP_SECONDS)
UNKNOWN = "[unk]"


def has_runtime_graph(path: Path) -> bool:
    """Whether the model in `path` can decode with a grammar given at run time."""
    return any((folder / "HCLr.fst").is_file() and (folder / "Gr.fst").is_file() for folder in (path, path / "graph"))


def grammar_for(model: vosk.Model, phrases: Sequence[str]) -> str | None:
    """Vosk's grammar (JSON) of the phrases whose words the model knows, plus "[unk]" (any other word) when
    the model has it; None when no phrase is known."""
    known: dict[str, bool] = {}

    def knows(word: str) -> bool:
        if word not in known:
            known[word] = model.vosk_model_find_word(word) != -1
        return known[word]

    kept = [phrase for phrase in dict.fromkeys(phrases) if phrase and all(knows(w) for w in phrase.split())]
    if not kept:
        return None
    return json.dumps([*kept, UNKNOWN] if knows(UNKNOWN) else kept, ensure_ascii=False)


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
        self,
        model: vosk.Model,
        command_phrases: Sequence[str] = (),
        understands: Callable[[str], bool] | None = None,
    ) -> None:
        """`command_phrases` (the assistant's sentences) given: they are decoded for too, with a grammar (only
        pass them for a model with a runtime graph in their language); `understands` judges that transcript."""
        self._model = model
        self._understands = understands
        grammar = grammar_for(model, command_phrases) if command_phrases else None
        # Compiling the grammar takes a moment, so one recogniser serves every utterance (reset in between).
        self._commands = vosk.KaldiRecognizer(model, SPEECH_FORMAT.rate, grammar) if grammar else None
        self._command_text: list[str] = []
        self._recognizer: vosk.KaldiRecognizer | None = None
        self._done: list[str] = []
        self._confidences: list[float] = []
        self._partial = ""
        self._pending = bytearray()
        self._ended = Transcript("", None)  # the general transcript of the utterance that ended last

    def start_utterance(self) -> None:
        self._recognizer = vosk.KaldiRecognizer(self._model, SPEECH_FORMAT.rate)
        self._recognizer.SetWords(True)
        if self._commands is not None:
            self._commands.Reset()
        self._command_text = []
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
            if self._commands is not None and self._commands.AcceptWaveform(step):
                self._command_text.append(json.loads(self._commands.Result()).get("text", ""))
        if current != self._partial:
            self._partial = current
            return current
        return None

    def finish(self) -> Transcript:
        return split_recognizer.finish(self, self._understands)

    def command_transcript(self) -> Transcript:
        recognizer, self._recognizer = self._recognizer, None
        if recognizer is None:
            self._ended = Transcript("", None)
            return self._ended
        if self._pending:
            self._accept(recognizer, bytes(self._pending))
            if self._commands is not None:
                self._commands.AcceptWaveform(bytes(self._pending))
            self._pending.clear()
        self._take(json.loads(recognizer.FinalResult()))
        confidence = sum(self._confidences) / len(self._confidences) if self._confidences else None
        self._ended = Transcript(" ".join(self._done), confidence)
        command = self._final_command()
        return Transcript("" if UNKNOWN in command.split() else command, confidence)

    def abandon_general(self) -> None:
        pass  # decoded alongside: nothing left to wait for

    def general_transcript(self) -> Transcript:
        return self._ended

    def _final_command(self) -> str:
        if self._commands is None:
            return ""
        self._command_text.append(json.loads(self._commands.FinalResult()).get("text", ""))
        return " ".join(" ".join(self._command_text).split())

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
