"""Start-up: how long until the window shows and the app is ready to listen, its memory once ready, and how
long the command line takes, each next to its floor (a bare Qt window, `python -c pass`).

Every start is a new process with a fresh data folder, on a private Xvfb screen and a private PulseAudio
server (a virtual microphone and speaker, never the machine's own devices). The kinds of start take turns
within each round (the order rotates from round to round), so machine load falls on all of them alike. One
untimed round runs first: the OS file cache is warm (it is never dropped) and the bytecode is compiled once
into a private cache, as an installed app has it; --compile-each-start measures a checkout whose bytecode is
never written (PYTHONDONTWRITEBYTECODE=1): the app's own modules are then compiled at every start.

What is measured, from the moment before the process is spawned:

- window shown: the X server maps a top-level window titled "Voice Assistant". The root window is watched
  for SubstructureNotify through libX11 (ctypes) and the MapNotify is timed as it arrives (sub-millisecond;
  no polling). Mapped is not yet painted: the app's first paint follows it.
- ready: the later of two lines in the app's log: "speech recognition: ..." (the recogniser is built) and
  "capturing from ..." (the microphone is open; the default audio.preroll opens it at start). Their
  timestamps are the logging module's wall clock, 1 ms resolution (truncated), against the wall clock taken
  before the spawn. Each of the two is reported too, and the text-to-speech engine's "speech engine ready"
  line beside them.
- memory: VmRSS of the app's process (/proc/PID/status) as soon as it is seen ready (within 10 ms), and as
  soon as its window is seen.
- the command line and `python -c pass`: from the spawn to the process's end.

p50 is the median; p90 is report.percentile's nearest rank.

--diagnose adds where the time goes: `-X importtime` of `--version` and `ask` (median of 3 runs per module),
and the GUI start run in one process on Qt's offscreen platform, 3 times as a timeline of its phases (and
how long a Python thread waited for the interpreter lock meanwhile), 3 times profiled up to the window.

    python bench/startup.py              # human-readable
    python bench/startup.py --json       # one JSON object
    python bench/startup.py --runs 10
    python bench/startup.py --diagnose   # and where the time goes
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import ctypes
import ctypes.util
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import pstats
import re
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

# The test suite's servers: tests/ is on mypy's path only when it checks tests/ too.
from pulse_server import PulseAudioServer  # type: ignore[import-not-found, unused-ignore]
from report import percentile, print_results
from xvfb_server import XvfbServer  # type: ignore[import-not-found, unused-ignore]

WINDOW_TITLE = "Voice Assistant"
LOG_FILE = Path("logs") / "voice-assistant.log"
RECOGNISER_READY = "speech recognition:"  # speech/recognition.py, once the recogniser is built
MICROPHONE_OPEN = "capturing from "  # audio/capture.py, once the input stream has started
SPEECH_ENGINE_READY = "speech engine ready"  # speech/tts_engine.py, once pyttsx3 has warmed up
VOICE_FAILED = "voice services could not start"  # app.py: the window opens without voice
QUESTION = "what is two plus two"
START_TIMEOUT_S = 90.0
# How long to wait for the speech engine's line once the app is ready to listen.
SPEECH_ENGINE_GRACE_S = 10.0
POLL_S = 0.01
# Targets, in the metric's own unit (upper bounds).
TARGETS = {
    "window_shown_ms": 1000.0,
    "ready_ms": 2500.0,
    "rss_mb_ready": 250.0,
    "cli_version_ms": 150.0,
    "cli_ask_ms": 400.0,
}
# Floors are printed beside what they are the floor of.
FLOORS = {"window_shown_ms": "bare_qt_window_ms", "cli_version_ms": "python_pass_ms", "cli_ask_ms": "python_pass_ms"}
METRICS = (
    "window_shown_ms",
    "ready_ms",
    "recogniser_ready_ms",
    "microphone_open_ms",
    "speech_engine_ready_ms",
    "rss_mb_shown",
    "rss_mb_ready",
    "bare_qt_window_ms",
    "cli_version_ms",
    "cli_ask_ms",
    "python_pass_ms",
)
BARE_QT_WINDOW = f"""\
import sys
from PySide6.QtWidgets import QApplication, QWidget
app = QApplication(sys.argv[:1])
window = QWidget()
window.setWindowTitle({WINDOW_TITLE!r})
window.resize(760, 620)
window.show()
app.exec()
"""


class StartFailed(RuntimeError):
    """A start did not get where it should; the message says how far it got."""


# -- watching the X screen ------------------------------------------------------------------------------------

_MAP_NOTIFY = 19
_PROPERTY_NOTIFY = 28
_SUBSTRUCTURE_NOTIFY_MASK = 1 << 19
_PROPERTY_CHANGE_MASK = 1 << 22
_XA_WM_NAME = 39
_ANY_PROPERTY_TYPE = 0
_ERROR_HANDLER = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)


class _XMapEvent(ctypes.Structure):
    _fields_ = (
        ("type", ctypes.c_int),
        ("serial", ctypes.c_ulong),
        ("send_event", ctypes.c_int),
        ("display", ctypes.c_void_p),
        ("event", ctypes.c_ulong),
        ("window", ctypes.c_ulong),
        ("override_redirect", ctypes.c_int),
    )


class _XPropertyEvent(ctypes.Structure):
    _fields_ = (
        ("type", ctypes.c_int),
        ("serial", ctypes.c_ulong),
        ("send_event", ctypes.c_int),
        ("display", ctypes.c_void_p),
        ("window", ctypes.c_ulong),
        ("atom", ctypes.c_ulong),
        ("time", ctypes.c_ulong),
        ("state", ctypes.c_int),
    )


class _XEvent(ctypes.Union):
    _fields_ = (
        ("type", ctypes.c_int),
        ("xmap", _XMapEvent),
        ("xproperty", _XPropertyEvent),
        ("pad", ctypes.c_long * 24),
    )


class WindowWatcher:
    """Top-level windows as the X server maps them: SubstructureNotify on the root window, read as the events
    arrive. A window mapped before it has its title is reported when the title is set."""

    def __init__(self, display: str) -> None:
        library = ctypes.util.find_library("X11")
        if library is None:
            raise StartFailed("libX11 was not found (Debian/Ubuntu: libx11-6, which xdotool needs too)")
        x = self._x = ctypes.CDLL(library)
        x.XOpenDisplay.argtypes = [ctypes.c_char_p]
        x.XOpenDisplay.restype = ctypes.c_void_p
        x.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
        x.XDefaultRootWindow.restype = ctypes.c_ulong
        x.XSelectInput.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_long]
        x.XFlush.argtypes = [ctypes.c_void_p]
        x.XPending.argtypes = [ctypes.c_void_p]
        x.XConnectionNumber.argtypes = [ctypes.c_void_p]
        x.XNextEvent.argtypes = [ctypes.c_void_p, ctypes.POINTER(_XEvent)]
        x.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
        x.XInternAtom.restype = ctypes.c_ulong
        x.XGetWindowProperty.argtypes = [
            ctypes.c_void_p,
            ctypes.c_ulong,
            ctypes.c_ulong,
            ctypes.c_long,
            ctypes.c_long,
            ctypes.c_int,
            ctypes.c_ulong,
            ctypes.POINTER(ctypes.c_ulong),
            ctypes.POINTER(ctypes.c_int),
            ctypes.POINTER(ctypes.c_ulong),
            ctypes.POINTER(ctypes.c_ulong),
            ctypes.POINTER(ctypes.c_void_p),
        ]
        x.XFree.argtypes = [ctypes.c_void_p]
        x.XCloseDisplay.argtypes = [ctypes.c_void_p]
        x.XSetErrorHandler.argtypes = [_ERROR_HANDLER]
        x.XSetErrorHandler.restype = ctypes.c_void_p
        # A window can be gone by the time its title is read: that BadWindow must not end this process.
        self._on_error = _ERROR_HANDLER(lambda _display, _error: 0)
        x.XSetErrorHandler(self._on_error)
        self._display = x.XOpenDisplay(display.encode())
        if not self._display:
            raise StartFailed(f"could not connect to the X screen {display}")
        x.XSelectInput(self._display, x.XDefaultRootWindow(self._display), _SUBSTRUCTURE_NOTIFY_MASK)
        x.XFlush(self._display)
        self._fd: int = x.XConnectionNumber(self._display)
        self._net_wm_name: int = x.XInternAtom(self._display, b"_NET_WM_NAME", 0)
        self._untitled: set[int] = set()
        self._event = _XEvent()

    def mapped(self, timeout: float) -> list[tuple[float, str]]:
        """(monotonic time, title) of the top-level windows shown within `timeout` seconds; returns as soon as
        there is one."""
        x, display, event = self._x, self._display, self._event
        deadline = time.monotonic() + timeout
        shown: list[tuple[float, str]] = []
        while True:
            while x.XPending(display) > 0:
                x.XNextEvent(display, ctypes.byref(event))
                at = time.monotonic()
                if event.type == _MAP_NOTIFY:
                    window = int(event.xmap.window)
                    title = self._title(window)
                    if title:
                        shown.append((at, title))
                    else:  # titled later: PropertyNotify says when
                        self._untitled.add(window)
                        x.XSelectInput(display, window, _PROPERTY_CHANGE_MASK)
                        x.XFlush(display)
                elif event.type == _PROPERTY_NOTIFY and int(event.xproperty.window) in self._untitled:
                    window = int(event.xproperty.window)
                    title = self._title(window)
                    if title:
                        self._untitled.discard(window)
                        shown.append((at, title))
            remaining = deadline - time.monotonic()
            if shown or remaining <= 0:
                return shown
            select.select([self._fd], [], [], remaining)

    def drain(self) -> None:
        """Forgets the events of windows that have come and gone."""
        self.mapped(0)
        self._untitled.clear()

    def close(self) -> None:
        if self._display:
            self._x.XCloseDisplay(self._display)
            self._display = None

    def _title(self, window: int) -> str:
        for atom in (self._net_wm_name, _XA_WM_NAME):
            kind, form, count, after = ctypes.c_ulong(), ctypes.c_int(), ctypes.c_ulong(), ctypes.c_ulong()
            data = ctypes.c_void_p()
            status = self._x.XGetWindowProperty(
                self._display,
                window,
                atom,
                0,
                1024,
                0,
                _ANY_PROPERTY_TYPE,
                ctypes.byref(kind),
                ctypes.byref(form),
                ctypes.byref(count),
                ctypes.byref(after),
                ctypes.byref(data),
            )
            if status != 0 or not data.value:
                continue
            try:
                if form.value == 8 and count.value:
                    return ctypes.string_at(data.value, count.value).decode("utf-8", "replace")
            finally:
                self._x.XFree(data)
        return ""


# -- one start of each kind -------------------------------------------------------------------------------------


@dataclass
class Machine:
    """The private screen and sound server every start uses, and the environment that points at them."""

    work: Path
    display: str
    pulse_server: str
    watcher: WindowWatcher
    compile_each_start: bool
    starts: int = field(default=0, init=False)

    def env(self) -> dict[str, str]:
        env = {name: value for name, value in os.environ.items() if not name.startswith("VOICE_ASSISTANT_")}
        home = self.work / "home"
        for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
            env[name] = str(home / name.lower())
        env.update(DISPLAY=self.display, QT_QPA_PLATFORM="xcb", PULSE_SERVER=self.pulse_server)
        if self.compile_each_start:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
            env.pop("PYTHONPYCACHEPREFIX", None)
        else:  # every module's bytecode, written once into a cache of this run
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(self.work / "pycache")
        return env

    def fresh_dir(self, kind: str) -> Path:
        """A new data folder's path (not made: the app makes it, private)."""
        self.starts += 1
        (self.work / "starts").mkdir(parents=True, exist_ok=True)
        return self.work / "starts" / f"{self.starts:03d}-{kind}"


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (the app quits cleanly on it), then SIGKILL if it is still there after 15 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _tail(path: Path, chars: int = 2000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


def _log_marks(log: Path) -> dict[str, float]:
    """The wall-clock time (epoch seconds) of the first log line holding each signal, by signal."""
    marks: dict[str, float] = {}
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return marks
    for line in text.splitlines():
        for needle in (RECOGNISER_READY, MICROPHONE_OPEN, SPEECH_ENGINE_READY, VOICE_FAILED):
            if needle in line and needle not in marks:
                with contextlib.suppress(ValueError):
                    marks[needle] = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
    return marks


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise StartFailed(f"no VmRSS in /proc/{pid}/status")


def start_app(machine: Machine, program: Sequence[str] = (sys.executable, "-m", "desktop_app")) -> dict[str, float]:
    """One start of the app's window: window shown, ready to listen, speech engine ready (ms), RSS (MB).
    `program`: the source tree's by default; bench/bundle.py passes the bundle's executable."""
    data = machine.fresh_dir("app")
    output = data.with_name(data.name + ".stderr")
    machine.watcher.drain()
    with output.open("wb") as stderr:
        wall, started = time.time(), time.monotonic()
        process = subprocess.Popen(
            [*program, "--data-dir", str(data)],
            env=machine.env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    log = data / LOG_FILE
    result: dict[str, float] = {}
    ready_seen_at: float | None = None
    try:
        while True:
            for at, title in machine.watcher.mapped(POLL_S):
                if title == WINDOW_TITLE and "window_shown_ms" not in result:
                    result["window_shown_ms"] = _ms(at - started)
                    result["rss_mb_shown"] = _rss_mb(process.pid)
            marks = _log_marks(log)
            if VOICE_FAILED in marks:
                raise StartFailed(f"the app started without voice; its log:\n{_tail(log)}")
            if ready_seen_at is None and RECOGNISER_READY in marks and MICROPHONE_OPEN in marks:
                result["rss_mb_ready"] = _rss_mb(process.pid)
                result["recogniser_ready_ms"] = _ms(marks[RECOGNISER_READY] - wall)
                result["microphone_open_ms"] = _ms(marks[MICROPHONE_OPEN] - wall)
                result["ready_ms"] = max(result["recogniser_ready_ms"], result["microphone_open_ms"])
                ready_seen_at = time.monotonic()
            if SPEECH_ENGINE_READY in marks:
                result["speech_engine_ready_ms"] = _ms(marks[SPEECH_ENGINE_READY] - wall)
            if "window_shown_ms" in result and ready_seen_at is not None:
                grace_over = time.monotonic() - ready_seen_at > SPEECH_ENGINE_GRACE_S
                if "speech_engine_ready_ms" in result or grace_over:
                    break
            if process.poll() is not None:
                raise StartFailed(f"the app ended ({process.returncode}) while starting:\n{_tail(output)}")
            if time.monotonic() - started > START_TIMEOUT_S:
                raise StartFailed(f"the app was not shown and ready within {START_TIMEOUT_S:.0f} s: {result}")
    finally:
        _stop(process)
    return result


def start_bare_qt_window(machine: Machine) -> dict[str, float]:
    """A bare PySide6 window with the same title: the floor under the app's window."""
    machine.watcher.drain()
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-c", BARE_QT_WINDOW],
        env=machine.env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        while time.monotonic() - started < START_TIMEOUT_S:
            for at, title in machine.watcher.mapped(POLL_S):
                if title == WINDOW_TITLE:
                    return {"bare_qt_window_ms": _ms(at - started)}
            if process.poll() is not None:
                raise StartFailed(f"the bare Qt window ended ({process.returncode}): {process.communicate()[1]!r}")
        raise StartFailed(f"the bare Qt window was not shown within {START_TIMEOUT_S:.0f} s")
    finally:
        _stop(process)
        if process.stderr is not None:
            process.stderr.close()


def _timed_command(machine: Machine, metric: str, args: Sequence[str]) -> tuple[float, str]:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, *args],
        check=False,
        env=machine.env(),
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT_S,
    )
    elapsed = time.monotonic() - started
    if done.returncode != 0:
        raise StartFailed(f"{metric}: {' '.join(args)} ended with {done.returncode}: {done.stderr[-2000:]}")
    return _ms(elapsed), done.stdout


