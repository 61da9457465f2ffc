"""Typed settings, each declared once with its type, default and description; stored as JSON.

The file carries a version; `UPGRADES` turns an older file into the current shape, so a setting can be
renamed or re-typed without losing what the user chose. Unknown keys are kept (a newer release may have
written them) and invalid values fall back to the default with a warning, never a crash.

Every value is bounded where it is declared: a number setting has both a minimum and a maximum (nan, inf
and numbers past them are refused), a text setting a longest length (`max_length`), no control characters
unless it may hold lines (`multiline`), and something visible in it. A file larger than any settings could
be is not read.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import stat
import tempfile
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop_app.core.validation import MAX_KEY_NAME_CHARS, is_blank, is_web_address, shortened

log = logging.getLogger(__name__)

SETTINGS_VERSION = 1
# The settings file is read only up to this size: twenty settings of at most a few KB each, and the keys of
# a newer version, fit many times over.
MAX_SETTINGS_FILE_BYTES = 1024 * 1024
# A whole number typed with more digits than this is refused before it is converted (every int setting's
# maximum is far smaller).
_MAX_DIGITS = 20


_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")
# Words that clear a setting that may be empty (nullable), on the command line.
_CLEAR = ("none", "default", "")


class _TooLong(ValueError):
    """A text value longer than its setting's max_length: said with the lengths, not the value."""


