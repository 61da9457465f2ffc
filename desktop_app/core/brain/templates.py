"""Sentence templates in Home Assistant's intent language (the `hassil` package): alternatives `(a|b)`,
optional words `[a]`, lists `{name}` and rules `<name>`. A skill writes its templates once: they match what
was said, they are the sentences the recogniser's domain language model is made from, and the help answer
quotes them.

Lists and rules shared by every skill live in `vocabulary`. A list given as a wildcard matches any words
(the skill reads them itself); for the language model it is filled from the list's examples.

Templates are parsed on first use, not when a skill module is imported: every command line that opens the
store imports the skills, and a question parses only the templates of the skills that match by template.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from desktop_app.core.brain import vocabulary

if TYPE_CHECKING:
    from hassil import Intents, SlotList, TextSlotList
    from hassil.expression import Expression

    from desktop_app.core.brain.template_expansion import Expander

LANGUAGE = "en"


@dataclass(frozen=True, slots=True)
class Recognised:
    intent: str
    slots: dict[str, Any]


@dataclass(frozen=True, slots=True)
class _Parsed:
    """The templates as hassil reads them, and the lists they refer to."""

    intents: Intents
    text_lists: dict[str, TextSlotList]
    match_lists: dict[str, SlotList]


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
        self._wildcards = tuple(wildcards)
        self._lock = threading.Lock()
        self._parsed_once: _Parsed | None = None

    @property
    def intents(self) -> list[str]:
        return list(self.sentences)

    def recognise(self, text: str) -> Recognised | None:
        """The intent whose templates match the whole of `text` (as `Utterance.text` writes it), with its
        slot values; None when none does."""
        from hassil import recognize

        parsed = self._parsed()
        found = recognize(text, parsed.intents, slot_lists=parsed.match_lists, language=LANGUAGE)
        if found is None:
            return None
        return Recognised(found.intent.name, {name: entity.value for name, entity in found.entities.items()})

    def examples(self, intent: str) -> list[str]:
        """One sentence per template of `intent`, each alternative and list at its first choice and optional
        words left out: what a person might say, for the help answer."""
        expander = self._expander()
        return [" ".join(next(expander.expand(data, first_only=True)).split()) for data in self._templates(intent)]

    def example(self) -> str:
        """What the help answer suggests saying: the given example, else the first template's."""
        return self._example or self.examples(self.intents[0])[0]

    def sample(self, rng: random.Random, per_template: int) -> Iterator[tuple[str, str]]:
        """(intent, sentence): every expansion of each template when it has at most `per_template`, else
        `per_template` drawn at random (each list value and alternative equally likely at each choice)."""
        expander = self._expander()
        for intent in self.sentences:
            for data in self._templates(intent):
                every = expander.expand(data, first_only=False)
                taken = [s for _, s in zip(range(per_template + 1), every, strict=False)]
                if len(taken) > per_template:
                    taken = [expander.draw(data, rng) for _ in range(per_template)]
                for sentence in taken:
                    yield intent, " ".join(sentence.split())

    def _parsed(self) -> _Parsed:
        parsed = self._parsed_once
        if parsed is None:
            with self._lock:  # a skill may be asked from the voice thread and a typed turn at once
                parsed = self._parsed_once
                if parsed is None:
                    parsed = self._parsed_once = self._parse()
        return parsed

    def _parse(self) -> _Parsed:
        from hassil import Intents, WildcardSlotList

        intents = Intents.from_dict(
            {
                "language": LANGUAGE,
                "intents": {name: {"data": [{"sentences": list(t)}]} for name, t in self.sentences.items()},
                "expansion_rules": dict(vocabulary.RULES),
            }
        )
        text_lists = _referenced_text_lists(intents)
        match_lists: dict[str, SlotList] = {
            name: slot_list for name, slot_list in text_lists.items() if name not in self._wildcards
        }
        for name in self._wildcards:
            match_lists[name] = WildcardSlotList(name=name)
        return _Parsed(intents, text_lists, match_lists)

    def _templates(self, intent: str) -> list[Expression]:
        intents = self._parsed().intents
        return [sentence.expression for data in intents.intents[intent].data for sentence in data.sentences]

    def _expander(self) -> Expander:
        from desktop_app.core.brain.template_expansion import Expander

        return Expander(self._list_values, self._parsed().intents.expansion_rules)

    def _list_values(self, name: str) -> list[Expression]:
        slot_list = self._parsed().text_lists.get(name)
        if slot_list is None:
            raise KeyError(f"no examples for the list {{{name}}}: add them to vocabulary.LISTS")
        return [value.text_in for value in slot_list.values]


def _referenced_text_lists(intents: Intents) -> dict[str, TextSlotList]:
    """vocabulary's lists that the templates refer to (directly, through rules, or through another list's
    values), each made once: making all of them for every skill cost more than parsing the templates."""
    from hassil.expression import Group

    rules = intents.expansion_rules
    pending = [
        name
        for intent in intents.intents.values()
        for data in intent.data
        for sentence in data.sentences
        for name in sentence.list_names(rules)
    ]
    text_lists: dict[str, TextSlotList] = {}
    while pending:
        name = pending.pop()
        if name in text_lists or name not in vocabulary.LISTS:
            continue
        text_lists[name] = slot_list = _text_list(name, vocabulary.LISTS[name])
        pending += [
            inner
            for value in slot_list.values
            if isinstance(value.text_in, Group)
            for inner in value.text_in.list_names(rules)
        ]
    return text_lists


def _text_list(name: str, values: Sequence[str | tuple[str, Any]]) -> TextSlotList:
    from hassil import TextSlotList

    pairs = [(value, value) if isinstance(value, str) else value for value in values]
    return TextSlotList.from_tuples(pairs, name=name)
