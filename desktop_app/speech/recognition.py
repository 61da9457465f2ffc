"""Which recogniser the app listens with, and loading it in the background.

The choice follows the recognition language (the `speech.language` setting, English by default):

1. `speech.engine` pocketsphinx: the built-in English recogniser, always.
2. `speech.vosk_model` names an installed model: that model (choosing a model is asking for it).
3. otherwise the first installed Vosk model (by name) whose language is the recognition language.
4. otherwise the built-in PocketSphinx recogniser, whose English model ships with it (with engine "vosk",
   an error saying which model to get).

So installing a model of another language never changes what the app hears: it is used once its language
is chosen. A model's language is what the model manager recorded when it installed it (`MODEL_INFO` inside
the model folder), else what the official naming says (``vosk-model-small-ko-0.22`` is Korean); a model of
unknown language is used only when chosen by name.

Loading takes from a fraction of a second to several seconds, and runs in a recogniser process of its own
(speech.recognizer_process), waited for on a thread; until it is done `current()` is None and the app says
"loading speech model".
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from desktop_app.core.atomic_file import replace_file
from desktop_app.core.errors import AppError, ErrorCode
from desktop_app.core.events import Event, Notice, NoticeCode, TurnFailed
from desktop_app.core.ports import Recognizer
from desktop_app.core.settings import Settings
from desktop_app.speech.recognizer_protocol import Engine

if TYPE_CHECKING:
    from desktop_app.speech.recognizer_process import RecognizerProcess

log = logging.getLogger(__name__)

Listener = Callable[[Event], None]
# What decided the choice: speech.engine, speech.vosk_model, speech.language, or nothing installed fitting.
ChosenBy = Literal["engine", "model", "language", "fallback"]

DEFAULT_LANGUAGE = "en"
# The language of the skills' sentence templates.
SENTENCE_LANGUAGE = "en"
# The settings the choice depends on: a change to any of them means loading again (`Recognition.reload`).
RECOGNITION_SETTINGS = frozenset({"speech.engine", "speech.vosk_model", "speech.language"})
# The built-in recogniser: PocketSphinx with the US English model its wheel ships.
BUILT_IN_NAME = "pocketsphinx-en-us"
BUILT_IN_LANGUAGE = "en-us"
BUILT_IN_DESCRIPTION = "PocketSphinx (built-in English)"
# What the model manager records about a model it installed, inside the model's folder (Vosk ignores it).
MODEL_INFO = ".voice-assistant-model.json"

# Names of the languages in the official model list, by the codes the list uses ("cn", "ua" and all).
LANGUAGE_NAMES = {
    "ar": "Arabic",
    "br": "Breton",
    "ca": "Catalan",
    "cn": "Chinese",
    "cs": "Czech",
    "de": "German",
    "en": "English",
    "eo": "Esperanto",
    "es": "Spanish",
    "fa": "Persian",
    "fr": "French",
    "gu": "Gujarati",
    "gr": "Greek",
    "hi": "Hindi",
    "it": "Italian",
    "ja": "Japanese",
    "ko": "Korean",
    "kz": "Kazakh",
    "nl": "Dutch",
    "pl": "Polish",
    "pt": "Portuguese",
    "ru": "Russian",
    "sv": "Swedish",
    "te": "Telugu",
    "tg": "Tajik",
    "tl": "Filipino",
    "tr": "Turkish",
    "ua": "Ukrainian",
    "uk": "Ukrainian",
    "uz": "Uzbek",
    "vn": "Vietnamese",
}
_LANGUAGE_CODE = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{2,8})?")
# Official names: vosk-model[-small]-<lang>[-<region>]-<version>[-<variant>], e.g. vosk-model-small-en-us-0.15.
_OFFICIAL_NAME = re.compile(r"vosk-model-(?:small-)?([a-z]{2,3})(?:-([a-z]{2}))?(?:-|$)")


def primary_language(code: str) -> str:
    """ "en-us" -> "en": languages are compared by their first part, so an "en" choice takes any English model."""
    return code.strip().lower().split("-", 1)[0]


def same_language(first: str | None, second: str | None) -> bool:
    return bool(first) and bool(second) and primary_language(first or "") == primary_language(second or "")


def language_name(code: str | None) -> str:
    """ "ko" -> "Korean"; a code the app has no name for is shown as itself; None -> "of unknown language"."""
    if not code:
        return "of unknown language"
    return LANGUAGE_NAMES.get(primary_language(code), code)


# -- what the model manager records --------------------------------------------------------------------------


def record_model_language(model_dir: Path, lang: str | None, lang_text: str = "") -> None:
    """Records the language of the model in `model_dir` (written atomically); with None, removes any record
    (an archive must not be able to claim a language for itself)."""
    info = model_dir / MODEL_INFO
    if lang is None:
        info.unlink(missing_ok=True)
        return
    replace_file(info, json.dumps({"lang": lang, "lang_text": lang_text}).encode(), durable=False)


def language_from_name(name: str) -> str | None:
    """The language an official model name carries: vosk-model-small-ko-0.22 -> "ko", vosk-model-en-us-0.22 ->
    "en-us"; None for any other name."""
    match = _OFFICIAL_NAME.match(name.lower())
    if match is None:
        return None
    lang, region = match.groups()
    return f"{lang}-{region}" if region else lang


def model_language(model_dir: Path) -> str | None:
    """The language of an installed model: as recorded at install, else from its official name, else None."""
    try:
        recorded = json.loads((model_dir / MODEL_INFO).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        recorded = None
    if isinstance(recorded, dict):
        lang = recorded.get("lang")
        if isinstance(lang, str) and _LANGUAGE_CODE.fullmatch(lang.lower()):
            return lang.lower()
    return language_from_name(model_dir.name)


# -- the choice -----------------------------------------------------------------------------------------------


def installed_vosk_models(models_dir: Path) -> list[Path]:
    """Model folders under models_dir (a Vosk model has an am/ or a final.mdl inside)."""
    if not models_dir.is_dir():
        return []
    return sorted(
        p
        for p in models_dir.iterdir()
        if p.is_dir() and not p.name.startswith(".") and ((p / "am").is_dir() or (p / "final.mdl").exists())
    )


@dataclass(frozen=True, slots=True)
class RecogniserChoice:
    """The recogniser to listen with, and why, in words for people."""

    engine: Engine
    path: Path | None  # the Vosk model's folder; None for the built-in recogniser
    language: str | None  # the language it recognises (None: a chosen model of unknown language)
    by: ChosenBy
    reason: str

    @property
    def name(self) -> str:
        return self.path.name if self.path is not None else BUILT_IN_NAME

    @property
    def description(self) -> str:
        return f"Vosk ({self.path.name})" if self.path is not None else BUILT_IN_DESCRIPTION


def built_in(by: ChosenBy, reason: str) -> RecogniserChoice:
    return RecogniserChoice("pocketsphinx", None, BUILT_IN_LANGUAGE, by, reason)


def choose_recogniser(
    engine: str,
    vosk_model: str | None,
    models_dir: Path,
    language: str = DEFAULT_LANGUAGE,
    *,
    strict: bool = True,
) -> RecogniserChoice:
    """The recogniser the settings ask for among what is installed (see the module's documentation). When
    engine is "vosk" and no model fits: AppError(SPEECH_MODEL_UNAVAILABLE), or with `strict` False the built-in
    recogniser the app then falls back to, with that as the reason."""
    language = language or DEFAULT_LANGUAGE
    wanted = language_name(language)
    if engine == "pocketsphinx":
        return built_in("engine", "speech.engine is pocketsphinx")
    installed = installed_vosk_models(models_dir)
    missing = ""
    if vosk_model:
        chosen = next((path for path in installed if path.name == vosk_model), None)
        if chosen is not None:
            return RecogniserChoice("vosk", chosen, model_language(chosen), "model", "speech.vosk_model chooses it")
        if engine == "vosk":
            problem = f"the speech model {vosk_model} (speech.vosk_model) is not installed"
            return _no_vosk(problem, f"Install it with `voice-assistant models download {vosk_model}`", strict)
        missing = f"speech.vosk_model names {vosk_model}, which is not installed; "
    matching = [path for path in installed if same_language(model_language(path), language)]
    if matching:
        return RecogniserChoice(
            "vosk",
            matching[0],
            model_language(matching[0]),
            "language",
            f"{missing}speech.language is {language} and it is "
            + (f"the first installed {wanted} model" if len(matching) > 1 else wanted),
        )
    if engine == "vosk":
        problem = f"no installed Vosk model is {wanted} (speech.language is {language})"
        return _no_vosk(problem, "Download one (`voice-assistant models list` shows them)", strict)
    if same_language(language, BUILT_IN_LANGUAGE):
        reason = f"{missing}no installed Vosk model is English"
    else:
        reason = (
            f"{missing}no {wanted} model is installed (speech.language is {language}), so the built-in English "
            "recogniser listens; download one with `voice-assistant models download NAME`"
        )
    return built_in("fallback", reason)


def _no_vosk(problem: str, advice: str, strict: bool) -> RecogniserChoice:
    """speech.engine is vosk, and no Vosk model fits."""
    if strict:
        raise AppError(
            ErrorCode.SPEECH_MODEL_UNAVAILABLE,
            f"{problem[0].upper()}{problem[1:]}. {advice}, or set speech.engine to auto to use the built-in "
            "English recogniser until then.",
        )
    return built_in("fallback", f"speech.engine is vosk but {problem}, so the app falls back to it")


def choose_engine(
    engine: str, vosk_model: str | None, models_dir: Path, language: str = DEFAULT_LANGUAGE
) -> tuple[str, Path | None]:
    """("vosk", its folder) or ("pocketsphinx", None): `choose_recogniser` without the reasons."""
    choice = choose_recogniser(engine, vosk_model, models_dir, language)
    return choice.engine, choice.path


def why_not_used(model_dir: Path, choice: RecogniserChoice, language: str) -> str:
    """Why the installed model in `model_dir` is not the one listening, and what would make it listen."""
    name = model_dir.name
    own = model_language(model_dir)
    use_name = f"voice-assistant settings set speech.vosk_model {name}"
    if choice.by == "engine":
        return (
            "speech.engine is pocketsphinx. To use it: voice-assistant settings set speech.engine auto, then "
            + use_name
        )
    if own is None:
        return f"its language is not known. To use it: {use_name}"
    if not same_language(own, language):
        return (
            f"it is {language_name(own)} and the recognition language is {language_name(language)}. "
            f"To use it: voice-assistant settings set speech.language {own} (or {use_name})"
        )
    if choice.by == "model":
        return f"speech.vosk_model chooses {choice.name}. To use this one: {use_name}"
    return f"{choice.name} comes first among the installed {language_name(own)} models. To use this one: {use_name}"


# -- loading ----------------------------------------------------------------------------------------------------


class Recognition:
    """The recogniser the app listens with, loaded and run in a recogniser process of its own
    (speech.recognizer_process), so loading and decoding never hold the window's interpreter lock."""

    def __init__(
        self,
        models_dir: Path,
        command_phrases: Sequence[str],
        on_event: Listener,
        engine: str = "auto",
        vosk_model: str | None = None,
        *,
        language: str = DEFAULT_LANGUAGE,
        understands: Callable[[str], bool] | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        """`command_phrases` and `understands`: the assistant's sentences and its judgement of a transcript
        (core.ports.Brain), for decoding with a model of what this assistant is asked. `cache_dir`: the app's
        cache folder, where the command language model is kept between runs (None: built at each load)."""
        self._models_dir = models_dir
        self._phrases = tuple(command_phrases)
        self._understands = understands
        self._cache_dir = cache_dir
        self._emit = on_event
        self._engine = engine
        self._vosk_model = vosk_model
        self._language = language
        self._current: RecognizerProcess | None = None
        self._loading: set[RecognizerProcess] = set()  # started, model not loaded yet
        self._lock = threading.Lock()
        self._loads = 0  # loads asked for: only the latest one's recogniser is used
        self._closed = False
        self.description = ""
        self.choice: RecogniserChoice | None = None

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        models_dir: Path,
        command_phrases: Sequence[str],
        on_event: Listener,
        understands: Callable[[str], bool] | None = None,
        *,
        cache_dir: Path | None = None,
    ) -> Recognition:
        """The app's recognition: the choice the settings make (call `load_in_background` to load it)."""
        return cls(
            models_dir,
            command_phrases,
            on_event,
            settings.get("speech.engine"),
            settings.get("speech.vosk_model"),
            language=settings.get("speech.language"),
            understands=understands,
            cache_dir=cache_dir,
        )

    def reload(self, settings: Settings) -> threading.Thread:
        """Loads again with the settings as they are now (after a change to one of RECOGNITION_SETTINGS);
        a model choice that was cleared is cleared here too."""
        with self._lock:
            self._engine = settings.get("speech.engine")
            self._vosk_model = settings.get("speech.vosk_model")
            self._language = settings.get("speech.language")
        return self.load_in_background()

    def current(self) -> Recognizer | None:
        return self._current

    def load_in_background(
        self, engine: str | None = None, vosk_model: str | None = None, language: str | None = None
    ) -> threading.Thread:
        """(Re)loads with new settings in a new recogniser process; the old recogniser keeps working until the
        new one is ready, then closes once its utterance (if any) has ended. The thread returned ends when the
        loading has (join it to wait)."""
        with self._lock:
            if engine is not None:
                self._engine = engine
            self._vosk_model = vosk_model if vosk_model is not None else self._vosk_model
            if language is not None:
                self._language = language
            self._loads += 1
            load = self._loads
        thread = threading.Thread(target=self._load, args=(load,), name="speech-model-loader", daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        """Stops the recogniser's process and any still loading (each within a few seconds)."""
        with self._lock:
            self._closed = True
            current, self._current = self._current, None
            loading, self._loading = self._loading, set()
        for recognizer in (*loading, *([current] if current is not None else [])):
            recognizer.close()

    def _load(self, load: int) -> None:
        self._emit(Notice(NoticeCode.SPEECH_MODEL_LOADING, "Loading speech model…"))
        with self._lock:
            engine, vosk_model, language = self._engine, self._vosk_model, self._language
        try:
            choice = choose_recogniser(engine, vosk_model, self._models_dir, language)
        except AppError as error:
            self._emit(TurnFailed(error.code, error.message))
            choice = built_in("fallback", "the chosen recogniser is not available")
        try:
            recognizer = self._build(choice)
        except AppError as error:
            if self._closed:
                return  # closed while loading: nothing failed that anyone waits for
            self._emit(TurnFailed(error.code, error.message))
            if self._current is not None:
                return  # the recogniser in use goes on
            try:  # nothing to listen with: fall back to the built-in one
                choice = built_in("fallback", "the chosen model did not load")
                recognizer = self._build(choice)
            except AppError as fallback_error:
                if not self._closed:
                    self._emit(TurnFailed(fallback_error.code, fallback_error.message))
                return
        with self._lock:
            used = not self._closed and load == self._loads
            if used:
                previous, self._current = self._current, recognizer
                self.description, self.choice = choice.description, choice
        if not used:  # closed meanwhile, or a later load was asked for
            recognizer.close()
            return
        if previous is not None:
            previous.retire()
        log.info("speech recognition: %s (%s)", self.description, choice.reason)
        said = f"Listening with {self.description}"
        if choice.by == "fallback" and not same_language(language, BUILT_IN_LANGUAGE):
            said += f": {choice.reason}"  # the chosen language has no model yet
        self._emit(Notice(NoticeCode.SPEECH_MODEL_READY, said + "."))

    def _build(self, choice: RecogniserChoice) -> RecognizerProcess:
        """Starts a recogniser process for `choice` and waits until its model is loaded."""
        # Imported here: the command line chooses recognisers without starting any.
        from desktop_app.speech.recognizer_process import RecognizerProcess
        from desktop_app.speech.recognizer_protocol import RecogniserSpec

        # The assistant's sentences are English: they only help an English model.
        english = choice.engine == "pocketsphinx" or same_language(choice.language, SENTENCE_LANGUAGE)
        spec = RecogniserSpec(choice.engine, choice.path, self._phrases if english else (), self._cache_dir)
        recognizer = RecognizerProcess(spec, self._understands)
        with self._lock:
            closed = self._closed
            if not closed:
                self._loading.add(recognizer)  # so that closing stops it too
        if closed:
            recognizer.close()
            raise AppError(ErrorCode.SPEECH_MODEL_UNAVAILABLE, "Speech recognition has been closed.")
        try:
            recognizer.wait_ready()
        finally:
            with self._lock:
                self._loading.discard(recognizer)
        return recognizer
