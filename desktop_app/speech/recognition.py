"""Which recogniser the app listens with, loaded in the background.

Vosk when a model is installed (or the one chosen in settings), otherwise PocketSphinx, whose English
model ships with it. Loading takes from a fraction of a second to several seconds, so it runs on its own
thread; until it is done `current()` is None and the app says "loading speech model".
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from desktop_app.core.errors import AppError, ErrorCode
from desktop_app.core.events import Notice, TurnFailed
from desktop_app.core.ports import Recognizer

log = logging.getLogger(__name__)

Listener = Callable[[object], None]


def installed_vosk_models(models_dir: Path) -> list[Path]:
    """Model folders under models_dir (a Vosk model has an am/ or a final.mdl inside)."""
    if not models_dir.is_dir():
        return []
    return sorted(
        p
        for p in models_dir.iterdir()
        if p.is_dir() and not p.name.startswith(".") and ((p / "am").is_dir() or (p / "final.mdl").exists())
    )


def choose_engine(engine: str, vosk_model: str | None, models_dir: Path) -> tuple[str, Path | None]:
    """("vosk", its folder) or ("pocketsphinx", None), from the settings and what is installed."""
    installed = installed_vosk_models(models_dir)
    if engine == "pocketsphinx":
        return "pocketsphinx", None
    chosen = next((p for p in installed if p.name == vosk_model), None) if vosk_model else None
    if chosen is None and installed and (engine in ("auto", "vosk")):
        chosen = installed[0]
    if chosen is not None:
        return "vosk", chosen
    if engine == "vosk":
        raise AppError(
            ErrorCode.SPEECH_MODEL_UNAVAILABLE,
            "No Vosk speech model is installed. Download one in Settings > Speech; until then the built-in "
            "English recogniser listens.",
        )
    return "pocketsphinx", None


class Recognition:
    def __init__(
        self,
        models_dir: Path,
        command_phrases: Sequence[str],
        on_event: Listener,
        engine: str = "auto",
        vosk_model: str | None = None,
    ) -> None:
        self._models_dir = models_dir
        self._phrases = list(command_phrases)
        self._emit = on_event
        self._engine = engine
        self._vosk_model = vosk_model
        self._current: Recognizer | None = None
        self._loaded = threading.Event()
        self._lock = threading.Lock()
        self.description = ""

    def current(self) -> Recognizer | None:
        return self._current

    def wait_until_loaded(self, timeout: float | None = None) -> bool:
        return self._loaded.wait(timeout)

    def load_in_background(self, engine: str | None = None, vosk_model: str | None = None) -> threading.Thread:
        """(Re)loads with new settings; the old recogniser keeps working until the new one is ready."""
        with self._lock:
            if engine is not None:
                self._engine = engine
            self._vosk_model = vosk_model if vosk_model is not None else self._vosk_model
            self._loaded.clear()
        thread = threading.Thread(target=self._load, name="speech-model-loader", daemon=True)
        thread.start()
        return thread

    def _load(self) -> None:
        self._emit(Notice("speech_model_loading", "Loading speech model…"))
        try:
            try:
                name, path = choose_engine(self._engine, self._vosk_model, self._models_dir)
            except AppError as error:
                self._emit(TurnFailed(error.code.value, error.message))
                name, path = "pocketsphinx", None
            recognizer = self._build(name, path)
        except AppError as error:
            self._emit(TurnFailed(error.code.value, error.message))
            if self._current is None:  # nothing to listen with: fall back to the built-in one
                recognizer = self._build("pocketsphinx", None)
            else:
                self._loaded.set()
                return
        self._current = recognizer
        self._loaded.set()
        self._emit(Notice("speech_model_ready", f"Listening with {self.description}."))

    def _build(self, name: str, path: Path | None) -> Recognizer:
        if name == "vosk" and path is not None:
            from desktop_app.speech.vosk_recognizer import VoskRecognizer, load_model

            recognizer: Recognizer = VoskRecognizer(load_model(path))
            self.description = f"Vosk ({path.name})"
        else:
            from desktop_app.speech.pocketsphinx_recognizer import PocketSphinxRecognizer

            recognizer = PocketSphinxRecognizer(self._phrases)
            self.description = "PocketSphinx (built-in English)"
        log.info("speech recognition: %s", self.description)
        return recognizer
