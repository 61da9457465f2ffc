"""The speaker disappears while playing (its PulseAudio server is killed) and comes back (restarted on
the same socket): the player and the speech output report one clear error, then work again."""

from __future__ import annotations

import threading
import time

import pytest
from pulse_server import PulseAudioServer
from test_playback import Events, tone, wait_idle

from desktop_app.audio.playback import AudioPlayer, ClipFinished, ClipStarted, PlaybackFailed
from desktop_app.core.errors import AppError, ErrorCode
from desktop_app.core.events import SpeakingFinished, SpeakingStarted, TurnFailed
from desktop_app.core.settings import Settings
from desktop_app.speech.tts import SpeechOutput


def _reinitialise_portaudio() -> None:
    import sounddevice

    sounddevice._terminate()
    sounddevice._initialize()


@pytest.fixture
def own_pulse(monkeypatch: pytest.MonkeyPatch):
    server = PulseAudioServer.start()
    monkeypatch.setenv("PULSE_SERVER", server.server)
    _reinitialise_portaudio()
    try:
        yield server
    finally:
        server.stop()
        monkeypatch.undo()
        _reinitialise_portaudio()


def test_the_player_reports_a_lost_device_and_recovers(own_pulse: PulseAudioServer) -> None:
    events = Events()
    player = AudioPlayer(listener=events)
    try:
        player.play(tone(3.0), tag="cut")
        player.play(tone(1.0), tag="never")
        assert events.wait_for(lambda ev: ev.of(ClipStarted))
        time.sleep(0.3)
        own_pulse.kill()

        assert events.wait_for(lambda ev: ev.of(PlaybackFailed) and len(ev.of(ClipFinished)) == 2)
        (failed,) = events.of(PlaybackFailed)
        assert failed.error.code is ErrorCode.AUDIO_OUTPUT_UNAVAILABLE
        assert "Settings > Audio" in failed.error.message
        assert [(e.tag, e.interrupted) for e in events.of(ClipFinished)] == [("cut", True), ("never", True)]
        assert not player.is_playing()

        with pytest.raises(AppError) as caught:  # still gone
            player.play(tone(0.2))
        assert caught.value.code is ErrorCode.AUDIO_OUTPUT_UNAVAILABLE

        own_pulse.restart()
        player.play(tone(0.2), tag="back")
        assert wait_idle(player)
        assert events.wait_for(lambda ev: ev.of(ClipFinished)[-1].tag == "back")
        assert [e.tag for e in events.of(ClipStarted)] == ["cut", "back"]
        assert events.of(ClipFinished)[-1].interrupted is False
    finally:
        player.close()


def test_speech_reports_a_lost_device_then_speaks_again(own_pulse: PulseAudioServer) -> None:
    events: list[object] = []
    changed = threading.Condition()

    def listener(event: object) -> None:
        with changed:
            events.append(event)
            changed.notify_all()

    def wait_for(predicate, timeout: float = 10.0) -> bool:
        with changed:
            return changed.wait_for(lambda: predicate(events), timeout)

    speech = SpeechOutput(Settings(None), listener)
    try:
        speech.speak("This sentence is long enough to still be playing when the speaker goes away.")
        assert wait_for(lambda ev: any(isinstance(e, SpeakingStarted) for e in ev))
        own_pulse.kill()
        assert wait_for(lambda ev: any(isinstance(e, SpeakingFinished) for e in ev))
        kinds = [type(e) for e in events]
        assert kinds == [SpeakingStarted, TurnFailed, SpeakingFinished]
        failed, finished = events[1], events[2]
        assert isinstance(failed, TurnFailed) and failed.code == ErrorCode.AUDIO_OUTPUT_UNAVAILABLE.value
        assert isinstance(finished, SpeakingFinished) and finished.interrupted is True

        own_pulse.restart()
        events.clear()
        speech.speak("Back again.")
        assert wait_for(lambda ev: any(isinstance(e, SpeakingFinished) for e in ev))
        assert [type(e) for e in events] == [SpeakingStarted, SpeakingFinished]
        again = events[1]
        assert isinstance(again, SpeakingFinished) and again.interrupted is False
    finally:
        speech.close()
