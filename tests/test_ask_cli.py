"""`voice-assistant ask`: the same brain, memory and store as the window, one process per question."""

from __future__ import annotations

import json
import socket
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cli_runner import cli, ok
from openai_server import OpenAIServer, Reply
from test_playback import Recording, sound_segments

from desktop_app.core.models import AlarmKind, Role
from desktop_app.storage.engine import sqlite_url
from desktop_app.storage.store import SqlConversationStore


def ask(data_dir: Path, *words: str) -> dict:
    run = ok(cli("--data-dir", str(data_dir), "ask", *words, "--json"))
    return json.loads(run.out)


def test_memory_works_across_separate_processes(data_dir: Path) -> None:
    told = ok(cli("--data-dir", str(data_dir), "ask", "Remember this: I like Python"))
    assert told.out == "Okay, I'll remember that. You like Python.\n"
    asked = ok(cli("--data-dir", str(data_dir), "ask", "What do I like?"))
    assert "Python" in asked.out
    assert asked.out == "You like Python.\n"


def test_json_answer_is_stored_with_its_source_and_continues_the_conversation(data_dir: Path) -> None:
    first = ask(data_dir, "what is twelve times seven")
    assert first["answer"] == "Twelve times seven is 84."
    assert first["source"] == "skill:calculator"
    assert first["announcements"] == [] and first["elapsed_ms"] >= 0
    second = ask(data_dir, "say that again")  # a new process continues the conversation it just had
    assert second["conversation_id"] == first["conversation_id"]
    assert second["answer"] == "Twelve times seven is 84."
    third = ask(data_dir, "what time is it", "--new")
    assert third["conversation_id"] != first["conversation_id"]
    again = ask(data_dir, "what day is it", "--conversation", str(first["conversation_id"]))
    assert again["conversation_id"] == first["conversation_id"]
    store = SqlConversationStore.open(sqlite_url(data_dir / "assistant.db"))
    try:
        history = store.get_history(first["conversation_id"])
        assert [(m.role, m.source) for m in history] == [
            (Role.USER, None),
            (Role.ASSISTANT, "skill:calculator"),
            (Role.USER, None),
            (Role.ASSISTANT, "skill:control"),
            (Role.USER, None),
            (Role.ASSISTANT, "skill:clock"),
        ]
        assert history[1].timings is not None and "answer_ms" in history[1].timings
    finally:
        store.close()


def test_a_timer_that_ran_out_between_runs_is_announced_once(data_dir: Path) -> None:
    ask(data_dir, "set a pasta timer for ten minutes")
    store = SqlConversationStore.open(sqlite_url(data_dir / "assistant.db"))
    try:
        timer = store.alarms.pending(AlarmKind.TIMER)[0]
    finally:
        store.close()
    # The ten minutes pass while nothing runs: the timer's due time is moved into the past, in the database
    # file itself (kept as UTC without a zone, as SQLite's own adapter writes it).
    due = str((datetime.now(UTC) - timedelta(minutes=1)).replace(tzinfo=None))
    with closing(sqlite3.connect(data_dir / "assistant.db")) as connection, connection:
        connection.execute("UPDATE alarms SET due_at = ? WHERE id = ?", (due, timer.id))
    run = ok(cli("--data-dir", str(data_dir), "ask", "what time is it"))
    lines = run.out.splitlines()
    assert lines[0].startswith("While I was closed, the pasta timer ran out at ")
    assert lines[1].startswith("It is ")
    assert ask(data_dir, "what time is it")["announcements"] == []


def test_bad_input_is_refused_with_a_code(data_dir: Path) -> None:
    empty = cli("--data-dir", str(data_dir), "ask", "   ")
    assert empty.code == 2 and "[empty_content]" in empty.err
    assert not (data_dir / "assistant.db").exists()  # refused before anything was opened
    unknown = cli("--data-dir", str(data_dir), "ask", "hello", "--conversation", "999")
    assert unknown.code == 1 and "[unknown_conversation]" in unknown.err
    both = cli("--data-dir", str(data_dir), "ask", "hello", "--conversation", "1", "--new")
    assert both.code == 2 and "not allowed with" in both.err


