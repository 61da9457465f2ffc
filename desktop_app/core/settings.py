"""Typed settings, each declared once with its type, default and description; stored as JSON.

Each declaration is also the typed key: `settings.get(VOICE_RATE)` is an int to the type checker, and
`settings.subscribe(TALK_MODE, fn)` calls `fn(new_value)` whenever the value changes, whether this process
changed it or another one did (`voice-assistant settings set`, while `watch()` follows the file). A key
given as text ("voice.rate") works too, untyped, and an unknown one fails at once (UnknownSettingError).

The file carries a version; `UPGRADES` turns an older file into the current shape, so a setting can be
renamed or re-typed without losing what the user chose. Unknown keys are kept (a newer release may have
written them) and invalid values fall back to the default with a warning, never a crash. A file changed
while the app runs is read again the same way, except that what cannot be used there (a damaged, removed
or invalid file or value) leaves the values in use as they are.

Every value is bounded where it is declared: a number setting has both a minimum and a maximum (nan, inf
and numbers past them are refused), a text setting a longest length (`max_length`), no control characters
unless it may hold lines (`multiline`), and something visible in it. A file larger than any settings could
be is not read.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import math
import os
import re
import stat
import threading
import time
import unicodedata
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar, overload

from desktop_app.core.atomic_file import replace_file
from desktop_app.core.validation import MAX_KEY_NAME_CHARS, is_blank, is_web_address, shortened

log = logging.getLogger(__name__)

SETTINGS_VERSION = 1
# The settings file is read only up to this size: twenty settings of at most a few KB each, and the keys of
# a newer version, fit many times over.
MAX_SETTINGS_FILE_BYTES = 1024 * 1024
# A whole number typed with more digits than this is refused before it is converted (every int setting's
# maximum is far smaller).
_MAX_DIGITS = 20
# How often a watched file is looked at: a change from another process is seen within this.
WATCH_INTERVAL_SECONDS = 0.25
# A file changed this recently may change again without its size or time stamp changing (coarse file
# system clocks, a reused inode): it is read again at every look until it is older.
_RECENT_SECONDS = 2.0
# The longest close() waits for the watcher thread.
_STOP_SECONDS = 2.0

T = TypeVar("T")


_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")
# Words that clear a setting that may be empty (nullable), on the command line.
_CLEAR = ("none", "default", "")


class _TooLong(ValueError):
    """A text value longer than its setting's max_length: said with the lengths, not the value."""


@dataclass(frozen=True, slots=True)
class Setting(Generic[T]):
    """One setting's declaration, and the typed key to read it by. A setting that may be empty is
    declared as `Setting[str | None]` (the type checker cannot tell that from `nullable`)."""

    key: str
    type: type[T]
    default: T
    description: str
    choices: tuple[T, ...] | None = None
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
        try:
            self.check(self.default)
        except ValueError as error:
            raise TypeError(f"the default of {self.key} is not one of its values: {error}") from None

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

    def refusal(self, value: object) -> str:
        """The sentence that refuses `value`: what the setting takes, and what it was given (quoted, escaped,
        and shortened when long)."""
        return f"{self.key} must be {self.allowed()}, not {shortened(value, 60)}"

    def check(self, value: object) -> T:
        """The value to store, or ValueError with a sentence saying what is allowed."""
        checked: T = self._checked(value)
        return checked

    def _checked(self, value: Any) -> Any:
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

    def parse(self, text: str) -> T:
        """A value typed as text (the command line, a text box) as this setting's type, checked; ValueError
        saying what is allowed. "none" (or nothing) clears a setting that may be empty."""
        word = text.strip()
        if self.nullable and word.lower() in _CLEAR:
            return self.check(None)
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


