"""Settings: declared once, checked, saved atomically and privately, tolerant of odd files."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from desktop_app.__main__ import main
from desktop_app.core.settings import BY_KEY, MAX_SETTINGS_FILE_BYTES, SETTINGS, SETTINGS_VERSION, Setting, Settings
from desktop_app.core.validation import shortened

# Words no number setting takes: not-a-number, infinities, and numbers far past any setting's range
# (2**63 is one more than the database's largest integer; 5,000 digits is more than Python converts).
HOSTILE_NUMBERS = ["nan", "-nan", "NaN", "inf", "-inf", "Infinity", "1e308", "-1e308", str(2**63), "9" * 5000]
NUMBER_SETTINGS = [setting for setting in SETTINGS if setting.type in (int, float)]
TEXT_SETTINGS = [setting for setting in SETTINGS if setting.type is str]


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
    assert sorted(p.name for p in path.parent.iterdir()) == ["settings.json"]  # no temporary file left


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


def bad_texts(setting: Setting) -> list[str]:
    """Command-line words each kind of setting must refuse."""
    if setting.type is bool:
        return ["maybe", "2"]
    if setting.type is int:
        beyond = [str(int(setting.maximum or 0) + 1), str(int(setting.minimum or 0) - 1)]
        return ["fast", "1.5", "", *beyond, *HOSTILE_NUMBERS]
    if setting.type is float:
        return ["loud", "", str((setting.maximum or 0) + 1), str((setting.minimum or 0) - 1), *HOSTILE_NUMBERS]
    # Text: nothing visible (zero-width characters), or a control character (an escape sequence).
    invisible = ["\u200b\u2060", "a\x1b[2Jb"]
    if setting.choices is not None:
        return ["shout", "", *invisible]
    if setting.pattern is not None or setting.url:
        return ["not a value!", "ftp://x", "not a url", "http://:80/x", "http://", *invisible]
    if not setting.nullable:
        return ["", "   ", *invisible]
    return invisible  # any other text names a device, a voice or a model; "none" clears it


def test_every_kind_of_setting_says_what_it_takes() -> None:
    assert BY_KEY["voice.rate"].allowed() == "a whole number from 80 to 450"
    assert BY_KEY["voice.volume"].allowed() == "a number from 0 to 1"
    assert BY_KEY["audio.preroll"].allowed() == "true or false (or on/off, yes/no)"
    assert BY_KEY["talk.mode"].allowed() == "one of hold, toggle"
    assert BY_KEY["talk.hotkey"].allowed() == "a key combination such as ctrl+alt+space"
    assert BY_KEY["audio.input_device"].allowed() == (
        "a microphone's name as `voice-assistant devices` lists it, or none for the system default"
    )
    assert BY_KEY["llm.base_url"].allowed().startswith("an http:// or https:// address")
    assert BY_KEY["speech.language"].allowed().startswith("a language code as the model list writes it")
    for setting in SETTINGS:
        for text in bad_texts(setting):
            with pytest.raises(ValueError) as caught:
                setting.parse(text)
            assert str(caught.value) == f"{setting.key} must be {setting.allowed()}, not {shortened(text.strip(), 60)}"
        # A value of the wrong type from code (the settings pane, an old file) is refused the same way.
        wrong = "5" if setting.type in (int, float) else 5
        with pytest.raises(ValueError, match=f"^{setting.key} must be "):
            setting.check(wrong)


def test_words_that_mean_a_value_are_understood() -> None:
    assert BY_KEY["audio.preroll"].parse("OFF") is False and BY_KEY["audio.preroll"].parse(" yes ") is True
    assert BY_KEY["voice.rate"].parse(" 200 ") == 200 and BY_KEY["voice.rate"].parse("+90") == 90
    assert BY_KEY["voice.volume"].parse("0.5") == 0.5 and BY_KEY["voice.volume"].parse("1") == 1.0
    assert BY_KEY["llm.timeout_seconds"].parse("1e1") == 10.0
    assert BY_KEY["audio.input_device"].parse("none") is None and BY_KEY["llm.model"].parse("") is None
    assert BY_KEY["audio.input_device"].parse("USB Microphone") == "USB Microphone"
    assert BY_KEY["speech.language"].parse("KO") == "ko" and BY_KEY["speech.language"].parse("en-US") == "en-us"
    assert BY_KEY["speech.language"].default == "en"


def test_the_command_line_refuses_a_bad_value_for_every_setting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`settings set KEY WORD` with a word the setting cannot take: exit 2, one line that says what is allowed,
    code invalid_setting, and no settings file written."""
    refused = 0
    for setting in SETTINGS:
        for text in bad_texts(setting):
            assert main(["--data-dir", str(tmp_path), "settings", "set", setting.key, text]) == 2
            captured = capsys.readouterr()
            assert captured.out == ""
            assert captured.err == (
                f"error: {setting.key} must be {setting.allowed()}, not {shortened(text.strip(), 60)}. "
                "Nothing was changed. [invalid_setting]\n"
            )
            refused += 1
    assert refused > 4 * len(SETTINGS)
    assert main(["--data-dir", str(tmp_path), "settings", "set", "voice.speed", "fast"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: There is no setting 'voice.speed'. The settings are: audio.input_device, ")
    assert err.endswith("[unknown_setting]\n") and "voice.rate" in err
    assert not (tmp_path / "config" / "settings.json").exists()

    assert main(["--data-dir", str(tmp_path), "settings", "set", "voice.rate", "120"]) == 0
    assert capsys.readouterr().out == "voice.rate = 120\n"
    assert Settings(tmp_path / "config" / "settings.json").get("voice.rate") == 120


def test_every_number_setting_is_bounded_and_every_text_setting_has_a_longest_length() -> None:
    """Declared once: a number setting without both bounds, or a text setting without a length, cannot be
    declared at all."""
    assert NUMBER_SETTINGS and TEXT_SETTINGS
    with pytest.raises(TypeError, match="minimum and maximum"):
        Setting("x.count", int, 1, "A count.", minimum=0)
    with pytest.raises(TypeError, match="longest length"):
        Setting("x.name", str, "a", "A name.", max_length=0)
    assert BY_KEY["llm.context_tokens"].allowed() == "a whole number from 256 to 1000000"  # never 1e+06
    for setting in NUMBER_SETTINGS:
        assert setting.minimum is not None and setting.maximum is not None, setting.key
    for setting in TEXT_SETTINGS:
        assert 0 < setting.max_length <= 4000, setting.key  # a few KB at most
    assert BY_KEY["talk.hotkey"].max_length <= 100 and BY_KEY["speech.models_catalog_url"].max_length <= 2048


@pytest.mark.parametrize(
    "raw", ["NaN", "Infinity", "-Infinity", "1e308", "-1e308", "1e400", str(2**63), "1" + "0" * 400]
)
def test_a_hostile_number_in_the_file_is_a_warning_and_the_default(tmp_path: Path, raw: str) -> None:
    path = tmp_path / "settings.json"
    for setting in NUMBER_SETTINGS:
        path.write_text(f'{{"{setting.key}": {raw}, "audio.preroll": false}}')
        settings = Settings(path)
        assert settings.get(setting.key) == setting.default and settings.get("audio.preroll") is False
        assert len(settings.problems) == 1 and setting.key in settings.problems[0], settings.problems
        assert len(settings.problems[0]) < 300


def test_text_settings_are_bounded_in_length_and_must_show_something(tmp_path: Path) -> None:
    prompt = BY_KEY["llm.system_prompt"]
    start = "Answer briefly.\n\tBe kind. "
    longest = start + "x" * (prompt.max_length - len(start))
    assert len(longest) == prompt.max_length and prompt.parse(longest) == longest.strip()
    with pytest.raises(ValueError) as caught:
        prompt.parse(longest + "x")
    assert str(caught.value) == "llm.system_prompt must be at most 4,000 characters long, not 4,001"
    for setting in TEXT_SETTINGS:
        with pytest.raises(ValueError, match=f"^{setting.key} must be at most {setting.max_length:,} characters"):
            setting.check("x" * (setting.max_length + 1))
    assert BY_KEY["talk.hotkey"].parse(" ctrl+alt+space ") == "ctrl+alt+space"
    for url in ("http://[::1]:11434/v1", "https://api.example.com/v1", "HTTP://localhost:8080"):
        assert BY_KEY["llm.base_url"].parse(url) == url
    assert BY_KEY["speech.models_catalog_url"].parse("https://example.org/list.json?v=2") == (
        "https://example.org/list.json?v=2"
    )
    for url in ("http://example.org/v1?key=1", "http://example.org:99999/v1", "http://exa mple.org"):
        with pytest.raises(ValueError):
            BY_KEY["llm.base_url"].parse(url)
    path = tmp_path / "settings.json"  # the same limits hold for what is found in the file
    path.write_text(json.dumps({"talk.hotkey": "\u200b", "llm.model": "m" * 201, "voice.name": "a\x1bb"}))
    settings = Settings(path)
    assert [settings.get(key) for key in ("talk.hotkey", "llm.model", "voice.name")] == ["ctrl+alt+space", None, None]
    assert len(settings.problems) == 3


def test_a_settings_file_that_is_too_large_or_not_a_file_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"voice.rate": 150, "padding": "x" * MAX_SETTINGS_FILE_BYTES}))
    settings = Settings(path)
    assert settings.get("voice.rate") == 175 and "too large" in settings.problems[0]
    path.unlink()
    path.mkdir()
    folder = Settings(path)
    assert folder.get("voice.rate") == 175 and "not a regular file" in folder.problems[0]