def start_python(machine: Machine) -> dict[str, float]:
    return {"python_pass_ms": _timed_command(machine, "python_pass_ms", ["-c", "pass"])[0]}


def start_cli_version(machine: Machine) -> dict[str, float]:
    return {"cli_version_ms": _timed_command(machine, "cli_version_ms", ["-m", "desktop_app", "--version"])[0]}


def start_cli_ask(machine: Machine) -> dict[str, float]:
    data = machine.fresh_dir("ask")
    elapsed, answer = _timed_command(
        machine, "cli_ask_ms", ["-m", "desktop_app", "--data-dir", str(data), "ask", QUESTION]
    )
    if not re.search(r"\b4\b", answer):
        raise StartFailed(f"cli_ask_ms: {QUESTION!r} was answered {answer!r}, not with 4")
    return {"cli_ask_ms": elapsed}


STARTS: tuple[Callable[[Machine], dict[str, float]], ...] = (
    start_app,
    start_bare_qt_window,
    start_cli_version,
    start_cli_ask,
    start_python,
)


@contextlib.contextmanager
def private_machine(work: Path, compile_each_start: bool) -> Iterator[Machine]:
    """A private Xvfb screen and PulseAudio server (the test suite's), stopped however the run ends."""
    with contextlib.ExitStack() as stack:
        screen = stack.enter_context(XvfbServer.start())
        sound = stack.enter_context(PulseAudioServer.start())
        watcher = WindowWatcher(screen.display)
        stack.callback(watcher.close)
        yield Machine(work, screen.display, sound.server, watcher, compile_each_start)


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(statistics.median(values), 1),
        "p90": round(percentile(values, 0.9), 1),
        "min": round(min(values), 1),
        "max": round(max(values), 1),
    }


