"""``ask``: one question to the same brain, memory and store as the window, answered on stdout (and out
loud with --speak). Timers and reminders that ran out while nothing was running are reported first.

Everything printed for people goes through `output`'s escaping: an answer that repeats a remembered fact
holding an escape sequence shows the sequence, it does not drive the terminal (--json keeps the text exact)."""

from __future__ import annotations

import argparse
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from desktop_app.cli import output
from desktop_app.cli.errors import EXIT_FAILURE, EXIT_OK
from desktop_app.core.brain.alarm_watch import Announcement
from desktop_app.core.ports import CollectedReply, ConversationStore, ReplyAction, ReplyPiece, Speaker
from desktop_app.core.settings import Settings
from desktop_app.core.turn_runner import TurnRunner, TurnTimings
from desktop_app.core.validation import clean_content, parse_id
from desktop_app.paths import AppPaths
from desktop_app.storage.store import SqlConversationStore
from desktop_app.system_libraries import ESPEAK_NG, PORTAUDIO, require

# Without --conversation or --new, a question continues the latest conversation if it was active this
# recently (so a few questions in a row read as one conversation), and starts a new one otherwise.
CONTINUE_WITHIN = timedelta(hours=1)
# The answer's time, from the question to the end of the answer, as kept with it and shown by --json.
ANSWER_MS = "answer_ms"


def prepare_ask(args: argparse.Namespace) -> Any:
    question = clean_content(" ".join(args.text))
    wanted = parse_id(args.conversation) if args.conversation is not None else None
    start_new: bool = args.new
    speak: bool = args.speak
    as_json: bool = args.json
    data_dir: str | None = args.data_dir

    def action(store: SqlConversationStore, out: TextIO) -> int:
        from desktop_app.brain import build_brain

        if speak:  # before the question is asked: nothing is kept when it cannot be answered as asked
            require([PORTAUDIO, ESPEAK_NG], "say the answer out loud (ask without --speak for text only)")

        paths = AppPaths.resolve(data_dir)
        settings = Settings(paths.settings_file)
        announced: list[Announcement] = []
        conversation_id = _conversation(store, wanted, start_new)
        brain = build_brain(settings, store, announced.append)
        runner = TurnRunner(brain.assistant, store, conversation_id=conversation_id)
        speaker = _speaker(settings, paths) if speak else None
        printer = _Printer(out)
        try:
            brain.alarm_watch.missed_since_last_run()
            for item in announced:  # kept in this conversation, and shown even when they could not be kept
                runner.announce(item.text, item.source)
                if not as_json:
                    printer.write(f"{output.terminal_text(item.text)}\n")
            outcome = runner.run(question, _Terminal(printer, speaker, stream=not as_json))
            if outcome.reply.action is ReplyAction.NEW_CONVERSATION:
                runner.conversation()  # made now, so the next `ask` continues the new one
            if speaker is not None:
                speaker.finish()
        finally:
            brain.close()
            if speaker is not None:
                speaker.close()
        printer.raise_failure()  # the answer is stored; now say that it could not be shown
        answer = outcome.reply
        if as_json:
            output.print_json(
                {
                    "conversation_id": outcome.conversation_id,
                    "question": question,
                    "answer": answer.text,
                    "source": None if answer.source is None else answer.source.stored,
                    "tokens_input": answer.tokens_input,
                    "tokens_output": answer.tokens_output,
                    "elapsed_ms": outcome.timings[ANSWER_MS],
                    "announcements": [
                        {"text": a.text, "source": a.source.stored, "missed": a.missed} for a in announced
                    ],
                },
                out,
            )
        if outcome.failure is not None:
            print(f"error: {output.one_line(answer.text)} [{outcome.failure.value}]", file=sys.stderr)
            return EXIT_FAILURE
        return EXIT_OK

    return action


def _conversation(store: ConversationStore, wanted: int | None, start_new: bool) -> int:
    if wanted is not None:
        return store.get_conversation(wanted).id  # NotFoundError names the missing one
    if not start_new:
        latest = store.list_conversations(limit=1)
        if latest and datetime.now(UTC) - latest[0].conversation.updated_at <= CONTINUE_WITHIN:
            return latest[0].conversation.id
    return store.create_conversation().id


class _Printer:
    """Writes the answer as it comes. When stdout fails (full, closed, a reader gone), the failure is kept and
    writing stops, but the question is still answered and the answer stored; `raise_failure` then reports it."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._failure: Exception | None = None

    def write(self, text: str) -> None:
        if self._failure is not None:
            return
        try:
            self._out.write(text)
            self._out.flush()
        except (output.OutputFailed, BrokenPipeError) as error:
            self._failure = error

    def raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure


class _Terminal:
    """The turn as `ask` shows it (core.turn_runner.TurnFront): with `stream`, printed as it comes (a model's
    words appear as they arrive), and said with --speak. Nothing stops it part-way."""

    def __init__(self, out: _Printer, speaker: _CliSpeaker | None, *, stream: bool) -> None:
        self._out = out
        self._speaker = speaker
        self._stream = stream
        self._started = time.perf_counter()

    def thinking(self) -> bool:
        if self._speaker is not None:
            self._speaker.speaker.start_reply()
        return True

    def show(self, piece: ReplyPiece) -> bool:
        if piece.text and self._stream:
            self._out.write(output.terminal_text(piece.text))
        if piece.to_say and self._speaker is not None:
            self._speaker.speaker.add_text(piece.to_say)
        return True

    def answered(self, reply: CollectedReply) -> None:
        if self._stream:
            self._out.write("\n")
        if self._speaker is not None:
            self._speaker.speaker.end_reply()

    def timings(self, stopped: bool) -> TurnTimings:
        return TurnTimings({}, ANSWER_MS, round((time.perf_counter() - self._started) * 1000, 1))


class _CliSpeaker:
    """The window's speech output, waited on until the answer has been said."""

    def __init__(self, speaker: Speaker, done: threading.Event, failure: list[str]) -> None:
        self.speaker = speaker
        self._done = done
        self._failure = failure

    def finish(self, timeout: float = 120.0) -> None:
        if not self._done.wait(timeout):
            print("warning: the answer was still being spoken; stopped it", file=sys.stderr)
        for message in self._failure:
            print(f"warning: {output.one_line(message)}", file=sys.stderr)

    def close(self) -> None:
        self.speaker.close()


def _speaker(settings: Settings, paths: AppPaths) -> _CliSpeaker:
    from desktop_app.core.events import SpeakingFinished, TurnFailed
    from desktop_app.speech.tts import SpeechOutput
    from desktop_app.speech.tts_cache import TtsCache

    done = threading.Event()
    failure: list[str] = []

    def on_event(event: object) -> None:
        if isinstance(event, SpeakingFinished):
            done.set()
        elif isinstance(event, TurnFailed):
            failure.append(event.message)
            done.set()

    speaker = SpeechOutput(settings, on_event, cache=TtsCache(paths.cache_dir / "speech"))
    return _CliSpeaker(speaker, done, failure)