AUDIO_INPUT_DEVICE: Setting[str | None] = Setting(
    "audio.input_device",
    str,
    None,
    "Microphone, by name; the system default when empty.",
    nullable=True,
    hint="a microphone's name as `voice-assistant devices` lists it",
    empty="the system default",
)
AUDIO_OUTPUT_DEVICE: Setting[str | None] = Setting(
    "audio.output_device",
    str,
    None,
    "Speaker, by name; the system default when empty.",
    nullable=True,
    hint="a speaker's name as `voice-assistant devices` lists it",
    empty="the system default",
)
AUDIO_PREROLL = Setting(
    "audio.preroll",
    bool,
    True,
    "Keep the last half second of sound in memory while waiting, so a word begun just before the "
    "push-to-talk key is not cut off. Nothing is written unless a turn runs.",
)
SPEECH_LANGUAGE = Setting(
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
)
SPEECH_ENGINE = Setting(
    "speech.engine",
    str,
    "auto",
    "Recognition engine. auto: an installed Vosk model of speech.language, else the built-in English "
    "recogniser (PocketSphinx).",
    choices=("auto", "vosk", "pocketsphinx"),
)
SPEECH_VOSK_MODEL: Setting[str | None] = Setting(
    "speech.vosk_model",
    str,
    None,
    "Installed Vosk model to listen with, whatever its language; when empty, the first installed model of "
    "speech.language.",
    nullable=True,
    hint="an installed model's name as `voice-assistant models list` shows it",
    empty="the first installed model of speech.language",
)
SPEECH_MODELS_CATALOG_URL = Setting(
    "speech.models_catalog_url",
    str,
    "https://alphacephei.com/vosk/models/model-list.json",
    "Where the list of downloadable speech models is refreshed from.",
    url=True,
    max_length=2000,
    shape="an http:// or https:// address",
)
VOICE_NAME: Setting[str | None] = Setting(
    "voice.name",
    str,
    None,
    "Voice for spoken answers; the engine's default when empty.",
    nullable=True,
    hint="a voice's name",
    empty="the engine's default voice",
)
VOICE_RATE = Setting("voice.rate", int, 175, "Speaking rate in words per minute.", minimum=80, maximum=450)
VOICE_VOLUME = Setting("voice.volume", float, 1.0, "Speaking volume, 0.0 to 1.0.", minimum=0.0, maximum=1.0)
VOICE_SPEAK_REPLIES = Setting("voice.speak_replies", bool, True, "Speak answers aloud as well as showing them.")
TALK_MODE = Setting(
    "talk.mode",
    str,
    "hold",
    "Hold the key while speaking, or press once to start and once to stop.",
    choices=("hold", "toggle"),
)
TALK_HOTKEY = Setting(
    "talk.hotkey",
    str,
    "ctrl+alt+space",
    "The push-to-talk key, anywhere on the desktop.",
    hint="a key combination such as ctrl+alt+space",
    max_length=64,
)
NETWORK_OFFLINE = Setting(
    "network.offline",
    bool,
    False,
    "Offline mode: make no network call at all (no language model, no model downloads). The built-in "
    "skills keep working.",
)
LLM_BASE_URL: Setting[str | None] = Setting(
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
)
LLM_MODEL: Setting[str | None] = Setting(
    "llm.model",
    str,
    None,
    "Model name on that server, e.g. llama3.2 or gpt-4o-mini.",
    nullable=True,
    hint="a model's name on the server, e.g. llama3.2",
    empty="none",
)
LLM_KEY_NAME: Setting[str | None] = Setting(
    "llm.key_name",
    str,
    None,
    "Name of the stored API key to send (see: voice-assistant keys); none for a local server.",
    nullable=True,
    hint="a key's name as `voice-assistant keys list` shows it",
    empty="no key",
    max_length=MAX_KEY_NAME_CHARS,
)
LLM_SYSTEM_PROMPT = Setting(
    "llm.system_prompt",
    str,
    "You are a helpful voice assistant on the user's desktop. Answer in a few short spoken sentences, "
    "without lists, tables or markdown.",
    "What the model is told about its job before every conversation.",
    max_length=4000,
    multiline=True,
)
LLM_CONTEXT_TOKENS = Setting(
    "llm.context_tokens",
    int,
    3000,
    "Token budget for what the model is sent: the system prompt, remembered facts and recent messages.",
    minimum=256,
    maximum=1_000_000,
)
LLM_TIMEOUT_SECONDS = Setting(
    "llm.timeout_seconds",
    float,
    30.0,
    "Longest wait for the model's next words before giving up.",
    minimum=1,
    maximum=600,
)
PRIVACY_LOG_CONTENT = Setting(
    "privacy.log_content",
    bool,
    False,
    "For debugging: write what was said, typed and answered into the log file. Off: the log shows only "
    "how long each text was. Takes effect at the next start.",
)
HISTORY_KEEP_DAYS = Setting(
    "history.keep_days",
    int,
    0,
    "Delete conversations not added to for this many days (at start, then once a day); 0 keeps them forever.",
    minimum=0,
    maximum=36_500,
)
HISTORY_SAVE = Setting(
    "history.save",
    bool,
    True,
    "Keep conversations: off, questions are still answered but nothing said, typed or answered is written "
    "to the history.",
)
APP_START_MINIMIZED = Setting(
    "app.start_minimized",
    bool,
    False,
    "Start in the tray with the window hidden (where the desktop has a tray); the tray icon shows it.",
)
APP_FIRST_RUN_DONE = Setting(
    "app.first_run_done",
    bool,
    False,
    "The first-run guide (microphone, recogniser, a first question) was finished or skipped, so it does not "
    "open at start; Help > First-run guide… opens it again.",
)

