"""Text as speech recognisers write it: lower case, letters and apostrophes, single spaces."""

from __future__ import annotations

import re

_NOT_WORD = re.compile(r"[^a-z' ]+")


def normalise_phrase(phrase: str) -> str:
    """Lower case, letters and apostrophes only, single spaces: how a recogniser writes text."""
    return " ".join(_NOT_WORD.sub(" ", phrase.lower()).split())
