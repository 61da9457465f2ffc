"""What the app and its recogniser process say to each other (speech.recognizer_process and
speech.recognizer_worker), one pickled message at a time over two one-way pipes.

The app sends an utterance's audio as it comes (raw SPEECH_FORMAT PCM, in the pieces the microphone hands
on) and the process answers with partial texts as they change. Ending an utterance takes two steps
(speech.split_recognizer): the process says what the command decoding heard, the app judges it, and then
either lets the general decoding go (the command is the answer) or asks for the general transcript. Every
message about an utterance carries its number, so a late answer about an utterance that was cancelled is
told apart from the current one's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Engine = Literal["vosk", "pocketsphinx"]


@dataclass(frozen=True, slots=True)
class RecogniserSpec:
    """What the process loads: PocketSphinx, or the Vosk model in `model`. `commands`: the assistant's
    sentences, to decode with too (empty: none; a Vosk model takes them only when its graph can);
    `cache_dir`: the app's cache folder, for the command language model (None: not cached)."""

    engine: Engine
    model: Path | None
    commands: tuple[str, ...]
    cache_dir: Path | None


# -- from the app --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Start:
    utterance: int


@dataclass(frozen=True, slots=True)
class Audio:
    utterance: int
    pcm16: bytes


@dataclass(frozen=True, slots=True)
class Finish:
    """The utterance ends: answered with Heard."""

    utterance: int


@dataclass(frozen=True, slots=True)
class TakeCommand:
    """After Heard: the command wins, the general decoding is abandoned. Not answered."""

    utterance: int


@dataclass(frozen=True, slots=True)
class TakeGeneral:
    """After Heard: the general model's transcript wins. Answered with Final."""

    utterance: int


@dataclass(frozen=True, slots=True)
class Cancel:
    utterance: int


@dataclass(frozen=True, slots=True)
class Stop:
    """The process ends (so does it when the app's end of the pipe closes)."""


UtteranceRequest = Start | Audio | Finish | TakeCommand | TakeGeneral | Cancel
Request = UtteranceRequest | Stop


# -- from the process ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ready:
    name: str  # core.ports.Recognizer.name: "pocketsphinx" or "vosk"


@dataclass(frozen=True, slots=True)
class LoadFailed:
    code: str  # core.errors.ErrorCode
    message: str


@dataclass(frozen=True, slots=True)
class Partial:
    utterance: int
    text: str


@dataclass(frozen=True, slots=True)
class Heard:
    """What the decoding with the assistant's sentences heard ("" for nothing usable)."""

    utterance: int
    command: str
    confidence: float | None


@dataclass(frozen=True, slots=True)
class Final:
    utterance: int
    text: str
    confidence: float | None


@dataclass(frozen=True, slots=True)
class Failed:
    """Decoding raised: the utterance is over (the process goes on)."""

    utterance: int
    message: str


@dataclass(frozen=True, slots=True)
class LogLine:
    """A log record of the process, for the app's log."""

    logger: str
    level: int
    message: str


Reply = Ready | LoadFailed | Partial | Heard | Final | Failed | LogLine
