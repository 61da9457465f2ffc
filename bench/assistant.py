"""The assistant's own latency, without speech: how long a skill takes to answer (store reads and writes
included), and how much the language-model route adds on top of the server (context from the store, the
per-key limit check and usage record, the streaming client), against a local OpenAI-compatible server
that answers at once.

    python bench/assistant.py            # human-readable
    python bench/assistant.py --json     # one JSON object
    python bench/assistant.py --rounds 10
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from openai_server import OpenAIServer, Reply
from report import percentile, print_results

from desktop_app.brain import connect_model
from desktop_app.core.brain.assistant import Assistant
from desktop_app.core.brain.language_model import LanguageModel
from desktop_app.core.reply_source import ReplySource
from desktop_app.core.settings import Settings
from desktop_app.storage.engine import sqlite_url
from desktop_app.storage.store import SqlConversationStore

QUESTIONS = (
    "what time is it",
    "what's the date",
    "set a pasta timer for ten minutes",
    "how much time is left on the pasta timer",
    "cancel the pasta timer",
    "remind me to call mum at five pm",
    "what are my reminders",
    "what is twelve times seven",
    "what's 15 percent of 80",
    "convert five miles to kilometers",
    "remember that my sister is called Ana",
    "who is my sister",
    "forget that my sister is called Ana",
    "what did i ask you today",
    "repeat that",
    "what can you do",
)
MODEL_ANSWER = "Rust is a good next step. It is fast and safe. Many people like it."


def _ms(values: list[float], q: float) -> float:
    return round(percentile(values, q) * 1000, 2)


def run(rounds: int, work: Path) -> dict[str, object]:
    store = SqlConversationStore.open(sqlite_url(work / "assistant.db"))
    settings = Settings(None)
    model = LanguageModel(settings, store, store.keys, keys=None, connect=connect_model)
    assistant = Assistant(store, store.alarms, language_model=model)
    conversation = store.create_conversation().id
    skill_times: list[float] = []
    try:
        for _ in range(rounds):
            for question in QUESTIONS:
                store.add_message(conversation, "user", question)
                started = time.perf_counter()
                pieces = list(assistant.reply(question, conversation))
                skill_times.append(time.perf_counter() - started)
                store.add_message(conversation, "assistant", pieces[-1].text, source=pieces[-1].source)
        with OpenAIServer.start(Reply(MODEL_ANSWER)) as server:
            settings.set("llm.base_url", server.base_url)
            settings.set("llm.model", "test-model")
            first_piece: list[float] = []
            whole: list[float] = []
            for index in range(rounds * 4):
                question = f"tell me about programming languages, part {index}"
                store.add_message(conversation, "user", question)
                started = time.perf_counter()
                first = None
                for piece in assistant.reply(question, conversation):
                    if first is None and piece.text:
                        first = time.perf_counter() - started
                whole.append(time.perf_counter() - started)
                first_piece.append(first or 0.0)
                store.add_message(conversation, "assistant", MODEL_ANSWER, source=ReplySource.model("test-model"))
    finally:
        model.close()
        store.close()
    return {
        "skill_questions": len(skill_times),
        "skill_answer_p50_ms": _ms(skill_times, 0.5),
        "skill_answer_p95_ms": _ms(skill_times, 0.95),
        "skill_answer_max_ms": _ms(skill_times, 1.0),
        "model_requests": len(whole),
        "model_first_piece_p50_ms": _ms(first_piece, 0.5),
        "model_first_piece_p95_ms": _ms(first_piece, 0.95),
        "model_whole_answer_p50_ms": _ms(whole, 0.5),
        "model_whole_answer_p95_ms": _ms(whole, 0.95),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--rounds", type=int, default=5, help="times each question is asked (default 5)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="va-assistant-bench-") as tmp:
        results = run(args.rounds, Path(tmp))
    print_results(results, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
