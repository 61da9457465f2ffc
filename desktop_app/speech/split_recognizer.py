"""A recogniser whose final transcript is chosen in steps, so the choice can be made in another process.

Both recognisers decode twice: with the assistant's own sentences and with their general model. The command
transcript wins when the assistant understands it (core.ports.Brain.understands), and that judgement
belongs to the app, while decoding may run in a recogniser process (speech.recognizer_process). So ending an
utterance is split: the command transcript first; then either the general decoding is abandoned (the
command is the answer) or its transcript is waited for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from desktop_app.core.ports import Transcript

Understands = Callable[[str], bool]


class SplitRecognizer(Protocol):
    """core.ports.Recognizer, with `finish` in the steps above. Used from one thread at a time."""

    name: str

    def start_utterance(self) -> None: ...

    def feed(self, pcm16: bytes) -> str | None: ...

    def command_transcript(self) -> Transcript:
        """Ends the utterance: what the decoding with the assistant's sentences heard (text "" for nothing
        usable), with its confidence. Then one of `abandon_general` and `general_transcript`, or `cancel`."""
        ...

    def abandon_general(self) -> None:
        """The command wins: the general decoding is not waited for (the answer starts sooner)."""
        ...

    def general_transcript(self) -> Transcript:
        """The general model's transcript (waits for its decoding to end)."""
        ...

    def cancel(self) -> None: ...


def command_wins(text: str, understands: Understands | None) -> bool:
    """An open question forced into the assistant's sentences ("what is the capital of australia" heard as
    "what is the cat the kill all for three") is no command the assistant understands."""
    return bool(text) and (understands is None or understands(text))


def finish(recognizer: SplitRecognizer, understands: Understands | None) -> Transcript:
    """The final transcript, chosen as everywhere: the command when the assistant understands it."""
    command = recognizer.command_transcript()
    if command_wins(command.text, understands):
        recognizer.abandon_general()
        return command
    return recognizer.general_transcript()
