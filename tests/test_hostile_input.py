"""More hostile input to the real command line: settings that are not numbers a person means (nan, inf,
numbers the type cannot hold), text settings of any length or of nothing visible, a settings file of any
size; stored text that would drive the terminal (escape sequences, right-to-left overrides); questions made
only of invisible characters; and usage errors from the argument parser. Each refusal is one `error:` line
ending in a stable code, with the documented exit status (2 usage, 1 failure), no traceback, and nothing
changed that should not change."""

from __future__ import annotations

import json
import os
import unicodedata
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cli_runner import Run, cli, ok, refused

from desktop_app.core.settings import BY_KEY
from desktop_app.core.validation import is_blank
from desktop_app.storage.engine import sqlite_url
from desktop_app.storage.store import SqlConversationStore

# What a terminal must never receive raw from stored text: an OSC title change, a screen clear, and a
# right-to-left override that reverses what follows it on the line.
HOSTILE = "\x1b]0;PWNED\x07\x1b[2J\u202e"
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def va(data_dir: Path, *args: str, stdin: str | None = None) -> Run:
    return cli("--data-dir", str(data_dir), *args, stdin=stdin)


def side_by_side(data_dir: Path, *commands: Sequence[str]) -> list[Run]:
    """Commands that change nothing (reads, refusals) run together: the module stays fast."""
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 2)) as pool:
        return list(pool.map(lambda command: va(data_dir, *command), commands))


def refused_quietly(run: Run, status: int, code: str, *, mentions: str = "") -> str:
    """`refused`, and nothing on stdout."""
    assert run.out == "", run
    return refused(run, status, code, mentions=mentions)


def raw_controls(text: str) -> list[str]:
    """Characters that would drive the terminal: control characters other than a line break, and bidi
    controls."""
    return [char for char in text if (unicodedata.category(char) == "Cc" and char != "\n") or char in BIDI_CONTROLS]


# -- settings ----------------------------------------------------------------------------------------------


def test_hostile_numbers_and_texts_are_refused_by_settings_set_and_nothing_is_written(data_dir: Path) -> None:
    ok(va(data_dir, "settings", "set", "voice.rate", "150"))
    settings_file = data_dir / "config" / "settings.json"
    saved = settings_file.read_bytes()
    cases = [
        ("voice.volume", "-inf", "voice.volume must be a number from 0 to 1"),
        ("llm.timeout_seconds", "1e308", "llm.timeout_seconds must be a number from 1 to 600"),
        ("llm.context_tokens", str(2**63), "llm.context_tokens must be a whole number from 256 to 1000000"),
        ("voice.rate", "9" * 5000, "voice.rate must be a whole number from 80 to 450"),
        ("llm.system_prompt", "x" * 20_000, "llm.system_prompt must be at most 4,000 characters"),
        ("talk.hotkey", "\u200b\u2060", "talk.hotkey must be a key combination"),
        ("speech.models_catalog_url", "not a url", "speech.models_catalog_url must be an http:// or https://"),
        ("speech.models_catalog_url", "http://:80/list.json", "speech.models_catalog_url must be an http://"),
        ("llm.model", "gpt\x1b[2J", "llm.model must be"),
    ]
    runs = side_by_side(data_dir, *[("settings", "set", key, value) for key, value, _ in cases])
    for run, (_, _, said) in zip(runs, cases, strict=True):
        line = refused_quietly(run, 2, "invalid_setting", mentions=said)
        assert len(line) < 400, line  # a huge value is shown shortened, not echoed whole
        assert not raw_controls(line), line
    assert settings_file.read_bytes() == saved


def test_a_hostile_settings_file_gives_warnings_and_the_defaults(data_dir: Path) -> None:
    settings_file = data_dir / "config" / "settings.json"
    settings_file.parent.mkdir()
    bad = {
        "voice.rate": "NaN",
        "voice.volume": "1" + "0" * 400,  # a whole number no float can hold
        "llm.context_tokens": str(2**63),
        "llm.timeout_seconds": "-Infinity",
        "talk.hotkey": '"\\u200b"',
        "speech.models_catalog_url": '"not a url"',
        "llm.system_prompt": json.dumps("x" * 100_000),
        "llm.model": '"\\u001b]0;PWNED\\u0007"',
    }
    content = "{" + ", ".join(f'"{key}": {value}' for key, value in bad.items()) + ', "audio.preroll": false}'
    settings_file.write_text(content, encoding="ascii")
    listed, text = side_by_side(data_dir, ("settings", "list", "--json"), ("settings", "list"))
    for run in (listed, text):
        ok(run)
        warnings = [line for line in run.err.splitlines() if line.startswith("warning: ")]
        assert sorted(key for key in bad if any(key in line for line in warnings)) == sorted(bad), run.err
        assert len(warnings) == len(bad) and all(len(line) < 400 for line in warnings), run.err
        assert not raw_controls(run.err + run.out)
    values = json.loads(listed.out)
    assert {key: values[key] for key in bad} == {key: BY_KEY[key].default for key in bad}
    assert values["audio.preroll"] is False  # the file's good value is still used
    assert settings_file.read_text(encoding="ascii") == content  # a read changes nothing


