"""How every benchmark prints: aligned `name value` lines, or one JSON object with --json."""

from __future__ import annotations

import json
from collections.abc import Mapping


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank percentile (q from 0 to 1) of a non-empty list."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def print_results(results: Mapping[str, object], as_json: bool) -> None:
    if as_json:
        print(json.dumps(results))
        return
    for key, value in results.items():
        print(f"{key:34} {value}")
