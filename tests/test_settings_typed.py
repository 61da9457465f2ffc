"""Settings by typed key: each declaration is the key a value is read by, subscriptions are per key and an
unknown key fails where it is used."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from cli_runner import REPO_ROOT

from desktop_app.core import settings as settings_module
from desktop_app.core.settings import (
    AUDIO_INPUT_DEVICE,
    BY_KEY,
    SETTINGS,
    TALK_MODE,
    VOICE_RATE,
    VOICE_VOLUME,
    Setting,
    Settings,
    UnknownSettingError,
)


def test_every_declaration_is_a_key_and_each_key_is_declared_once() -> None:
    declared = [value for value in vars(settings_module).values() if isinstance(value, Setting)]
    assert sorted(s.key for s in declared) == sorted(s.key for s in SETTINGS)
    assert len(BY_KEY) == len(SETTINGS)
    assert all(BY_KEY[s.key] is s for s in declared)
    with pytest.raises(TypeError, match=r"the default of x\.mode is not one of its values"):
        Setting("x.mode", str, "shout", "A mode.", choices=("hold", "toggle"))


def test_typed_keys_read_and_write_the_same_values_as_their_names(tmp_path: Path) -> None:
    settings = Settings(tmp_path / "settings.json")
    assert settings.get(VOICE_RATE) == 175 and settings.get(AUDIO_INPUT_DEVICE) is None
    settings.set(VOICE_RATE, 210)
    settings.set(AUDIO_INPUT_DEVICE, "USB Microphone")
    assert settings.get("voice.rate") == 210 and settings.get(AUDIO_INPUT_DEVICE) == "USB Microphone"
    settings.set(VOICE_VOLUME, 1)  # a whole number is a fine float, stored as one
    assert isinstance(settings.get(VOICE_VOLUME), float)
    with pytest.raises(ValueError, match=r"^voice\.rate must be a whole number from 80 to 450, not 20$"):
        settings.set(VOICE_RATE, 20)
    again = Settings(tmp_path / "settings.json")
    assert again.get(VOICE_RATE) == 210 and again.get(AUDIO_INPUT_DEVICE) == "USB Microphone"


def test_the_type_checker_infers_each_value_type_at_the_call_site(tmp_path: Path) -> None:
    """Strict mypy on code that uses the settings: the value types are inferred without casts, and a
    subscriber or value of the wrong type is an error."""
    use = tmp_path / "uses_settings.py"
    use.write_text(
        "from typing import assert_type\n"
        "from desktop_app.core.settings import AUDIO_INPUT_DEVICE, TALK_MODE, VOICE_RATE, VOICE_VOLUME, Settings\n"
        "settings = Settings(None)\n"
        "assert_type(settings.get(VOICE_RATE), int)\n"
        "assert_type(settings.get(VOICE_VOLUME), float)\n"
        "assert_type(settings.get(AUDIO_INPUT_DEVICE), str | None)\n"
        "assert_type(settings.get(TALK_MODE), str)\n"
        "def rate_changed(rate: int) -> None: ...\n"
        "def device_changed(name: str) -> None: ...\n"
        "settings.subscribe(VOICE_RATE, rate_changed)\n"
        "settings.subscribe(AUDIO_INPUT_DEVICE, device_changed)  # line 11: None is not a str\n"
        "settings.set(VOICE_RATE, 'fast')  # line 12: not an int\n"
    )
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache"), str(use)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
    )
    errors = [line for line in checked.stdout.splitlines() if ": error:" in line]
    assert [line.split(":")[1] for line in errors] == ["11", "12"], checked.stdout
    assert 'expected "Callable[[str | None], None]"' in errors[0]


def test_a_subscriber_hears_its_key_only_until_it_unsubscribes(tmp_path: Path) -> None:
    settings = Settings(tmp_path / "settings.json")
    rates: list[int] = []
    modes: list[str] = []
    everything: list[tuple[str, Any]] = []
    rate = settings.subscribe(VOICE_RATE, rates.append)
    settings.subscribe("talk.mode", modes.append)
    settings.on_change(lambda key, value: everything.append((key, value)))
    settings.set(VOICE_RATE, 150)
    settings.set(TALK_MODE, "toggle")
    settings.set("voice.rate", 150)  # set here: heard even when it is the value already held
    rate.unsubscribe()
    rate.unsubscribe()  # again: nothing
    settings.set(VOICE_RATE, 160)
    assert rates == [150, 150] and modes == ["toggle"]
    assert everything == [("voice.rate", 150), ("talk.mode", "toggle"), ("voice.rate", 150), ("voice.rate", 160)]


def test_an_unknown_key_fails_when_it_is_used(tmp_path: Path) -> None:
    settings = Settings(tmp_path / "settings.json")
    with pytest.raises(UnknownSettingError) as caught:
        settings.subscribe("audio.input_devices", print)
    assert str(caught.value).startswith("there is no setting 'audio.input_devices'; the settings are: audio.input_")
    assert isinstance(caught.value, KeyError)  # as a dictionary would say it
    with pytest.raises(UnknownSettingError):
        settings.get("voice.speed")
    with pytest.raises(UnknownSettingError):
        settings.set("voice.speed", 1)
    stranger = Setting("voice.rate", int, 175, "Not the declared one.", minimum=80, maximum=450)
    with pytest.raises(UnknownSettingError):
        settings.subscribe(stranger, print)
    assert not (tmp_path / "settings.json").exists()


def test_several_values_are_checked_together_and_saved_at_once(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    settings = Settings(path)
    heard: list[tuple[str, Any]] = []
    settings.on_change(lambda key, value: heard.append((key, value)))
    with pytest.raises(ValueError):
        settings.update({"speech.language": "ko", "speech.engine": "whisper"})
    assert heard == [] and not path.exists()
    settings.update({"speech.language": "ko", "speech.vosk_model": None})
    assert heard == [("speech.language", "ko"), ("speech.vosk_model", None)]
    assert Settings(path).get("speech.language") == "ko"


def test_subscribers_run_outside_the_lock_in_order_and_a_failing_one_stops_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A subscriber may read and change settings (it would wait forever if the lock were held); a change
    it makes is announced after the one it is hearing, and one that raises is logged."""
    settings = Settings(tmp_path / "settings.json")
    order: list[str] = []

    def follow_rate(rate: int) -> None:
        order.append(f"rate {rate}, mode {settings.get(TALK_MODE)}")
        if rate == 300:
            settings.set(TALK_MODE, "toggle")
            order.append("set mode")

    def broken(_rate: int) -> None:
        raise RuntimeError("subscriber bug")

    settings.subscribe(VOICE_RATE, broken)
    settings.subscribe(VOICE_RATE, follow_rate)
    settings.subscribe(TALK_MODE, lambda mode: order.append(f"mode {mode}"))
    done = threading.Event()

    def set_rate() -> None:
        settings.set(VOICE_RATE, 300)
        done.set()

    worker = threading.Thread(target=set_rate)
    worker.start()
    assert done.wait(5), "a subscriber that uses the settings waited forever"
    worker.join(5)
    assert order == ["rate 300, mode hold", "set mode", "mode toggle"]
    assert "a subscriber to the setting voice.rate failed" in caplog.text and "subscriber bug" in caplog.text
