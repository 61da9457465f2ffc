"""``transcribe WAV``: the app's own recognisers on a recording, for checking a model or a microphone."""

from __future__ import annotations

import argparse
import errno
import json
import os
import stat
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import numpy as np

from desktop_app.cli.errors import EXIT_OK, CommandError
from desktop_app.core.audio_format import SPEECH_CHUNK_SECONDS, SPEECH_FORMAT
from desktop_app.paths import AppPaths, file_kind

if TYPE_CHECKING:
    import soundfile

Action = Callable[[TextIO], int]
# A recording is fed to the recogniser in the pieces the microphone hands on.
FEED_BYTES = SPEECH_FORMAT.bytes_for(SPEECH_CHUNK_SECONDS)
# What a recording may declare; anything outside is refused before a sample is read.
MIN_SAMPLE_RATE = 8_000
MAX_SAMPLE_RATE = 192_000
MAX_CHANNELS = 8
MAX_AUDIO_SECONDS = 10 * 60  # transcribe is for checking a model or a microphone, not for long recordings
BLOCK_SECONDS = 1  # read and resample one second at a time, so memory does not grow with the file


def _open_regular_file(path: Path) -> int:
    """A read-only descriptor of `path`, which must be a regular file (a symlink to one is fine). Opened
    without blocking, so a FIFO is refused at once instead of waiting for a writer."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise CommandError("file_not_found", f"There is no file {path}.") from None
    except IsADirectoryError:
        raise CommandError("not_a_file", f"{path} is a folder, not an audio file.") from None
    except OSError as error:
        if error.errno in (errno.EACCES, errno.EPERM):
            raise CommandError("permission_denied", f"Could not read {path}: permission denied.") from None
        raise CommandError("unreadable_file", f"Could not read {path}: {error.strerror or error}.") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise CommandError("not_a_file", f"{path} is a folder, not an audio file.")
        if not stat.S_ISREG(mode):
            raise CommandError(
                "not_a_file", f"{path} is {file_kind(mode)}, not a regular file; give the path of an audio file."
            )
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _invalid_audio(path: Path, error: object) -> CommandError:
    error = getattr(error, "error_string", error)  # libsndfile's own words, without the descriptor number
    return CommandError("invalid_audio", f"{path} is not an audio file this app can read ({error}). Try WAV or FLAC.")


def iter_speech_audio(path: Path) -> tuple[Iterator[bytes], float]:
    """The recording as SPEECH_FORMAT PCM in blocks of about a second, and its length in seconds.
    Read with soundfile (libsndfile): WAV of any sample format, FLAC and Ogg alike. Only a regular file is
    opened; a sample rate outside 8,000-192,000 Hz, more than 8 channels or more than MAX_AUDIO_SECONDS is
    refused before any sample is read. Memory stays bounded: one block is read and resampled at a time."""
    import soundfile

    fd = _open_regular_file(path)
    try:
        audio = soundfile.SoundFile(fd, closefd=False)  # the descriptor is ours to close
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError) as error:
        os.close(fd)
        raise _invalid_audio(path, error) from None
    try:
        rate, channels, frames = int(audio.samplerate), int(audio.channels), int(audio.frames)
        if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
            raise CommandError(
                "unsupported_audio",
                f"{path} declares a sample rate of {rate} Hz; this app reads {MIN_SAMPLE_RATE:,} to "
                f"{MAX_SAMPLE_RATE:,} Hz.",
            )
        if not 1 <= channels <= MAX_CHANNELS:
            raise CommandError(
                "unsupported_audio", f"{path} declares {channels} channels; this app reads 1 to {MAX_CHANNELS}."
            )
        seconds = frames / rate
        if seconds > MAX_AUDIO_SECONDS:
            raise CommandError(
                "audio_too_long",
                f"{path} is {seconds / 60:.1f} minutes long; transcribe takes at most "
                f"{MAX_AUDIO_SECONDS // 60} minutes. Cut it shorter first.",
            )
    except BaseException:
        audio.close()
        os.close(fd)
        raise
    return _blocks(path, audio, fd, rate), seconds


def _blocks(path: Path, audio: soundfile.SoundFile, fd: int, rate: int) -> Iterator[bytes]:
    try:
        yield from _resampled(path, audio, rate)
    finally:
        audio.close()
        os.close(fd)


def _resampled(path: Path, audio: soundfile.SoundFile, rate: int) -> Iterator[bytes]:
    import soundfile
    import soxr

    from desktop_app.audio.capture import to_pcm16

    target = SPEECH_FORMAT
    resampler = (
        None if rate == target.rate else soxr.ResampleStream(rate, target.rate, target.channels, dtype="float32")
    )
    limit = MAX_AUDIO_SECONDS * rate  # also when the header understates the length
    read = 0
    while True:
        wanted = min(rate * BLOCK_SECONDS, limit - read)
        try:
            block = audio.read(wanted, dtype="float32", always_2d=True) if wanted > 0 else np.zeros((0, 1))
        except (soundfile.LibsndfileError, RuntimeError) as error:
            raise _invalid_audio(path, error) from None
        read += len(block)
        last = len(block) == 0
        mono = block.mean(axis=1, dtype=np.float32) if len(block) else np.zeros(0, np.float32)
        converted = mono if resampler is None else resampler.resample_chunk(mono, last=last)
        if len(converted):
            yield to_pcm16(converted)
        if last:
            return


def read_speech_audio(path: Path) -> tuple[bytes, float]:
    """The whole recording as SPEECH_FORMAT PCM, and its length in seconds (see iter_speech_audio)."""
    blocks, seconds = iter_speech_audio(path)
    return b"".join(blocks), seconds


def prepare_transcribe(args: argparse.Namespace) -> Action:
    path = Path(args.wav)
    engine: str = args.engine
    model_name: str | None = args.model
    as_json: bool = args.json

    def action(out: TextIO) -> int:
        from desktop_app.core.brain.assistant import command_phrases, default_skills, understood
        from desktop_app.core.errors import AppError, ErrorCode
        from desktop_app.core.ports import Recognizer
        from desktop_app.core.settings import Settings
        from desktop_app.speech.recognition import choose_engine
        from desktop_app.system_libraries import PORTAUDIO, require

        require(
            [PORTAUDIO], "transcribe the recording"
        )  # its samples are converted by the audio package, which loads it
        blocks, seconds = iter_speech_audio(path)
        paths = AppPaths.resolve(args.data_dir)
        language: str = Settings(paths.settings_file).get("speech.language")
        chosen, model_path = choose_engine(engine, model_name, paths.models_dir, language)
        if model_name and chosen == "vosk" and (model_path is None or model_path.name != model_name):
            raise AppError(ErrorCode.SPEECH_MODEL_UNAVAILABLE, f"The speech model {model_name!r} is not installed.")
        recognizer: Recognizer
        if chosen == "vosk" and model_path is not None:
            from desktop_app.speech.vosk_recognizer import VoskRecognizer, load_model

            recognizer = VoskRecognizer(load_model(model_path))
        else:
            from desktop_app.speech.pocketsphinx_recognizer import PocketSphinxRecognizer

            skills = default_skills()
            recognizer = PocketSphinxRecognizer(command_phrases(skills), partial(understood, skills))
        started = time.perf_counter()
        recognizer.start_utterance()
        pending = b""
        for block in blocks:
            pending += block
            whole = len(pending) - len(pending) % FEED_BYTES
            for offset in range(0, whole, FEED_BYTES):
                recognizer.feed(pending[offset : offset + FEED_BYTES])
            pending = pending[whole:]
        if pending:
            recognizer.feed(pending)
        transcript = recognizer.finish()
        decode_seconds = time.perf_counter() - started
        if as_json:
            document = {
                "text": transcript.text,
                "confidence": transcript.confidence,
                "engine": chosen,
                "model": model_path.name if model_path is not None else None,
                "audio_seconds": round(seconds, 3),
                "decode_seconds": round(decode_seconds, 3),
            }
            out.write(json.dumps(document, ensure_ascii=False) + "\n")
        else:
            out.write(transcript.text + "\n")
        return EXIT_OK

    return action
