"""Which recogniser listens under the speech settings, among the installed models: one answer for the models
command, the first-run guide and the settings dialog, the same choice the window makes when it loads one.

Each function reads the models folder (and `use_recogniser` writes the settings file): call them on a worker,
never on the UI thread. Imports stay light (the recogniser module is loaded only when asked), so the command
line can import this at start.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from desktop_app.core.settings import SPEECH_ENGINE, SPEECH_LANGUAGE, SPEECH_VOSK_MODEL, Settings

if TYPE_CHECKING:
    from desktop_app.speech.recognition import RecogniserChoice


@dataclass(frozen=True, slots=True)
class ModelChoice:
    name: str
    language: str  # for people: "Korean"


@dataclass(frozen=True, slots=True)
class Recognisers:
    models: tuple[ModelChoice, ...]  # the installed models the recogniser can load
    in_use: str | None  # the installed model listening; None for the built-in recogniser
    description: str  # "PocketSphinx (built-in English)", "Vosk (vosk-model-small-ko-0.22)"
    reason: str = ""  # why that one: "speech.vosk_model chooses it"


def recogniser_in_use(settings: Settings, models_dir: Path) -> RecogniserChoice:
    """The recogniser the app listens with under these settings: the same choice the window makes (when the
    settings ask for a Vosk model that is not there, the built-in one it falls back to)."""
    from desktop_app.speech.recognition import choose_recogniser

    return choose_recogniser(
        settings.get(SPEECH_ENGINE),
        settings.get(SPEECH_VOSK_MODEL),
        models_dir,
        settings.get(SPEECH_LANGUAGE),
        strict=False,
    )


def read_recognisers(settings: Settings, models_dir: Path) -> Recognisers:
    """The models the recogniser can load (a folder with an acoustic model), and the one it chooses."""
    from desktop_app.speech.recognition import installed_vosk_models, language_name, model_language

    models = tuple(
        ModelChoice(path.name, language_name(model_language(path))) for path in installed_vosk_models(models_dir)
    )
    choice = recogniser_in_use(settings, models_dir)
    return Recognisers(models, choice.path.name if choice.path is not None else None, choice.description, choice.reason)


def use_recogniser(settings: Settings, models_dir: Path, model: str | None) -> Recognisers:
    """Saves the choice as `voice-assistant settings set` would (a model's language becomes the recognition
    language, in the same write) and returns what then listens. `model` None: the built-in recogniser."""
    from desktop_app.speech.recognition import model_language, same_language

    if model is None:
        settings.set(SPEECH_ENGINE, "pocketsphinx")
    else:
        changes: dict[str, object] = {SPEECH_ENGINE.key: "vosk", SPEECH_VOSK_MODEL.key: model}
        language = model_language(models_dir / model)
        if language is not None and not same_language(language, settings.get(SPEECH_LANGUAGE)):
            changes[SPEECH_LANGUAGE.key] = language
        settings.update(changes)
    return read_recognisers(settings, models_dir)
