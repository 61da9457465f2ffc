"""Storage benchmark: commit latency against a bare-sqlite3 floor, bulk import, full-text search over a
million messages, and the first page of the history list with 100,000 conversations.

    python bench/storage.py            # human-readable
    python bench/storage.py --json     # one JSON object
    python bench/storage.py --quick    # smaller corpus, for a smoke run (numbers not comparable)
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from report import percentile, print_results

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from big_history import (  # type: ignore[import-not-found, unused-ignore]
    SEED,
    Corpus,
    build_big,
    conversations_stream,
    keystrokes,
)

from desktop_app.core.models import Role
from desktop_app.storage.engine import sqlite_url
from desktop_app.storage.store import SqlConversationStore

ROUNDS = 7
HISTORY_PAGE = 50  # the history browser's page


def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 2)


def store_commit_100(directory: Path) -> float:
    store = SqlConversationStore.open(sqlite_url(directory / "store.db"))
    try:
        conversation = store.create_conversation("benchmark")
        for i in range(20):  # warm the statement caches, as a running app has
            store.add_message(conversation.id, Role.USER, f"warm-up {i}")
        start = time.perf_counter()
        for i in range(100):
            store.add_message(conversation.id, Role.USER if i % 2 else Role.ASSISTANT, f"message {i} about the weather")
        return time.perf_counter() - start
    finally:
        store.close()


def sqlite_floor_commit_100(directory: Path) -> float:
    """The same 100 messages with bare sqlite3 on the same schema and pragmas: the floor for this machine."""
    path = directory / "floor.db"
    SqlConversationStore.open(sqlite_url(path)).close()  # the same schema, FTS triggers included
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA foreign_keys=ON")
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
    connection.execute(
        "INSERT INTO conversations(user_id, title, created_at, updated_at, message_count) VALUES ('local','b',?,?,0)",
        (now, now),
    )

    def add(i: int, text: str) -> None:
        stamp = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
        connection.execute("BEGIN IMMEDIATE")
        connection.execute(
            "UPDATE conversations SET updated_at=?, message_count=message_count+1 WHERE id=1 AND user_id='local'",
            (stamp,),
        )
        connection.execute(
            "INSERT INTO messages(conversation_id, role, content, created_at) VALUES (1, ?, ?, ?)",
            ("user" if i % 2 else "assistant", text, stamp),
        )
        connection.execute("COMMIT")

    try:
        # The same 20 warm-up messages as the store gets, so both runs meet SQLite's automatic WAL
        # checkpoint (every 1,000 pages) at the same point.
        for i in range(20):
            add(1, f"warm-up {i}")
        start = time.perf_counter()
        for i in range(100):
            add(i, f"message {i} about the weather")
        return time.perf_counter() - start
    finally:
        connection.close()


def bulk_100k(directory: Path, corpus: Corpus) -> float:
    """100,000 messages imported through the store (1,000 conversations of 100), committed in batches."""
    store = SqlConversationStore.open(sqlite_url(directory / "bulk.db"))
    try:
        items = list(conversations_stream(corpus, 1_000, 100, datetime(2026, 1, 1, tzinfo=UTC)))
        start = time.perf_counter()
        added = store.import_conversations(items, batch_size=100)
        elapsed = time.perf_counter() - start
        assert added == 100_000, added
        return elapsed
    finally:
        store.close()


def search_queries(corpus: Corpus, rng: random.Random, count: int, skip_commonest: int) -> list[str]:
    """Words as people remember them from what was said: drawn from the corpus's own word frequencies,
    leaving out the `skip_commonest` words (the "the" and "and" of this language). Three in five queries
    have one word, two in five have two words from the same sentence."""
    rank = {word: r for r, word in enumerate(corpus.words)}
    queries: list[str] = []
    while len(queries) < count:
        words = [w for w in dict.fromkeys(corpus.sentence().split()) if rank[w] >= skip_commonest]
        wanted = 1 if len(queries) % 5 < 3 else 2
        if len(words) >= wanted:
            queries.append(" ".join(rng.sample(words, wanted)))
    return queries


def commonest_word_queries(corpus: Corpus, count: int) -> list[str]:
    return corpus.words[:count]


def time_searches(store: SqlConversationStore, queries: list[str]) -> tuple[list[float], list[int]]:
    store.search(queries[0])  # open a connection and warm the page cache, as a running app has
    timings, hits = [], []
    for query in queries:
        start = time.perf_counter()
        found = store.search(query, limit=20)
        timings.append(time.perf_counter() - start)
        hits.append(len(found))
    return timings, hits


def time_pages(store: SqlConversationStore, queries: list[str], prefix: bool = False) -> list[float]:
    """The first page (50, newest first) of each query, as the history browser asks for it."""
    timings = []
    for query in queries:
        start = time.perf_counter()
        store.search_page(query, prefix=prefix, limit=HISTORY_PAGE)
        timings.append(time.perf_counter() - start)
    return timings


def history_search(store: SqlConversationStore, typical: list[str], commonest: list[str]) -> dict[str, object]:
    """The history browser's search: newest first, one page at a time, for each kind of query."""
    store.search_page(typical[0])  # warm, as a running app is
    as_typed = keystrokes(typical)
    typing = time_pages(store, as_typed, prefix=True)
    first_letters = [t for q, t in zip(as_typed, typing, strict=True) if len(q.split()[-1]) == 1]
    return {
        "history_search_p95_ms_1m": p95(time_pages(store, typical)),
        "history_search_commonest_words_p95_ms_1m": p95(time_pages(store, commonest)),
        "history_search_as_you_type_p95_ms_1m": p95(time_pages(store, typical, prefix=True)),
        "history_search_keystrokes_p95_ms_1m": p95(typing),
        "history_search_first_letter_p95_ms_1m": p95(first_letters),
        "history_search_keystrokes": len(as_typed),
    }


