"""The command line, run for real (`python -m desktop_app ...` in a subprocess) against a real SQLite file.

Each subprocess costs about half a second, so commands that do not change the database run side by side
and each test checks several things at once. A few cheap checks call main() in this process.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import sqlite3
import stat
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from cli_runner import Run, cli, ok

from desktop_app import __version__
from desktop_app.__main__ import main
from desktop_app.cli.errors import CommandError
from desktop_app.cli.files import atomic_text_file
from desktop_app.cli.parser import build_parser
from desktop_app.core.errors import ErrorCode, StorageError
from desktop_app.core.models import Conversation, ConversationSummary
from desktop_app.core.reply_source import ReplySource
from desktop_app.storage.engine import sqlite_url
from desktop_app.storage.store import SqlConversationStore

TRICKY = [
    'Quotes "like this", commas, and\nnew lines\r\nof both kinds',
    "=SUM(A1:A3)",
    "Emoji 😀👍🏽 and 東京, café",
    "trailing newline\n",
    "\x1b[31mterminal escape",
]


@dataclass(frozen=True)
class Filled:
    data_dir: Path
    weather: int
    timers: int
    tricky: int
    contents: dict[int, list[str]]  # conversation id -> message texts, oldest first


def cli_many(*commands: Sequence[str]) -> list[Run]:
    """Runs commands side by side (only ones that may run together: reads, exports to distinct files)."""
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 2)) as pool:
        return list(pool.map(lambda command: cli(*command), commands))


def open_store(data_dir: Path) -> SqlConversationStore:
    return SqlConversationStore.open(sqlite_url(data_dir / "assistant.db"))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def filled(data_dir: Path) -> Filled:
    store = open_store(data_dir)
    try:
        weather = store.create_conversation()
        store.add_message(weather.id, "user", "What's the weather in Paris?")
        store.add_message(
            weather.id,
            "assistant",
            "Sunny and 21 degrees.",
            tokens_input=12,
            tokens_output=6,
            timings={"stt": 0.2, "llm": 0.9},
            source=ReplySource.model("ollama"),
        )
        timers = store.create_conversation("Kitchen timers")
        store.add_message(timers.id, "user", "Set a timer for ten minutes")
        store.add_message(timers.id, "assistant", "Timer set for 10 minutes.")
        tricky = store.create_conversation("Tricky text")
        for index, text in enumerate(TRICKY):
            store.add_message(tricky.id, "user" if index % 2 == 0 else "assistant", text)
        contents = {c: [m.content for m in store.get_history(c)] for c in (weather.id, timers.id, tricky.id)}
    finally:
        store.close()
    return Filled(data_dir, weather.id, timers.id, tricky.id, contents)


# -- no database needed ---------------------------------------------------------------------------------------


def test_version_usage_errors_and_bad_ids_touch_nothing(tmp_path: Path) -> None:
    unused = tmp_path / "never-created"
    version, unknown_command, unknown_action, bad_id, bad_limit = cli_many(
        ["--version"],
        ["--data-dir", str(unused), "fly"],
        ["history", "frobnicate", "--data-dir", str(unused)],
        ["history", "show", "abc", "--data-dir", str(unused)],
        ["history", "list", "--limit", "ten", "--data-dir", str(unused)],
    )

    assert ok(version).out == f"voice-assistant {__version__}\n"
    for run in (unknown_command, unknown_action, bad_limit):
        assert run.code == 2, run
        assert "usage:" in run.err and "Traceback" not in run.err
    assert "invalid choice: 'fly'" in unknown_command.err
    assert bad_id.code == 2
    assert bad_id.err == "error: Invalid conversation id 'abc': expected a positive number. [invalid_argument]\n"
    assert bad_id.out == ""
    assert not unused.exists()  # a typo creates no data folder and no database


# -- reading -------------------------------------------------------------------------------------------------


def test_history_list_show_and_search_for_people_and_programs(filled: Filled) -> None:
    d = str(filled.data_dir)
    runs = cli_many(
        ["--data-dir", d, "history", "list"],
        ["history", "list", "--json", "--data-dir", d],
        ["history", "--data-dir", d, "list", "--json", "--limit", "1", "--offset", "1"],
        ["--data-dir", d, "history", "show", str(filled.tricky)],
        ["history", "show", str(filled.weather), "--json", "--data-dir", d],
        ["--data-dir", d, "history", "search", "timer", "ten"],
        ["--data-dir", d, "history", "search", "weather", "--json"],
        ["--data-dir", d, "history", "search", "xylophone"],
        ["--data-dir", d, "history", "show", "999"],
    )
    listing, listing_json, page, show, show_json, search, search_json, no_hits, unknown = runs
    for run in runs[:-1]:
        ok(run)
        assert run.err == ""

    # list: a table for people, newest first ...
    lines = listing.out.splitlines()
    assert lines[0].split() == ["ID", "Updated", "Messages", "Title", "Last", "message"]
    assert [line.split()[0] for line in lines[1:]] == [str(filled.tricky), str(filled.timers), str(filled.weather)]
    assert "Kitchen timers" in listing.out and "Timer set for 10 minutes." in listing.out
    assert "What's the weather in Paris?" in listing.out  # the default title is the first question
    assert "\x1b" not in listing.out  # stored control characters are shown, never sent to the terminal
    # ... and one JSON document for programs, with ISO 8601 UTC times.
    summaries = json.loads(listing_json.out)
    assert [s["id"] for s in summaries] == [filled.tricky, filled.timers, filled.weather]
    timers = summaries[1]
    assert timers["title"] == "Kitchen timers"
    assert timers["message_count"] == 2
    assert timers["preview"] == "Timer set for 10 minutes."
    assert timers["updated_at"].endswith("Z")
    assert datetime.fromisoformat(timers["updated_at"]).utcoffset() is not None
    assert [s["id"] for s in json.loads(page.out)] == [filled.timers]

    # show: every message, in order.
    assert show.out.startswith(f"Conversation {filled.tricky}: Tricky text\n")
    assert "\nYou · " in show.out and "\nAssistant · " in show.out
    assert "    Emoji 😀👍🏽 and 東京, café\n" in show.out
    assert "\\x1b[31mterminal escape" in show.out and "\x1b" not in show.out
    document = json.loads(show_json.out)
    assert document["id"] == filled.weather
    assert document["message_count"] == 2
    assert [m["content"] for m in document["messages"]] == filled.contents[filled.weather]
    answer = document["messages"][1]
    assert answer["role"] == "assistant"
    assert (answer["tokens_input"], answer["tokens_output"], answer["source"]) == (12, 6, "model:ollama")
    assert answer["timings"] == {"stt": 0.2, "llm": 0.9}
    assert answer["created_at"].endswith("Z")

    # search: all words must match; the match is marked.
    assert "Kitchen timers" in search.out and "[timer]" in search.out
    assert "weather" not in search.out.lower()
    hits = json.loads(search_json.out)
    assert [h["conversation_id"] for h in hits] == [filled.weather]
    assert hits[0]["role"] == "user" and "[weather]" in hits[0]["snippet"]
    assert set(hits[0]) == {
        "message_id",
        "conversation_id",
        "conversation_title",
        "role",
        "created_at",
        "snippet",
        "score",
    }
    assert no_hits.out == "Nothing found for 'xylophone'.\n"

    # An unknown conversation: exit 1, one line naming it and its code, nothing on stdout.
    assert unknown.code == 1
    assert unknown.out == ""
    assert unknown.err == "error: There is no conversation 999. [unknown_conversation]\n"


# -- exporting -----------------------------------------------------------------------------------------------


def test_export_all_formats_to_files_and_stdout_round_trip(filled: Filled, tmp_path: Path) -> None:
    d = str(filled.data_dir)
    out = tmp_path / "exports"
    out.mkdir()
    runs = cli_many(
        ["--data-dir", d, "history", "export", "--format", "json", "--out", str(out / "all.json")],
        ["--data-dir", d, "history", "export", "--all", "--format", "csv", "--out", str(out / "all.csv")],
        ["--data-dir", d, "history", "export", str(filled.tricky), "--out", str(out / "tricky.md")],
        ["--data-dir", d, "history", "export", "--format", "csv"],
        ["--data-dir", d, "history", "export", str(filled.weather), "--format", "json"],
        ["--data-dir", d, "history", "export", "--format", "md"],
    )
    for run in runs:
        ok(run)
    to_json, to_csv, to_md, csv_stdout, json_stdout, md_stdout = runs
    assert to_json.out == f"Exported 3 conversations (9 messages) to {out / 'all.json'}.\n"
    assert to_csv.out == f"Exported 3 conversations (9 messages) to {out / 'all.csv'}.\n"
    assert to_md.out == f"Exported 1 conversation (5 messages) to {out / 'tricky.md'}.\n"

    # Only the three files, private to the user; no temporary file left behind.
    assert sorted(p.name for p in out.iterdir()) == ["all.csv", "all.json", "tricky.md"]
    assert {mode(p) for p in out.iterdir()} == {0o600}

    # JSON: every conversation with exactly the stored text.
    document = json.loads((out / "all.json").read_text(encoding="utf-8"))
    assert document["format_version"] == 1
    exported = {c["id"]: [m["content"] for m in c["messages"]] for c in document["conversations"]}
    assert exported == filled.contents
    assert [c["id"] for c in json.loads(json_stdout.out)["conversations"]] == [filled.weather]

    # CSV, from the file and from stdout: one row per message, the text exactly as stored.
    with (out / "all.csv").open(encoding="utf-8", newline="") as handle:
        file_rows = list(csv.DictReader(handle))
    stdout_rows = list(csv.DictReader(io.StringIO(csv_stdout.out, newline="")))
    assert file_rows == stdout_rows
    by_conversation: dict[int, list[str]] = {}
    for row in file_rows:
        by_conversation.setdefault(int(row["conversation_id"]), []).append(row["content"])
    assert by_conversation == filled.contents
    assert "=SUM(A1:A3)" in [row["content"] for row in file_rows]  # a leading = is kept as it is

    # Markdown: the conversation's heading, then each message verbatim.
    markdown = (out / "tricky.md").read_text(encoding="utf-8")
    assert "\n## Tricky text\n" in markdown
    for text in filled.contents[filled.tricky]:
        assert text.replace("\r\n", "\n") in markdown.replace("\r\n", "\n")
    assert "**You** (" in markdown and "**Assistant** (" in markdown
    assert "\n## Kitchen timers\n" in md_stdout.out and "\n## Tricky text\n" in md_stdout.out

    # An existing file is not replaced without --force; with it, it is.
    before = (out / "all.json").read_bytes()
    refused = cli("--data-dir", d, "history", "export", "--format", "csv", "--out", str(out / "all.json"))
    assert refused.code == 1
    assert refused.err == f"error: {out / 'all.json'} already exists; add --force to replace it. [file_exists]\n"
    assert (out / "all.json").read_bytes() == before
    forced = ok(cli("--data-dir", d, "history", "export", "-f", "csv", "-o", str(out / "all.json"), "--force"))
    assert "Exported 3 conversations" in forced.out
    assert (out / "all.json").read_text(encoding="utf-8").startswith("conversation_id,")
    assert mode(out / "all.json") == 0o600

    # Exports are in the audit log: what, how many, where.
    store = open_store(filled.data_dir)
    try:
        exports = [e for e in store.list_audit() if e.action == "conversations_exported"]
    finally:
        store.close()
    assert len(exports) == 7
    details = [e.details or {} for e in exports]
    assert {d_["format"] for d_ in details} == {"json", "csv", "md"}
    assert {"destination": str(out / "tricky.md"), "format": "md", "conversations": 1, "messages": 5} in details
    assert any(d_["destination"] == "stdout" for d_ in details)
    assert {e.target for e in exports} == {None, str(filled.tricky), str(filled.weather)}


def test_export_failures_leave_no_file(filled: Filled, tmp_path: Path) -> None:
    d = str(filled.data_dir)
    unknown, no_folder, no_format = cli_many(
        ["--data-dir", d, "history", "export", "999", "--format", "json", "--out", str(tmp_path / "x.json")],
        ["--data-dir", d, "history", "export", "--out", str(tmp_path / "missing" / "x.json")],
        ["--data-dir", d, "history", "export", "--out", str(tmp_path / "x.txt")],
    )
    assert unknown.code == 1 and "[unknown_conversation]" in unknown.err
    assert no_folder.code == 1 and "does not exist" in no_folder.err and "[invalid_output]" in no_folder.err
    assert no_format.code == 2 and "--format" in no_format.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


# -- deleting ------------------------------------------------------------------------------------------------


def test_delete_one_then_all_only_with_yes(filled: Filled) -> None:
    d = str(filled.data_dir)
    one = ok(cli("--data-dir", d, "history", "delete", str(filled.timers)))
    assert one.out == f"Deleted conversation {filled.timers}.\n"

    unconfirmed = cli("--data-dir", d, "history", "delete", "--all")
    assert unconfirmed.code == 2
    assert "add --yes" in unconfirmed.err and "[confirmation_required]" in unconfirmed.err
    store = open_store(filled.data_dir)
    try:
        remaining = [s.conversation.id for s in store.list_conversations()]
    finally:
        store.close()
    assert remaining == [filled.tricky, filled.weather]

    everything = ok(cli("history", "delete", "--all", "--yes", "--data-dir", d))
    assert everything.out == "Deleted 2 conversations.\n"
    store = open_store(filled.data_dir)
    try:
        assert store.list_conversations() == []
        actions = [(e.action, e.target) for e in store.list_audit()]
    finally:
        store.close()
    assert actions[:2] == [("all_conversations_deleted", None), ("conversation_deleted", str(filled.timers))]


# -- where the data lives ------------------------------------------------------------------------------------


def test_data_dir_from_the_environment_is_created_private(tmp_path: Path) -> None:
    from_env = tmp_path / "from-env" / "nested"
    from_option = tmp_path / "from-option"
    env_run, option_run = (
        cli("history", "list", "--json", env={"VOICE_ASSISTANT_DATA_DIR": str(from_env)}),
        cli("--data-dir", str(from_option), "history", "list", env={"VOICE_ASSISTANT_DATA_DIR": str(from_env)}),
    )
    assert ok(env_run).out == "[]\n"
    assert ok(option_run).out == "No conversations yet.\n"  # --data-dir wins over the environment

    for directory in (from_env, from_option):
        assert mode(directory) == 0o700
        assert mode(directory / "assistant.db") == 0o600
    assert {mode(p) for p in from_env.iterdir() if p.is_dir()} == {0o700}  # config, logs, ... too


def test_database_url_from_the_option_or_the_environment(pg_database_url: str, data_dir: Path) -> None:
    store = SqlConversationStore.open(pg_database_url)
    try:
        conversation = store.create_conversation("On PostgreSQL")
        store.add_message(conversation.id, "user", "Remind me to water the plants")
    finally:
        store.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        by_option = pool.submit(
            cli,
            "--data-dir",
            str(data_dir),
            "--database-url",
            pg_database_url,
            "history",
            "show",
            str(conversation.id),
            "--json",
        )
        by_env = pool.submit(
            cli, "--data-dir", str(data_dir), "history", "search", "plants", "--json",
            env={"VOICE_ASSISTANT_DATABASE_URL": pg_database_url},
        )  # fmt: skip
    shown, found = ok(by_option.result()), ok(by_env.result())

    assert json.loads(shown.out)["title"] == "On PostgreSQL"
    assert [hit["conversation_id"] for hit in json.loads(found.out)] == [conversation.id]
    assert not (data_dir / "assistant.db").exists()


def test_database_from_a_newer_version_is_refused_and_left_unchanged(filled: Filled) -> None:
    database = filled.data_dir / "assistant.db"
    connection = sqlite3.connect(database)
    try:
        with connection:
            connection.execute("UPDATE alembic_version SET version_num='9999'")
    finally:
        connection.close()
    before = sha256(database)

    run = cli("--data-dir", str(filled.data_dir), "history", "list")

    assert run.code == 1
    assert run.out == ""
    assert "newer version" in run.err and run.err.rstrip().endswith("[db_newer_version]")
    assert run.err.count("\n") == 1 and "Traceback" not in run.err
    assert sha256(database) == before


def test_a_damaged_database_is_set_aside_with_a_warning(data_dir: Path) -> None:
    (data_dir / "assistant.db").write_bytes(b"this is not a database" * 100)

    run = ok(cli("--data-dir", str(data_dir), "history", "list"))

    assert run.err.startswith("warning: The conversation database was damaged")
    assert run.out == "No conversations yet.\n"
    assert any(p.name.startswith("assistant.db.corrupt-") for p in data_dir.iterdir())


# -- in-process: parsing, failures of the store, the window, the export file -------------------------------


def test_global_options_work_before_and_after_the_command() -> None:
    parser = build_parser()
    before = parser.parse_args(["--data-dir", "A", "--database-url", "sqlite:///x", "-v", "history", "list"])
    after = parser.parse_args(["history", "list", "--data-dir", "A", "--database-url", "sqlite:///x", "-v"])
    middle = parser.parse_args(["history", "--data-dir", "A", "-v", "list", "--database-url", "sqlite:///x"])
    for args in (before, after, middle):
        assert (args.data_dir, args.database_url, args.verbose) == ("A", "sqlite:///x", True)
    plain = parser.parse_args(["history", "list"])
    assert (plain.data_dir, plain.database_url, plain.verbose) == (None, None, False)
    assert parser.parse_args(["--data-dir", "A", "history", "list", "--data-dir", "B"]).data_dir == "B"


class BrokenStore:
    """Opens, then fails every read as a full disk would; records that it was closed."""

    closed = False
    notices = ("The conversation database was damaged (test). Nothing was deleted.",)

    def list_conversations(self, limit: int = 50, offset: int = 0) -> list[ConversationSummary]:
        raise StorageError(ErrorCode.DISK_FULL, "Could not list the conversations: the disk is full.")

    def get_conversation(self, conversation_id: int) -> Conversation:
        raise AssertionError("not reached")

    def close(self) -> None:
        BrokenStore.closed = True


def test_store_failures_are_one_line_and_the_store_is_closed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import desktop_app.app

    monkeypatch.setattr(desktop_app.app, "open_store", lambda options: BrokenStore())

    assert main(["--data-dir", str(tmp_path), "history", "list"]) == 1

    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "warning: The conversation database was damaged (test). Nothing was deleted.\n"
        "error: Could not list the conversations: the disk is full. [disk_full]\n"
    )
    assert BrokenStore.closed

    def no_folder(options: object) -> None:
        raise PermissionError(13, "Permission denied", "/somewhere/data")

    monkeypatch.setattr(desktop_app.app, "open_store", no_folder)
    assert main(["history", "list"]) == 1
    assert capsys.readouterr().err == (
        "error: Could not prepare the data folder /somewhere/data: Permission denied. Check its permissions, "
        "or choose another one with --data-dir. [data_dir_unavailable]\n"
    )


def test_no_command_starts_the_window_with_the_options(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import desktop_app.app

    started: list[desktop_app.app.AppOptions] = []

    def fake_run_gui(options: desktop_app.app.AppOptions) -> int:
        started.append(options)
        return 0

    monkeypatch.setattr(desktop_app.app, "run_gui", fake_run_gui)
    monkeypatch.setattr(desktop_app.app, "configure_logging", lambda paths, verbose=False: None)

    assert main(["--data-dir", str(tmp_path / "d"), "--database-url", "sqlite:///elsewhere.db"]) == 0
    assert started == [desktop_app.app.AppOptions(str(tmp_path / "d"), "sqlite:///elsewhere.db")]
    assert main(["--minimized", "--data-dir", str(tmp_path / "d")]) == 0
    assert started[-1] == desktop_app.app.AppOptions(str(tmp_path / "d"), None, minimized=True)

    def refuse(options: desktop_app.app.AppOptions) -> int:
        raise StorageError(ErrorCode.DB_NEWER_VERSION, "Written by a newer version.")

    monkeypatch.setattr(desktop_app.app, "run_gui", refuse)
    assert main(["--data-dir", str(tmp_path / "d")]) == 1
    assert capsys.readouterr().err == "error: Written by a newer version. [db_newer_version]\n"


@pytest.fixture
def export_dir(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "out"
    directory.mkdir()
    yield directory
    assert not [p for p in directory.iterdir() if p.name.endswith(".part")], "a temporary file was left"


def test_export_file_appears_whole_or_not_at_all(export_dir: Path) -> None:
    target = export_dir / "export.csv"

    with pytest.raises(RuntimeError), atomic_text_file(target, overwrite=False) as handle:
        handle.write("half")
        assert not target.exists()  # nothing visible while writing
        raise RuntimeError("the store failed half-way")
    assert not target.exists()

    # A file that appears while the export is written is not replaced without overwrite.
    with pytest.raises(CommandError) as refused, atomic_text_file(target, overwrite=False) as handle:
        handle.write("new")
        target.write_text("someone else's", encoding="utf-8")
    assert refused.value.code == "file_exists"
    assert target.read_text(encoding="utf-8") == "someone else's"

    with atomic_text_file(target, overwrite=True) as handle:
        handle.write("a,b\r\nc,d\r\n")
    assert target.read_bytes() == b"a,b\r\nc,d\r\n"  # written as given, no newline translation
    assert mode(target) == 0o600


def test_export_of_everything_pages_through_the_store_once_each(data_dir: Path) -> None:
    from desktop_app.core.export import all_conversations

    store = open_store(data_dir)
    try:
        ids = []
        for n in range(5):
            conversation = store.create_conversation(f"number {n}")
            store.add_message(conversation.id, "user", f"message {n}")
            ids.append(conversation.id)
        exported = []
        for conversation, messages in all_conversations(store, page_size=2):
            exported.append(conversation.id)
            assert messages[0].content == f"message {ids.index(conversation.id)}"
            if len(exported) == 1:
                # A new message moves the oldest conversation to the front while we page: every later
                # page shifts by one, so one pass alone would miss it and see another one twice.
                store.add_message(ids[0], "assistant", "late reply")
            if len(exported) == 2:
                store.delete_conversation(ids[2])  # and a deletion shifts the pages the other way
    finally:
        store.close()
    assert sorted(exported) == sorted(set(ids) - {ids[2]})
    assert exported[:2] == [ids[4], ids[3]]
