"""Offline desktop voice assistant."""

__version__ = "0.1.0"
APP_NAME = "voice-assistant"
