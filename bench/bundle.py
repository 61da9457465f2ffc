"""The double-click bundle: its size unpacked and as .tar.gz, its ten biggest parts, and how soon its window
shows and it is ready to listen when started (Xvfb and a private PulseAudio server, as bench/startup.py).

Targets: at most 250 MB unpacked and 100 MB as .tar.gz (no Vosk models are in the bundle; they are
downloaded), the window shown within 1.5 s of the start.

    python bench/bundle.py                 # measures dist/voice-assistant (./build.sh makes it)
    python bench/bundle.py --build         # builds it first (python -m PyInstaller build.spec)
    python bench/bundle.py --json --runs 10

Sizes are the files' own sizes (what a download unpacks to), not the blocks they take on this disk. The
.tar.gz is made as build.sh makes it (gzip's default level). A start's file cache is warm: one untimed start
comes first, as in bench/startup.py.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from report import print_results
from startup import private_machine, start_app

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "dist" / "voice-assistant"
TARGETS_MB = {"unpacked_mb": 250.0, "tar_gz_mb": 100.0}
WINDOW_TARGET_MS = 1500.0
# Parts shown one level deeper, since one entry of theirs would hide what they are made of.
DETAILED = ("PySide6", "PySide6/Qt", "PySide6/Qt/lib")


def build() -> float:
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN", "build.spec"], cwd=ROOT, check=True
    )
    return time.monotonic() - started


def size_of(path: Path) -> int:
    if path.is_symlink() or path.is_file():
        return path.lstat().st_size
    return sum(size_of(child) for child in path.iterdir())


def biggest_parts(bundle: Path, count: int = 10) -> list[tuple[str, float]]:
    """The biggest entries of the bundle's _internal folder, in MB; PySide6 split into what it holds."""
    internal = bundle / "_internal"
    parts: dict[str, int] = {}

    def add(folder: Path) -> None:
        for child in folder.iterdir():
            relative = child.relative_to(internal).as_posix()
            if relative in DETAILED and child.is_dir():
                add(child)
            else:
                parts[relative] = size_of(child)

    add(internal)
    ranked = sorted(parts.items(), key=lambda item: -item[1])[:count]
    return [(name, round(size / 1e6, 1)) for name, size in ranked]


def tar_gz_size(bundle: Path) -> int:
    with tempfile.TemporaryDirectory(prefix="va-bundle-") as work:
        archive = Path(work) / "bundle.tar.gz"
        subprocess.run(["tar", "-C", str(bundle.parent), "-czf", str(archive), bundle.name], check=True)
        return archive.stat().st_size


def window_starts(bundle: Path, runs: int) -> list[dict[str, float]]:
    program = [str(bundle / "voice-assistant")]
    with tempfile.TemporaryDirectory(prefix="va-bundle-starts-") as work, private_machine(Path(work), False) as machine:
        start_app(machine, program)  # untimed
        return [start_app(machine, program) for _ in range(runs)]


def run(runs: int, do_build: bool) -> dict[str, object]:
    results: dict[str, object] = {}
    if do_build:
        results["build_s"] = round(build(), 1)
    if not (BUNDLE / "voice-assistant").is_file():
        raise SystemExit(f"no bundle at {BUNDLE}: run ./build.sh, or this with --build")
    results["unpacked_mb"] = round(size_of(BUNDLE) / 1e6, 1)
    results["tar_gz_mb"] = round(tar_gz_size(BUNDLE) / 1e6, 1)
    results["biggest_parts_mb"] = dict(biggest_parts(BUNDLE))
    starts = window_starts(BUNDLE, runs)
    for metric in ("window_shown_ms", "ready_ms"):
        values = [start[metric] for start in starts if metric in start]
        results[f"{metric}_p50"] = round(statistics.median(values), 1)
        results[f"{metric}_min"] = round(min(values), 1)
        results[f"{metric}_max"] = round(max(values), 1)
    targets: dict[str, dict[str, object]] = {
        metric: {"max": limit, "met": float(results[metric]) <= limit}  # type: ignore[arg-type]
        for metric, limit in TARGETS_MB.items()
    }
    shown = float(results["window_shown_ms_p50"])  # type: ignore[arg-type]
    targets["window_shown_ms_p50"] = {"max": WINDOW_TARGET_MS, "met": shown <= WINDOW_TARGET_MS}
    results["targets"] = targets
    results["runs"] = runs
    results["load_average"] = [round(load, 2) for load in os.getloadavg()]
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="timed starts (default 5)")
    parser.add_argument("--build", action="store_true", help="build the bundle first")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    print_results(run(args.runs, args.build), args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
