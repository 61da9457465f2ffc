"""`devices` and `settings` on the command line: choices persist for the app to use."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def _cli(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "desktop_app", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_devices_lists_the_virtual_microphone_and_speaker(pulse_audio, tmp_path: Path) -> None:
    listed = _cli(tmp_path, "devices", "--json", env={**os.environ, "PULSE_SERVER": pulse_audio.server})
    assert listed.returncode == 0, listed.stderr
    document = json.loads(listed.stdout)
    assert document["inputs"] and document["outputs"]
    assert any(d["default"] for d in document["inputs"]) and any(d["default"] for d in document["outputs"])
    human = _cli(tmp_path, "devices", env={**os.environ, "PULSE_SERVER": pulse_audio.server})
    assert "Microphones:" in human.stdout and "Speakers:" in human.stdout


def test_a_device_choice_persists_and_bad_values_are_refused(tmp_path: Path) -> None:
    chosen = _cli(tmp_path, "settings", "set", "audio.input_device", "USB Microphone")
    assert chosen.returncode == 0, chosen.stderr
    assert _cli(tmp_path, "settings", "set", "audio.preroll", "off").returncode == 0
    values = json.loads(_cli(tmp_path, "settings", "list", "--json").stdout)
    assert values["audio.input_device"] == "USB Microphone" and values["audio.preroll"] is False
    settings_file = tmp_path / "config" / "settings.json"
    assert json.loads(settings_file.read_text())["audio.input_device"] == "USB Microphone"
    cleared = _cli(tmp_path, "settings", "set", "audio.input_device", "none")
    assert (
        cleared.returncode == 0
        and json.loads(_cli(tmp_path, "settings", "list", "--json").stdout)["audio.input_device"] is None
    )
    for bad in (("voice.rate", "fast"), ("talk.mode", "shout"), ("no.such.key", "1")):
        refused = _cli(tmp_path, "settings", "set", *bad)
        assert refused.returncode == 2 and refused.stderr.startswith("error:"), refused.stderr
    assert not (tmp_path / "assistant.db").exists()