@dataclass(frozen=True, slots=True)
class Setting:
    key: str
    type: type
    default: Any
    description: str
    choices: tuple[Any, ...] | None = None
    nullable: bool = False
    minimum: float | None = None
    maximum: float | None = None
    # Text settings with a shape: a regular expression the whole value must match, and how to describe it.
    pattern: str | None = None
    shape: str = ""
    # What a value is, for people, when the type alone does not say it ("a microphone's name ...").
    hint: str = ""
    # What "none" means for a setting that may be empty.
    empty: str = "the default"
    # Text typed in any case is stored in lower case (language codes).
    lowercase: bool = False
    # Text settings: the longest value, in characters; whether it may hold line breaks and tabs (other
    # control characters never); whether it is a web address (http or https, with a host), and whether that
    # address may carry a query.
    max_length: int = 200
    multiline: bool = False
    url: bool = False
    url_query: bool = True

    def __post_init__(self) -> None:
        if self.type in (int, float) and (self.minimum is None or self.maximum is None):
            raise TypeError(f"the number setting {self.key} must declare its minimum and maximum")
        if self.type is str and self.max_length < 1:
            raise TypeError(f"the text setting {self.key} must declare a longest length")

    def allowed(self) -> str:
        """The values this setting takes, in words: "a whole number from 80 to 450"."""
        if self.type is bool:
            text = "true or false (or on/off, yes/no)"
        elif self.choices is not None:
            text = "one of " + ", ".join(map(str, self.choices))
        elif self.type is int:
            text = "a whole number" + self._range()
        elif self.type is float:
            text = "a number" + self._range()
        elif self.pattern is not None or self.url:
            text = self.shape
        else:
            text = self.hint or "any text that is not empty"
        return f"{text}, or none for {self.empty}" if self.nullable else text

    def _range(self) -> str:
        if self.minimum is not None and self.maximum is not None:
            return f" from {self._number(self.minimum)} to {self._number(self.maximum)}"
        if self.minimum is not None:
            return f" of at least {self._number(self.minimum)}"
        if self.maximum is not None:
            return f" of at most {self._number(self.maximum)}"
        return ""

    def _number(self, bound: float) -> str:
        """A bound as it would be typed: 1000000 for a whole number (never 1e+06), 0.5 for a number."""
        return str(int(bound)) if self.type is int else f"{bound:g}"

    def refusal(self, value: Any) -> str:
        """The sentence that refuses `value`: what the setting takes, and what it was given (quoted, escaped,
        and shortened when long)."""
        return f"{self.key} must be {self.allowed()}, not {shortened(value, 60)}"

    def check(self, value: Any) -> Any:
        """The value to store, or ValueError with a sentence saying what is allowed."""
        if value is None and self.nullable:
            return None
        if self.type is float and isinstance(value, int) and not isinstance(value, bool):
            try:
                value = float(value)
            except OverflowError:  # a whole number beyond any float (from a file)
                raise ValueError(self.refusal(value)) from None
        if not isinstance(value, self.type) or (self.type is int and isinstance(value, bool)):
            raise ValueError(self.refusal(value))
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(self.refusal(value))
        if isinstance(value, str):
            self._check_text(value)
        if self.choices is not None and value not in self.choices:
            raise ValueError(self.refusal(value))
        if self.minimum is not None and isinstance(value, int | float) and value < self.minimum:
            raise ValueError(self.refusal(value))
        if self.maximum is not None and isinstance(value, int | float) and value > self.maximum:
            raise ValueError(self.refusal(value))
        return value

    def _check_text(self, value: str) -> None:
        if len(value) > self.max_length:
            raise _TooLong(f"{self.key} must be at most {self.max_length:,} characters long, not {len(value):,}")
        if any("\ud800" <= char <= "\udfff" for char in value):
            raise ValueError(self.refusal(value))  # not text (bytes that were not UTF-8): cannot be shown or saved
        kept = "\n\t" if self.multiline else ""
        if any(unicodedata.category(char) == "Cc" and char not in kept for char in value):
            raise ValueError(self.refusal(value))
        if self.choices is not None:
            return
        if self.pattern is not None and not re.fullmatch(self.pattern, value):
            raise ValueError(self.refusal(value))
        if self.url and not is_web_address(value, query=self.url_query):
            raise ValueError(self.refusal(value))
        if is_blank(value):
            raise ValueError(self.refusal(value))

    def parse(self, text: str) -> Any:
        """A value typed as text (the command line, a text box) as this setting's type, checked; ValueError
        saying what is allowed. "none" (or nothing) clears a setting that may be empty."""
        word = text.strip()
        if self.nullable and word.lower() in _CLEAR:
            return None
        value: Any = word.lower() if self.lowercase else word
        if self.type is bool:
            if word.lower() not in _TRUE + _FALSE:
                raise ValueError(self.refusal(word))
            value = word.lower() in _TRUE
        elif self.type is int:
            if not re.fullmatch(r"[+-]?\d+", word) or len(word.lstrip("+-0")) > _MAX_DIGITS:
                raise ValueError(self.refusal(word))
            value = int(word)
        elif self.type is float:
            try:
                value = float(word)
            except ValueError:
                raise ValueError(self.refusal(word)) from None
        try:
            return self.check(value)
        except _TooLong:
            raise
        except ValueError:
            raise ValueError(self.refusal(word)) from None  # as typed: "not '451'", "not 'nan'"


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "audio.input_device",
        str,
        None,
        "Microphone, by name; the system default when empty.",
        nullable=True,
        hint="a microphone's name as `voice-assistant devices` lists it",
        empty="the system default",
    ),
    Setting(
        "audio.output_device",
        str,
        None,
        "Speaker, by name; the system default when empty.",
        nullable=True,
        hint="a speaker's name as `voice-assistant devices` lists it",
        empty="the system default",
    ),
    Setting(
        "audio.preroll",
        bool,
        True,
        "Keep the last half second of sound in memory while waiting, so a word begun just before the "
        "push-to-talk key is not cut off. Nothing is written unless a turn runs.",
    ),
    Setting(
        "speech.language",
        str,
        "en",
        "The language you speak in. The app listens with an installed Vosk model of this language, or the "
        "built-in English recogniser; models of other languages stay installed but unused until you choose "
        "their language here.",
        pattern=r"[a-z]{2,3}(-[a-z0-9]{2,8})?",
        shape="a language code as the model list writes it, e.g. en, en-us, ko, de, fr "
        "(see: voice-assistant models list --all)",
        lowercase=True,
    ),
    Setting(
        "speech.engine",
        str,
        "auto",
        "Recognition engine. auto: an installed Vosk model of speech.language, else the built-in English "
        "recogniser (PocketSphinx).",
        choices=("auto", "vosk", "pocketsphinx"),
    ),
    Setting(
        "speech.vosk_model",
        str,
        None,
        "Installed Vosk model to listen with, whatever its language; when empty, the first installed model of "
        "speech.language.",
        nullable=True,
        hint="an installed model's name as `voice-assistant models list` shows it",
        empty="the first installed model of speech.language",
    ),
    Setting(
        "speech.models_catalog_url",
        str,
        "https://alphacephei.com/vosk/models/model-list.json",
        "Where the list of downloadable speech models is refreshed from.",
        url=True,
        max_length=2000,
        shape="an http:// or https:// address",
    ),
    Setting(
        "voice.name",
        str,
        None,
        "Voice for spoken answers; the engine's default when empty.",
        nullable=True,
        hint="a voice's name",
        empty="the engine's default voice",
    ),
    Setting("voice.rate", int, 175, "Speaking rate in words per minute.", minimum=80, maximum=450),
    Setting("voice.volume", float, 1.0, "Speaking volume, 0.0 to 1.0.", minimum=0.0, maximum=1.0),
    Setting("voice.speak_replies", bool, True, "Speak answers aloud as well as showing them."),
    Setting(
        "talk.mode",
        str,
        "hold",
        "Hold the key while speaking, or press once to start and once to stop.",
        choices=("hold", "toggle"),
    ),
    Setting(
        "talk.hotkey",
        str,
        "ctrl+alt+space",
        "The push-to-talk key, anywhere on the desktop.",
        hint="a key combination such as ctrl+alt+space",
        max_length=64,
    ),
    Setting(
        "network.offline",
        bool,
        False,
        "Offline mode: make no network call at all (no language model, no model downloads). The built-in "
        "skills keep working.",
    ),
    Setting(
        "llm.base_url",
        str,
        None,
        "Language model server (OpenAI-compatible), e.g. http://127.0.0.1:11434/v1 for Ollama or "
        "https://api.openai.com/v1. None: answer with the built-in skills only.",
        nullable=True,
        url=True,
        url_query=False,
        max_length=2000,
        shape="an http:// or https:// address, e.g. http://127.0.0.1:11434/v1",
        empty="no language model",
    ),
    Setting(
        "llm.model",
        str,
        None,
        "Model name on that server, e.g. llama3.2 or gpt-4o-mini.",
        nullable=True,
        hint="a model's name on the server, e.g. llama3.2",
        empty="none",
    ),
    Setting(
        "llm.key_name",
        str,
        None,
        "Name of the stored API key to send (see: voice-assistant keys); none for a local server.",
        nullable=True,
        hint="a key's name as `voice-assistant keys list` shows it",
        empty="no key",
        max_length=MAX_KEY_NAME_CHARS,
    ),
    Setting(
        "llm.system_prompt",
        str,
        "You are a helpful voice assistant on the user's desktop. Answer in a few short spoken sentences, "
        "without lists, tables or markdown.",
        "What the model is told about its job before every conversation.",
        max_length=4000,
        multiline=True,
    ),
    Setting(
        "llm.context_tokens",
        int,
        3000,
        "Token budget for what the model is sent: the system prompt, remembered facts and recent messages.",
        minimum=256,
        maximum=1_000_000,
    ),
    Setting(
        "llm.timeout_seconds",
        float,
        30.0,
        "Longest wait for the model's next words before giving up.",
        minimum=1,
        maximum=600,
    ),
    Setting(
        "privacy.log_content",
        bool,
        False,
        "For debugging: write what was said, typed and answered into the log file. Off: the log shows only "
        "how long each text was. Takes effect at the next start.",
    ),
)
BY_KEY = {setting.key: setting for setting in SETTINGS}