def run(runs: int, work: Path, compile_each_start: bool) -> dict[str, object]:
    load_start = os.getloadavg()
    samples: dict[str, list[float]] = {metric: [] for metric in METRICS}
    started = time.monotonic()
    with private_machine(work, compile_each_start) as machine:
        for start in STARTS:  # untimed: warms the file cache and fills the bytecode cache
            start(machine)
        for round_number in range(runs):
            shift = round_number % len(STARTS)
            for start in STARTS[shift:] + STARTS[:shift]:
                for metric, value in start(machine).items():
                    samples[metric].append(value)
    load_end = os.getloadavg()
    results: dict[str, object] = {"runs": runs}
    for metric, values in samples.items():
        if values:
            for name, value in _summary(values).items():
                results[f"{metric}_{name}"] = value
    results["targets"] = {
        metric: {"max": limit, "met": bool(float(results[f"{metric}_p50"]) <= limit)}  # type: ignore[arg-type]
        for metric, limit in TARGETS.items()
        if f"{metric}_p50" in results
    }
    results.update(
        {
            "bytecode": "compiled at each start (app modules)" if compile_each_start else "cached",
            "os_file_cache": "warm (one untimed start of each kind first; the cache is never dropped)",
            "load_average_start": [round(load, 2) for load in load_start],
            "load_average_end": [round(load, 2) for load in load_end],
            "machine_cpus": os.cpu_count(),
            "seconds": round(time.monotonic() - started, 1),
        }
    )
    return results


