"""A language model's answer is spoken sentence by sentence while it is still streaming: the first
sentence plays through the (virtual) speaker before the server has sent the last word."""

from __future__ import annotations

import time
from pathlib import Path

from assistant_setup import local_model
from openai_server import OpenAIServer, Reply
from test_tts import Listener

from desktop_app.core.brain.assistant import Assistant
from desktop_app.core.events import SpeakingStarted
from desktop_app.core.settings import Settings
from desktop_app.speech.tts import SpeechOutput
from desktop_app.storage.engine import sqlite_url
from desktop_app.storage.store import SqlConversationStore

ANSWER = "Rust is a good next step. It is fast and safe. Many people like it. You could start with the book."


def test_the_first_sentence_is_heard_before_the_answer_has_finished_streaming(pulse_audio, tmp_path: Path) -> None:
    store = SqlConversationStore.open(sqlite_url(tmp_path / "assistant.db"))
    listener = Listener()
    speaker = SpeechOutput(Settings(None), listener)
    with OpenAIServer.start(Reply(ANSWER, token_delay=0.12)) as server:
        model = local_model(store, server.base_url)
        assistant = Assistant(store, store.alarms, language_model=model)
        try:
            assert speaker.wait_ready(20)
            conversation = store.create_conversation().id
            speaker.start_reply()
            for piece in assistant.reply("what should I learn next", conversation):
                speaker.add_text(piece.text)
            streamed_until = time.monotonic()
            speaker.end_reply()
            listener.wait_finished(timeout=60)
            request = server.chat_requests[0].wait_done()
        finally:
            model.close()
            speaker.close()
            store.close()
    first_audio = listener.of(SpeakingStarted)[0]
    # 21 tokens at 0.12 s: the stream takes about 2.5 s; the first sentence is 6 tokens in.
    assert request.tokens_sent == len(ANSWER.split())
    assert first_audio.text == "Rust is a good next step."
    assert first_audio.at < streamed_until - 1.0, (first_audio.at, streamed_until)
