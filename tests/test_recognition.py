"""Choosing and loading the recogniser: a Vosk model of the recognition language when one is installed (or the
one chosen by name), PocketSphinx otherwise."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import pytest
from speech_audio import link_korean_model

from desktop_app.core.errors import AppError, ErrorCode
from desktop_app.core.events import Notice, TurnFailed
from desktop_app.speech.recognition import Recognition, choose_engine, installed_vosk_models


def _korean_model_into(models_dir: Path, name: str = "vosk-model-small-ko-0.22") -> Path:
    return link_korean_model(models_dir / name)


def test_the_choice_follows_settings_and_what_is_installed(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (models / ".downloads").mkdir()
    (models / "not-a-model").mkdir()
    assert choose_engine("auto", None, models) == ("pocketsphinx", None)
    with pytest.raises(AppError) as caught:
        choose_engine("vosk", None, models)
    assert caught.value.code is ErrorCode.SPEECH_MODEL_UNAVAILABLE
    korean = _korean_model_into(models)
    assert installed_vosk_models(models) == [korean]
    # Installed, but Korean: English (the default language) is still heard by the built-in recogniser.
    assert choose_engine("auto", None, models) == ("pocketsphinx", None)
    assert choose_engine("auto", None, models, "ko") == ("vosk", korean)
    assert choose_engine("auto", "vosk-model-small-ko-0.22", models) == ("vosk", korean)
    assert choose_engine("pocketsphinx", None, models, "ko") == ("pocketsphinx", None)


def test_loading_happens_in_the_background_and_says_so(tmp_path: Path, cleanup: ExitStack) -> None:
    events: list[object] = []
    recognition = Recognition(tmp_path / "models", ["what time is it"], events.append)
    cleanup.callback(recognition.close)
    assert recognition.current() is None
    recognition.load_in_background().join(timeout=30)
    current = recognition.current()
    assert current is not None and current.name == "pocketsphinx"
    notices = [e.code for e in events if isinstance(e, Notice)]
    assert notices == ["speech_model_loading", "speech_model_ready"]


def test_a_vosk_model_is_used_when_installed_and_a_broken_one_falls_back(tmp_path: Path, cleanup: ExitStack) -> None:
    models = tmp_path / "models"
    korean = _korean_model_into(models)
    events: list[object] = []
    recognition = Recognition(models, ["what time is it"], events.append, language="ko")
    cleanup.callback(recognition.close)
    recognition.load_in_background().join(timeout=60)
    current = recognition.current()
    assert current is not None and current.name == "vosk"
    assert "vosk-model-small-ko-0.22" in recognition.description
    # A model folder that stops loading (files gone): an error event, and the app still listens.
    for entry in korean.iterdir():
        entry.unlink()
    (korean / "am").mkdir()
    broken = Recognition(models, ["what time is it"], events.append, language="ko")
    cleanup.callback(broken.close)
    broken.load_in_background().join(timeout=60)
    fallback = broken.current()
    assert fallback is not None and fallback.name == "pocketsphinx"
    assert any(isinstance(e, TurnFailed) and e.code == "speech_model_unavailable" for e in events)
