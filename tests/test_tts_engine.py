"""The speech engine's thread (speech.tts_engine) on its own: espeak-ng renders to files, nothing is played,
so no sound server is needed."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop_app.core.errors import AppError, ErrorCode
from desktop_app.core.events import Notice
from desktop_app.speech import tts_engine
from desktop_app.speech.tts_cache import TtsCache
from desktop_app.speech.tts_engine import RenderedSpeech, Renderer, TtsEngine, VoiceChoice

VOICE = VoiceChoice(None, 175, 1.0)


@pytest.fixture
def notices() -> list[Notice]:
    return []


@pytest.fixture
def engine(tmp_path: Path, notices: list[Notice]) -> Iterator[TtsEngine]:
    started = TtsEngine(cache=TtsCache(tmp_path / "cache"), render_timeout=10.0, on_notice=notices.append)
    assert started.wait_ready(30)
    yield started
    started.close()


def render(engine: TtsEngine, text: str, voice: VoiceChoice = VOICE) -> RenderedSpeech:
    return engine.call(lambda renderer: renderer.render(text, voice))


def test_the_driver_s_messages_go_to_the_log_not_to_standard_output(
    engine: TtsEngine, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger=tts_engine.__name__):
        rendered = render(engine, "Good morning.")
    assert rendered.duration > 0.3
    assert not rendered.cached
    out, err = capfd.readouterr()
    assert "Audio saved" not in out + err
    assert any(record.getMessage().startswith("Audio saved to ") for record in caplog.records)


def test_a_sentence_is_rendered_once_then_comes_from_the_cache(engine: TtsEngine) -> None:
    first = render(engine, "It is ten to four.")
    again = render(engine, "It is ten to four.")
    faster = render(engine, "It is ten to four.", VoiceChoice(None, 300, 1.0))
    assert (first.cached, again.cached, faster.cached) == (False, True, False)
    assert again.audio == first.audio
    assert faster.duration < first.duration


def test_text_with_nothing_to_say_is_silence(engine: TtsEngine) -> None:
    rendered = render(engine, " ... ")
    assert rendered.audio.audio == b""


def test_a_missing_voice_is_a_notice_and_the_default_speaks(engine: TtsEngine, notices: list[Notice]) -> None:
    rendered = render(engine, "Good morning.", VoiceChoice("no-such-voice", 175, 1.0))
    assert rendered.duration > 0.3
    (notice,) = notices
    assert notice.code == ErrorCode.VOICE_UNAVAILABLE
    assert "no-such-voice" in notice.message


def test_jobs_run_in_order_and_a_failing_one_does_not_stop_the_thread(engine: TtsEngine) -> None:
    order: list[int] = []

    def broken(renderer: Renderer) -> None:
        raise RuntimeError("a bug in a job")

    engine.submit(lambda renderer: order.append(1))
    engine.submit(broken)
    engine.submit(lambda renderer: order.append(2))
    assert engine.call(lambda renderer: len(order)) == 2
    assert order == [1, 2]


def test_a_second_engine_in_the_process_says_speech_is_in_use(
    engine: TtsEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tts_engine, "OWNER_WAIT_SECONDS", 0.1)
    second = TtsEngine(cache=None, render_timeout=10.0, on_notice=lambda notice: None)
    try:
        assert second.wait_ready(10)
        with pytest.raises(AppError) as caught:
            render(second, "Good morning.")
        assert caught.value.code is ErrorCode.TTS_UNAVAILABLE
        assert "already in use" in caught.value.message
    finally:
        second.close()
    assert render(engine, "Good morning.").duration > 0.3  # the first one carries on


def test_closing_removes_the_scratch_folder(tmp_path: Path) -> None:
    engine = TtsEngine(cache=None, render_timeout=10.0, on_notice=lambda notice: None)
    assert engine.wait_ready(30)
    folder = engine.work_dir
    assert folder.is_dir()
    render(engine, "Good morning.")
    assert [path.name for path in folder.iterdir() if path.suffix == ".wav"] == []  # each WAV is removed
    engine.close()
    assert not folder.exists()
