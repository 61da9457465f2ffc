"""Files the app shows or plays (icons, sounds), installed as the package `desktop_app.resources`."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def resource_path(relative: str) -> Path:
    """The path of a bundled file, e.g. resource_path("icons/voice-assistant.svg")."""
    return Path(str(resources.files(__name__).joinpath(relative)))