def test_a_configured_model_answers_in_a_separate_process_with_the_remembered_facts(data_dir: Path) -> None:
    with OpenAIServer.start(Reply("Since you like Python, try Rust next.")) as server:
        for key, value in (("llm.base_url", server.base_url), ("llm.model", "test-model")):
            ok(cli("--data-dir", str(data_dir), "settings", "set", key, value))
        ok(cli("--data-dir", str(data_dir), "ask", "Remember this: I like Python"))
        answer = ask(data_dir, "which language should I learn next")
        assert answer["answer"] == "Since you like Python, try Rust next."
        assert answer["source"] == "model:test-model"
        assert answer["tokens_input"] > 0 and answer["tokens_output"] == 7
        system = server.chat_requests[0].messages[0]["content"]
        assert "I like Python" in system
        ok(cli("--data-dir", str(data_dir), "settings", "set", "network.offline", "true"))
        offline = ask(data_dir, "which language should I learn next")
        assert offline["answer"].startswith("Offline mode is on")
        assert len(server.chat_requests) == 1
    store = SqlConversationStore.open(sqlite_url(data_dir / "assistant.db"))
    try:
        answered = [m for m in store.get_history(answer["conversation_id"]) if m.source == "model:test-model"]
        assert [(m.tokens_input, m.tokens_output) for m in answered] == [
            (answer["tokens_input"], answer["tokens_output"])
        ]
    finally:
        store.close()


def test_offline_mode_also_stops_model_downloads_before_any_connection(data_dir: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/model-list.json"
        ok(cli("--data-dir", str(data_dir), "settings", "set", "network.offline", "true"))
        refresh = cli("--data-dir", str(data_dir), "models", "refresh", "--catalog-url", url)
        download = cli("--data-dir", str(data_dir), "models", "download", "vosk-model-small-en-us-0.15")
        for run in (refresh, download):
            assert run.code == 1 and "[offline_mode]" in run.err, run
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody connected


def test_speak_says_the_answer_on_the_speaker(data_dir: Path, pulse_audio, tmp_path: Path) -> None:
    recording = Recording(pulse_audio, tmp_path / "speaker.wav")
    run = ok(cli("--data-dir", str(data_dir), "ask", "what is twelve times seven", "--speak", env=pulse_audio.env()))
    samples, rate = recording.finish()
    assert run.out == "Twelve times seven is 84.\n"
    segments = sound_segments(samples, rate, join=0.3)
    assert segments, "nothing was heard on the speaker"
    spoken = sum(end - start for start, end in segments)
    assert 1.0 < spoken < 5.0, segments  # one short sentence, said once, to the end


@pytest.mark.parametrize("reachable", [False, True], ids=["model-unreachable", "no-model"])
def test_the_fallback_is_shown_in_full_and_said_in_one_short_sentence(
    data_dir: Path, pulse_audio, tmp_path: Path, reachable: bool
) -> None:
    """The offline answer lists every skill in the window (and here, on standard output), but the speaker
    says one sentence and a hint, once, also after "the server cannot be reached"."""
    if not reachable:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        ok(cli("--data-dir", str(data_dir), "settings", "set", "llm.base_url", f"http://127.0.0.1:{port}/v1"))
        ok(cli("--data-dir", str(data_dir), "settings", "set", "llm.model", "test-model"))
    recording = Recording(pulse_audio, tmp_path / "speaker.wav")
    run = cli("--data-dir", str(data_dir), "ask", "tell me a joke", "--speak", env=pulse_audio.env())
    samples, rate = recording.finish()
    assert "I can tell the time and the date" in run.out and "add a language model" in run.out
    if not reachable:
        assert "cannot be reached" in run.out
    segments = sound_segments(samples, rate, join=0.3)
    assert segments, "nothing was heard on the speaker"
    spoken = sum(end - start for start, end in segments)
    # The whole paragraph takes over 20 seconds to say; one sentence and a hint well under ten.
    assert 1.5 < spoken < 9.0, segments
