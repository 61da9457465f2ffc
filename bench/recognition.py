"""Recognition: how well the app hears commands and questions, and whether what it hears reaches the right skill.

Speech is synthesised in twelve English voices: eight of espeak-ng's (accents, rates and pitches; formant
synthesis, made by rule) and four of flite's (made from recordings of people), each utterance with 0.3 s of
a microphone's noise floor before and after it as push-to-talk records it, clean and with pink noise mixed
in at 10 dB SNR. Each voice is one user: the recogniser the app itself loads (`speech.recognition.Recognition`,
default settings: the built-in PocketSphinx one, nothing to download) is loaded afresh for each voice and
condition, as when that user starts the app, and hears that voice's sentences in turn, fed in 20 ms steps as
`voice-assistant transcribe` feeds a file. Each transcript is then given to the assistant's own skill router
(`Assistant.best_match`, with the threshold the assistant answers at). Every number is also given for each
synthesiser (`per_synthesiser`).

Material (bench/recognition_data/): command sentences expanded from patterns with slot values, with the
skill, intent and slots each should lead to (commands.txt), and open questions for a language model
(open_questions.txt). The expansion, the voice given to each sentence and the noise use a fixed seed.

    python bench/recognition.py --json            # everything (about 15 minutes on 2 quiet cores)
    python bench/recognition.py --quick           # a few sentences per skill, under a minute
    python bench/recognition.py --limit 40        # at most 40 commands and 40 open questions
    python bench/recognition.py --vosk-model NAME # an installed Vosk model instead (see `models list`)

Progress goes to standard error; the numbers to standard output.
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import operator
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, ClassVar, cast

import numpy as np
from report import print_results

DATA = Path(__file__).resolve().parent / "recognition_data"
SEED = 10
SNR_DB = 10.0
PAD_SECONDS = 0.3
ROOM_DBFS = -60.0
RATE = 16_000
# The benchmark's "now" for reminder times (commands.txt says the same): Tuesday 10 March 2026, 09:00.
NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
WORST_LISTED = 20


@dataclass(frozen=True, slots=True)
class Voice:
    name: str  # espeak-ng voice, with a variant after "+", or a flite voice
    wpm: int  # espeak-ng's rate; flite speaks at its own, stretched by `stretch`
    pitch: int  # espeak-ng's 0-99, 50 by default; flite keeps the speaker's own
    synthesiser: str = "espeak-ng"
    stretch: float = 1.0  # flite's duration_stretch: above 1 is slower

    @property
    def label(self) -> str:
        if self.synthesiser == "flite":
            return f"flite {self.name} x{self.stretch:g}"
        return f"{self.name} {self.wpm}wpm p{self.pitch}"

    def command(self, text: str, wav: Path) -> list[str]:
        if self.synthesiser == "flite":
            stretch = ["--setf", f"duration_stretch={self.stretch}"]
            return ["flite", "-voice", self.name, *stretch, "-t", text, "-o", str(wav)]
        return ["espeak-ng", "-v", self.name, "-s", str(self.wpm), "-p", str(self.pitch), "-w", str(wav), text]


# Accents, sexes, rates and pitches, and both of espeak-ng's ways of making a voice (its own and, in the last,
# the Klatt synthesiser); the voice the tests use (en-us+klatt4 at 150 wpm) is left out. Then flite's voices,
# which are made from recordings of people (slt: US female, rms: US male, awb: Scottish male, all statistical
# parametric; kal16: US male, diphones) and so are nearer what a microphone hears than espeak-ng's rules.
VOICES = (
    Voice("en-us", 175, 50),  # espeak-ng's own default rate and pitch
    Voice("en-gb", 160, 40),
    Voice("en-gb-scotland", 150, 55),
    Voice("en-us+f3", 165, 70),
    Voice("en+m7", 155, 35),
    Voice("en-029", 170, 45),
    Voice("en-gb-x-rp+f2", 145, 60),
    Voice("en-us-nyc+klatt2", 185, 50),
    Voice("slt", 0, 0, "flite", 1.0),
    Voice("rms", 0, 0, "flite", 0.9),
    Voice("awb", 0, 0, "flite", 1.1),
    Voice("kal16", 0, 0, "flite", 1.0),
)
SYNTHESISERS = ("espeak-ng", "flite")


# -- material ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Item:
    id: int
    kind: str  # "command" or "open"
    text: str
    intent: str | None  # "skill.intent" for a command
    slots: dict[str, str] = field(default_factory=dict)
    voice: Voice = VOICES[0]


_PLACEHOLDER = re.compile(r"\{(\w+)(?::(\w+))?\}")


def read_lists_and_patterns(path: Path) -> tuple[dict[str, list[tuple[str, str]]], list[tuple[str, int, str, str]]]:
    lists: dict[str, list[tuple[str, str]]] = {}
    patterns: list[tuple[str, int, str, str]] = []
    current: list[tuple[str, str]] | None = None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            current = None if not line else current
            continue
        if line.startswith("@"):
            current = lists.setdefault(line[1:].strip(), [])
        elif "|" in line:
            current = None
            parts = [part.strip() for part in line.split("|")]
            if len(parts) != 4:
                raise ValueError(f"{path}:{number}: a pattern is 'skill.intent | count | sentence | slots'")
            patterns.append((parts[0], int(parts[1]), parts[2], parts[3]))
        elif current is not None:
            spoken, _, value = line.partition("=>")
            current.append((spoken.strip(), value.strip() or spoken.strip()))
        else:
            raise ValueError(f"{path}:{number}: neither a list item nor a pattern: {line!r}")
    return lists, patterns


def _fill(template: str, chosen: dict[str, tuple[str, str]], part: int) -> str:
    """{list} / {list:tag} / {tag} replaced by the chosen item's words (part 0) or value (part 1)."""

    def one(match: re.Match[str]) -> str:
        name, tag = match.group(1), match.group(2)
        key = f"{name}:{tag}" if tag else name
        if key not in chosen:
            raise KeyError(f"{template!r} names {{{key}}}, which its sentence does not use")
        return chosen[key][part]

    return _PLACEHOLDER.sub(one, template)


