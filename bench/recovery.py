"""What checking and recovering the conversation database costs at start-up.

Builds a store just under the size that is read whole at every start (QUICK_CHECK_MAX_BYTES), then times:
opening it (page check and search-index check included), opening it with a damaged search index (found and
rebuilt), and opening it with one damaged page of messages (set aside, everything readable salvaged).

python bench/recovery.py [--json] [--messages N]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from desktop_app.storage.database import QUICK_CHECK_MAX_BYTES
from desktop_app.storage.engine import sqlite_url
from desktop_app.storage.store import SqlConversationStore

WORDS = [
    "python",
    "bike",
    "timer",
    "remind",
    "weather",
    "music",
    "coffee",
    "garden",
    "meeting",
    "dinner",
    "train",
    "book",
    "paper",
    "river",
    "mountain",
]
PAGE = 4096


def build(path: Path, messages: int) -> None:
    store = SqlConversationStore.open(sqlite_url(path))
    conversation = store.create_conversation("bench")
    store.close()
    rng = random.Random(7)
    connection = sqlite3.connect(path)
    rows = (
        (conversation.id, "user" if n % 2 == 0 else "assistant", " ".join(rng.choices(WORDS, k=25)), "2026-01-01")
        for n in range(messages)
    )
    connection.executemany(
        "INSERT INTO messages (conversation_id, role, content, created_at) VALUES (?, ?, ?, ?)", rows
    )
    connection.execute("UPDATE conversations SET message_count = ?", (messages,))
    connection.commit()
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()


def timed_open(path: Path) -> tuple[float, tuple[str, ...], int]:
    started = time.perf_counter()
    store = SqlConversationStore.open(sqlite_url(path))
    elapsed = time.perf_counter() - started
    try:
        return elapsed, store.notices, store.stats().messages_in_db
    finally:
        store.close()


def damage_search_index(path: Path) -> None:
    connection = sqlite3.connect(path)
    (block,) = connection.execute(
        "SELECT block FROM messages_fts_data WHERE id > 10 AND length(block) < 400 ORDER BY id LIMIT 1"
    ).fetchone()
    connection.close()
    raw = bytearray(path.read_bytes())
    at = raw.index(bytes(block[:24])) + 4
    raw[at : at + 8] = bytes(b ^ 0x5A for b in raw[at : at + 8])
    path.write_bytes(bytes(raw))


def damage_middle_page(path: Path) -> None:
    raw = bytearray(path.read_bytes())
    page = len(raw) // PAGE // 2
    raw[page * PAGE + 16 : (page + 1) * PAGE] = b"\x5a" * (PAGE - 16)
    path.write_bytes(bytes(raw))


def run(messages: int) -> dict[str, object]:
    folder = Path(tempfile.mkdtemp(prefix="bench-recovery-"))
    try:
        pristine = folder / "pristine.db"
        build(pristine, messages)
        size = pristine.stat().st_size
        results: dict[str, object] = {
            "messages": messages,
            "database_mb": round(size / 1e6, 1),
            "read_whole_at_start": size <= QUICK_CHECK_MAX_BYTES,
        }
        for name, damage in (
            ("sound", None),
            ("search_index_damaged", damage_search_index),
            ("page_damaged", damage_middle_page),
        ):
            case = folder / name
            case.mkdir()
            path = case / "assistant.db"
            shutil.copy(pristine, path)
            if damage is not None:
                damage(path)
            seconds, notices, kept = timed_open(path)
            results[f"open_{name}_s"] = round(seconds, 3)
            results[f"open_{name}_messages"] = kept
            results[f"open_{name}_notice"] = notices[0] if notices else None
        return results
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--messages", type=int, default=200_000, help="messages in the store (default 200,000)")
    args = parser.parse_args()
    results = run(args.messages)
    if args.json:
        print(json.dumps(results))
    else:
        for key, value in results.items():
            print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
