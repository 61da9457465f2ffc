"""Conversation view benchmark: showing a stored conversation of 1,000 messages, and adding a streamed
answer's chunk (one that stays on the bubble's last line, and one that starts a new line).

    python bench/chat_view.py            # aligned lines
    python bench/chat_view.py --json     # one JSON object

Runs on Qt's offscreen platform unless QT_QPA_PLATFORM says otherwise. Each figure is the median of
several rounds. Showing the history includes the list's layout and a paint of the whole view; a chunk
includes the events it causes (the repaint of its bubble, or the list's layout and a repaint when it
started a new line), as the window's event loop would run them.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from report import print_results

from desktop_app.core.models import Message, Role
from desktop_app.core.reply_source import ReplySource

MESSAGES = 1000
ROUNDS = 7
CHUNKS = 200
WORDS = (
    "the", "timer", "is", "set", "for", "ten", "minutes", "and", "weather", "today", "looks", "clear", "with",
    "a", "light", "wind", "from", "west", "remember", "to", "buy", "milk", "bread", "coffee", "before", "shop",
    "closes", "at", "six", "extraordinarily", "considerate",
)  # fmt: skip


def conversation(count: int, seed: int = 1) -> list[Message]:
    """Questions of 3 to 12 words and answers of 5 to 80, a minute apart, over several days."""
    rng = random.Random(seed)
    start = datetime.now(UTC) - timedelta(minutes=count)
    messages = []
    for number in range(count):
        user = number % 2 == 0
        words = rng.randint(3, 12) if user else rng.randint(5, 80)
        messages.append(
            Message(
                id=number + 1,
                conversation_id=1,
                role=Role.USER if user else Role.ASSISTANT,
                content=" ".join(rng.choice(WORDS) for _ in range(words)),
                created_at=start + timedelta(minutes=number),
                source=None if user else "model:llama3.2",
                timings=None if user else {"release_to_first_reply_ms": 400.0, "release_to_done_ms": 1800.0},
            )
        )
    return messages


def timed_ms(action: Callable[[], object], settle: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    settle()
    return (time.perf_counter() - start) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from desktop_app.ui.chat_view import ChatView
    from desktop_app.ui.qt import QApplication

    app = QApplication.instance() or QApplication([])
    view = ChatView()
    view.resize(760, 620)
    view.show()
    app.processEvents()
    messages = conversation(MESSAGES)

    def paint() -> None:
        view.list.viewport().repaint()
        app.processEvents()

    loads = [timed_ms(lambda: view.show_history(messages), paint) for _ in range(ROUNDS)]

    source = ReplySource.model("llama3.2")
    same_line: list[float] = []
    new_line: list[float] = []
    view.begin_answer()
    for _ in range(CHUNKS):
        entry = view.list.chat_model.entry(view.list.chat_model.rowCount() - 1)
        before = view.list.chat_delegate.cached_height(entry)
        took = timed_ms(lambda: view.append_answer(" word", source), app.processEvents)
        (same_line if view.list.chat_delegate.cached_height(entry) == before else new_line).append(took)
    view.finish_answer({"release_to_done_ms": 1000.0})

    results = {
        "messages": MESSAGES,
        "show_history_ms": round(statistics.median(loads), 1),
        "show_history_max_ms": round(max(loads), 1),
        "chunk_same_line_ms": round(statistics.median(same_line), 2),
        "chunk_new_line_ms": round(statistics.median(new_line), 2) if new_line else None,
        "chunks": CHUNKS,
        "chunks_that_started_a_line": len(new_line),
        "at_bottom_after": view.at_bottom,
    }
    view.close()
    print_results(results, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
