"""The window's event loop keeps turning (tests/window_scenario.py): a 10 ms timer on the main thread keeps
firing while the services start and the speech model loads, while a slow language model's answer streams
in, while speech is stopped mid-answer, and with the store on PostgreSQL. The longest gap in each phase is
printed; bench/event_loop.py measures them against the product's 50 ms aim (docs/benchmarks.md).

The bounds check the architecture, that nothing waits on the main thread, not speed: a store read, a model
load, a network call or a stop that ran on the main thread would each stall it for hundreds of
milliseconds or more, and so did a full garbage collection before the heap was set aside (110-150 ms). The
loading phase has more room: the recogniser process starting and the services thread's imports compete for
the machine's CPUs with the window."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pulse_server import PulseAudioServer
from window_scenario import LOADING, PHASES, TICK_MS, run_in_new_process

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

LONGEST_GAP_MS = {phase: 100.0 for phase in PHASES} | {LOADING: 250.0}
# Every phase lasts long enough for the timer to fire this often: a phase it never measured passes nothing.
FEWEST_TICKS = 10


@pytest.mark.gui
@pytest.mark.audio
@pytest.mark.postgres
@pytest.mark.slow
def test_the_window_keeps_turning_through_loading_streaming_stopping_on_postgresql(
    pulse_server: PulseAudioServer, data_dir: Path, pg_database_url: str
) -> None:
    phases = run_in_new_process(data_dir, pg_database_url, pulse_server.env())  # a process the app's size
    for phase, gaps in phases.items():
        print(f"longest gap between {TICK_MS} ms ticks while {phase}: {gaps.longest_ms:.1f} ms ({gaps.ticks} ticks)")
    assert list(phases) == list(PHASES)
    for phase, gaps in phases.items():
        assert gaps.ticks >= FEWEST_TICKS, (phase, gaps)
        assert gaps.longest_ms < LONGEST_GAP_MS[phase], (phase, gaps)
