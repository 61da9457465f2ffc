"""The sound server's own devices (PulseAudio, or PipeWire through its PulseAudio service), by the names a
desktop's sound settings show, and routing a PortAudio stream to one of them.

Under a sound server PortAudio sees only ALSA's `pulse` and `default` devices, never "USB Microphone".
The server's sources and sinks, with their human descriptions, come from libpulse (through pulsectl).

Routing: a stream for a chosen server device is opened on PortAudio's `pulse` device with PULSE_SOURCE
(or PULSE_SINK) set to the device's server name while PortAudio opens it. The ALSA pulse plugin creates
its libpulse context when the PCM is opened, and libpulse reads those variables then, so the stream is
connected to the chosen device from its first sample. (Moving the stream after it opened, with
source_output_move, was measured to let the first 20 ms block come from the default microphone, and it
needs the stream found among the process's others.) The environment is process-wide, so every stream
opened on a server device is opened under one lock, and the variable is put back at once.

Every question to the server runs on a short-lived daemon thread and is waited for at most
QUERY_TIMEOUT_S: a server that hangs costs that wait and the caller falls back to PortAudio's own list,
never more. (pulsectl's own connect timeout always waits its whole length, even when the connection is
made at once, so it is not used.) Without libpulse (macOS, Windows) or with no server, there is nothing.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from desktop_app import DISPLAY_NAME

log = logging.getLogger(__name__)

Kind = Literal["input", "output"]

CLIENT_NAME = DISPLAY_NAME  # how the sound settings list the app
QUERY_TIMEOUT_S = 1.0
# The ALSA device (as PortAudio names it) through which every server device is reached.
PULSE_PORTAUDIO_DEVICE = "pulse"
ROUTING_VARIABLE: dict[Kind, str] = {"input": "PULSE_SOURCE", "output": "PULSE_SINK"}


@dataclass(frozen=True, slots=True)
class ServerDevice:
    name: str  # the server's name for it, e.g. "alsa_input.usb-0d8c_USB_Audio-00.mono-fallback"
    description: str  # what people see, e.g. "USB Microphone"
    channels: int
    is_default: bool
    is_monitor: bool = False  # a source that records what a sink plays ("Monitor of ...")


@dataclass(frozen=True, slots=True)
class ServerDevices:
    server: str  # e.g. "pulseaudio" or "PulseAudio (on PipeWire 1.0.5)"
    sources: tuple[ServerDevice, ...]
    sinks: tuple[ServerDevice, ...]

    def of(self, kind: Kind) -> tuple[ServerDevice, ...]:
        return self.sources if kind == "input" else self.sinks


class _Query:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: ServerDevices | None = None


class _Asker:
    """At most one question to the server at a time; callers arriving meanwhile share its answer, and a
    question that never returns (a hung server) leaves one stuck daemon thread, not one per call."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight: _Query | None = None

    def ask(self, timeout: float) -> ServerDevices | None:
        with self._lock:
            running = self._in_flight
            if running is None or running.done.is_set():
                running = self._in_flight = _Query()
                threading.Thread(target=_answer, args=(running,), name="sound-server-query", daemon=True).start()
        if not running.done.wait(timeout):
            log.warning("the sound server did not answer within %.1f s; using PortAudio's device list", timeout)
            return None
        return running.result


_asker = _Asker()


def query_devices(timeout: float = QUERY_TIMEOUT_S) -> ServerDevices | None:
    """The server's sources and sinks; None when no server answers within `timeout` seconds (or libpulse
    is missing)."""
    return _asker.ask(timeout)


def _answer(query: _Query) -> None:
    try:
        query.result = _read_devices()
    except Exception as error:  # no libpulse, no server, a server that went away: PortAudio's list then
        log.debug("no sound server devices (%s)", error)
    finally:
        query.done.set()


def _read_devices() -> ServerDevices:
    import pulsectl  # type: ignore[import-untyped]  # loads libpulse: OSError where there is none

    with pulsectl.Pulse(CLIENT_NAME, connect=False) as pulse:
        pulse.connect()  # no autospawn; fails at once when nothing listens
        info = pulse.server_info()
        sources = tuple(_device(s, info.default_source_name, s.monitor_of_sink_name) for s in pulse.source_list())
        sinks = tuple(_device(s, info.default_sink_name, None) for s in pulse.sink_list())
        return ServerDevices(str(info.server_name), sources, sinks)


def _device(info: Any, default_name: str | None, monitor_of: str | None) -> ServerDevice:
    # No sample rate: pulsectl keeps `sample_spec` as a view into libpulse's memory, which is freed once the
    # listing returns (reading it later gave garbage). The stream's rate is the `pulse` device's; the server
    # converts.
    return ServerDevice(
        name=str(info.name),
        description=str(info.description or info.name),
        channels=int(info.channel_count),
        is_default=info.name == default_name,
        is_monitor=monitor_of is not None or info.proplist.get("device.class") == "monitor",
    )


def is_connected(kind: Kind, name: str) -> bool | None:
    """Whether the server still has this device; None when the server does not answer."""
    found = query_devices()
    if found is None:
        return None
    return any(device.name == name for device in found.of(kind))


_open_lock = threading.Lock()


@contextlib.contextmanager
def routed(kind: Kind, name: str | None) -> Iterator[None]:
    """Streams opened inside go to the server device `name` (None: the server's default). Held around
    opening every stream on the `pulse` device, so no two openings see each other's routing."""
    with _open_lock:
        if name is None:
            yield
            return
        variable = ROUTING_VARIABLE[kind]
        before = os.environ.get(variable)
        os.environ[variable] = name
        try:
            yield
        finally:
            if before is None:
                os.environ.pop(variable, None)
            else:
                os.environ[variable] = before