SETTINGS: tuple[Setting[Any], ...] = (
    AUDIO_INPUT_DEVICE,
    AUDIO_OUTPUT_DEVICE,
    AUDIO_PREROLL,
    SPEECH_LANGUAGE,
    SPEECH_ENGINE,
    SPEECH_VOSK_MODEL,
    SPEECH_MODELS_CATALOG_URL,
    VOICE_NAME,
    VOICE_RATE,
    VOICE_VOLUME,
    VOICE_SPEAK_REPLIES,
    TALK_MODE,
    TALK_HOTKEY,
    NETWORK_OFFLINE,
    LLM_BASE_URL,
    LLM_MODEL,
    LLM_KEY_NAME,
    LLM_SYSTEM_PROMPT,
    LLM_CONTEXT_TOKENS,
    LLM_TIMEOUT_SECONDS,
    PRIVACY_LOG_CONTENT,
    HISTORY_KEEP_DAYS,
    HISTORY_SAVE,
    APP_START_MINIMIZED,
    APP_FIRST_RUN_DONE,
)
BY_KEY = {setting.key: setting for setting in SETTINGS}

# Upgrades from version N to N + 1, applied in order to the raw dictionary read from the file.
UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}

Listener = Callable[[str, Any], None]
# What identifies one version of the file: device, inode, size, modification and change times (ns).
_Stamp = tuple[int, int, int, int, int]


