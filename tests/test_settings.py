"""Settings: declared once, checked, saved atomically and privately, tolerant of odd files."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from desktop_app.core.settings import SETTINGS_VERSION, Settings


def test_values_persist_and_listeners_hear_changes(tmp_path: Path) -> None:
    path = tmp_path / "config" / "settings.json"
    settings = Settings(path)
    heard: list[tuple[str, object]] = []
    settings.on_change(lambda key, value: heard.append((key, value)))
    assert settings.get("voice.rate") == 175 and settings.get("audio.input_device") is None
    settings.set("voice.rate", 150)
    settings.set("audio.input_device", "USB Microphone")
    settings.set("voice.volume", 1)  # an int is a fine float
    assert heard == [("voice.rate", 150), ("audio.input_device", "USB Microphone"), ("voice.volume", 1.0)]
    again = Settings(path)
    assert again.get("voice.rate") == 150 and again.get("audio.input_device") == "USB Microphone"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["version"] == SETTINGS_VERSION
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".settings-")]


def test_bad_values_are_refused(tmp_path: Path) -> None:
    settings = Settings(tmp_path / "settings.json")
    for key, value in (
        ("voice.rate", "fast"),
        ("talk.mode", "shout"),
        ("audio.preroll", 1),
        ("voice.rate", None),
        ("voice.rate", 20),
        ("voice.volume", 1.5),
        ("llm.base_url", "ftp://example.org"),
        ("llm.base_url", "localhost:11434"),
        ("llm.context_tokens", 10),
        ("llm.timeout_seconds", 0.0),
    ):
        with pytest.raises(ValueError):
            settings.set(key, value)
    assert settings.get("talk.mode") == "hold"
    assert settings.get("llm.base_url") is None
    settings.set("llm.base_url", "http://127.0.0.1:11434/v1")  # a well-formed address is kept
    assert Settings(tmp_path / "settings.json").get("llm.base_url") == "http://127.0.0.1:11434/v1"


def test_a_damaged_or_odd_file_gives_defaults_and_keeps_unknown_keys(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text("{not json")
    assert Settings(path).get("voice.rate") == 175
    path.write_text(json.dumps({"version": 1, "voice.rate": "loud", "talk.mode": "toggle", "future.key": [1, 2]}))
    settings = Settings(path)
    assert settings.get("voice.rate") == 175 and settings.get("talk.mode") == "toggle"
    settings.set("voice.rate", 160)
    assert json.loads(path.read_text())["future.key"] == [1, 2]
