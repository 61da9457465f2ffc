"""Run inside a private mount namespace on a tiny tmpfs (see test_disk_failures.py).

python tests/disk_scenarios.py full MOUNTPOINT OUT_JSON
python tests/disk_scenarios.py readonly-start MOUNTPOINT OUT_JSON
python tests/disk_scenarios.py ask-when-full MOUNTPOINT OUT_JSON
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from desktop_app.core.errors import StorageError
from desktop_app.storage.engine import sqlite_url
from desktop_app.storage.store import SqlConversationStore


def full(mount: Path) -> dict[str, object]:
    filler = mount / "filler.bin"
    database = mount / "assistant.db"
    store = SqlConversationStore.open(sqlite_url(database))
    conversation = store.create_conversation()
    filler.write_bytes(b"\0" * 512 * 1024)  # room we can give back later
    acknowledged: list[int] = []
    failure: StorageError | None = None
    for n in range(10_000):
        try:
            # Answers, not questions: a question is refused while there is less than TURN_ROOM_BYTES free,
            # before SQLite itself runs out of room, which is what this scenario is about.
            acknowledged.append(store.add_message(conversation.id, "assistant", f"message {n} " + "z" * 3000).id)
        except StorageError as error:
            failure = error
            break
    assert failure is not None, "the disk never filled"
    health = store.health()
    readable = len(store.get_history(conversation.id))
    searchable = len(store.search("message", limit=5))
    refused_again = None
    try:
        store.add_message(conversation.id, "user", "still full")
    except StorageError as error:
        refused_again = error.code.value
    filler.unlink()  # the user frees some space
    after = store.add_message(conversation.id, "assistant", "space again")
    acknowledged.append(after.id)
    healthy_again = store.health().writable
    store.close()
    out = Path(sys.argv[3]).parent / "copy"
    out.mkdir()
    for file in mount.glob("assistant.db*"):
        shutil.copy2(file, out / file.name)
    return {
        "acknowledged": acknowledged,
        "code": failure.code.value,
        "message": failure.message,
        "health_writable": health.writable,
        "health_code": health.code,
        "readable": readable,
        "searchable": searchable,
        "refused_again": refused_again,
        "healthy_again": healthy_again,
        "copy": str(out / "assistant.db"),
    }


def readonly_start(mount: Path) -> dict[str, object]:
    store = SqlConversationStore.open(sqlite_url(mount / "assistant.db"))
    conversation = store.create_conversation()
    store.add_message(conversation.id, "user", "written before the disk went read-only")
    store.close()
    subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
    try:
        reopened = SqlConversationStore.open(sqlite_url(mount / "assistant.db"))
    except StorageError as error:
        return {"opened": False, "code": error.code.value, "message": error.message}
    try:
        history = [m.content for m in reopened.get_history(conversation.id)]
        try:
            reopened.add_message(conversation.id, "user", "cannot be written")
            code = None
        except StorageError as error:
            code = error.code.value
        return {"opened": True, "history": history, "code": code, "health": reopened.health().code}
    finally:
        reopened.close()


# Free space left before each `ask`: none at all, a few pages (where the question used to be saved and its
# answer refused), and enough for a turn.
ROOM_LEFT = (0, 8 * 1024, *range(64 * 1024, 113 * 1024, 8 * 1024), 2 * 1024 * 1024)


def ask_when_full(mount: Path) -> dict[str, object]:
    """`ask` through the real command line with the disk filled to several levels: each turn is either
    stored whole (question and answer) or not at all, and a refusal says `disk_full`."""
    data = mount / "data"
    first = _ask(data, "what is two plus two")
    runs = []
    for room in ROOM_LEFT:
        filler = mount / "filler.bin"
        _fill_leaving(mount, filler, room)
        done = _ask(data, "what is three plus three")
        filler.unlink()
        connection = sqlite3.connect(data / "assistant.db")
        try:
            roles = [row[0] for row in connection.execute("SELECT role FROM messages ORDER BY id")]
        finally:
            connection.close()
        runs.append(
            {"room": room, "code": done.returncode, "stderr": done.stderr, "stdout": done.stdout, "roles": roles}
        )
    return {"first": first.returncode, "runs": runs}


def _ask(data: Path, question: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "desktop_app", "--data-dir", str(data), "ask", question],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _fill_leaving(mount: Path, filler: Path, room: int) -> None:
    with filler.open("wb") as handle:
        while (free := shutil.disk_usage(mount).free) > room:
            try:
                handle.write(b"\0" * min(free - room, 1 << 20))
                handle.flush()
            except OSError:
                break


if __name__ == "__main__":
    scenario, mountpoint, result_file = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    chosen = {"full": full, "readonly-start": readonly_start, "ask-when-full": ask_when_full}[scenario]
    result_file.write_text(json.dumps(chosen(mountpoint)))
