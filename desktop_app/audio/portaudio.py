"""sounddevice for the audio modules, imported in one place: without PortAudio (Linux: libportaudio2) its
import fails with an OSError, which becomes the app's own system_library_missing error here, naming the
library and the command that installs it, wherever the microphone or speaker was wanted."""

from __future__ import annotations

from desktop_app.core.errors import AppError, ErrorCode
from desktop_app.system_libraries import PORTAUDIO, describe

try:
    import sounddevice as sd
except OSError as error:  # "PortAudio library not found"
    raise AppError(
        ErrorCode.SYSTEM_LIBRARY_MISSING, f"The microphone and speaker cannot be used: {describe([PORTAUDIO])}"
    ) from error

__all__ = ["sd"]
