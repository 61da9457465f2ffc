"""Hostile input to the real command line: numbers the database cannot hold, arguments that are not valid
UTF-8, a stdout that is full or closed. Each is one `error:` line on stderr and a documented exit status
(2 usage, 1 failure), never a traceback, and nothing is changed that should not be."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pytest
from cli_runner import REPO_ROOT, cli, ok, refused

from desktop_app.core.models import Role
from desktop_app.storage.engine import sqlite_url
from desktop_app.storage.store import SqlConversationStore

TOO_BIG = str(2**63)  # one more than SQLite's (and PostgreSQL's BIGINT) largest integer
MUCH_TOO_BIG = "9" * 40
NOT_UTF8 = b"\xff\xfe"


@dataclass(frozen=True)
class Run:
    code: int
    out: bytes
    err: str


def run(
    data_dir: Path,
    *args: str | bytes,
    stdout: int | BinaryIO | None = subprocess.PIPE,
    before: Callable[[], None] | None = None,
) -> Run:
    """`python -m desktop_app --data-dir DIR ARGS`; arguments may be bytes (not UTF-8), stdout anything."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("VOICE_ASSISTANT_")}
    done = subprocess.run(
        [sys.executable, "-m", "desktop_app", "--data-dir", str(data_dir), *args],
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=subprocess.PIPE,
        env=environment,
        cwd=REPO_ROOT,
        timeout=120,
        check=False,
        preexec_fn=before,
    )
    return Run(done.returncode, done.stdout or b"", done.stderr.decode("utf-8"))


def open_store(data_dir: Path) -> SqlConversationStore:
    return SqlConversationStore.open(sqlite_url(data_dir / "assistant.db"))


def messages(data_dir: Path) -> list[tuple[Role, str]]:
    store = open_store(data_dir)
    try:
        found = []
        for summary in store.list_conversations(limit=1000):
            found += [(m.role, m.content) for m in store.get_history(summary.conversation.id)]
        return found
    finally:
        store.close()


@pytest.fixture
def one_conversation(data_dir: Path) -> Path:
    ok(cli("--data-dir", str(data_dir), "ask", "what is two plus two"))
    return data_dir


# -- numbers the database cannot hold ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("history", "show", TOO_BIG),
        ("history", "show", MUCH_TOO_BIG),
        ("history", "delete", TOO_BIG),
        ("history", "export", TOO_BIG),
        ("ask", "--conversation", TOO_BIG, "hello"),
        ("facts", "forget", TOO_BIG),
    ],
)
def test_an_id_above_what_the_database_holds_is_a_usage_error(one_conversation: Path, args: tuple[str, ...]) -> None:
    before = messages(one_conversation)
    line = refused(run(one_conversation, *args), 2, "invalid_argument", mentions="9223372036854775807")
    assert "id" in line
    assert messages(one_conversation) == before


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (("history", "list", "--offset", TOO_BIG), "--offset"),
        (("history", "list", "--offset", MUCH_TOO_BIG * 200), "--offset"),
        (("keys", "add", "work", "--tokens-per-day", TOO_BIG), "--tokens-per-day"),
        (("keys", "add", "work", "--requests-per-minute", TOO_BIG), "--requests-per-minute"),
        (("keys", "limit", "work", "--tokens-per-day", MUCH_TOO_BIG), "--tokens-per-day"),
        (("keys", "limit", "work", "--requests-per-minute", TOO_BIG), "--requests-per-minute"),
    ],
)
def test_a_number_option_above_what_the_database_holds_is_a_usage_error(
    one_conversation: Path, args: tuple[str, ...], option: str
) -> None:
    before = messages(one_conversation)
    line = refused(run(one_conversation, *args), 2, mentions=option)
    assert "9223372036854775807" in line
    assert messages(one_conversation) == before


def test_the_largest_number_the_database_holds_is_accepted(one_conversation: Path) -> None:
    largest = str(2**63 - 1)
    assert run(one_conversation, "history", "list", "--offset", largest).code == 0
    missing = run(one_conversation, "history", "show", largest)
    refused(missing, 1, "unknown_conversation")


# -- arguments that are not valid UTF-8 ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "named"),
    [
        ((b"ask", NOT_UTF8), "TEXT"),
        ((b"ask", b"what is", b"two" + NOT_UTF8), "TEXT"),
        ((b"history", b"search", NOT_UTF8), "QUERY"),
        ((b"keys", b"add", b"k" + NOT_UTF8), "NAME"),
        ((b"keys", b"remove", NOT_UTF8), "NAME"),
        ((b"keys", b"add", b"work", b"--base-url", b"https://" + NOT_UTF8), "--base-url"),
        ((b"history", b"list", b"--database-url", b"sqlite:///" + NOT_UTF8), "--database-url"),
    ],
)
def test_text_that_is_not_utf8_is_refused_naming_the_argument(
    one_conversation: Path, args: tuple[bytes, ...], named: str
) -> None:
    before = messages(one_conversation)
    refused(run(one_conversation, *args), 2, "invalid_argument", mentions=f"argument {named} ")
    assert messages(one_conversation) == before


