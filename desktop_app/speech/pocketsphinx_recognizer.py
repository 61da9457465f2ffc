"""PocketSphinx: the zero-download English recogniser (its wheel ships the en-us model).

Two decoders listen to the same audio, the way Rhasspy decodes with its sentence templates. One decodes
with a language model of the assistant's own sentences (made from the skills' templates, see
speech.domain_model): on synthetic and accented speech it gets commands right where the general model
gets most words wrong. The other uses the general language model, so a question for a language model is
still transcribed. The command transcript wins when the assistant understands it as a command
(`understands`); otherwise the general transcript does. The general decoder runs on its own thread while
the user speaks, and is not waited for when the command wins, so the answer can start sooner.
"""

from __future__ import annotations

import array
import importlib.metadata
import logging
import math
import queue
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from pocketsphinx import Decoder

from desktop_app.core.audio_format import SPEECH_CHUNK_SECONDS, SPEECH_FORMAT
from desktop_app.core.ports import Transcript
from desktop_app.speech import split_recognizer
from desktop_app.speech.domain_cache import DomainModelCache, DomainModelText, domain_key
from desktop_app.speech.domain_model import build_domain_model, builder_id, write_domain_files

log = logging.getLogger(__name__)

# An utterance teaches the decoders its cepstral mean when this many of its chunks have sound in them (about
# half a second in the steps audio comes in), each with an RMS level above SOUND_DBFS.
MIN_SOUNDING_CHUNKS = round(0.5 / SPEECH_CHUNK_SECONDS)
SOUND_DBFS = -50.3
# The mean square of the samples at that level.
_SOUND_POWER = (10 ** (SOUND_DBFS / 20) * SPEECH_FORMAT.full_scale) ** 2
# PocketSphinx's log base for scores (its -logbase default) and what it gives a word it does not know.
_LOG_BASE = 1.0001
_UNKNOWN = -1e8


def _has_sound(pcm16: bytes) -> bool:
    """Whether the chunk's RMS level is above SOUND_DBFS. Summed exactly with integers rather than with numpy,
    which the recogniser's process would take 0.1-0.3 s longer to start with."""
    whole = SPEECH_FORMAT.bytes_for_frames(SPEECH_FORMAT.frames(len(pcm16)))
    samples = array.array("h", pcm16[:whole])  # 16-bit, as SPEECH_FORMAT's samples are
    if sys.byteorder != "little":
        samples.byteswap()
    return bool(samples) and sum(map(int.__mul__, samples, samples)) > _SOUND_POWER * len(samples)


def command_model_files(
    folder: Path,
    phrases: Sequence[str],
    *,
    dictionary: Path,
    general_lm: Path,
    log10_probability: Callable[[str], float | None],
    cache: DomainModelCache | None,
) -> tuple[Path, Path]:
    """The command language model and its dictionary, written into `folder`: from the cache when it holds
    them for these phrases and model files, else built (and cached)."""
    key = domain_key(phrases, (dictionary, general_lm), f"{builder_id()} pocketsphinx {_version()}")
    found = cache.load(key) if cache is not None else None
    if found is None:
        started = time.perf_counter()
        arpa, words = build_domain_model(phrases, dictionary, log10_probability)
        found = DomainModelText(arpa.encode("utf-8"), words.encode("utf-8"))
        stored = cache is not None and cache.store(key, found)
        took = time.perf_counter() - started
        log.info("command language model built in %.2f s (%s)", took, "cached" if stored else "not cached")
    return write_domain_files(folder, found.arpa, found.dictionary)


def _version() -> str:
    try:
        return importlib.metadata.version("pocketsphinx")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