class UnknownSettingError(KeyError):
    """A key no setting is declared with; raised where the key is first used (get, set, subscribe)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def declared(key: Setting[Any] | str) -> Setting[Any]:
    """The declaration of `key`; UnknownSettingError saying which keys there are otherwise."""
    name = key if isinstance(key, str) else key.key
    setting = BY_KEY.get(name)
    if setting is None or not (isinstance(key, str) or key is setting):
        known = ", ".join(s.key for s in SETTINGS)
        raise UnknownSettingError(f"there is no setting {shortened(name, 60)}; the settings are: {known}")
    return setting


class Subscription:
    """One subscriber of one setting. `unsubscribe()` ends it (more than once is fine); a call already
    under way may still finish."""

    def __init__(self, key: str, subscriber: Callable[[Any], None], owner: Settings) -> None:
        self.key = key
        self.subscriber = subscriber
        self.active = True
        self._owner = owner

    def unsubscribe(self) -> None:
        self._owner._remove(self)


class Settings:
    """Thread-safe settings backed by a JSON file written atomically (0600).

    Subscribers and listeners are called after a change, never under the lock, one change at a time in the
    order the changes happened (a change made while they are being called waits its turn, so `set` can
    return before its own subscribers ran when another thread is delivering). `watch()` takes in what other
    processes save to the file; `close()` stops that."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._values: dict[str, Any] = {}
        self._extra: dict[str, Any] = {}
        self._listeners: list[Listener] = []
        self._subscriptions: dict[str, list[Subscription]] = {}
        self._pending: deque[tuple[str, Any]] = deque()
        self._delivering = False
        # The file as last read or written here (a file that differs is read again), and the last problem
        # logged about it (so a damaged file is reported once, not at every look).
        self._stamp: _Stamp | None = None
        self._reported = ""
        self._watcher: threading.Thread | None = None
        self._stop = threading.Event()
        # What was wrong with the file when it was read (and replaced by the defaults), for people.
        self.problems: list[str] = []
        if path is not None:
            self._load(path)

    @overload
    def get(self, key: Setting[T]) -> T: ...
    @overload
    def get(self, key: str) -> Any: ...
    def get(self, key: Setting[Any] | str) -> Any:
        setting = declared(key)
        with self._lock:
            return self._values.get(setting.key, setting.default)

    @overload
    def set(self, key: Setting[T], value: T) -> None: ...
    @overload
    def set(self, key: str, value: object) -> None: ...
    def set(self, key: Setting[Any] | str, value: object) -> None:
        """Checks, stores and saves one value, then tells its subscribers and the listeners (also when it
        is the value already held). ValueError when invalid."""
        self.update({declared(key).key: value})

    def update(self, values: Mapping[str, object]) -> None:
        """Several values checked together and saved in one write; nothing changes when one is invalid."""
        settings = [(declared(key), value) for key, value in values.items()]
        checked = {setting.key: setting.check(value) for setting, value in settings}
        changes: dict[str, Any] = {}
        try:
            with self._lock:
                changes = self._refresh()  # what another process saved first, so this write keeps it
                self._save({**self._values, **checked})
                self._values.update(checked)
                changes.update(checked)
        finally:
            self._announce(changes)

    @overload
    def subscribe(self, key: Setting[T], subscriber: Callable[[T], None]) -> Subscription: ...
    @overload
    def subscribe(self, key: str, subscriber: Callable[[Any], None]) -> Subscription: ...
    def subscribe(self, key: Setting[Any] | str, subscriber: Callable[[Any], None]) -> Subscription:
        """Calls `subscriber(new_value)` after each change of `key`, made here or (while watching) by another
        process. UnknownSettingError at once for a key no setting has."""
        subscription = Subscription(declared(key).key, subscriber, self)
        with self._lock:
            self._subscriptions.setdefault(subscription.key, []).append(subscription)
        return subscription

    def on_change(self, listener: Listener) -> None:
        """Calls `listener(key, new_value)` after a change of any setting."""
        with self._lock:
            self._listeners.append(listener)

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return self._current()

    def watch(self, interval: float = WATCH_INTERVAL_SECONDS) -> None:
        """Looks at the file every `interval` seconds from a thread of its own, taking in and announcing
        the values another process saved there. Nothing without a file or when already watching."""
        with self._lock:
            if self._path is None or self._watcher is not None:
                return
            self._stop = stop = threading.Event()
            self._watcher = threading.Thread(
                target=self._watch, args=(stop, interval), name="settings-watch", daemon=True
            )
            self._watcher.start()

    def close(self, timeout: float = _STOP_SECONDS) -> None:
        """Stops watching, waiting at most `timeout` seconds for the watcher (it may be in a subscriber)."""
        with self._lock:
            watcher, self._watcher = self._watcher, None
            self._stop.set()
        if watcher is not None and watcher is not threading.current_thread():
            watcher.join(timeout)
            if watcher.is_alive():
                log.warning("the settings watcher did not stop within %.1f s", timeout)

    def _watch(self, stop: threading.Event, interval: float) -> None:
        while not stop.wait(interval):
            try:
                with self._lock:
                    changes = self._refresh()
                if not stop.is_set():
                    self._announce(changes)
            except Exception:  # the app goes on with the values it holds
                log.exception("the settings file %s could not be followed", self._path)

    def _remove(self, subscription: Subscription) -> None:
        with self._lock:
            subscription.active = False
            listed = self._subscriptions.get(subscription.key, [])
            if subscription in listed:
                listed.remove(subscription)

    def _current(self) -> dict[str, Any]:
        return {setting.key: self._values.get(setting.key, setting.default) for setting in SETTINGS}

    def _announce(self, changes: Mapping[str, Any]) -> None:
        """Queues the changes; the first thread to find nobody delivering delivers everything queued."""
        with self._lock:
            self._pending.extend(changes.items())
            if self._delivering or not self._pending:
                return
            self._delivering = True
        try:
            while True:
                with self._lock:
                    if not self._pending:
                        self._delivering = False
                        return
                    key, value = self._pending.popleft()
                    subscriptions = list(self._subscriptions.get(key, ()))
                    listeners = list(self._listeners)
                for subscription in subscriptions:
                    if subscription.active:
                        _call(key, functools.partial(subscription.subscriber, value))
                for listener in listeners:
                    _call(key, functools.partial(listener, key, value))
        except BaseException:
            with self._lock:
                self._delivering = False
            raise

    def _load(self, path: Path) -> None:
        try:
            raw, self._stamp = _read_document(path)
        except _Unreadable as error:
            log.warning("settings file %s %s; using defaults", path, error)
            self.problems.append(f"the settings file {path} {error}; using the defaults")
            self._reported = f"{error}; keeping the settings in use"  # said once: not again by the watcher
            with contextlib.suppress(OSError):
                self._stamp = _stamp_of(path)
            return
        if raw is None:
            return
        self._values, self._extra, refused = _sort(raw)
        for refusal in refused.values():
            log.warning("ignoring setting: %s", refusal)
            self.problems.append(f"ignoring the saved value: {refusal}; using the default")

    def _refresh(self) -> dict[str, Any]:
        """(Lock held.) Reads the file again when it is not as last read or written here, takes in its values
        and returns those that changed. A file that is gone, unreadable or invalid changes nothing (logged
        once); neither does an invalid value in it (the value in use stays)."""
        if self._path is None:
            return {}
        stamp: _Stamp | None = None
        try:
            stamp = _stamp_of(self._path)
            if stamp == self._stamp and not _recent(stamp):
                return {}
            raw, stamp = _read_document(self._path)
        except (_Unreadable, OSError) as error:
            self._stamp = stamp
            self._report(f"{error}; keeping the settings in use")
            return {}
        self._stamp = stamp
        if raw is None:
            self._report("was removed; keeping the settings in use")
            return {}
        values, extra, refused = _sort(raw)
        values.update((key, self._values[key]) for key in refused if key in self._values)
        self._report("; ".join(f"has an invalid value ({error}), keeping the one in use" for error in refused.values()))
        before = self._current()
        self._values, self._extra = values, extra
        changes = {key: value for key, value in self._current().items() if value != before[key]}
        if changes:
            log.info("settings changed by another program: %s", ", ".join(changes))
        return changes

    def _report(self, problem: str) -> None:
        if problem and problem != self._reported:
            log.warning("settings file %s %s", self._path, problem)
        self._reported = problem

    def _save(self, values: Mapping[str, Any]) -> None:
        if self._path is None:
            return
        document = {"version": SETTINGS_VERSION, **self._extra, **values}
        self._path.parent.mkdir(parents=True, exist_ok=True)
        replace_file(self._path, json.dumps(document, indent=2, sort_keys=True).encode())
        self._stamp = _stamp_of(self._path)


