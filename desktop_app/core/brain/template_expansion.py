"""The sentences a parsed template stands for: each one in order, or one drawn at random. Used for the help
answer's examples and the recogniser's language model, never to match what was said; `templates` loads this
module (and hassil with it) only then."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Mapping
from itertools import product

from hassil import Sentence
from hassil.expression import Alternative, Expression, ListReference, Permutation, RuleReference, TextChunk
from hassil.expression import Sequence as HassilSequence

ListValues = Callable[[str], list[Expression]]


class Expander:
    """Walks templates whose lists' values come from `list_values` and whose rules are `rules`."""

    def __init__(self, list_values: ListValues, rules: Mapping[str, Sentence]) -> None:
        self._list_values = list_values
        self._rules = rules

    def expand(self, expression: Expression, *, first_only: bool) -> Iterator[str]:
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
                yield from self.expand(item, first_only=first_only)
        elif isinstance(expression, HassilSequence):
            parts = [list(self.expand(item, first_only=first_only)) for item in expression.items]
            for combination in product(*parts):
                yield "".join(combination)
        elif isinstance(expression, ListReference):
            values = self._list_values(expression.list_name)
            for value in values[:1] if first_only else values:
                yield from self.expand(value, first_only=first_only)
        elif isinstance(expression, RuleReference):
            yield from self.expand(self._rules[expression.rule_name].expression, first_only=first_only)

    def draw(self, expression: Expression, rng: random.Random) -> str:
        if isinstance(expression, TextChunk):
            return expression.text
        if isinstance(expression, Alternative):
            return self.draw(rng.choice(expression.items), rng)
        if isinstance(expression, HassilSequence):
            return "".join(self.draw(item, rng) for item in expression.items)
        if isinstance(expression, ListReference):
            return self.draw(rng.choice(self._list_values(expression.list_name)), rng)
        if isinstance(expression, RuleReference):
            return self.draw(self._rules[expression.rule_name].expression, rng)
        return ""
