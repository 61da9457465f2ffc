"""The settings dialog's sections, in the order its list shows them."""

from __future__ import annotations

from desktop_app.ui.settings.assistant import AssistantSection
from desktop_app.ui.settings.audio import AudioSection
from desktop_app.ui.settings.keys import KeysSection
from desktop_app.ui.settings.privacy import PrivacySection
from desktop_app.ui.settings.push_to_talk import PushToTalkSection
from desktop_app.ui.settings.section import Section
from desktop_app.ui.settings.speech import SpeechSection
from desktop_app.ui.settings.startup import StartupSection
from desktop_app.ui.settings.voice import VoiceSection

ALL_SECTIONS: tuple[type[Section], ...] = (
    AudioSection,
    SpeechSection,
    VoiceSection,
    PushToTalkSection,
    AssistantSection,
    KeysSection,
    PrivacySection,
    StartupSection,
)