def expand(path: Path, rng: random.Random) -> list[tuple[str, str, dict[str, str]]]:
    """(sentence, skill.intent, slots) for every pattern, `count` different sentences each, drawn with `rng`.
    One list used twice in a sentence gives two different items ("convert five miles to kilometres")."""
    lists, patterns = read_lists_and_patterns(path)
    out: list[tuple[str, str, dict[str, str]]] = []
    seen: set[str] = set()
    for intent, count, sentence, slot_text in patterns:
        uses = [(m.group(1), m.group(2)) for m in _PLACEHOLDER.finditer(sentence)]
        made = 0
        for _ in range(count * 50):
            if made == count:
                break
            chosen: dict[str, tuple[str, str]] = {}
            for name, tag in uses:
                taken = {chosen[key] for key in chosen if key.split(":")[0] == name}
                options = [item for item in lists[name] if item not in taken]
                item = rng.choice(options)
                chosen[f"{name}:{tag}" if tag else name] = item
                if tag:
                    chosen.setdefault(tag, item)
            text = _fill(sentence, chosen, 0)
            if text in seen:
                continue
            seen.add(text)
            slots: dict[str, str] = {}
            for pair in filter(None, (p.strip() for p in slot_text.split(";"))):
                key, _, value = pair.partition("=")
                value = _fill(value.strip(), chosen, 1)
                slots[key.strip()] = _calc(value[5:]) if value.startswith("calc:") else value
            out.append((text, intent, slots))
            made += 1
    return out


_OPERATORS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}