def test_a_setting_that_is_not_utf8_is_refused_and_the_file_is_unchanged(data_dir: Path) -> None:
    ok(cli("--data-dir", str(data_dir), "settings", "set", "voice.rate", "150"))
    settings_file = data_dir / "config" / "settings.json"
    saved = settings_file.read_bytes()
    refused(run(data_dir, b"settings", b"set", b"llm.model", NOT_UTF8), 2, mentions="argument VALUE ")
    refused(run(data_dir, b"settings", b"set", NOT_UTF8, b"1"), 2, mentions="argument KEY ")
    assert settings_file.read_bytes() == saved
    listed = ok(cli("--data-dir", str(data_dir), "settings", "list", "--json"))
    assert json.loads(listed.out)["voice.rate"] == 150


@pytest.mark.parametrize(
    ("content", "warning"),
    [
        (json.dumps({"version": 1, "llm.model": "\udcff\udcfe", "voice.rate": 150}), "llm.model"),
        ('{"version": 1, "voice.rate": 150', "could not be read"),
        ("[" * 100_000, "could not be read"),
        (b"\xff\xfe{}", "could not be read"),
        ("[1, 2]", "not a JSON object"),
    ],
)
def test_settings_list_survives_a_damaged_settings_file(data_dir: Path, content: str | bytes, warning: str) -> None:
    """A value saved before such values were refused, or a damaged file: a warning, the defaults, exit 0."""
    settings_file = data_dir / "config" / "settings.json"
    settings_file.parent.mkdir()
    settings_file.write_bytes(content if isinstance(content, bytes) else content.encode("ascii"))
    for args in (("settings", "list"), ("settings", "list", "--json")):
        listed = run(data_dir, *args)
        assert listed.code == 0 and "Traceback" not in listed.err, listed
        assert [line for line in listed.err.splitlines() if line.startswith("warning:")], listed.err
        assert warning in listed.err
        text = listed.out.decode("utf-8")
        assert "llm.model" in text and "\\udcff" not in text
    if warning == "llm.model":  # the file's other, good values are still used
        assert json.loads(run(data_dir, "settings", "list", "--json").out)["voice.rate"] == 150
    assert settings_file.read_bytes() == (content if isinstance(content, bytes) else content.encode("ascii"))


def test_an_export_file_name_that_is_not_utf8_is_used_as_given(one_conversation: Path, tmp_path: Path) -> None:
    """File names on Linux are bytes: one that is not UTF-8 is written under exactly that name."""
    target = os.fsencode(tmp_path) + b"/out" + NOT_UTF8 + b".json"
    exported = run(one_conversation, b"history", b"export", b"--out", target)
    assert exported.code == 0 and "Traceback" not in exported.err, exported
    assert os.path.exists(target)
    with open(target, "rb") as written:
        assert json.loads(written.read())
    assert b"\\udcff\\udcfe" in exported.out  # named in the confirmation, with the odd bytes escaped


def test_a_data_folder_that_is_not_utf8_is_used_as_given(tmp_path: Path) -> None:
    folder = os.fsencode(tmp_path) + b"/data" + NOT_UTF8
    environment = {k: v for k, v in os.environ.items() if not k.startswith("VOICE_ASSISTANT_")}
    asked = subprocess.run(
        [sys.executable, "-m", "desktop_app", b"--data-dir", folder, "ask", "what is two plus two"],
        capture_output=True,
        env=environment,
        cwd=REPO_ROOT,
        timeout=120,
        check=False,
    )
    assert asked.returncode == 0 and b"Traceback" not in asked.stderr, asked
    assert os.path.exists(folder + b"/assistant.db")


# -- stdout full or closed -------------------------------------------------------------------------------------


def close_stdout() -> None:
    os.close(1)


@pytest.fixture
def full() -> Iterator[BinaryIO]:
    with open("/dev/full", "wb") as device:  # every Linux has it
        yield device


@pytest.mark.parametrize("args", [("history", "list"), ("history", "list", "--json"), ("settings", "list")])
def test_a_full_stdout_is_one_error_line(one_conversation: Path, full: BinaryIO, args: tuple[str, ...]) -> None:
    result = run(one_conversation, *args, stdout=full)
    refused(result, 1, "output_failed", mentions="No space left on device")


@pytest.mark.parametrize("args", [("history", "list"), ("history", "show", "1"), ("settings", "list")])
def test_a_closed_stdout_is_one_error_line(one_conversation: Path, args: tuple[str, ...]) -> None:
    result = run(one_conversation, *args, stdout=None, before=close_stdout)
    refused(result, 1, "output_failed", mentions="closed")


@pytest.mark.parametrize("json_output", [False, True])
@pytest.mark.parametrize("stdout", ["full", "closed"])
def test_ask_stores_the_answer_when_it_cannot_be_printed(data_dir: Path, stdout: str, json_output: bool) -> None:
    args = ("ask", "what is twelve times seven", *(("--json",) if json_output else ()))
    if stdout == "full":
        with open("/dev/full", "wb") as device:
            result = run(data_dir, *args, stdout=device)
    else:
        result = run(data_dir, *args, stdout=None, before=close_stdout)
    refused(result, 1, "output_failed")
    assert messages(data_dir) == [
        (Role.USER, "what is twelve times seven"),
        (Role.ASSISTANT, "Twelve times seven is 84."),
    ]
