"""A big history for the tests and benchmarks that need one: conversations of made-up messages whose words
follow a Zipf law, like natural text (a few very common words, a long tail of rare ones), imported through the
store in batches. 100,000 conversations of 10 messages take about a minute on 2 CPUs."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from desktop_app.core.models import NewConversation, NewMessage, Role
from desktop_app.storage.engine import sqlite_url
from desktop_app.storage.store import SqlConversationStore

SEED = 20261124


def vocabulary(size: int, rng: random.Random) -> list[str]:
    """Pronounceable made-up words: unique, so a query's hit count follows its rank in the Zipf law."""
    onsets = ["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "ch", "sh", "tr", "pl"]
    vowels = ["a", "e", "i", "o", "u", "ai", "ou"]
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(onsets) + rng.choice(vowels) for _ in range(rng.randint(1, 3))))
    return sorted(words, key=lambda w: (len(w), w))


class Corpus:
    """Messages whose words follow a Zipf distribution, like natural text."""

    def __init__(self, rng: random.Random, vocab_size: int = 20_000) -> None:
        self.rng = rng
        self.words = vocabulary(vocab_size, rng)
        weights = [1 / (rank + 1) for rank in range(vocab_size)]
        total = 0.0
        self.cumulative = []
        for weight in weights:
            total += weight
            self.cumulative.append(total)

    def sentence(self) -> str:
        count = self.rng.randint(4, 24)
        return " ".join(self.rng.choices(self.words, cum_weights=self.cumulative, k=count))


def conversations_stream(
    corpus: Corpus, conversations: int, messages_each: int, start: datetime
) -> Iterator[NewConversation]:
    for n in range(conversations):
        begun = start + timedelta(minutes=7 * n)
        messages = tuple(
            NewMessage(
                Role.USER if k % 2 == 0 else Role.ASSISTANT,
                corpus.sentence(),
                begun + timedelta(seconds=5 * k),
            )
            for k in range(messages_each)
        )
        yield NewConversation(f"conversation {n}", messages)


def build_big(path: Path, corpus: Corpus, conversations: int, messages_each: int) -> float:
    store = SqlConversationStore.open(sqlite_url(path))
    try:
        start = time.perf_counter()
        store.import_conversations(
            conversations_stream(corpus, conversations, messages_each, datetime(2024, 1, 1, tzinfo=UTC)),
            batch_size=2_000,
        )
        return time.perf_counter() - start
    finally:
        store.close()


def keystrokes(queries: list[str]) -> list[str]:
    """What the search box holds after each keystroke of typing each query: every start of its last word."""
    typed = []
    for query in queries:
        *first, last = query.split()
        typed += [" ".join([*first, last[:length]]) for length in range(1, len(last) + 1)]
    return typed
