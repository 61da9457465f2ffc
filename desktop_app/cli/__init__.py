"""The command line: ``voice-assistant`` starts the window; ``voice-assistant history ...`` works on the
stored conversations without it."""