def table(results: dict[str, object]) -> dict[str, object]:
    """The human-readable lines: one per metric (p50, p90, min, max), its target and its floor."""
    lines: dict[str, object] = {"runs": results["runs"]}
    targets: dict[str, dict[str, object]] = results["targets"]  # type: ignore[assignment]
    for metric in METRICS:
        if f"{metric}_p50" not in results:
            continue
        unit = "MB" if metric.startswith("rss_mb") else "ms"
        line = "  ".join(f"{name} {results[f'{metric}_{name}']:>7}" for name in ("p50", "p90", "min", "max"))
        line += f"  {unit}"
        if metric in targets:
            verdict = "met" if targets[metric]["met"] else "MISSED"
            line += f"   target <= {targets[metric]['max']:g} {unit}: {verdict}"
        if metric in FLOORS and f"{FLOORS[metric]}_p50" in results:
            line += f"   (floor {FLOORS[metric]} p50 {results[f'{FLOORS[metric]}_p50']})"
        lines[metric] = line
    for key in ("bytecode", "os_file_cache", "load_average_start", "load_average_end", "machine_cpus", "seconds"):
        lines[key] = results[key]
    return lines


# -- --diagnose: where the time goes ------------------------------------------------------------------------------

IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")
# What the GUI start's timeline follows, by module and attribute (patched in that module, where it is called
# from). A name the app no longer has is listed as not found, not an error.
PHASES = (
    ("desktop_app.ui.platform_check", "check_platform"),
    ("desktop_app.ui.binding_check", "binding_problem"),
    ("desktop_app.app", "open_store"),
    ("desktop_app.app", "build_brain"),
    ("desktop_app.voice", "start_voice"),
    ("desktop_app.core.brain.assistant", "Assistant.command_phrases"),
    ("desktop_app.speech.recognition", "Recognition.load_in_background"),
    ("desktop_app.core.pipeline", "VoicePipeline.__init__"),
    ("desktop_app.speech.tts", "SpeechOutput.__init__"),
    ("desktop_app.ui.main_window", "MainWindow.__init__"),
    ("desktop_app.speech.recognition", "Recognition._build"),
    ("desktop_app.speech.pocketsphinx_recognizer", "write_domain_model"),
    ("desktop_app.speech.tts_engine", "_Espeak.__init__"),
    ("desktop_app.audio.capture", "find_input_device"),
    ("desktop_app.audio.capture", "_Run._open"),
)
LOADED = "Recognition._build"  # the timeline ends once the recogniser is built
TIMELINE_LIMIT_S = 60.0
ProfileRow = dict[str, tuple[float, float]]  # where -> (cumulative ms, own ms)


