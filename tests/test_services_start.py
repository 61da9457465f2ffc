"""While the services start on their thread, the interpreter hands its lock to the window's thread within
about a millisecond (services.short_switch_interval); the usual switch interval is back afterwards, also
when starting fails."""

from __future__ import annotations

import sys

import pytest

from desktop_app.services import STARTING_SWITCH_INTERVAL_S, short_switch_interval


def test_the_switch_interval_is_short_while_starting_and_put_back_after() -> None:
    before = sys.getswitchinterval()
    with short_switch_interval():
        assert sys.getswitchinterval() == pytest.approx(STARTING_SWITCH_INTERVAL_S)
        assert before > STARTING_SWITCH_INTERVAL_S
    assert sys.getswitchinterval() == before


def test_a_start_that_fails_puts_the_switch_interval_back() -> None:
    before = sys.getswitchinterval()
    with pytest.raises(RuntimeError, match="no sound system"), short_switch_interval():
        raise RuntimeError("no sound system")
    assert sys.getswitchinterval() == before