def p95(samples: list[float]) -> float:
    return round(percentile(samples, 0.95) * 1000, 2)


def history_page(store: SqlConversationStore) -> tuple[float, float]:
    """(first call on a fresh store, median of repeated calls), in seconds."""
    start = time.perf_counter()
    page = store.list_conversations(limit=50)
    cold = time.perf_counter() - start
    assert len(page) == 50
    warm = []
    for _ in range(20):
        start = time.perf_counter()
        store.list_conversations(limit=50)
        warm.append(time.perf_counter() - start)
    return cold, statistics.median(warm)


def run(quick: bool, keep: Path | None) -> dict[str, object]:
    rng = random.Random(SEED)
    corpus = Corpus(rng)
    results: dict[str, object] = {"machine_cpus": os.cpu_count(), "sqlite_version": sqlite3.sqlite_version}
    with tempfile.TemporaryDirectory(prefix="va-bench-") as tmp:
        work = keep or Path(tmp)
        store_samples, floor_samples = [], []
        for round_ in range(ROUNDS):
            round_dir = work / f"commit-{round_}"
            shutil.rmtree(round_dir, ignore_errors=True)
            round_dir.mkdir(parents=True)
            floor_samples.append(sqlite_floor_commit_100(round_dir))
            store_samples.append(store_commit_100(round_dir))
        results["commit_100_ms"] = median_ms(store_samples)
        results["sqlite_floor_commit_100_ms"] = median_ms(floor_samples)
        ratio = statistics.median(store_samples) / statistics.median(floor_samples)
        results["commit_100_ratio_to_floor"] = round(ratio, 2)
        results["commit_100_rounds"] = ROUNDS

        bulk_dir = work / "bulk"
        shutil.rmtree(bulk_dir, ignore_errors=True)
        bulk_dir.mkdir()
        results["bulk_100k_s"] = round(bulk_100k(bulk_dir, corpus), 2)

        conversations, per = (10_000, 10) if quick else (100_000, 10)
        big = work / "big.db"
        if big.exists():  # --keep with a folder from an earlier run: reuse its large database
            results["build_1m_s"] = None
        else:
            results["build_1m_s"] = round(build_big(big, corpus, conversations, per), 1)
        results["messages_in_search_db"] = conversations * per
        results["conversations_in_history_db"] = conversations

        store = SqlConversationStore.open(sqlite_url(big))
        try:
            cold, warm = history_page(store)
            results["history_page_ms"] = round(cold * 1000, 2)
            results["history_page_warm_ms"] = round(warm * 1000, 2)
            typical = search_queries(corpus, rng, 50, skip_commonest=100)
            timings, hits = time_searches(store, typical)
            results["search_p95_ms_1m"] = p95(timings)
            results["search_p50_ms_1m"] = median_ms(timings)
            results["search_queries"] = len(typical)
            results["search_queries_with_hits"] = sum(1 for h in hits if h)
            # The worst case, beside it: each of the 50 commonest words alone, each in 2 % to 75 % of messages.
            timings, _ = time_searches(store, commonest_word_queries(corpus, 50))
            results["search_commonest_words_p95_ms_1m"] = p95(timings)
            prefix_timings = []
            for query in typical:
                start = time.perf_counter()
                store.search(query, limit=20, prefix=True)
                prefix_timings.append(time.perf_counter() - start)
            results["search_as_you_type_p95_ms_1m"] = p95(prefix_timings)
            results.update(history_search(store, typical, commonest_word_queries(corpus, 50)))
        finally:
            store.close()
        results["database_mb_1m"] = round(big.stat().st_size / 1e6, 1)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quick", action="store_true", help="10x smaller search corpus (smoke run)")
    parser.add_argument(
        "--keep", type=Path, help="build the databases in this folder and keep them (a later run reuses big.db)"
    )
    args = parser.parse_args()
    results = run(args.quick, args.keep)
    print_results(results, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
