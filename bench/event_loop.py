"""The window's event loop while things happen: the longest gap between the firings of a 10 ms timer on the
main thread, in each phase of a session with the real window and services (tests/window_scenario.py):
the services start and the speech model loads, a slow language model's answer streams in, speech is
stopped mid-answer, a second answer is stored in PostgreSQL and read back into the history.

Each session is a new process (imports, the recogniser process and the first answer as in the app), on
Qt's offscreen platform, with a private PulseAudio server (a virtual microphone and speaker) and a private
PostgreSQL server, a new database each. The product's aim: every gap under 50 ms. p50 is the median over
the sessions, max the worst; p90 is report.percentile's nearest rank.

    python bench/event_loop.py              # human-readable
    python bench/event_loop.py --json       # one JSON object
    python bench/event_loop.py --runs 10
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

# The test suite's servers: tests/ is on mypy's path only when it checks tests/ too.
from pg_server import PostgresServer  # type: ignore[import-not-found, unused-ignore]
from pulse_server import PulseAudioServer  # type: ignore[import-not-found, unused-ignore]
from report import percentile, print_results
from window_scenario import (  # type: ignore[import-not-found, unused-ignore]
    LOADING,
    POSTGRES,
    STOPPING,
    STREAMING,
    TICK_MS,
    PhaseGaps,
    run_in_new_process,
)

AIM_MS = 50.0
# Short names for the phases in the results.
PHASE_KEYS = {LOADING: "loading", STREAMING: "streaming", STOPPING: "stopping", POSTGRES: "postgres"}


def run(runs: int) -> dict[str, object]:
    sessions: list[dict[str, PhaseGaps]] = []
    pulse = PulseAudioServer.start()
    postgres = PostgresServer.start()
    try:
        env = {**pulse.env(), "QT_QPA_PLATFORM": "offscreen"}
        with tempfile.TemporaryDirectory(prefix="va-bench-loop-") as work:
            for index in range(runs):
                data_dir = Path(work) / f"data-{index}"
                data_dir.mkdir(mode=0o700)
                database = postgres.create_database()
                try:
                    sessions.append(run_in_new_process(data_dir, postgres.url(database), env))
                finally:
                    postgres.drop_database(database)
    finally:
        postgres.stop()
        pulse.stop()
    results: dict[str, object] = {"runs": runs, "tick_ms": TICK_MS}
    worst = 0.0
    for phase, key in PHASE_KEYS.items():
        gaps = [session[phase].longest_ms for session in sessions]
        worst = max(worst, *gaps)
        results[f"{key}_longest_gap_ms_p50"] = round(statistics.median(gaps), 1)
        results[f"{key}_longest_gap_ms_p90"] = round(percentile(gaps, 0.9), 1)
        results[f"{key}_longest_gap_ms_max"] = round(max(gaps), 1)
    results["aim_ms"] = AIM_MS
    results["aim_met_in_every_session"] = worst < AIM_MS
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--runs", type=int, default=5, help="sessions, each a new process (default 5)")
    args = parser.parse_args()
    print_results(run(args.runs), args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
