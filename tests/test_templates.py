"""The skills' sentence templates: what they expand to is what the skills understand (so whatever the
recogniser's language model lets it hear, the assistant can answer), and the model made from them is a
proper ARPA model PocketSphinx loads."""

from __future__ import annotations

import math
import random
import re
from collections import defaultdict
from pathlib import Path

import pytest
from pocketsphinx import Decoder, get_model_path

from desktop_app.core.brain.assistant import SKILL_THRESHOLD, best_match, command_phrases, default_skills
from desktop_app.core.brain.skill import utterance
from desktop_app.core.brain.templates import Templates
from desktop_app.core.ngram import arpa_model
from desktop_app.speech.domain_model import dictionary_text, non_rhotic, write_domain_model

SKILLS = default_skills()


def test_every_sentence_the_templates_make_reaches_its_skill_and_intent() -> None:
    misses: dict[str, list[str]] = defaultdict(list)
    checked = 0
    for skill in SKILLS:
        for intent, sentence in skill.templates.sample(random.Random(7), 25):
            checked += 1
            found = best_match(SKILLS, utterance(sentence))
            got = f"{found[0].name}.{found[1].intent}" if found and found[1].confidence >= SKILL_THRESHOLD else None
            if got != f"{skill.name}.{intent}":
                misses[f"{skill.name}.{intent}"].append(f"{sentence!r} -> {got}")
    assert checked > 1000
    assert not misses, "\n".join(f"{key}: {', '.join(found)}" for key, found in misses.items())


def test_every_skill_has_templates_for_each_of_its_intents_and_a_working_example() -> None:
    for skill in SKILLS:
        assert skill.templates.intents, skill.name
        example = skill.templates.example()
        found = best_match(SKILLS, utterance(example))
        assert found is not None and found[0].name == skill.name, (skill.name, example)


def test_the_help_examples_leave_optional_words_out() -> None:
    templates = Templates({"set": ["(set|start) a timer for {duration} [called {timer_name}]"]})
    assert templates.example() == "set a timer for five minutes"


def test_a_sample_is_every_expansion_when_there_are_few_and_a_seeded_draw_otherwise() -> None:
    small = Templates({"greet": ["(hello|hi) [there]"]})
    assert sorted(s for _, s in small.sample(random.Random(1), 10)) == ["hello", "hello there", "hi", "hi there"]
    big = Templates({"set": ["set a timer for {duration} called {timer_name}"]})
    first = list(big.sample(random.Random(3), 50))
    assert len(first) == 50 and first == list(big.sample(random.Random(3), 50))
    assert len({s for _, s in first}) > 40


def test_the_recognisers_sentences_have_no_template_syntax_left() -> None:
    phrases = command_phrases(SKILLS)
    assert len(phrases) == len(set(phrases)) > 2000
    assert not [p for p in phrases if re.search(r"[{}\[\]<>()|]", p)]
    assert "what time is it" in phrases


def _parse_arpa(text: str) -> tuple[dict[tuple[str, ...], float], dict[tuple[str, ...], float]]:
    probabilities: dict[tuple[str, ...], float] = {}
    backoffs: dict[tuple[str, ...], float] = {}
    section = 0
    for line in text.splitlines():
        if line.startswith("\\") and "-grams:" in line:
            section = int(line[1])
            continue
        parts = line.split("\t")
        if section and len(parts) >= 2:
            gram = tuple(parts[1].split())
            probabilities[gram] = 10 ** float(parts[0])
            if len(parts) == 3:
                backoffs[gram] = 10 ** float(parts[2])
    return probabilities, backoffs


def _probability(
    model: tuple[dict[tuple[str, ...], float], dict[tuple[str, ...], float]], history: tuple[str, ...], word: str
) -> float:
    probabilities, backoffs = model
    if (*history, word) in probabilities:
        return probabilities[(*history, word)]
    if not history:
        return 0.0
    return backoffs.get(history, 1.0) * _probability(model, history[1:], word)


def test_the_model_gives_each_history_a_proper_distribution() -> None:
    sentences = [s.split() for s in ("set a timer", "set a reminder", "what time is it", "set the time")]
    model = _parse_arpa(arpa_model(sentences, background={"apple": 2.0, "time": 1.0}, background_share=0.1))
    vocabulary = {gram[0] for gram in model[0] if len(gram) == 1 and gram[0] != "<s>"}
    assert {"apple", "timer", "</s>"} <= vocabulary
    for history in [(), ("<s>",), ("set",), ("<s>", "set"), ("set", "a"), ("a",), ("apple",), ("is", "it")]:
        total = sum(_probability(model, history, word) for word in vocabulary)
        assert math.isclose(total, 1.0, rel_tol=1e-4), (history, total)
    # What the sentences say is likelier than what they do not.
    assert _probability(model, ("<s>", "set"), "a") > _probability(model, ("<s>", "set"), "apple")


def test_a_model_of_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="no sentences"):
        arpa_model([])


def test_non_rhotic_variants_drop_an_r_after_a_vowel_only() -> None:
    assert non_rhotic(["T", "AY", "M", "ER"]) == ["T", "AY", "M", "AH"]
    assert non_rhotic(["K", "W", "AO", "R", "T", "ER"]) == ["K", "W", "AO", "T", "AH"]
    assert non_rhotic(["F", "AO", "R"]) == ["F", "AO"]
    assert non_rhotic(["R", "EH", "D"]) == ["R", "EH", "D"]  # "red": the r starts the word
    assert non_rhotic(["S", "T", "AO", "R", "IY"]) == ["S", "T", "AO", "R", "IY"]  # "story": a vowel follows
    text = dictionary_text({"timer": [["T", "AY", "M", "ER"]], "red": [["R", "EH", "D"]]})
    assert text.splitlines() == ["red R EH D", "timer T AY M ER", "timer(2) T AY M AH"]


def test_pocketsphinx_loads_the_domain_model_and_knows_the_template_words(tmp_path: Path) -> None:
    dictionary = Path(get_model_path()) / "en-us" / "cmudict-en-us.dict"
    lm, words = write_domain_model(
        tmp_path, command_phrases(SKILLS), dictionary, lambda w: -3.0 if w == "plumber" else None
    )
    decoder = Decoder(samprate=16000, loglevel="FATAL", lm=str(lm), dict=str(words))
    for word in ("timer", "remind", "celsius", "plumber"):
        assert decoder.lookup_word(word) is not None, word
    assert decoder.lookup_word("zyzzyva") is None