def import_times(env: dict[str, str], args: Sequence[str], rounds: int = 3) -> list[tuple[str, float, float]]:
    """`python -X importtime ARGS`, `rounds` times: (module, median cumulative ms, median self ms), slowest
    first. (-X importtime adds its own overhead: the sum is above the plain start.)"""
    cumulative: dict[str, list[float]] = {}
    own: dict[str, list[float]] = {}
    for _ in range(rounds):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", *args],
            check=True,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        for match in IMPORT_LINE.finditer(done.stderr):
            module = match.group(4)
            own.setdefault(module, []).append(int(match.group(1)) / 1000)
            cumulative.setdefault(module, []).append(int(match.group(2)) / 1000)
    rows = [(module, statistics.median(c), statistics.median(own[module])) for module, c in cumulative.items()]
    return sorted(rows, key=lambda row: -row[1])


class _AfterImport(importlib.abc.MetaPathFinder):
    """Calls `then(module)` once `name` has been imported (where the app imports it, not earlier)."""

    def __init__(self, name: str, then: Callable[[ModuleType], None]) -> None:
        self.name = name
        self.then = then

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        loader: Any = spec.loader
        execute = loader.exec_module
        then = self.then

        def exec_module(module: ModuleType) -> None:
            execute(module)
            then(module)

        loader.exec_module = exec_module
        return spec


