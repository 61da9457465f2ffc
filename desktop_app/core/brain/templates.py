"""Sentence templates in Home Assistant's intent language (the `hassil` package): alternatives `(a|b)`,
optional words `[a]`, lists `{name}` and rules `<name>`. A skill writes its templates once: they match what
was said, they are the sentences the recogniser's domain language model is made from, and the help answer
quotes them.

Lists and rules shared by every skill live in `vocabulary`. A list given as a wildcard matches any words
(the skill reads them itself); for the language model it is filled from the list's examples.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import product
from typing import Any

from hassil import Intents, SlotList, TextSlotList, WildcardSlotList, recognize
from hassil.expression import Alternative, Expression, ListReference, Permutation, RuleReference, TextChunk
from hassil.expression import Sequence as HassilSequence

from desktop_app.core.brain import vocabulary

LANGUAGE = "en"


@dataclass(frozen=True, slots=True)
class Recognised:
    intent: str
    slots: dict[str, Any]


class Templates:
    """One skill's intents, each with its sentence templates."""

    def __init__(
        self, sentences: Mapping[str, Sequence[str]], *, wildcards: Sequence[str] = (), example: str | None = None
    ) -> None:
        """`wildcards`: lists that take any words ("how many days until {when}"), read by the skill itself;
        every other list and rule comes from `vocabulary`. `example`: what the help answer suggests saying,
        when the first template's first choices do not make a natural sentence."""
        self.sentences = {intent: list(templates) for intent, templates in sentences.items()}
        self._example = example
        self._match_lists: dict[str, SlotList] = {
            name: WildcardSlotList(name=name) if name in wildcards else _text_list(name, values)
            for name, values in vocabulary.LISTS.items()
        }
        for name in wildcards:
            self._match_lists[name] = WildcardSlotList(name=name)
        self._sample_lists: dict[str, SlotList] = {
            name: _text_list(name, values) for name, values in vocabulary.LISTS.items()
        }
        self._intents = Intents.from_dict(
            {
                "language": LANGUAGE,
                "intents": {name: {"data": [{"sentences": list(t)}]} for name, t in self.sentences.items()},
                "expansion_rules": dict(vocabulary.RULES),
            }
        )

    @property
    def intents(self) -> list[str]:
        return list(self.sentences)

    def recognise(self, text: str) -> Recognised | None:
        """The intent whose templates match the whole of `text` (as `Utterance.text` writes it), with its
        slot values; None when none does."""
        found = recognize(text, self._intents, slot_lists=self._match_lists, language=LANGUAGE)
        if found is None:
            return None
        return Recognised(found.intent.name, {name: entity.value for name, entity in found.entities.items()})

    def examples(self, intent: str) -> list[str]:
        """One sentence per template of `intent`, each alternative and list at its first choice and optional
        words left out: what a person might say, for the help answer."""
        return [" ".join(next(self._expand(data, first_only=True)).split()) for data in self._templates(intent)]

    def example(self) -> str:
        """What the help answer suggests saying: the given example, else the first template's."""
        return self._example or self.examples(self.intents[0])[0]

    def sample(self, rng: random.Random, per_template: int) -> Iterator[tuple[str, str]]:
        """(intent, sentence): every expansion of each template when it has at most `per_template`, else
        `per_template` drawn at random (each list value and alternative equally likely at each choice)."""
        for intent in self.sentences:
            for data in self._templates(intent):
                every = self._expand(data, first_only=False)
                taken = [s for _, s in zip(range(per_template + 1), every, strict=False)]
                if len(taken) > per_template:
                    taken = [self._draw(data, rng) for _ in range(per_template)]
                for sentence in taken:
                    yield intent, " ".join(sentence.split())

    def _templates(self, intent: str) -> list[Expression]:
        return [sentence.expression for data in self._intents.intents[intent].data for sentence in data.sentences]

    def _expand(self, expression: Expression, *, first_only: bool) -> Iterator[str]:
        """Every text `expression` stands for, in order (only the first with `first_only`)."""
        if isinstance(expression, TextChunk):
            yield expression.text
        elif isinstance(expression, Permutation):
            raise ValueError("permutations (a;b) are not used in templates")
        elif isinstance(expression, Alternative):
            # An example leaves optional words out: "set a timer for five minutes", not "... called pasta".
            items = (
                expression.items
                if not first_only
                else expression.items[-1:]
                if expression.is_optional
                else expression.items[:1]
            )
            for item in items:
                yield from self._expand(item, first_only=first_only)
        elif isinstance(expression, HassilSequence):
            parts = [list(self._expand(item, first_only=first_only)) for item in expression.items]
            for combination in product(*parts):
                yield "".join(combination)
        elif isinstance(expression, ListReference):
            values = self._list_values(expression.list_name)
            for value in values[:1] if first_only else values:
                yield from self._expand(value, first_only=first_only)
        elif isinstance(expression, RuleReference):
            yield from self._expand(
                self._intents.expansion_rules[expression.rule_name].expression, first_only=first_only
            )

    def _draw(self, expression: Expression, rng: random.Random) -> str:
        if isinstance(expression, TextChunk):
            return expression.text
        if isinstance(expression, Alternative):
            return self._draw(rng.choice(expression.items), rng)
        if isinstance(expression, HassilSequence):
            return "".join(self._draw(item, rng) for item in expression.items)
        if isinstance(expression, ListReference):
            return self._draw(rng.choice(self._list_values(expression.list_name)), rng)
        if isinstance(expression, RuleReference):
            return self._draw(self._intents.expansion_rules[expression.rule_name].expression, rng)
        return ""

    def _list_values(self, name: str) -> list[Expression]:
        slot_list = self._sample_lists.get(name)
        if not isinstance(slot_list, TextSlotList):
            raise KeyError(f"no examples for the list {{{name}}}: add them to vocabulary.LISTS")
        return [value.text_in for value in slot_list.values]


def _text_list(name: str, values: Sequence[str | tuple[str, Any]]) -> TextSlotList:
    pairs = [(value, value) if isinstance(value, str) else value for value in values]
    return TextSlotList.from_tuples(pairs, name=name)