# Upgrades from version N to N + 1, applied in order to the raw dictionary read from the file.
UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}

Listener = Callable[[str, Any], None]


class Settings:
    """Thread-safe settings backed by a JSON file written atomically (0600)."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._values: dict[str, Any] = {}
        self._extra: dict[str, Any] = {}
        self._listeners: list[Listener] = []
        # What was wrong with the file when it was read (and replaced by the defaults), for people.
        self.problems: list[str] = []
        if path is not None:
            self._load(path)

    def get(self, key: str) -> Any:
        setting = BY_KEY[key]
        with self._lock:
            return self._values.get(key, setting.default)

    def set(self, key: str, value: Any) -> None:
        """Checks, stores and saves one value, then tells the listeners. ValueError when invalid."""
        checked = BY_KEY[key].check(value)
        with self._lock:
            self._values[key] = checked
            self._save()
            listeners = list(self._listeners)
        for listener in listeners:
            listener(key, checked)

    def on_change(self, listener: Listener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {setting.key: self._values.get(setting.key, setting.default) for setting in SETTINGS}

    def _load(self, path: Path) -> None:
        try:
            data = _read_bounded(path)
            if data is None:
                return
            raw = json.loads(data.decode("utf-8"))
        except _NotSettings as error:
            log.warning("settings file %s %s; using defaults", path, error)
            self.problems.append(f"the settings file {path} {error}; using the defaults")
            return
        except (OSError, ValueError, RecursionError) as error:
            log.warning("settings file %s could not be read (%s); using defaults", path, error)
            self.problems.append(f"the settings file {path} could not be read ({error}); using the defaults")
            return
        if not isinstance(raw, dict):
            log.warning("settings file %s is not a JSON object; using defaults", path)
            self.problems.append(f"the settings file {path} is not a JSON object; using the defaults")
            return
        version = raw.pop("version", 1)
        if isinstance(version, int):
            while version < SETTINGS_VERSION and version in UPGRADES:
                raw = UPGRADES[version](raw)
                version += 1
        for key, value in raw.items():
            setting = BY_KEY.get(key)
            if setting is None:
                self._extra[key] = value
                continue
            try:
                self._values[key] = setting.check(value)
            except ValueError as error:
                log.warning("ignoring setting: %s", error)
                self.problems.append(f"ignoring the saved value: {error}; using the default")

    def _save(self) -> None:
        if self._path is None:
            return
        document = {"version": SETTINGS_VERSION, **self._extra, **self._values}
        self._path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".settings-", dir=self._path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(document, out, indent=2, sort_keys=True)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temporary, 0o600)
            os.replace(temporary, self._path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


class _NotSettings(Exception):
    """The settings file is something no settings file is (a folder, a device, far too large)."""


def _read_bounded(path: Path) -> bytes | None:
    """The file's bytes (None when there is no file), read only when it is a regular file of at most
    MAX_SETTINGS_FILE_BYTES; _NotSettings otherwise."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(info.st_mode):
        raise _NotSettings("is not a regular file")
    with path.open("rb") as handle:
        data = handle.read(MAX_SETTINGS_FILE_BYTES + 1)
    if len(data) > MAX_SETTINGS_FILE_BYTES:
        raise _NotSettings(f"is too large (settings take at most {MAX_SETTINGS_FILE_BYTES:,} bytes)")
    return data