def test_a_settings_file_too_large_to_be_settings_is_not_read(data_dir: Path) -> None:
    settings_file = data_dir / "config" / "settings.json"
    settings_file.parent.mkdir()
    settings_file.write_text(json.dumps({"voice.rate": 150, "future.key": "x" * (2 * 1024 * 1024)}))
    listed = ok(va(data_dir, "settings", "list", "--json"))
    assert "too large" in listed.err and listed.err.startswith("warning: ")
    assert json.loads(listed.out)["voice.rate"] == BY_KEY["voice.rate"].default


# -- text that would drive the terminal --------------------------------------------------------------------


def test_remembered_text_reaches_the_terminal_escaped_by_ask_facts_and_history(data_dir: Path) -> None:
    remembered = ok(va(data_dir, "ask", f"remember that my code is {HOSTILE}"))
    asked, as_json, facts, history = side_by_side(
        data_dir,
        ("ask", "what is my code"),
        ("ask", "what is my code", "--json"),
        ("facts", "list"),
        ("history", "show", "1"),
    )
    for run in (remembered, asked, as_json, facts, history):
        ok(run)
        assert not raw_controls(run.out + run.err), (run.args, run.out)
    for run in (remembered, asked, facts, history):
        assert "\\x1b]0;PWNED\\x07\\x1b[2J\\u202e" in run.out, (run.args, run.out)  # shown, not obeyed
    assert HOSTILE in json.loads(as_json.out)["answer"]  # programs get the text exactly


def test_key_names_and_fields_reach_the_terminal_escaped(data_dir: Path) -> None:
    """A key stored with odd text (by an older version, or by hand) is listed with it made visible."""
    name = "work\u202egnp.exe"
    store = SqlConversationStore.open(sqlite_url(data_dir / "assistant.db"))
    try:
        store.keys.add_key(name, "\x1b[31mred\u2066", "https://example.com/\u202ev1", "api-key:x", "ab\x1b[2Jcd")
    finally:
        store.close()
    listed, as_json, limited = side_by_side(
        data_dir,
        ("keys", "list"),
        ("keys", "list", "--json"),
        ("keys", "limit", name, "--tokens-per-day", "5"),
    )
    for run in (listed, as_json, limited):
        ok(run)
        assert not raw_controls(run.out + run.err), (run.args, run.out)
    assert "work\\u202egnp.exe" in listed.out and "\\x1b[31mred\\u2066" in listed.out and "ab\\x1b[2Jcd" in listed.out
    assert "work\\u202egnp.exe" in limited.out
    document = json.loads(as_json.out)[0]
    assert (document["name"], document["provider"], document["base_url"]) == (
        name,
        "\x1b[31mred\u2066",
        "https://example.com/\u202ev1",
    )


def test_settings_values_reach_the_terminal_escaped(data_dir: Path) -> None:
    changed = ok(va(data_dir, "settings", "set", "llm.model", "gpt\u202e-4o"))
    listed, as_json = side_by_side(data_dir, ("settings", "list"), ("settings", "list", "--json"))
    for run in (changed, listed, as_json):
        ok(run)
        assert not raw_controls(run.out + run.err), (run.args, run.out)
    assert 'llm.model = "gpt\\u202e-4o"' in changed.out and 'llm.model = "gpt\\u202e-4o"' in listed.out
    assert json.loads(as_json.out)["llm.model"] == "gpt\u202e-4o"


# -- questions with nothing visible in them ----------------------------------------------------------------


@pytest.mark.parametrize(
    "question",
    [
        "\u200b\u200c\u200d\u2060\ufeff",  # zero-width space, non-joiner, joiner, word joiner, byte order mark
        "\u200b \u00ad\u2061\u180e\u3164 \u034f\ufe0f",  # soft hyphen, invisible operators, fillers, selectors
    ],
)
def test_a_question_of_invisible_characters_is_refused_like_an_empty_one(data_dir: Path, question: str) -> None:
    refused_quietly(va(data_dir, "ask", question), 2, "empty_content")
    assert not (data_dir / "assistant.db").exists()  # nothing opened, nothing stored


def test_blank_text_is_text_with_nothing_visible() -> None:
    assert is_blank("") and is_blank(" \t\n") and is_blank("\u200b\ufeff\u2060") and is_blank("\u202e\u2066")
    for visible in ("a", "\u200ba", "👨\u200d👩\u200d👧", "\u0627\u200f", "0", ".", "\u0301"):
        assert not is_blank(visible), visible


# -- usage errors ------------------------------------------------------------------------------------------


def test_every_usage_error_ends_with_its_code(data_dir: Path) -> None:
    cases = [
        (("history", "list", "--offset", "abc"), "--offset"),
        (("history", "list", "--limit", "-1"), "--limit"),
        (("keys", "add", "work", "--tokens-per-day", "x"), "--tokens-per-day"),
        (("history", "frobnicate"), "invalid choice: 'frobnicate'"),
        (("history", "list", "--no-such-option"), "--no-such-option"),
    ]
    for run, (_, said) in zip(side_by_side(data_dir, *[args for args, _ in cases]), cases, strict=True):
        refused_quietly(run, 2, "invalid_argument", mentions=said)
        assert "usage: voice-assistant" in run.err
    assert os.listdir(data_dir) == []  # nothing was done
