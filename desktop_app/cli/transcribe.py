"""``transcribe WAV``: the app's own recognisers on a recording, for checking a model or a microphone."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

import numpy as np

from desktop_app.cli.errors import EXIT_OK, CommandError
from desktop_app.paths import AppPaths

Action = Callable[[TextIO], int]
STEP_BYTES = 640  # 20 ms at 16 kHz: the size the microphone hands on


def read_audio_16k_mono(path: Path) -> tuple[bytes, float]:
    """The recording as 16 kHz mono 16-bit PCM, and its length in seconds. Read with soundfile
    (libsndfile): WAV of any sample format, FLAC and Ogg alike."""
    import soundfile
    import soxr

    from desktop_app.audio.capture import to_pcm16

    if not path.is_file():
        raise CommandError("file_not_found", f"There is no file {path}.")
    try:
        samples, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as error:
        raise CommandError(
            "invalid_audio", f"{path} is not an audio file this app can read ({error}). Try WAV or FLAC."
        ) from None
    mono = samples.mean(axis=1, dtype=np.float32)
    converted = mono if rate == 16_000 else soxr.resample(mono, rate, 16_000)
    return to_pcm16(converted), len(mono) / rate if rate else 0.0


def prepare_transcribe(args: argparse.Namespace) -> Action:
    path = Path(args.wav)
    engine: str = args.engine
    model_name: str | None = args.model
    as_json: bool = args.json

    def action(out: TextIO) -> int:
        from desktop_app.core.brain.assistant import command_phrases, default_skills
        from desktop_app.core.errors import AppError, ErrorCode
        from desktop_app.core.ports import Recognizer
        from desktop_app.core.settings import Settings
        from desktop_app.speech.recognition import choose_engine

        pcm, seconds = read_audio_16k_mono(path)
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

            recognizer = PocketSphinxRecognizer(command_phrases(default_skills()))
        started = time.perf_counter()
        recognizer.start_utterance()
        for offset in range(0, len(pcm), STEP_BYTES):
            recognizer.feed(pcm[offset : offset + STEP_BYTES])
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
