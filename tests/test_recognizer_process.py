"""Recognition in its own process (speech.recognizer_process): the app's interpreter lock stays free while a
model loads and decodes, transcripts are the ones the recogniser gives in-process, a process that crashes,
is killed or stops answering fails its turn with its own error code and is started again for the next
turn, and neither closing nor killing the app leaves a recogniser process behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest
from child_processes import children, ended, recognisers
from speech_audio import korean_model_source, pcm_of, say_to_wav
from turn_events import TurnEvents

from desktop_app.core.audio_format import SPEECH_CHUNK_SECONDS, SPEECH_FORMAT
from desktop_app.core.brain.assistant import Assistant, command_phrases, default_skills, understood
from desktop_app.core.errors import AppError, ErrorCode
from desktop_app.core.events import FinalTranscript, Notice, TurnFailed, TurnFinished
from desktop_app.core.pipeline import VoicePipeline
from desktop_app.speech import recognizer_process
from desktop_app.speech.pocketsphinx_recognizer import PocketSphinxRecognizer
from desktop_app.speech.recognition import Recognition
from desktop_app.speech.recognizer_process import RecognizerProcess
from desktop_app.speech.recognizer_protocol import RecogniserSpec
from desktop_app.speech.vosk_recognizer import VoskRecognizer, load_model
from desktop_app.storage.engine import sqlite_url
from desktop_app.storage.store import SqlConversationStore

CHUNK = SPEECH_FORMAT.bytes_for(SPEECH_CHUNK_SECONDS)  # what the microphone hands on
SKILLS = default_skills()
PHRASES = command_phrases(SKILLS)
UNDERSTANDS = partial(understood, SKILLS)
# A structural bound, not a speed target: loading in the app's own process stalled it for 300-700 ms.
GIL_BOUND_S = 0.05


class LockWatch:
    """A thread that sleeps 5 ms at a time: how late it wakes is how long this process's interpreter lock
    was held by something else (or the machine did not run it)."""

    def __init__(self) -> None:
        self.longest_s = 0.0
        self.longest_at = 0.0  # when it began, on time.monotonic's clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="lock-watch", daemon=True)

    def __enter__(self) -> LockWatch:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        last = time.monotonic()
        while not self._stop.is_set():
            time.sleep(0.005)
            now = time.monotonic()
            if now - last - 0.005 > self.longest_s:
                self.longest_s, self.longest_at = now - last - 0.005, last
            last = now


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("speech")
    sentences = ("what time is it", "set a timer for five minutes", "what is the capital of australia")
    return {text: pcm_of(say_to_wav(text, folder / f"{index}.wav")) for index, text in enumerate(sentences)}


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture
def recognition(tmp_path: Path, cache_dir: Path) -> Iterator[Recognition]:
    made = Recognition(tmp_path / "models", PHRASES, lambda _event: None, understands=UNDERSTANDS, cache_dir=cache_dir)
    made.load_in_background().join(120)
    yield made
    made.close()


def _process(recognition: Recognition) -> RecognizerProcess:
    current = recognition.current()
    assert isinstance(current, RecognizerProcess)
    return current


def _heard(
    recognizer: PocketSphinxRecognizer | VoskRecognizer | RecognizerProcess, pcm: bytes, pace_s: float = 0.0
) -> tuple[str, int]:
    """The transcript of `pcm` fed in microphone-sized chunks (every `pace_s`), and how many partials came."""
    recognizer.start_utterance()
    partials = 0
    started = time.perf_counter()
    for index, offset in enumerate(range(0, len(pcm), CHUNK)):
        partials += recognizer.feed(pcm[offset : offset + CHUNK]) is not None
        if pace_s:
            time.sleep(max(0.0, started + (index + 1) * pace_s - time.perf_counter()))
    return recognizer.finish().text, partials


def _token_distance(a: list[str], b: list[str]) -> int:
    """How many tokens must be changed, added or removed to turn `a` into `b` (a syllable differing at its
    end counts as one)."""
    previous = list(range(len(b) + 1))
    for i, token in enumerate(a, 1):
        current = [i]
        for j, other in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (token != other)))
        previous = current
    return previous[-1]


def _wait_until(condition: Callable[[], bool], bound_s: float) -> bool:
    deadline = time.monotonic() + bound_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_loading_and_recognising_never_hold_the_apps_interpreter_lock(tmp_path: Path, speech: dict[str, bytes]) -> None:
    events: list[object] = []
    # No cache: the command language model is built too, about a second of Python in the process.
    recognition = Recognition(tmp_path / "models", PHRASES, events.append, understands=UNDERSTANDS)
    try:
        with LockWatch() as watch:
            started = time.monotonic()
            recognition.load_in_background().join(120)
            loaded = time.monotonic()
            recognizer = _process(recognition)
            heard = [_heard(recognizer, pcm, SPEECH_CHUNK_SECONDS)[0] for pcm in speech.values()]
        assert [e.code for e in events if isinstance(e, Notice)] == ["speech_model_loading", "speech_model_ready"]
        assert heard[0] == "what time is it" and all(heard)
        assert watch.longest_s < GIL_BOUND_S, (
            f"this process was held up for {watch.longest_s * 1000:.0f} ms, {watch.longest_at - started:.3f} s "
            f"after loading began (loaded after {loaded - started:.3f} s)"
        )
    finally:
        recognition.close()


@pytest.mark.parametrize("command_wins", [True, False], ids=["command", "general"])
def test_transcripts_and_partials_are_the_in_process_recognisers(
    speech: dict[str, bytes], cache_dir: Path, command_wins: bool
) -> None:
    """Either the command decoding's transcript always wins or the general model's always does: the general
    decoder, when the command wins, is abandoned part of the way through (its noise estimate then depends on
    how far it got, in this process too), so mixing the two would compare timing, not recognition."""
    understands = (lambda _text: True) if command_wins else (lambda _text: False)
    in_process = PocketSphinxRecognizer(PHRASES, understands)
    recognizer = RecognizerProcess.start(RecogniserSpec("pocketsphinx", None, tuple(PHRASES), cache_dir), understands)
    try:
        assert recognizer.name == "pocketsphinx" and recognizer.pid != os.getpid()
        for said, pcm in speech.items():  # the same utterances in the same order: the voice's mean carries over
            expected, _ = _heard(in_process, pcm)
            heard, partials = _heard(recognizer, pcm, SPEECH_CHUNK_SECONDS)
            assert heard == expected, f"{said!r} was heard as {heard!r} in its process, {expected!r} in this one"
            assert partials > 0  # the words appear while they are said
    finally:
        recognizer.close()


def test_vosk_in_its_process_hears_what_it_hears_in_this_one(tmp_path: Path) -> None:
    """The small Korean model, with a grammar of sentences (as an English model has the assistant's): the
    command wins when it is understood, the model's own transcript otherwise, in either process."""
    sentences = ("오늘 날씨 어때", "음악 틀어 줘", "불 꺼 줘")
    speech = []
    for index, sentence in enumerate(sentences[:2]):
        raw, wav = tmp_path / f"{index}.raw.wav", tmp_path / f"{index}.wav"
        subprocess.run(["espeak-ng", "-v", "ko", "-s", "150", "-w", str(raw), sentence], check=True)
        subprocess.run(
            ["sox", "-q", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(wav), "pad", "0.3", "0.3"], check=True
        )
        speech.append(pcm_of(wav))
    spec = RecogniserSpec("vosk", korean_model_source(), sentences, None)
    model = load_model(korean_model_source())
    for understands, exact in ((sentences.__contains__, True), (lambda _text: False, False)):
        in_process = VoskRecognizer(model, sentences, understands)
        recognizer = RecognizerProcess.start(spec, understands)
        try:
            assert recognizer.name == "vosk"
            for pcm in speech:
                there, here = _heard(recognizer, pcm, SPEECH_CHUNK_SECONDS)[0], _heard(in_process, pcm)[0]
                if exact:  # the command, from the grammar: the same words
                    assert there == here
                else:
                    # The general model's own transcript: the same but for at most one syllable. On a loaded
                    # machine the two processes' float arithmetic once tipped a borderline last syllable
                    # ("대요" / "대") of this synthetic speech one way and the other way.
                    assert there and _token_distance(there.split(), here.split()) <= 1, (there, here)
        finally:
            recognizer.close()
    assert _heard(VoskRecognizer(model, sentences, sentences.__contains__), speech[0])[0] == sentences[0]


def test_a_recogniser_killed_mid_turn_fails_that_turn_and_the_next_turn_is_heard(
    recognition: Recognition, speech: dict[str, bytes], tmp_path: Path
) -> None:
    store = SqlConversationStore.open(sqlite_url(tmp_path / "assistant.db"))
    events = TurnEvents()
    pipeline = VoicePipeline(recognition.current, Assistant(store, store.alarms), None, store, events)
    question = speech["what time is it"]
    try:
        killed = _process(recognition).pid
        assert killed is not None
        pipeline.press()
        for offset in range(0, len(question) // 2, CHUNK):
            pipeline.on_audio(question[offset : offset + CHUNK])
        os.kill(killed, signal.SIGKILL)
        for offset in range(len(question) // 2, len(question), CHUNK):
            pipeline.on_audio(question[offset : offset + CHUNK])
            time.sleep(0.002)
        pipeline.release()
        assert events.done.wait(30)
        (failed,) = events.of(TurnFailed)
        assert failed.code == ErrorCode.SPEECH_RECOGNISER_CRASHED
        assert "say it again" in failed.message
        assert not events.of(FinalTranscript)

        events.events.clear()
        events.done.clear()
        pipeline.press()
        for offset in range(0, len(question), CHUNK):
            pipeline.on_audio(question[offset : offset + CHUNK])
        pipeline.release()
        assert events.done.wait(60)
        assert [f.text for f in events.of(FinalTranscript)] == ["what time is it"]
        assert events.of(TurnFinished), events.of(TurnFailed)
        restarted = _process(recognition).pid
        assert restarted not in (None, killed) and ended(killed)
        conversation = pipeline.conversation_id
        assert conversation is not None
        history = store.get_history(conversation)  # only the turn that was heard
        assert [m.role for m in history] == ["user", "assistant"] and history[0].content == "what time is it"
    finally:
        pipeline.close()
        store.close()


def test_a_recogniser_that_stops_answering_is_ended_within_its_bound(
    recognition: Recognition, speech: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recognizer_process, "REPLY_BOUND_S", 1.0)
    recognizer = _process(recognition)
    stuck = recognizer.pid
    assert stuck is not None
    recognizer.start_utterance()
    recognizer.feed(speech["what time is it"])
    os.kill(stuck, signal.SIGSTOP)
    started = time.monotonic()
    with pytest.raises(AppError) as caught:
        recognizer.finish()
    assert caught.value.code is ErrorCode.SPEECH_RECOGNISER_TIMED_OUT
    assert time.monotonic() - started < 5
    assert _heard(recognizer, speech["what time is it"])[0] == "what time is it"  # a new process
    assert recognizer.pid != stuck and _wait_until(lambda: ended(stuck), 10)


def test_a_recogniser_that_ended_between_turns_is_started_again_for_the_next(
    recognition: Recognition, speech: dict[str, bytes]
) -> None:
    recognizer = _process(recognition)
    first = recognizer.pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    assert _wait_until(lambda: ended(first), 10)
    assert _heard(recognizer, speech["what time is it"])[0] == "what time is it"
    assert recognizer.pid not in (None, first)


def test_a_model_switch_loads_in_a_new_process_and_closing_leaves_none(tmp_path: Path, cache_dir: Path) -> None:
    events: list[object] = []
    recognition = Recognition(tmp_path / "models", PHRASES, events.append, cache_dir=cache_dir)
    recognition.load_in_background().join(120)
    first = _process(recognition)
    recognition.load_in_background(engine="pocketsphinx").join(120)  # as a settings change does
    second = _process(recognition)
    assert second is not first and second.pid != first.pid
    assert _wait_until(lambda: first.closed and recognisers() == [second.pid], 10), children()
    started = time.monotonic()
    recognition.close()
    assert time.monotonic() - started < recognizer_process.STOP_BOUND_S
    assert recognisers() == [] and recognition.current() is None
    notices = [e.code for e in events if isinstance(e, Notice)]
    assert notices == ["speech_model_loading", "speech_model_ready"] * 2


def test_closing_while_a_model_loads_ends_at_once_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))  # where the process puts the model's scratch folder
    events: list[object] = []
    recognition = Recognition(tmp_path / "models", PHRASES, events.append)  # no cache: a longer load
    loading = recognition.load_in_background()
    assert _wait_until(lambda: bool(recognisers()), 30)
    time.sleep(0.3)
    started = time.monotonic()
    recognition.close()
    assert time.monotonic() - started < recognizer_process.KILL_BOUND_S
    loading.join(30)
    assert not loading.is_alive() and recognition.current() is None
    assert recognisers() == [] and list(scratch.iterdir()) == []
    assert [type(e).__name__ for e in events] == ["Notice"]  # "loading", and nothing after the close


APP = """
import sys, time
from pathlib import Path
from desktop_app.speech.recognition import Recognition

recognition = Recognition(Path(sys.argv[1]), ["what time is it"], lambda event: None, cache_dir=Path(sys.argv[2]))
recognition.load_in_background().join(120)
print(recognition.current().pid, flush=True)
time.sleep(300)
"""


def test_a_killed_app_leaves_no_recogniser_behind(tmp_path: Path) -> None:
    app = subprocess.Popen(
        [sys.executable, "-c", APP, str(tmp_path / "models"), str(tmp_path / "cache")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert app.stdout is not None
        worker = int(app.stdout.readline())
        processes = [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]
        spawned = [pid for pid in processes if _parent(pid) == app.pid]
        assert worker in spawned
        app.kill()
        app.wait(10)
        # The recogniser (and multiprocessing's resource tracker) see their pipes close and end.
        assert _wait_until(lambda: all(ended(pid) for pid in spawned), 10)
    finally:
        app.kill()
        app.wait()
        if app.stdout is not None:
            app.stdout.close()


def _parent(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])
    except (OSError, ValueError, IndexError):
        return None