@dataclass
class _Timeline:
    """(In the child.) When each phase ran, on which thread, and the longest wait for the GIL."""

    started: float
    phases: list[tuple[str, float, float, str]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    longest_wait_s: float = 0.0
    done: bool = False

    def since(self, moment: float) -> float:
        return _ms(moment - self.started)

    def timed(self, function: Callable[..., Any], label: str) -> Callable[..., Any]:
        def phase(*args: Any, **kwargs: Any) -> Any:
            begun = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                took = _ms(time.perf_counter() - begun)
                self.phases.append((label, self.since(begun), took, threading.current_thread().name))

        return phase

    def follow(self) -> None:
        """Wraps each phase when its module is imported."""
        by_module: dict[str, list[str]] = {}
        for module, attribute in PHASES:
            by_module.setdefault(module, []).append(attribute)
        for module_name, attributes in by_module.items():

            def patch(module: ModuleType, attributes: list[str] = attributes) -> None:
                for attribute in attributes:
                    *owner_path, name = attribute.split(".")
                    owner: Any = module
                    for part in owner_path:
                        owner = getattr(owner, part, None)
                    if owner is None or not callable(getattr(owner, name, None)):
                        self.missing.append(f"{module.__name__}.{attribute}")
                        continue
                    setattr(owner, name, self.timed(getattr(owner, name), attribute))

            sys.meta_path.insert(0, _AfterImport(module_name, patch))

    def watch_gil(self) -> None:
        """A thread that sleeps 1 ms at a time: how late it wakes is how long a Python thread (the window's
        too) can wait for the interpreter lock while the others hold it."""

        def tick() -> None:
            last = time.perf_counter()
            while not self.done:
                time.sleep(0.001)
                now = time.perf_counter()
                self.longest_wait_s = max(self.longest_wait_s, now - last - 0.001)
                last = now

        threading.Thread(target=tick, name="gil-watch", daemon=True).start()


def gui_start_child(data_dir: str, out: str, profiled: bool) -> int:
    """(In a child process.) Starts the app in this process as `python -m desktop_app --data-dir D` does.
    Profiled: the main thread up to the window's show(), pstats data written beside `out`. Otherwise: the
    phases' timeline until the recogniser is built. Writes {"shown_ms", ...} to `out`."""
    timeline = _Timeline(time.perf_counter())
    profile = cProfile.Profile()
    if profiled:
        profile.enable()
    else:
        timeline.follow()
        timeline.watch_gil()
    result: dict[str, object] = {}

    def hook_window(module: ModuleType) -> None:
        window_class: Any = module.MainWindow
        show = window_class.show

        def shown(window: Any) -> None:
            begun = time.perf_counter()
            show(window)
            profile.disable()
            result["shown_ms"] = timeline.since(time.perf_counter())
            timeline.phases.append(
                ("MainWindow.show", timeline.since(begun), _ms(time.perf_counter() - begun), "MainThread")
            )
            app = module.QApplication.instance()

            def finish() -> None:
                loaded = any(phase[0] == LOADED for phase in timeline.phases)
                if profiled or loaded or time.perf_counter() - timeline.started > TIMELINE_LIMIT_S:
                    app.quit()

            poll = module.QTimer(app)
            poll.timeout.connect(finish)
            poll.start(20)

        window_class.show = shown

    sys.meta_path.insert(0, _AfterImport("desktop_app.ui.main_window", hook_window))
    import_started = time.perf_counter()
    from desktop_app.cli.main import run as run_cli

    took = _ms(time.perf_counter() - import_started)
    timeline.phases.append(("import desktop_app.cli.main", timeline.since(import_started), took, "MainThread"))
    status = run_cli(["--data-dir", data_dir])
    timeline.done = True
    if profiled:
        profile.dump_stats(out + ".pstats")
    result.update(
        phases=timeline.phases,
        not_found=timeline.missing,
        longest_gil_wait_ms=_ms(timeline.longest_wait_s),
    )
    Path(out).write_text(json.dumps(result))
    return status


def _gui_start(env: dict[str, str], work: Path, profiled: bool) -> dict[str, Any]:
    data = work / f"gui-{time.monotonic_ns()}"
    out = work / f"{data.name}.json"
    subprocess.run(
        [sys.executable, __file__, "--gui-start-child", str(data), str(out)] + (["--profiled"] if profiled else []),
        env={**env, "QT_QPA_PLATFORM": "offscreen"},
        check=True,
        timeout=180,
        capture_output=True,
    )
    result: dict[str, Any] = json.loads(out.read_text())
    if profiled:
        result["stats"] = pstats.Stats(str(out) + ".pstats")
    return result


def _where(key: tuple[str, int, str], root: Path) -> str:
    filename, line, function = key
    parts = Path(filename).parts
    if "site-packages" in parts:
        return f"{'/'.join(parts[parts.index('site-packages') + 1 :])}:{line} {function}"
    with contextlib.suppress(ValueError):
        return f"{Path(filename).relative_to(root)}:{line} {function}"
    return f"{Path(filename).name}:{line} {function}" if line else function


def _profile_rows(stats: pstats.Stats, root: Path) -> ProfileRow:
    entries: Any = stats.stats  # type: ignore[attr-defined]
    return {_where(key, root): (total * 1000, own * 1000) for key, (_, _, own, total, _) in entries.items()}


def _median_profile(profiles: list[ProfileRow]) -> ProfileRow:
    """Each function's median over the runs (0 in a run that did not call it)."""
    every = {where for rows in profiles for where in rows}
    return {
        where: (
            statistics.median(rows.get(where, (0.0, 0.0))[0] for rows in profiles),
            statistics.median(rows.get(where, (0.0, 0.0))[1] for rows in profiles),
        )
        for where in every
    }


def _median_timeline(runs: list[dict[str, Any]]) -> dict[str, dict[str, object]]:
    """Each phase's first call: median start and duration over the runs, in the order they start."""
    firsts: list[dict[str, tuple[float, float, str]]] = []
    for run_result in runs:
        first: dict[str, tuple[float, float, str]] = {}
        for label, at, took, thread in run_result["phases"]:
            first.setdefault(label, (at, took, thread))
        firsts.append(first)
    rows = {
        label: {
            "thread": firsts[0][label][2],
            "at_ms": round(statistics.median(f[label][0] for f in firsts if label in f), 1),
            "took_ms": round(statistics.median(f[label][1] for f in firsts if label in f), 1),
        }
        for label in firsts[0]
    }
    return dict(sorted(rows.items(), key=lambda item: float(item[1]["at_ms"])))  # type: ignore[arg-type]


def diagnose(work: Path, compile_each_start: bool, rounds: int = 3) -> dict[str, object]:
    """Import times of `--version` and `ask`; the GUI start (offscreen, in one process) as a timeline of its
    phases and as a profile of the main thread up to the window. Medians of `rounds` runs each."""
    root = Path(__file__).resolve().parents[1]
    report: dict[str, object] = {}
    work.mkdir(parents=True, exist_ok=True)
    with private_machine(work, compile_each_start) as machine:
        env = machine.env()
        start_cli_version(machine)  # fills the bytecode cache
        start_cli_ask(machine)
        for name, args in (
            ("version", ["-m", "desktop_app", "--version"]),
            ("ask", ["-m", "desktop_app", "--data-dir", str(machine.fresh_dir("ask")), "ask", QUESTION]),
        ):
            rows = import_times(env, args, rounds)
            report[f"importtime_{name}_top15_cumulative_ms"] = {m: round(c, 1) for m, c, _ in rows[:15]}
            by_self = sorted(rows, key=lambda row: -row[2])[:10]
            report[f"importtime_{name}_top10_self_ms"] = {m: round(s, 1) for m, _, s in by_self}
        _gui_start(env, work, profiled=False)  # the offscreen plug-in's bytecode
        timelines = [_gui_start(env, work, profiled=False) for _ in range(rounds)]
        profiles = [_gui_start(env, work, profiled=True) for _ in range(rounds)]
    report["gui_in_process_shown_ms_p50"] = round(statistics.median(t["shown_ms"] for t in timelines), 1)
    report["gui_in_process_shown_ms_profiled_p50"] = round(statistics.median(p["shown_ms"] for p in profiles), 1)
    report["longest_gil_wait_ms"] = max(float(t["longest_gil_wait_ms"]) for t in timelines)
    report["gui_timeline_ms"] = _median_timeline(timelines)
    not_found = sorted({name for t in timelines for name in t["not_found"]})
    if not_found:
        report["gui_timeline_not_found"] = not_found
    median = _median_profile([_profile_rows(p["stats"], root) for p in profiles])
    ours = {
        where: round(total, 1)
        for where, (total, _) in median.items()
        if (where.startswith("desktop_app/") or where.endswith("__init__.py:1 <module>")) and total >= 20
    }
    report["gui_profile_top30_cumulative_ms"] = dict(sorted(ours.items(), key=lambda item: -item[1])[:30])
    by_own = sorted(median.items(), key=lambda item: -item[1][1])[:15]
    report["gui_profile_top15_self_ms"] = {where: round(own, 1) for where, (_, own) in by_own}
    return report


def print_diagnosis(report: dict[str, object]) -> None:
    for key, value in report.items():
        if not isinstance(value, dict):
            print_results({key: value}, False)
            continue
        print(f"\n{key}:")
        lines: dict[str, object] = {}
        for name, item in value.items():
            if isinstance(item, dict):  # a timeline row
                lines[f"  {name}"] = f"at {item['at_ms']:>7}  took {item['took_ms']:>7}  [{item['thread']}]"
            else:
                lines[f"  {name}"] = f"{item:>8}"
        print_results(lines, False)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--runs", type=int, default=5, help="timed starts of each kind (default 5)")
    parser.add_argument(
        "--compile-each-start",
        action="store_true",
        help="never write bytecode (PYTHONDONTWRITEBYTECODE=1): the app's modules are compiled at every start",
    )
    parser.add_argument("--diagnose", action="store_true", help="also: import times, a profile of the GUI start")
    parser.add_argument("--gui-start-child", nargs=2, metavar=("DATA_DIR", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--profiled", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.gui_start_child:
        data_dir, out = args.gui_start_child
        return gui_start_child(data_dir, out, profiled=args.profiled)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    # SIGTERM ends the run through the clean-up below (Xvfb, PulseAudio and the app are stopped).
    signal.signal(signal.SIGTERM, lambda _number, _frame: sys.exit(143))
    with tempfile.TemporaryDirectory(prefix="va-startup-bench-") as tmp:
        results = run(args.runs, Path(tmp), args.compile_each_start)
        if args.diagnose:
            results["diagnosis"] = diagnose(Path(tmp) / "diagnose", args.compile_each_start)
    diagnosis: dict[str, object] | None = results.pop("diagnosis", None)  # type: ignore[assignment]
    if args.json:
        if diagnosis is not None:
            results["diagnosis"] = diagnosis
        print_results(results, True)
    else:
        print_results(table(results), False)
        if diagnosis is not None:
            print_diagnosis(diagnosis)
    return 0


if __name__ == "__main__":
    sys.exit(main())
