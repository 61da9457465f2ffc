"""Durations and clock times as speech recognition writes them; `now` is fixed by the test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from desktop_app.core.brain.when import parse_clock_time, parse_duration

NOW = datetime(2026, 11, 24, 13, 52, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("said", "seconds"),
    [
        ("set a pasta timer for ten minutes", 600),
        ("an hour and a half", 5400),
        ("two and a half hours", 9000),
        ("1 hour 30 minutes", 5400),
        ("half an hour", 1800),
        ("ninety seconds", 90),
        ("remind me in a minute", 60),
        ("set a timer for twenty five minutes", 1500),
    ],
)
def test_durations(said: str, seconds: int) -> None:
    assert parse_duration(said) == timedelta(seconds=seconds)


@pytest.mark.parametrize("said", ["what time is it", "remember that i like python", "minutes"])
def test_no_duration(said: str) -> None:
    assert parse_duration(said) is None


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("remind me to call mum at five pm", (24, 17, 0)),
        ("remind me at five p m to water the plants", (24, 17, 0)),
        ("at half past six", (24, 18, 30)),
        ("at a quarter to four", (24, 15, 45)),
        ("at twenty past four", (24, 16, 20)),
        ("at ten oh five", (24, 22, 5)),  # 10:05 has passed today: the evening one
        ("at 10:30", (24, 22, 30)),
        ("at noon", (25, 12, 0)),  # noon has passed: tomorrow's
        ("at midnight", (25, 0, 0)),
        ("tomorrow at nine", (25, 9, 0)),
        ("at seven in the evening", (24, 19, 0)),
        ("at two in the afternoon", (24, 14, 0)),
        ("at nine am", (25, 9, 0)),
    ],
)
def test_clock_times_mean_the_next_time_the_clock_shows_them(said: str, expected: tuple[int, int, int]) -> None:
    day, hour, minute = expected
    assert parse_clock_time(said, NOW) == datetime(2026, 11, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize("said", ["set a timer for ten minutes", "what time is it", "i am twenty one"])
def test_no_clock_time(said: str) -> None:
    assert parse_clock_time(said, NOW) is None