def _call(key: str, call: Callable[[], None]) -> None:
    try:
        call()
    except Exception:  # one failing subscriber neither stops the others nor the change
        log.exception("a subscriber to the setting %s failed", key)


def _sort(raw: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """A file's entries as (checked values, keys of no setting (kept), refusals by key)."""
    values: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    refused: dict[str, str] = {}
    for key, value in raw.items():
        setting = BY_KEY.get(key)
        if setting is None:
            extra[key] = value
            continue
        try:
            values[key] = setting.check(value)
        except ValueError as error:
            refused[key] = str(error)
    return values, extra, refused


def _recent(stamp: _Stamp | None) -> bool:
    return stamp is not None and 0 <= time.time_ns() - stamp[3] < _RECENT_SECONDS * 1e9


def _stamp_of(path: Path) -> _Stamp | None:
    try:
        return _stamp(path.stat())
    except FileNotFoundError:
        return None


def _stamp(info: os.stat_result) -> _Stamp:
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


class _Unreadable(Exception):
    """The settings file cannot be used at all; the message says why, after the file's name."""


def _read_document(path: Path) -> tuple[dict[str, Any] | None, _Stamp | None]:
    """The file's settings upgraded to the current version, and the stamp of what was read; (None, None)
    when there is no file; _Unreadable when it is not a settings file."""
    try:
        data, stamp = _read_bounded(path)
        if data is None:
            return None, None
        raw = json.loads(data.decode("utf-8"))
    except _NotSettings as error:
        raise _Unreadable(str(error)) from None
    except (OSError, ValueError, RecursionError) as error:
        raise _Unreadable(f"could not be read ({error})") from None
    if not isinstance(raw, dict):
        raise _Unreadable("is not a JSON object")
    version = raw.pop("version", 1)
    if isinstance(version, int):
        while version < SETTINGS_VERSION and version in UPGRADES:
            raw = UPGRADES[version](raw)
            version += 1
    return raw, stamp


class _NotSettings(Exception):
    """The settings file is something no settings file is (a folder, a device, far too large)."""


def _read_bounded(path: Path) -> tuple[bytes | None, _Stamp | None]:
    """The file's bytes and stamp ((None, None) when there is no file), read only when it is a regular file
    of at most MAX_SETTINGS_FILE_BYTES; _NotSettings otherwise."""
    try:
        if not stat.S_ISREG(path.stat().st_mode):  # looked at first: opening a pipe would wait
            raise _NotSettings("is not a regular file")
        with path.open("rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise _NotSettings("is not a regular file")
            data = handle.read(MAX_SETTINGS_FILE_BYTES + 1)
    except FileNotFoundError:
        return None, None
    if len(data) > MAX_SETTINGS_FILE_BYTES:
        raise _NotSettings(f"is too large (settings take at most {MAX_SETTINGS_FILE_BYTES:,} bytes)")
    return data, _stamp(info)
