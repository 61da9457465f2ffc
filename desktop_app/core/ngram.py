"""An n-gram language model of the assistant's own sentences, in the ARPA format recognisers read.

The recogniser decodes with it to hear commands the way they are said to this assistant (Rhasspy does the
same with its sentence templates). Probabilities are Witten-Bell interpolated: each order is mixed with the
one below it by how varied the words after a history were, which suits a small corpus of templated
sentences better than discounts fitted to large text. An interpolated model is written in the backoff form
ARPA needs: a seen n-gram carries its full interpolated probability, and a history's backoff weight is the
share left to the order below.

A background of everyday words (with their own unigram probabilities) is mixed into the unigrams, so words
that no template holds ("remind me to book the plumber") can still be heard, only less readily.

Written here because no maintained Python library estimates ARPA models: KenLM's estimator and OpenGrm are
C++ programs that are not on PyPI, and a desktop app should not need them installed.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence

START, END = "<s>", "</s>"
# ARPA's "never": what <s> gets as a word to predict.
_NEVER = -99.0


def arpa_model(
    sentences: Iterable[Sequence[str]],
    *,
    order: int = 3,
    background: Mapping[str, float] | None = None,
    background_share: float = 0.0,
) -> str:
    """The model of `sentences` (each a sequence of words) as ARPA text.

    `background`: words with weights (any positive scale), given `background_share` of the unigram mass."""
    if order < 1:
        raise ValueError("order must be at least 1")
    if not 0.0 <= background_share < 1.0:
        raise ValueError("background_share must be in [0, 1)")
    counts: list[Counter[tuple[str, ...]]] = [Counter() for _ in range(order)]
    for sentence in sentences:
        tokens = (START, *sentence, END)
        for n in range(1, order + 1):
            for start in range(len(tokens) - n + 1):
                counts[n - 1][tokens[start : start + n]] += 1
    if not counts[0]:
        raise ValueError("no sentences to model")
    probabilities = _unigrams(counts[0], background or {}, background_share)
    log_probs: list[dict[tuple[str, ...], float]] = [{(w,): p for w, p in probabilities.items()}]
    backoffs: list[dict[tuple[str, ...], float]] = []
    for n in range(2, order + 1):
        followers: dict[tuple[str, ...], Counter[str]] = defaultdict(Counter)
        for gram, count in counts[n - 1].items():
            followers[gram[:-1]][gram[-1]] += count
        level: dict[tuple[str, ...], float] = {}
        backoff: dict[tuple[str, ...], float] = {}
        for history, after in followers.items():
            total, kinds = sum(after.values()), len(after)
            weight = total / (total + kinds)  # Witten-Bell: the share kept by this order
            backoff[history] = 1.0 - weight
            for word, count in after.items():
                lower = _interpolated(log_probs, backoffs, history[1:], word)
                level[(*history, word)] = weight * count / total + (1.0 - weight) * lower
        backoffs.append(backoff)
        log_probs.append(level)
    return _write(log_probs, backoffs)


def _unigrams(
    unigram_counts: Counter[tuple[str, ...]], background: Mapping[str, float], share: float
) -> dict[str, float]:
    seen = {gram[0]: count for gram, count in unigram_counts.items() if gram[0] != START}
    total = sum(seen.values())
    extra = {word: weight for word, weight in background.items() if weight > 0 and word not in (START, END)}
    extra_total = sum(extra.values())
    if not extra_total:
        share = 0.0
    words = set(seen) | set(extra)
    probabilities = {
        word: (1.0 - share) * seen.get(word, 0) / total + (share * extra.get(word, 0.0) / extra_total if share else 0.0)
        for word in words
    }
    probabilities[START] = 0.0
    return probabilities


def _interpolated(
    levels: list[dict[tuple[str, ...], float]],
    backoffs: list[dict[tuple[str, ...], float]],
    history: tuple[str, ...],
    word: str,
) -> float:
    """P(word | history) from the orders built so far (a probability, not a logarithm)."""
    found = levels[len(history)].get((*history, word))
    if found is not None:
        return found
    if not history:
        return 0.0
    weight = backoffs[len(history) - 1].get(history, 1.0)
    return weight * _interpolated(levels, backoffs, history[1:], word)


def _log10(probability: float) -> float:
    return math.log10(probability) if probability > 0 else _NEVER


def _write(levels: list[dict[tuple[str, ...], float]], backoffs: list[dict[tuple[str, ...], float]]) -> str:
    lines = ["\\data\\"]
    lines += [f"ngram {n}={len(level)}" for n, level in enumerate(levels, start=1)]
    for n, level in enumerate(levels, start=1):
        lines += ["", f"\\{n}-grams:"]
        has_backoff = n < len(levels)
        for gram in sorted(level):
            probability = _NEVER if gram == (START,) else _log10(level[gram])
            line = f"{probability:.6f}\t{' '.join(gram)}"
            if has_backoff:
                line += f"\t{_log10(backoffs[n - 1].get(gram, 1.0)):.6f}"
            lines.append(line)
    lines += ["", "\\end\\", ""]
    return "\n".join(lines)
