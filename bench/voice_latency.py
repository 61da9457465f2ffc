"""Voice latency: whole turns through a private PulseAudio with a virtual microphone and speaker.

Each turn: espeak-ng speech is played into the virtual microphone while push-to-talk is held, the key is
released when the speech ends, PocketSphinx recognises it, the clock skill answers, and pyttsx3 speaks the
answer into the virtual speaker. The times come from the turn's own events (core.events), the same ones
the app stores with each answer.

    python bench/voice_latency.py            # human-readable
    python bench/voice_latency.py --json     # one JSON object
    python bench/voice_latency.py --turns 40
    python bench/voice_latency.py --in-process   # the recogniser in this process, as before its own process
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import wave
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from pulse_server import PulseAudioServer
from report import percentile, print_results
from speech_audio import say_to_wav

if TYPE_CHECKING:
    from desktop_app.core.ports import Recognizer

QUESTION = "what time is it"


def percentile_ms(values: list[float], q: float) -> float:
    return round(percentile(values, q), 1)


def load_recogniser(phrases: list[str], work: Path, in_process: bool) -> tuple[Recognizer, Callable[[], None]]:
    """The built-in recogniser as the app loads it (in a recogniser process), or in this process; and what
    closes it."""
    if in_process:
        from desktop_app.speech.pocketsphinx_recognizer import PocketSphinxRecognizer

        return PocketSphinxRecognizer(phrases), lambda: None
    from desktop_app.speech.recognition import Recognition

    recognition = Recognition(work / "models", phrases, lambda _event: None)
    recognition.load_in_background().join(120)
    loaded = recognition.current()
    if loaded is None:
        raise SystemExit("The recogniser did not load.")
    return loaded, recognition.close


def run(turns: int, work: Path, in_process: bool = False) -> dict[str, object]:
    server = PulseAudioServer.start()
    os.environ["PULSE_SERVER"] = server.server
    # Imported after PULSE_SERVER is set: PortAudio scans the devices once, when it is first loaded.
    from desktop_app.audio.capture import MicrophoneCapture
    from desktop_app.cli.transcribe import FEED_BYTES
    from desktop_app.core.audio_format import SPEECH_FORMAT, AudioChunk, AudioFormat
    from desktop_app.core.brain.assistant import Assistant, command_phrases, default_skills
    from desktop_app.core.events import FinalTranscript, TurnFailed, TurnFinished
    from desktop_app.core.pipeline import VoicePipeline
    from desktop_app.core.settings import Settings
    from desktop_app.speech.tts import SpeechOutput
    from desktop_app.speech.tts_cache import TtsCache
    from desktop_app.storage.engine import sqlite_url
    from desktop_app.storage.store import SqlConversationStore

    question = say_to_wav(QUESTION, work / "question.wav")
    with wave.open(str(question)) as handle:
        spoken = AudioFormat(handle.getframerate(), handle.getsampwidth(), handle.getnchannels())
        question_audio = AudioChunk(handle.readframes(handle.getnframes()), spoken)
    if spoken != SPEECH_FORMAT:
        raise SystemExit(f"{question} is {spoken}; the recogniser takes {SPEECH_FORMAT}")
    question_pcm, question_seconds = question_audio.audio, question_audio.duration

    recognizer, close_recognizer = load_recogniser(command_phrases(default_skills()), work, in_process)
    # ASR real-time factor: decoding time over audio time, the recogniser alone, fed as the microphone feeds it.
    decode_times = []
    for _ in range(5):
        started = time.perf_counter()
        recognizer.start_utterance()
        for offset in range(0, len(question_pcm), FEED_BYTES):
            recognizer.feed(question_pcm[offset : offset + FEED_BYTES])
        recognizer.finish()
        decode_times.append(time.perf_counter() - started)

    finished = threading.Event()
    outcome: dict[str, object] = {}

    def on_event(event: object) -> None:
        if isinstance(event, FinalTranscript):
            outcome["text"] = event.text
        elif isinstance(event, TurnFinished):
            outcome["timings"] = event.timings
            finished.set()
        elif isinstance(event, TurnFailed):
            outcome["failed"] = event.message
            finished.set()

    settings = Settings(None)
    speakers: list[SpeechOutput] = []

    def make_speaker(report: Callable[[object], None]) -> SpeechOutput:
        speakers.append(SpeechOutput(settings, report, cache=TtsCache(work / "tts-cache")))
        return speakers[0]

    store = SqlConversationStore.open(sqlite_url(work / "assistant.db"))
    pipeline = VoicePipeline(lambda: recognizer, Assistant(store, store.alarms), make_speaker, store, on_event)
    speaker = speakers[0]
    speaker.wait_ready(30)
    capture = MicrophoneCapture(pipeline.on_audio, pipeline.on_level)
    capture.start()
    time.sleep(0.5)

    results: list[dict[str, float]] = []
    tts_first_audio: list[float] = []
    wrong = 0

    def one_turn(press_delay: float) -> dict[str, object]:
        finished.clear()
        outcome.clear()
        player = threading.Thread(target=server.play, args=(question,))
        if press_delay > 0:  # speech begins before the key is pressed: only the preroll can save it
            player.start()
            time.sleep(press_delay)
            pipeline.press()
        else:
            pipeline.press()
            player.start()
        player.join()
        time.sleep(0.05)  # people let go a moment after the last word
        pipeline.release()
        finished.wait(20)
        time.sleep(0.2)
        return dict(outcome)

    try:
        one_turn(0)  # warm-up: first use of the speaker, the cache and the decoders
        for _ in range(turns):
            result = one_turn(0)
            if result.get("text") != QUESTION or "timings" not in result:
                wrong += 1
                continue
            results.append(result["timings"])  # type: ignore[arg-type]
            reply_timings = speaker.last_reply_timings()
            if reply_timings is not None and reply_timings.first_audio_latency is not None:
                tts_first_audio.append(reply_timings.first_audio_latency * 1000)
        preroll_trials = {}
        for delay_ms in (100, 200, 300, 400):
            heard = [one_turn(delay_ms / 1000).get("text") == QUESTION for _ in range(3)]
            preroll_trials[delay_ms] = all(heard)
    finally:
        capture.stop()
        pipeline.close()
        speaker.close()
        store.close()
        server.stop()
        close_recognizer()

    def values(key: str) -> list[float]:
        return [r[key] for r in results if key in r]

    kept = [delay for delay, ok in sorted(preroll_trials.items()) if ok]
    return {
        "turns": turns,
        "turns_recognised": len(results),
        "turns_wrong_or_failed": wrong,
        "release_to_final_ms_p50": percentile_ms(values("release_to_final_ms"), 0.5),
        "release_to_final_ms_p95": percentile_ms(values("release_to_final_ms"), 0.95),
        "release_to_first_audio_ms_p50": percentile_ms(values("release_to_first_audio_ms"), 0.5),
        "release_to_first_audio_ms_p95": percentile_ms(values("release_to_first_audio_ms"), 0.95),
        "release_to_done_ms_p50": percentile_ms(values("release_to_done_ms"), 0.5),
        "asr_rtf": round(statistics.median(decode_times) / question_seconds, 3),
        "tts_first_audio_ms_p50": percentile_ms(tts_first_audio, 0.5) if tts_first_audio else None,
        "preroll_kept_ms": max(kept) if kept and kept == sorted(preroll_trials)[: len(kept)] else 0,
        "preroll_trials": {str(k): v for k, v in preroll_trials.items()},
        "recogniser": "in this process" if in_process else "in a recogniser process",
        "machine_cpus": os.cpu_count(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--turns", type=int, default=20, help="turns to time (default 20)")
    parser.add_argument("--in-process", action="store_true", help="decode in this process (the old way)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="va-voice-bench-") as tmp:
        results = run(args.turns, Path(tmp), args.in_process)
    print_results(results, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