def _calc(expression: str) -> str:
    """The value of "12*7" or "15*80/100" (numbers and + - * / ** only)."""

    def value(node: ast.expr) -> float:
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return float(node.value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -value(node.operand)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            return float(_OPERATORS[type(node.op)](value(node.left), value(node.right)))
        raise ValueError(f"not a sum: {expression!r}")

    return repr(value(ast.parse(expression, mode="eval").body))


def material(seed: int) -> list[Item]:
    rng = random.Random(seed)
    commands = expand(DATA / "commands.txt", rng)
    rng.shuffle(commands)
    questions = [
        line.strip()
        for line in (DATA / "open_questions.txt").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    rng.shuffle(questions)
    items = [
        Item(index, "command", text, intent, slots, VOICES[index % len(VOICES)])
        for index, (text, intent, slots) in enumerate(commands)
    ]
    start = len(items)
    items += [
        Item(start + index, "open", text, None, {}, VOICES[index % len(VOICES)]) for index, text in enumerate(questions)
    ]
    return items


def choose(items: list[Item], quick: bool, limit: int | None) -> list[Item]:
    commands = [item for item in items if item.kind == "command"]
    questions = [item for item in items if item.kind == "open"]
    if quick:  # two sentences of every skill, two questions
        per_skill: dict[str, int] = defaultdict(int)
        picked = []
        for item in commands:
            skill = (item.intent or "").split(".")[0]
            if per_skill[skill] < 2:
                per_skill[skill] += 1
                picked.append(item)
        commands, questions = picked, questions[:2]
    if limit is not None:
        commands, questions = commands[:limit], questions[:limit]
    return commands + questions


# -- words and their comparison ---------------------------------------------------------------------------------

_ONES_TEXT = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen"
_ONES = {w: n for n, w in enumerate((*_ONES_TEXT.split(" "), "seventeen", "eighteen", "nineteen"))}
_TENS_TEXT = "twenty thirty forty fifty sixty seventy eighty ninety"
_TENS = {w: 10 * n for n, w in enumerate(_TENS_TEXT.split(" "), 2)}
_SCALES = {"thousand": 1_000, "million": 1_000_000}


def _number_at(words: list[str], start: int) -> tuple[int, int] | None:
    """A whole number said in words at words[start:] ("two hundred and fifty", "twenty four"): (value,
    words used). "twelve seven" is two numbers."""
    total = current = 0
    last = None  # what came last: "unit", "tens", "hundred", "scale", "and"
    index = start
    while index < len(words):
        word = words[index]
        if word in _ONES and (last in (None, "hundred", "scale", "and") or (last == "tens" and _ONES[word] < 10)):
            current, last = current + _ONES[word], "unit"
        elif word in _TENS and last in (None, "hundred", "scale", "and"):
            current, last = current + _TENS[word], "tens"
        elif word == "hundred" and last in ("unit", "tens") and 0 < current < 100:
            current, last = current * 100, "hundred"
        elif word in _SCALES and last in ("unit", "tens", "hundred") and current:
            total, current, last = total + current * _SCALES[word], 0, "scale"
        elif (
            word == "and"
            and last in ("hundred", "scale")
            and index + 1 < len(words)
            and (words[index + 1] in _ONES or words[index + 1] in _TENS)
        ):
            last = "and"
        else:
            break
        index += 1
    if last is None:
        return None
    return total + current, index - start


# British spellings as American ones: the same word, whichever way a recogniser's dictionary spells it.
_SPELLING = {
    "colour": "color",
    "colours": "colors",
    "favourite": "favorite",
    "favourites": "favorites",
    "tyre": "tire",
    "tyres": "tires",
    **{f"{stem}tre{end}": f"{stem}ter{end}" for stem in ("me", "li", "cen") for end in ("", "s")},
    **{
        f"{prefix}{unit}tre{end}": f"{prefix}{unit}ter{end}"
        for prefix in ("kilo", "centi", "milli")
        for unit in ("me", "li")
        for end in ("", "s")
    },
}


def normalise(text: str) -> list[str]:
    """Lower case, no punctuation (apostrophes inside words kept), hyphens as spaces, British spellings as
    American, numbers said in words as digits: the same on what was said and on what was heard."""
    text = re.sub(r"[^a-z0-9' ]+", " ", text.lower().replace("-", " "))
    words = [_SPELLING.get(word, word) for word in (word.strip("'") for word in text.split()) if word]
    out: list[str] = []
    index = 0
    while index < len(words):
        number = _number_at(words, index)
        if number is None:
            out.append(words[index])
            index += 1
        else:
            out.append(str(number[0]))
            index += number[1]
    return out


def edit_distance(reference: list[str], heard: list[str]) -> int:
    previous = list(range(len(heard) + 1))
    for i, said in enumerate(reference, 1):
        current = [i]
        for j, got in enumerate(heard, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (said != got)))
        previous = current
    return previous[-1]


# -- speech --------------------------------------------------------------------------------------------------------


def synthesise(item: Item, folder: Path, seed: int, snr_db: float) -> tuple[Path, Path]:
    """The item said by its voice as 16 kHz mono 16-bit WAVs: clean, and with pink noise at `snr_db`."""
    import soundfile
    import soxr

    raw = folder / f"{item.id:04d}-raw.wav"
    subprocess.run(item.voice.command(item.text, raw), check=True, capture_output=True)
    audio, rate = soundfile.read(raw, dtype="float64", always_2d=True)
    raw.unlink()
    speech = with_room(soxr.resample(audio.mean(axis=1), rate, RATE), np.random.default_rng([seed, item.id, 1]))
    clean, noisy = folder / f"{item.id:04d}-clean.wav", folder / f"{item.id:04d}-noisy.wav"
    soundfile.write(clean, np.clip(speech, -1.0, 1.0), RATE, subtype="PCM_16")
    mixed = speech + pink_noise(len(speech), np.random.default_rng([seed, item.id])) * math.sqrt(
        speech_power(speech) / 10 ** (snr_db / 10)
    )
    peak = float(np.max(np.abs(mixed)))
    soundfile.write(noisy, mixed / peak * 0.9 if peak > 0.9 else mixed, RATE, subtype="PCM_16")
    return clean, noisy


def with_room(speech: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The speech as push-to-talk records it: PAD_SECONDS before the first word (the key goes down, the
    app's pre-roll) and after the last (the key comes up), over a microphone's noise floor at ROOM_DBFS.
    espeak-ng's own output starts on its first sample and is digital silence between words, which no
    microphone gives."""
    pad = np.zeros(int(PAD_SECONDS * RATE))
    padded = np.concatenate([pad, speech, pad])
    return padded + rng.standard_normal(len(padded)) * 10 ** (ROOM_DBFS / 20)


def pink_noise(length: int, rng: np.random.Generator) -> np.ndarray:
    """Noise whose power falls by 3 dB an octave (white noise shaped by 1/sqrt(f)), at unit power."""
    spectrum = np.fft.rfft(rng.standard_normal(length))
    frequencies = np.fft.rfftfreq(length, 1 / RATE)
    shape = np.zeros_like(frequencies)
    shape[1:] = 1 / np.sqrt(frequencies[1:])
    noise = np.fft.irfft(spectrum * shape, length)
    return cast(np.ndarray, noise / math.sqrt(float(np.mean(noise**2))))


def speech_power(signal: np.ndarray) -> float:
    """Mean power over the 20 ms frames within 40 dB of the loudest (the pauses do not count)."""
    frames = signal[: len(signal) // 320 * 320].reshape(-1, 320)
    energy = np.mean(frames**2, axis=1)
    active = energy[energy >= energy.max() * 1e-4]
    return float(np.mean(active)) if len(active) else 0.0


# -- the app's recogniser and router -------------------------------------------------------------------------------


def load_recognition(vosk_model: str | None, data_dir: str | None, empty_models: Path) -> tuple[Any, dict[str, Any]]:
    """The recogniser the app loads: with default settings and no model installed (the built-in one), or the
    installed Vosk model `vosk_model`."""
    from desktop_app.core.brain.assistant import command_phrases, default_skills, understood
    from desktop_app.core.events import TurnFailed
    from desktop_app.core.settings import Settings
    from desktop_app.paths import AppPaths
    from desktop_app.speech.recognition import Recognition

    failures: list[str] = []

    def on_event(event: object) -> None:
        if isinstance(event, TurnFailed):
            failures.append(event.message)

    skills = default_skills()
    phrases, understands = command_phrases(skills), partial(understood, skills)
    if vosk_model:
        models_dir = AppPaths.resolve(data_dir).models_dir
        recognition = Recognition(
            models_dir, phrases, on_event, engine="vosk", vosk_model=vosk_model, understands=understands
        )
    else:
        recognition = Recognition.from_settings(Settings(None), empty_models, phrases, on_event, understands)
    started = time.perf_counter()
    loading = recognition.load_in_background()
    loading.join(timeout=300)
    if loading.is_alive():
        raise SystemExit("The recogniser did not load within 5 minutes.")
    load_seconds = time.perf_counter() - started
    choice = recognition.choice
    if failures or choice is None or (vosk_model and choice.name != vosk_model):
        raise SystemExit(f"Could not load the recogniser: {'; '.join(failures) or 'no choice made'}")
    about = {
        "engine": choice.engine,
        "model": choice.name,
        "description": recognition.description,
        "chosen_because": choice.reason,
        "load_seconds": round(load_seconds, 2),
    }
    return recognition.current(), about


def transcribe(recognizer: Any, path: Path) -> tuple[str, float, float]:
    """(transcript, audio seconds, decoding seconds), the file read and fed as `voice-assistant transcribe`
    does: 16 kHz 16-bit mono in 20 ms steps, as fast as the recogniser takes them."""
    from desktop_app.cli.transcribe import FEED_BYTES, read_speech_audio

    pcm, seconds = read_speech_audio(path)
    started = time.perf_counter()
    recognizer.start_utterance()
    for offset in range(0, len(pcm), FEED_BYTES):
        recognizer.feed(pcm[offset : offset + FEED_BYTES])
    text = recognizer.finish().text
    return text, seconds, time.perf_counter() - started


class Router:
    """The assistant's own choice of skill for a text: the most confident match, if it is confident enough
    for the assistant to answer with it (otherwise the question would go to a language model)."""

    # What each intent's match tells, read from Match.data; intents not listed have no slots beyond the intent.
    SLOTS_READ: ClassVar[dict[str, str]] = {
        "timer.set": "seconds, name",
        "alarm.set": "due",
        "alarm.cancel": "all",
        "dates.days_until": "when",
        "dates.time_in": "span",
        "dates.date_in": "span",
        "timer.left": "name",
        "timer.cancel": "name, all",
        "reminder.set": "task, due (the reminder skill's own split of the request into task and time)",
        "reminder.cancel": "topic, all",
        "calculator.sum": "value",
        "units.convert": "value, source, target",
        "memory.remember": "fact",
        "memory.forget": "fact",
        "memory.recall": "words (content words asked about), everything",
    }

    def __init__(self) -> None:
        from desktop_app.core.brain.assistant import SKILL_THRESHOLD, Assistant

        # Choosing a skill reads neither the store nor the alarms (Skill.match is pure).
        self._assistant = Assistant(cast(Any, None), cast(Any, None))
        self._threshold = SKILL_THRESHOLD

    def route(self, text: str) -> tuple[str | None, dict[str, Any]]:
        best = self._assistant.best_match(text) if text.strip() else None
        if best is None or best[1].confidence < self._threshold:
            return None, {}
        skill, match = best
        intent = f"{skill.name}.{match.intent}"
        try:
            return intent, _read_slots(intent, dict(match.data))
        except Exception as error:  # a skill's data changed shape: count the slots as not understood
            return intent, {"unreadable": repr(error)}


def _read_slots(intent: str, data: dict[str, Any]) -> dict[str, Any]:
    if intent == "timer.set":
        return {"seconds": data.get("seconds"), "name": data.get("name", "")}
    if intent == "timer.left":
        return {"name": data.get("name", "")}
    if intent in ("timer.cancel", "reminder.cancel"):
        return {"name": data.get("name", ""), "topic": data.get("topic", ""), "all": bool(data.get("all"))}
    if intent == "reminder.set":
        from desktop_app.core.brain.skills.reminders import split_task

        task, due = split_task(data.get("rest", ""), NOW)
        return {"task": task, "due": due}
    if intent == "alarm.set":
        from desktop_app.core.brain.skills.alarms import due_time

        return {"due": due_time(data.get("when", ""), NOW)}
    if intent == "alarm.cancel":
        return {"all": bool(data.get("all"))}
    if intent.startswith("dates."):
        return {"when": data.get("when", ""), "span": data.get("span", "")}
    if intent == "calculator.sum":
        return {"value": data.get("value")}
    if intent == "units.convert":
        request = data["request"]
        return {"value": request.value, "source": request.source.name, "target": request.target.name}
    if intent in ("memory.remember", "memory.forget"):
        return {"fact": data.get("fact", "")}
    if intent == "memory.recall":
        recall = data["recall"]
        return {"words": recall.words, "everything": recall.everything}
    return {}


_TOPIC_FILLER = frozenset({"the", "my", "a", "to"})


def slot_matches(key: str, expected: str, heard: Any) -> bool:
    if key == "due":
        return _due_matches(expected, heard)
    if key in ("all", "everything"):
        return (expected == "yes") == bool(heard)
    if key in ("seconds", "value"):
        try:
            return heard is not None and math.isclose(float(expected), float(heard), rel_tol=1e-6, abs_tol=1e-9)
        except (TypeError, ValueError):
            return False
    if key == "words":
        from desktop_app.core.brain.memory import content_words

        if not isinstance(heard, frozenset | set):
            return False
        return {_SPELLING.get(w, w) for w in content_words(expected)} == {_SPELLING.get(w, w) for w in heard}
    said = normalise(expected)
    got = normalise(str(heard or ""))
    if key == "topic":
        said, got = [w for w in said if w not in _TOPIC_FILLER], [w for w in got if w not in _TOPIC_FILLER]
    return said == got


def _due_matches(expected: str, heard: Any) -> bool:
    if not isinstance(heard, datetime):
        return False
    if expected.startswith("+"):
        return abs((heard - NOW).total_seconds() - float(expected[1:])) < 1
    days, _, clock = expected.partition("d")
    day = (NOW + timedelta(days=int(days))).date()
    if heard.date() != day:
        return False
    return not clock or f"{heard:%H:%M}" == clock


def understood(item: Item, intent: str | None, slots: dict[str, Any]) -> tuple[bool, bool]:
    """(right skill and intent, right skill, intent and slots)."""
    if intent != item.intent:
        return False, False
    return True, all(slot_matches(key, value, slots.get(key)) for key, value in item.slots.items())


# -- the run -------------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Heard:
    item: Item
    noisy: bool
    text: str
    audio_seconds: float
    decode_seconds: float
    errors: int
    reference_words: int
    exact: bool
    intent_right: bool = False
    slots_right: bool = False
    routed: str | None = None


def _share(values: Iterable[bool]) -> float | None:
    values = list(values)
    return round(sum(values) / len(values), 4) if values else None


def _wer(results: list[Heard]) -> float | None:
    words = sum(r.reference_words for r in results)
    return round(sum(r.errors for r in results) / words, 4) if words else None


def run(args: argparse.Namespace) -> dict[str, Any]:
    wall = time.perf_counter()
    load_before = os.getloadavg()[0]
    items = choose(material(args.seed), args.quick, args.limit)
    router = Router()
    commands = [item for item in items if item.kind == "command"]
    reference = {item.id: understood(item, *router.route(item.text)) for item in commands}
    with tempfile.TemporaryDirectory(prefix="va-recognition-bench-") as tmp:
        folder = Path(args.keep_audio) if args.keep_audio else Path(tmp) / "audio"
        folder.mkdir(parents=True, exist_ok=True)
        empty_models = Path(tmp) / "no-models"
        recognizer, about = load_recognition(args.vosk_model, args.data_dir, empty_models)
        _say(f"recogniser: {about['description']} (loaded in {about['load_seconds']} s)")
        results: list[Heard] = []
        progress = threading.Lock()
        made = [0]

        def make(item: Item) -> tuple[Path, Path]:
            paths = synthesise(item, folder, args.seed, args.snr)
            with progress:
                made[0] += 1
                if made[0] % 50 == 0 or made[0] == len(items):
                    _say(f"synthesised {made[0]}/{len(items)}")
            return paths

        # Speech is made ahead on two threads; decoding then has the machine to itself, so its time is fair.
        with ThreadPoolExecutor(max_workers=2) as pool:
            audio = dict(zip((item.id for item in items), pool.map(make, items), strict=True))
        decode_started = time.perf_counter()
        total = 2 * len(items)
        # One session per voice and condition: the recogniser is loaded afresh, as when that user starts the app,
        # so what it learns of one voice (the cepstral mean) never helps or hurts the next.
        for is_noisy in (False, True):
            for voice in VOICES:
                session = [item for item in items if item.voice == voice]
                if not session:
                    continue
                if results:
                    recognizer, _ = load_recognition(args.vosk_model, args.data_dir, empty_models)
                for item in session:
                    text, seconds, decoding = transcribe(recognizer, audio[item.id][is_noisy])
                    said, heard = normalise(item.text), normalise(text)
                    result = Heard(
                        item, is_noisy, text, seconds, decoding, edit_distance(said, heard), len(said), said == heard
                    )
                    if item.kind == "command":
                        routed, slots = router.route(text)
                        result.routed = routed
                        result.intent_right, result.slots_right = understood(item, routed, slots)
                    else:
                        result.routed = router.route(text)[0]
                    results.append(result)
                    if len(results) % 25 == 0 or len(results) == total:
                        spent = time.perf_counter() - decode_started
                        exact = _share(r.exact for r in results if r.item.kind == "command" and not r.noisy)
                        _say(f"recognised {len(results)}/{total} in {spent:.0f} s; clean commands exact so far {exact}")
    about["machine"] = {
        "cpus": os.cpu_count(),
        # Other work on the machine slows decoding: rtf is only comparable between quiet runs.
        "load_average_1min_before": round(load_before, 2),
        "load_average_1min_after": round(os.getloadavg()[0], 2),
    }
    return report(results, reference, about, args, time.perf_counter() - wall)


def report(
    results: list[Heard], reference: dict[int, tuple[bool, bool]], about: dict[str, Any], args: argparse.Namespace,
    wall_seconds: float,
) -> dict[str, Any]:  # fmt: skip
    def pick(kind: str, noisy: bool) -> list[Heard]:
        return [r for r in results if r.item.kind == kind and r.noisy == noisy]

    clean, noisy = pick("command", False), pick("command", True)
    per_voice: dict[str, dict[str, Any]] = {}
    for voice in VOICES:
        mine = [r for r in clean if r.item.voice == voice]
        mine_noisy = [r for r in noisy if r.item.voice == voice]
        if mine:
            per_voice[voice.label] = {
                "commands": len(mine),
                "sentence_accuracy": _share(r.exact for r in mine),
                "noisy_sentence_accuracy": _share(r.exact for r in mine_noisy),
                "wer": _wer(mine),
                "intent_accuracy": _share(r.slots_right for r in mine),
            }
    per_skill: dict[str, dict[str, Any]] = {}
    for skill in sorted({(r.item.intent or "").split(".")[0] for r in clean}):
        mine = [r for r in clean if (r.item.intent or "").startswith(skill + ".")]
        mine_noisy = [r for r in noisy if (r.item.intent or "").startswith(skill + ".")]
        per_skill[skill] = {
            "commands": len(mine),
            "sentence_accuracy": _share(r.exact for r in mine),
            "noisy_sentence_accuracy": _share(r.exact for r in mine_noisy),
            "wer": _wer(mine),
            "intent_accuracy": _share(r.slots_right for r in mine),
            "reference_intent_accuracy": _share(reference[r.item.id][1] for r in mine),
        }
    misses = sorted(
        (r for r in clean if not r.exact), key=lambda r: (-r.errors / max(1, r.reference_words), r.item.id)
    )[:WORST_LISTED]
    audio_seconds = sum(r.audio_seconds for r in results)
    decode_seconds = sum(r.decode_seconds for r in results)
    commands = [r.item for r in clean]
    return {
        **_headline(results, reference),
        "per_synthesiser": {
            name: _headline([r for r in results if r.item.voice.synthesiser == name], reference)
            for name in SYNTHESISERS
            if any(r.item.voice.synthesiser == name for r in results)
        },
        "audio_seconds": round(audio_seconds, 1),
        "decode_seconds": round(decode_seconds, 1),
        "wall_seconds": round(wall_seconds, 1),
        "recogniser": about,
        "counts": {
            "commands": len(clean),
            "open_questions": len(pick("open", False)),
            "decodes": len(results),
            "voices": len(per_voice),
            "intents": dict(sorted(_count(item.intent or "" for item in commands).items())),
        },
        "per_voice": per_voice,
        "per_skill": per_skill,
        "worst_command_misses": [
            {
                "expected": r.item.text,
                "heard": r.text,
                "voice": r.item.voice.label,
                "word_errors": r.errors,
                "understood_as": r.routed,
            }
            for r in misses
        ],
        "how": {
            "speech": "espeak-ng (8 voices) and flite (4), one voice per sentence in turn, resampled to 16 kHz "
            "mono 16-bit with soxr; the recogniser loaded afresh for each voice and condition",
            "noise": f"pink noise mixed at {args.snr:g} dB SNR against the speech level (20 ms frames within 40 dB "
            f"of the loudest), seed {args.seed}",
            "decoding": "the recogniser the app loads (speech.recognition.Recognition), fed 20 ms steps of the "
            "WAV as voice-assistant transcribe does, as fast as it takes them; rtf is decoding time over audio time",
            "normalising": "lower case, punctuation dropped, hyphens as spaces, British spellings as American (colour, "
            "metres), numbers said in words as digits, "
            "on what was said and what was heard alike; a sentence is right when all its words are",
            "intent_accuracy": "the transcript given to the assistant's router (Assistant.best_match at the "
            "assistant's answer threshold) leads to the right skill and intent, and the slots written in "
            "commands.txt are read right from the match: "
            + "; ".join(f"{k}: {v}" for k, v in Router.SLOTS_READ.items())
            + ". clock, history and control intents have no slots: the intent alone counts. "
            "intent_only_accuracy ignores slots; reference_intent_accuracy is the router on the exact sentences "
            "(the skills' own share, no recognition involved)",
            "open_taken_by_a_skill": "open questions whose transcript a skill would answer instead of a language model",
            "now": NOW.isoformat(),
            "seed": args.seed,
        },
    }


def _headline(results: list[Heard], reference: dict[int, tuple[bool, bool]]) -> dict[str, Any]:
    """The issue's numbers (and their noisy and open-question companions) over `results`."""

    def pick(kind: str, noisy: bool) -> list[Heard]:
        return [r for r in results if r.item.kind == kind and r.noisy == noisy]

    clean, noisy = pick("command", False), pick("command", True)
    open_clean, open_noisy = pick("open", False), pick("open", True)
    audio_seconds = sum(r.audio_seconds for r in results)
    return {
        "command_sentence_accuracy": _share(r.exact for r in clean),
        "command_wer": _wer(clean),
        "noisy_command_sentence_accuracy": _share(r.exact for r in noisy),
        "noisy_command_wer": _wer(noisy),
        "open_wer": _wer(open_clean),
        "noisy_open_wer": _wer(open_noisy),
        "open_sentence_accuracy": _share(r.exact for r in open_clean),
        "intent_accuracy": _share(r.slots_right for r in clean),
        "noisy_intent_accuracy": _share(r.slots_right for r in noisy),
        "intent_only_accuracy": _share(r.intent_right for r in clean),
        "noisy_intent_only_accuracy": _share(r.intent_right for r in noisy),
        "reference_intent_accuracy": _share(reference[r.item.id][1] for r in clean),
        "open_taken_by_a_skill": _share(r.routed is not None for r in open_clean),
        "noisy_open_taken_by_a_skill": _share(r.routed is not None for r in open_noisy),
        "rtf": round(sum(r.decode_seconds for r in results) / audio_seconds, 4) if audio_seconds else None,
        "rtf_clean_commands": _rtf(clean),
        "rtf_noisy_commands": _rtf(noisy),
        "rtf_open": _rtf(open_clean + open_noisy),
    }


def _rtf(results: list[Heard]) -> float | None:
    seconds = sum(r.audio_seconds for r in results)
    return round(sum(r.decode_seconds for r in results) / seconds, 4) if seconds else None


def _count(values: Iterable[str]) -> dict[str, int]:
    counted: dict[str, int] = defaultdict(int)
    for value in values:
        counted[value] += 1
    return counted


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quick", action="store_true", help="two commands of every skill and two questions")
    parser.add_argument("--limit", type=int, metavar="N", help="at most N commands and N open questions")
    parser.add_argument("--vosk-model", metavar="NAME", help="an installed Vosk model instead of the built-in one")
    parser.add_argument("--data-dir", metavar="DIR", help="the app's data folder, where --vosk-model is looked for")
    parser.add_argument("--keep-audio", metavar="DIR", help="write the WAVs here and keep them")
    parser.add_argument("--seed", type=int, default=SEED, help=f"material, voices and noise (default {SEED})")
    parser.add_argument("--snr", type=float, default=SNR_DB, help=f"noise level in dB SNR (default {SNR_DB:g})")
    args = parser.parse_args()
    results = run(args)
    if args.json:
        print(json.dumps(results, ensure_ascii=False))
        return 0
    misses = results.pop("worst_command_misses")
    results.pop("how")
    print_results({k: json.dumps(v) if isinstance(v, dict) else v for k, v in results.items()}, False)
    print("worst command misses (expected -> heard):")
    for miss in misses:
        print(f"  {miss['expected']!r} -> {miss['heard']!r}  [{miss['voice']}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
