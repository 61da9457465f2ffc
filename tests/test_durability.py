"""Nothing acknowledged is lost: a writer killed with SIGKILL at random moments keeps every message it
reported as saved, and the database stays sound."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

CHILD = textwrap.dedent(
    """
    import sys
    from desktop_app.storage.engine import sqlite_url
    from desktop_app.storage.store import SqlConversationStore

    store = SqlConversationStore.open(sqlite_url(sys.argv[1]))
    conversation = store.create_conversation()
    print("ready", conversation.id, flush=True)
    n = 0
    while True:
        n += 1
        role = "user" if n % 2 else "assistant"
        # Unique text per child and message: a lost message cannot hide behind an id handed out again.
        text = f"child {sys.argv[2]} message {n} " + "x" * (n % 300)
        message = store.add_message(conversation.id, role, text)
        print(message.id, text, flush=True)
    """
)


def _collect(stream, acknowledged: list[tuple[int, str]], ready: threading.Event) -> None:
    for line in stream:
        if not line.endswith("\n"):
            continue  # cut off by the kill halfway through printing: not a complete acknowledgement
        if line.startswith("ready"):
            ready.set()
        number, _, text = line.rstrip("\n").partition(" ")
        if number.isdigit():
            acknowledged.append((int(number), text))


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_no_acknowledged_message(tmp_path: Path) -> None:
    database = tmp_path / "assistant.db"
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))
    acknowledged: list[tuple[int, str]] = []
    kills = 30
    for kill in range(kills):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(database), str(kill)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert child.stdout is not None
        ready = threading.Event()
        reader = threading.Thread(target=_collect, args=(child.stdout, acknowledged, ready))
        reader.start()
        # Every other child is killed at a random moment after it started writing (in the middle of a stream
        # of commits, however slowly this machine starts Python); the others at a random moment from launch
        # (starting up, migrating, or writing).
        if kill % 2:
            assert ready.wait(30), "the child never became ready"
            time.sleep(rng.uniform(0.02, 0.5))
        else:
            time.sleep(rng.uniform(0.05, 0.9))
        child.send_signal(signal.SIGKILL)
        child.wait()
        reader.join()
        child.stdout.close()

    assert len(acknowledged) > 200, "the child should have had time to save messages"
    connection = sqlite3.connect(database)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        stored = set(connection.execute("SELECT id, content FROM messages"))
        missing = set(acknowledged) - stored
        assert not missing, f"{len(missing)} acknowledged messages lost, e.g. {sorted(missing)[:5]}"
        # The full-text index agrees with the table after all those crashes.
        assert connection.execute("INSERT INTO messages_fts(messages_fts) VALUES ('integrity-check')") is not None
        counted = connection.execute("SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'message'").fetchone()
        assert counted == (len(stored),)
        # AUTOINCREMENT: an id is never handed out twice, even after a crash lost an unacknowledged row.
        ids = [number for number, _ in acknowledged]
        assert len(ids) == len(set(ids))
    finally:
        connection.close()
