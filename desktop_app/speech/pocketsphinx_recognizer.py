"""PocketSphinx: the zero-download English recogniser (its wheel ships the en-us model).

Two decoders listen to the same audio. One is limited to the assistant's command phrases (a JSGF grammar
built from the skills): on synthetic and accented speech it gets commands right where the general
language model gets most words wrong. The other uses the general language model, so speech that is not a
command is still transcribed. A grammar decoder always answers with *some* command, so at the end the
general transcription is the judge: when it backs the command (see core.grammar.agreement) the command
wins, otherwise the general text does. The general decoder runs on its own thread while the user speaks,
so the verdict is ready moments after release.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterable

from pocketsphinx import Decoder

from desktop_app.core.grammar import agreement, jsgf_grammar
from desktop_app.core.ports import Transcript

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
COMMANDS = "commands"
GENERAL = "_default"
# A command is believed when more than half of its content words were also heard freely.
MIN_AGREEMENT = 0.6


class PocketSphinxRecognizer:
    name = "pocketsphinx"

    def __init__(self, command_phrases: Iterable[str]) -> None:
        self._commands = Decoder(samprate=SAMPLE_RATE, loglevel="FATAL")
        self._commands.add_jsgf_string(COMMANDS, jsgf_grammar(command_phrases, self._knows))
        self._commands.activate_search(COMMANDS)
        self._general = Decoder(samprate=SAMPLE_RATE, loglevel="FATAL")
        # Each utterance starts from the model's own cepstral mean. Carried over (PocketSphinx's live
        # default), it drifted with what came before: after a second of digital silence (a muted
        # microphone) or a long non-command sentence, "start a new conversation" was heard as "starts at two
        # toddlers…". The mean still adapts within each utterance.
        self._initial_cmn = (self._commands.get_cmn(), self._general.get_cmn())
        self._general_audio: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._general_done = threading.Event()
        self._general_text = ""
        self._partial = ""
        self._active = False

    def _knows(self, word: str) -> bool:
        return self._commands.lookup_word(word) is not None

    def start_utterance(self) -> None:
        self.cancel()
        self._commands.set_cmn(self._initial_cmn[0])
        self._general.set_cmn(self._initial_cmn[1])
        self._commands.start_utt()
        self._partial = ""
        self._general_text = ""
        self._general_done.clear()
        self._general_audio = queue.SimpleQueue()
        threading.Thread(
            target=self._run_general, args=(self._general_audio,), name="sphinx-general", daemon=True
        ).start()
        self._active = True

    def feed(self, pcm16: bytes) -> str | None:
        if not self._active or not pcm16:
            return None
        self._general_audio.put(pcm16)
        self._commands.process_raw(pcm16, False, False)
        hypothesis = self._commands.hyp()
        text = hypothesis.hypstr if hypothesis is not None else ""
        if text != self._partial:
            self._partial = text
            return text
        return None

    def finish(self) -> Transcript:
        if not self._active:
            return Transcript("", None)
        self._active = False
        self._commands.end_utt()
        hypothesis = self._commands.hyp()
        command = hypothesis.hypstr if hypothesis is not None else ""
        self._general_audio.put(None)
        self._general_done.wait(timeout=10)
        general = self._general_text
        if command and (not general or agreement(command, general) >= MIN_AGREEMENT):
            return Transcript(command, 1.0 if general else None)
        return Transcript(general, None)

    def cancel(self) -> None:
        if self._active:
            self._active = False
            self._commands.end_utt()
            self._general_audio.put(None)
            self._general_done.wait(timeout=10)

    def _run_general(self, audio: queue.SimpleQueue[bytes | None]) -> None:
        decoder = self._general
        try:
            decoder.start_utt()
            while (chunk := audio.get()) is not None:
                decoder.process_raw(chunk, False, False)
            decoder.end_utt()
            hypothesis = decoder.hyp()
            self._general_text = hypothesis.hypstr if hypothesis is not None else ""
        except Exception:
            log.exception("general-language decoding failed")
            self._general_text = ""
        finally:
            self._general_done.set()
