"""`voice-assistant transcribe WAV` end to end, in a subprocess, with both engines."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from speech_audio import link_korean_model, say_to_wav


def _run(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "desktop_app", "--data-dir", str(data_dir), "transcribe", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_transcribe_with_the_built_in_recogniser_any_format(tmp_path: Path) -> None:
    speech = say_to_wav("what time is it", tmp_path / "q.wav")
    stereo = tmp_path / "q-44k-stereo.wav"
    subprocess.run(["sox", "-q", str(speech), "-r", "44100", "-c", "2", "-b", "24", str(stereo)], check=True)
    data = tmp_path / "data"
    plain = _run(data, str(stereo))
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout == "what time is it\n"
    as_json = _run(data, str(speech), "--json", "--engine", "pocketsphinx")
    document = json.loads(as_json.stdout)
    assert document["text"] == "what time is it" and document["engine"] == "pocketsphinx"
    assert 1.0 < document["audio_seconds"] < 2.0 and document["decode_seconds"] > 0
    assert not (data / "assistant.db").exists()  # transcribing touches no conversation


def test_transcribe_with_an_installed_vosk_model(tmp_path: Path) -> None:
    data = tmp_path / "data"
    link_korean_model(data / "models" / "vosk-model-small-ko-0.22")
    speech = say_to_wav("서울은 한국의 수도입니다", tmp_path / "seoul.wav", voice="ko", rate_wpm=140)
    done = _run(data, str(speech), "--engine", "vosk", "--model", "vosk-model-small-ko-0.22", "--json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["engine"] == "vosk" and document["model"] == "vosk-model-small-ko-0.22"
    assert document["text"].startswith("서울") and 0 < document["confidence"] <= 1


def test_transcribe_errors(tmp_path: Path) -> None:
    data = tmp_path / "data"
    missing = _run(data, str(tmp_path / "nothing.wav"))
    assert missing.returncode == 1 and "[file_not_found]" in missing.stderr
    not_wav = tmp_path / "notes.wav"
    not_wav.write_text("this is not audio")
    bad = _run(data, str(not_wav))
    assert bad.returncode == 1 and "[invalid_audio]" in bad.stderr and "Traceback" not in bad.stderr
    speech = say_to_wav("stop", tmp_path / "s.wav")
    no_model = _run(data, str(speech), "--engine", "vosk")
    assert no_model.returncode == 1 and "[speech_model_unavailable]" in no_model.stderr
    usage = _run(data, str(speech), "--engine", "whisper")
    assert usage.returncode == 2
