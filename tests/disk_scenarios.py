"""Run inside a private mount namespace on a tiny tmpfs (see test_disk_failures.py).

python tests/disk_scenarios.py full MOUNTPOINT OUT_JSON
python tests/disk_scenarios.py readonly-start MOUNTPOINT OUT_JSON
"""

from __future__ import annotations

import json
import shutil
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
            acknowledged.append(store.add_message(conversation.id, "user", f"message {n} " + "z" * 3000).id)
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


if __name__ == "__main__":
    scenario, mountpoint, result_file = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    result = full(mountpoint) if scenario == "full" else readonly_start(mountpoint)
    result_file.write_text(json.dumps(result))
