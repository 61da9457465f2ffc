"""The voice services, built and wired in one place: microphone, recogniser, brain, speaker, the turn.

Start-up order: recogniser loading starts first (it is the slowest), then the speaker, the turn and the
microphone. Shutdown runs the other way round: stop capture, cancel the turn, close the speaker.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from desktop_app.audio.capture import MicrophoneCapture
from desktop_app.core.events import EventHub
from desktop_app.core.pipeline import VoicePipeline
from desktop_app.core.ports import Brain, ConversationStore, Speaker
from desktop_app.core.settings import Settings
from desktop_app.paths import AppPaths
from desktop_app.speech.recognition import RECOGNITION_SETTINGS, Recognition

log = logging.getLogger(__name__)


@dataclass
class VoiceServices:
    hub: EventHub
    settings: Settings
    recognition: Recognition
    speaker: Speaker | None
    pipeline: VoicePipeline
    capture: MicrophoneCapture
    armed: bool = False

    @property
    def toggle_mode(self) -> bool:
        """Press to start and press again to send, instead of holding."""
        return self.pipeline.mode == "toggle"

    def press(self) -> None:
        if not self.armed:
            self.capture.start()  # privacy mode: the microphone opens only for a turn
        self.pipeline.press()

    def release(self) -> None:
        self.pipeline.release()
        if not self.armed:
            self.capture.stop()

    def cancel(self) -> None:
        self.pipeline.cancel()

    def arm(self, armed: bool) -> None:
        """Armed: the microphone runs all the time, keeping the last moments in memory (preroll)."""
        self.armed = armed
        self.pipeline.keep_preroll = armed
        if armed:
            self.capture.start()
        else:
            self.capture.stop()

    def close(self) -> None:
        self.capture.stop()
        self.pipeline.close()
        if self.speaker is not None:
            self.speaker.close()

    def _on_setting(self, key: str, value: Any) -> None:
        if key == "audio.input_device":
            self.capture.set_device(value)
            if not self.armed:
                self.capture.check_device()  # the microphone stays closed; a missing one is reported now
        elif key == "audio.preroll":
            self.arm(bool(value))
        elif key == "talk.mode":
            self.pipeline.mode = str(value)
        elif key in RECOGNITION_SETTINGS:
            self.recognition.reload(self.settings)


def start_voice(
    settings: Settings,
    paths: AppPaths,
    store: ConversationStore,
    hub: EventHub,
    brain: Brain,
    *,
    speak: bool = True,
) -> VoiceServices:
    recognition = Recognition.from_settings(
        settings, paths.models_dir, brain.command_phrases(), hub.publish, brain.understands
    )
    recognition.load_in_background()
    pipeline_ref: list[VoicePipeline] = []

    def to_pipeline(event: object) -> None:
        if pipeline_ref:
            pipeline_ref[0].on_speaker_event(event)

    speaker: Speaker | None = None
    if speak and settings.get("voice.speak_replies"):
        from desktop_app.speech.tts import SpeechOutput
        from desktop_app.speech.tts_cache import TtsCache

        speaker = SpeechOutput(settings, to_pipeline, cache=TtsCache(paths.cache_dir / "speech"))
    pipeline = VoicePipeline(
        recognition.current,
        brain,
        speaker,
        store,
        hub.publish,
        mode=settings.get("talk.mode"),
        keep_preroll=settings.get("audio.preroll"),
    )
    pipeline_ref.append(pipeline)
    capture = MicrophoneCapture(
        pipeline.on_audio, pipeline.on_level, pipeline.on_device_error, device=settings.get("audio.input_device")
    )
    services = VoiceServices(hub, settings, recognition, speaker, pipeline, capture)
    services.arm(settings.get("audio.preroll"))
    if not services.armed:
        capture.check_device()  # the microphone stays closed; a missing one is reported now
    settings.on_change(services._on_setting)
    return services
