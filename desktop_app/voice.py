"""The voice services, built and wired in one place: microphone, recogniser, brain, speaker, the turn.

Start-up order: recogniser loading starts first (it is the slowest), then the speaker, the turn and the
microphone. Shutdown runs the other way round: stop capture, cancel the turn, close the speaker.

The services follow the settings they use while running, one subscription per key: the microphone, preroll,
talk mode, spoken answers and recogniser here; voice, rate, volume and speaker are read by the speaker at
each answer. A change from the command line reaches them once
the settings are watched (`Settings.watch`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from desktop_app.core.errors import ErrorCode
from desktop_app.core.events import EventHub, Notice, TalkMode, TurnState
from desktop_app.core.pipeline import SpeakerFactory, SpeakerReports, VoicePipeline
from desktop_app.core.ports import Brain, ConversationStore, Speaker, VoiceInfo
from desktop_app.core.settings import (
    AUDIO_INPUT_DEVICE,
    AUDIO_PREROLL,
    SPEECH_ENGINE,
    SPEECH_LANGUAGE,
    SPEECH_VOSK_MODEL,
    TALK_MODE,
    VOICE_SPEAK_REPLIES,
    Settings,
    Subscription,
)
from desktop_app.paths import AppPaths
from desktop_app.speech.recognition import RECOGNITION_SETTINGS, Recognition

if TYPE_CHECKING:  # sounddevice, which it imports, needs PortAudio: typed questions work without it
    from desktop_app.audio.capture import MicrophoneCapture

log = logging.getLogger(__name__)


@dataclass
class VoiceServices:
    hub: EventHub
    settings: Settings
    recognition: Recognition
    pipeline: VoicePipeline
    capture: MicrophoneCapture
    armed: bool = False
    subscriptions: list[Subscription] = field(default_factory=list)
    # The recogniser choice last asked for: one reload when several of its settings change together.
    _recognising: tuple[str, str | None, str] | None = field(default=None, init=False, repr=False)

    @property
    def toggle_mode(self) -> bool:
        """Press to start and press again to send, instead of holding."""
        return self.pipeline.mode is TalkMode.TOGGLE

    @property
    def state(self) -> TurnState:
        return self.pipeline.state

    def ask(self, text: str) -> None:
        self.pipeline.ask(text)

    def new_conversation(self) -> None:
        self.pipeline.new_conversation()

    def continue_conversation(self, conversation_id: int) -> None:
        self.pipeline.continue_conversation(conversation_id)

    def voices(self) -> list[VoiceInfo]:
        return self.pipeline.voices()

    def say_sample(self, text: str) -> bool:
        return self.pipeline.say_sample(text)

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
        for subscription in self.subscriptions:
            subscription.unsubscribe()
        self.capture.stop()
        self.pipeline.close()  # and the speaker it made
        self.recognition.close()  # and its worker process

    def follow_settings(self) -> None:
        """Subscribes to each setting the services react to (called on the thread that changes it)."""
        settings = self.settings
        self._recognising = self._recogniser_wanted()
        self.subscriptions = [
            settings.subscribe(AUDIO_INPUT_DEVICE, self._input_device_changed),
            settings.subscribe(AUDIO_PREROLL, self.arm),
            settings.subscribe(TALK_MODE, self._talk_mode_changed),
            settings.subscribe(VOICE_SPEAK_REPLIES, self._speak_replies_changed),
            *(settings.subscribe(key, self._recogniser_changed) for key in sorted(RECOGNITION_SETTINGS)),
        ]

    def _input_device_changed(self, name: str | None) -> None:
        self.capture.set_device(name)
        if not self.armed:
            self.capture.check_device()  # the microphone stays closed; a missing one is reported now

    def _talk_mode_changed(self, mode: str) -> None:
        self.pipeline.mode = TalkMode(mode)

    def _speak_replies_changed(self, on: bool) -> None:
        self.pipeline.speak_replies = on

    def _recogniser_changed(self, _value: object) -> None:
        wanted = self._recogniser_wanted()
        if wanted != self._recognising:
            self._recognising = wanted
            self.recognition.reload(self.settings)

    def _recogniser_wanted(self) -> tuple[str, str | None, str]:
        settings = self.settings
        return settings.get(SPEECH_ENGINE), settings.get(SPEECH_VOSK_MODEL), settings.get(SPEECH_LANGUAGE)


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
        settings, paths.models_dir, brain.command_phrases(), hub.publish, brain.understands, cache_dir=paths.cache_dir
    )
    recognition.load_in_background()
    make_speaker: SpeakerFactory | None = None
    if speak:
        from desktop_app.speech.tts import SpeechOutput
        from desktop_app.speech.tts_cache import TtsCache

        def make_speaker(report: SpeakerReports) -> Speaker:
            return SpeechOutput(settings, report, cache=TtsCache(paths.cache_dir / "speech"))

    pipeline = VoicePipeline(
        recognition.current,
        brain,
        make_speaker,
        store,
        hub.publish,
        mode=settings.get(TALK_MODE),
        keep_preroll=settings.get(AUDIO_PREROLL),
        speak_replies=settings.get(VOICE_SPEAK_REPLIES),
    )
    from desktop_app.audio.capture import MicrophoneCapture

    capture = MicrophoneCapture(
        pipeline.on_audio, pipeline.on_level, pipeline.on_device_error, device=settings.get(AUDIO_INPUT_DEVICE)
    )
    services = VoiceServices(hub, settings, recognition, pipeline, capture)
    services.arm(settings.get(AUDIO_PREROLL))
    if not services.armed:
        capture.check_device()  # the microphone stays closed; a missing one is reported now
    services.follow_settings()
    return services


@dataclass
class TextOnlyVoice:
    """The turn without sound (no microphone or speaker could start): typed questions are still answered and
    kept, announcements still shown; a press says why it cannot listen."""

    hub: EventHub
    pipeline: VoicePipeline
    toggle_mode: bool = False

    @property
    def state(self) -> TurnState:
        return self.pipeline.state

    def press(self) -> None:
        self.hub.publish(
            Notice(
                ErrorCode.AUDIO_INPUT_UNAVAILABLE, "Listening is off (the sound system could not start). Type instead."
            )
        )

    def release(self) -> None:
        pass

    def cancel(self) -> None:
        self.pipeline.cancel()

    def ask(self, text: str) -> None:
        self.pipeline.ask(text)

    def new_conversation(self) -> None:
        self.pipeline.new_conversation()

    def continue_conversation(self, conversation_id: int) -> None:
        self.pipeline.continue_conversation(conversation_id)

    def voices(self) -> list[VoiceInfo]:
        return self.pipeline.voices()

    def say_sample(self, text: str) -> bool:
        return self.pipeline.say_sample(text)

    def close(self) -> None:
        self.pipeline.close()


def start_text_only(store: ConversationStore, hub: EventHub, brain: Brain) -> TextOnlyVoice:
    pipeline = VoicePipeline(lambda: None, brain, None, store, hub.publish, keep_preroll=False, speak_replies=False)
    return TextOnlyVoice(hub, pipeline)
