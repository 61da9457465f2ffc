"""Sentence templates in Home Assistant's intent language (the `hassil` package): alternatives `(a|b)`,
optional words `[a]`, lists `{name}` and rules `<name>`. A skill writes its templates once: they match what
was said, and their expansions are the phrases the recogniser's command grammar is built from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hassil import Intents, SlotList, WildcardSlotList, recognize, sample_intents

LANGUAGE = "en"


@dataclass(frozen=True, slots=True)
class Recognised:
    intent: str
    slots: dict[str, Any]


class Templates:
    """One skill's intents, each with its sentence templates."""

    def __init__(self, sentences: dict[str, list[str]], *, wildcards: tuple[str, ...] = ()) -> None:
        """`wildcards`: slots that take any words ("how many days until {when}"), read by the skill itself."""
        self._lists: dict[str, SlotList] = {name: WildcardSlotList(name=name) for name in wildcards}
        self._intents = Intents.from_dict(
            {
                "language": LANGUAGE,
                "intents": {name: {"data": [{"sentences": list(templates)}]} for name, templates in sentences.items()},
            }
        )

    def recognise(self, text: str) -> Recognised | None:
        """The intent whose templates match the whole of `text` (as `Utterance.text` writes it), with its
        slot values; None when none does."""
        found = recognize(text, self._intents, slot_lists=self._lists, language=LANGUAGE)
        if found is None:
            return None
        return Recognised(found.intent.name, {name: entity.value for name, entity in found.entities.items()})

    def phrases(self, per_intent: int | None = None) -> list[str]:
        """Every sentence the templates expand to (at most `per_intent` of each intent), single-spaced;
        sentences with a wildcard are left out (they stand for any words)."""
        expanded = sample_intents(
            self._intents, slot_lists=self._lists, max_sentences_per_intent=per_intent, language=LANGUAGE
        )
        sentences = (" ".join(sentence.split()) for _, sentence in expanded)
        return list(dict.fromkeys(sentence for sentence in sentences if "{" not in sentence))