class PocketSphinxRecognizer:
    name = "pocketsphinx"

    def __init__(
        self,
        command_phrases: Iterable[str],
        understands: Callable[[str], bool] | None = None,
        *,
        cache: DomainModelCache | None = None,
    ) -> None:
        """`command_phrases`: the sentences the skills' templates make; `understands`: whether the assistant
        takes a transcript as a command (None: any confident command transcript is); `cache`: where the
        command language model is kept between runs (None: built each time)."""
        self._understands = understands
        self._general = Decoder(samprate=SPEECH_FORMAT.rate, loglevel="FATAL")
        general_lm = self._general.get_lm()

        def log10_probability(word: str) -> float | None:
            score = general_lm.prob([word])
            return score * math.log10(_LOG_BASE) if score > _UNKNOWN else None

        with tempfile.TemporaryDirectory(prefix="va-domain-") as folder:
            lm_path, dict_path = command_model_files(
                Path(folder),
                list(command_phrases),
                dictionary=Path(self._general.config["dict"]),
                general_lm=Path(self._general.config["lm"]),
                log10_probability=log10_probability,
                cache=cache,
            )
            self._commands = Decoder(
                samprate=SPEECH_FORMAT.rate, loglevel="FATAL", lm=str(lm_path), dict=str(dict_path)
            )
        # The cepstral mean (the sound of the voice and microphone, which the decoders subtract) carries over
        # from one utterance to the next, as PocketSphinx's live decoding intends: the first words of a
        # turn are heard with the mean the last turns taught rather than the model's generic one, which
        # doubled the commands heard right on synthetic voices. Only an utterance with enough sound in it
        # teaches: after a second of digital silence (a muted microphone) the mean had drifted so far that
        # "start a new conversation" was heard as "starts at two toddlers…".
        self._cmn = self._commands.get_cmn()
        self._sounding_chunks = 0
        self._general_audio: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._general_done = threading.Event()
        self._general_done.set()  # no general decoding under way
        self._general_abandoned = threading.Event()
        self._general_text = ""
        self._partial = ""
        self._active = False

    def start_utterance(self) -> None:
        self.cancel()
        self._general_done.wait(timeout=10)  # the last turn's general decoding, abandoned, winds up quickly
        self._commands.set_cmn(self._cmn)
        self._general.set_cmn(self._cmn)
        self._sounding_chunks = 0
        self._commands.start_utt()
        self._partial = ""
        self._general_text = ""
        self._general_done.clear()
        self._general_audio = queue.SimpleQueue()
        self._general_abandoned = threading.Event()
        threading.Thread(
            target=self._run_general,
            args=(self._general_audio, self._general_abandoned),
            name="sphinx-general",
            daemon=True,
        ).start()
        self._active = True

    def feed(self, pcm16: bytes) -> str | None:
        if not self._active or not pcm16:
            return None
        self._general_audio.put(pcm16)
        self._commands.process_raw(pcm16, False, False)
        self._sounding_chunks += _has_sound(pcm16)
        hypothesis = self._commands.hyp()
        text = hypothesis.hypstr if hypothesis is not None else ""
        if text != self._partial:
            self._partial = text
            return text
        return None

    def finish(self) -> Transcript:
        return split_recognizer.finish(self, self._understands)

    def command_transcript(self) -> Transcript:
        if not self._active:
            return Transcript("", None)
        self._active = False
        self._commands.end_utt()
        if self._sounding_chunks >= MIN_SOUNDING_CHUNKS:
            self._cmn = self._commands.get_cmn()
        hypothesis = self._commands.hyp()
        self._general_audio.put(None)
        command = hypothesis.hypstr if hypothesis is not None else ""
        return Transcript(command, self._commands.get_prob() if command else None)

    def abandon_general(self) -> None:
        self._general_abandoned.set()

    def general_transcript(self) -> Transcript:
        self._general_done.wait(timeout=10)
        return Transcript(self._general_text, None)

    def cancel(self) -> None:
        self._general_abandoned.set()  # also after command_text: nothing waits for that decoding any more
        if self._active:
            self._active = False
            self._commands.end_utt()
            self._general_audio.put(None)
            self._general_done.wait(timeout=10)

    def _run_general(self, audio: queue.SimpleQueue[bytes | None], abandoned: threading.Event) -> None:
        decoder = self._general
        try:
            decoder.start_utt()
            while (chunk := audio.get()) is not None:
                if not abandoned.is_set():
                    decoder.process_raw(chunk, False, False)
            decoder.end_utt()
            hypothesis = decoder.hyp()
            self._general_text = hypothesis.hypstr if hypothesis is not None else ""
        except Exception:
            log.exception("general-language decoding failed")
            self._general_text = ""
        finally:
            self._general_done.set()
