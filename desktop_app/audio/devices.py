"""Sound devices by the names people see, for the microphone and the speaker alike.

With a sound server (PulseAudio, PipeWire) the devices are the server's sources and sinks by their
descriptions ("USB Microphone"), reached through PortAudio's `pulse` device and routed there (see
sound_server.py). Without one (macOS, Windows, plain ALSA) they are PortAudio's own devices.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from desktop_app.audio import sound_server
from desktop_app.audio.portaudio import sd
from desktop_app.audio.sound_server import Kind
from desktop_app.core.errors import AppError, ErrorCode


@dataclass(frozen=True, slots=True)
class SoundDevice:
    index: int  # PortAudio's device to open (its `pulse` device for a sound-server device)
    name: str  # what people see: "USB Microphone"
    channels: int
    default_rate: int
    is_default: bool
    server_name: str | None = None  # the sound server's name for it; None for a PortAudio device
    is_monitor: bool = False  # records what a speaker plays; not a microphone

    def opening(self, kind: Kind, route: bool) -> contextlib.AbstractContextManager[None]:
        """Wraps opening a PortAudio stream on this device. With `route`, a sound-server device gets the
        stream itself rather than the server's default."""
        return sound_server.routed(kind, self.server_name if route else None)


@dataclass(frozen=True, slots=True)
class DeviceList:
    devices: list[SoundDevice]
    system: str  # where the list comes from: the sound server's name, or "PortAudio"
    portaudio: list[SoundDevice]  # PortAudio's own devices (the same as `devices` without a sound server)

    def find(self, name: str) -> SoundDevice | None:
        """The device `name` stands for (see match_by_name), else a PortAudio device called exactly that,
        so a choice made among PortAudio's names ("pulse", "default") keeps working under a sound server."""
        return match_by_name(self.devices, name) or next((d for d in self.portaudio if d.name == name), None)


def default_index(kind: Kind) -> int | None:
    """PortAudio's default device for that direction, or None when it has none."""
    try:
        index = sd.default.device[0 if kind == "input" else 1]
        if index is None or index < 0:
            index = sd.query_devices(kind=kind)["index"]
    except (sd.PortAudioError, ValueError, TypeError):
        return None
    return int(index)


def _channels(info: Any, kind: Kind) -> int:
    return int(info["max_input_channels" if kind == "input" else "max_output_channels"])


def list_devices(kind: Kind, *, monitors: bool = False) -> DeviceList:
    """Every device for that direction; the sound server's when it answers (monitors of speakers only
    with `monitors`), else PortAudio's; empty when there is no audio system at all."""
    try:
        found = list(sd.query_devices())
    except sd.PortAudioError:
        return DeviceList([], "PortAudio", [])
    default = default_index(kind)
    portaudio = [
        SoundDevice(i, d["name"], _channels(d, kind), int(d["default_samplerate"]), i == default)
        for i, d in enumerate(found)
        if _channels(d, kind) > 0
    ]
    pulse = next((d for d in portaudio if d.name == sound_server.PULSE_PORTAUDIO_DEVICE), None)
    server = sound_server.query_devices() if pulse is not None else None
    if pulse is None or server is None:
        return DeviceList(portaudio, "PortAudio", portaudio)
    return DeviceList(
        [
            SoundDevice(pulse.index, d.description, d.channels, pulse.default_rate, d.is_default, d.name, d.is_monitor)
            for d in server.of(kind)
            if monitors or not d.is_monitor
        ],
        server.server,
        portaudio,
    )


def match_by_name(devices: Sequence[SoundDevice], name: str) -> SoundDevice | None:
    """The device called exactly `name`, else the one whose sound-server name is `name`, else the first
    whose name contains it (any case; monitors only by their full names), else None. Names change a little
    between systems ("USB Mic" vs "USB Mic: Audio (hw:1,0)"), so a part will do."""
    for matches in (
        lambda d: d.name == name,
        lambda d: d.server_name == name,
        lambda d: not d.is_monitor and name.lower() in d.name.lower(),
    ):
        found = next((d for d in devices if matches(d)), None)
        if found is not None:
            return found
    return None


def not_connected(noun: str, name: str) -> str:
    return f"The {noun} {name!r} is not connected. Plug it in, or pick another in Settings > Audio."


def choose_device(listed: DeviceList, name: str | None, code: ErrorCode, noun: str, nothing: str) -> SoundDevice:
    """The device `name` stands for (see DeviceList.find), or the default when None. AppError(`code`)
    saying `nothing` when there are no devices, or that the named `noun` is not connected."""
    if not listed.devices and not listed.portaudio:
        raise AppError(code, nothing)
    if name:
        found = listed.find(name)
        if found is not None:
            return found
        raise AppError(code, not_connected(noun, name))
    if not listed.devices:
        raise AppError(code, nothing)
    return next((d for d in listed.devices if d.is_default), listed.devices[0])


def still_connected(kind: Kind, device: SoundDevice) -> bool:
    """False only when the sound server answers and no longer has this device. (The server moves the
    streams of a device that goes to another one, so without asking, the app would go on quietly
    recording the wrong microphone or playing on the wrong speaker.)"""
    if device.server_name is None:
        return True
    return sound_server.is_connected(kind, device.server_name) is not False
