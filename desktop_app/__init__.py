"""Offline desktop voice assistant."""

__version__ = "0.1.0"
APP_NAME = "voice-assistant"
DISPLAY_NAME = "Voice Assistant"
# The reverse-DNS id of the menu entry, icon and AppStream component (".local" is the domain kept for names
# that belong to no one's domain); Qt reports it as the window's application id.
APP_ID = "local.voice_assistant.VoiceAssistant"
