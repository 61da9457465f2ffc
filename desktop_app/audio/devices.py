"""Choosing a sound device by the name people see, for the microphone and the speaker alike."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol, TypeVar

import sounddevice as sd

from desktop_app.core.errors import AppError, ErrorCode


class Device(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def is_default(self) -> bool: ...


D = TypeVar("D", bound=Device)


def default_index(kind: Literal["input", "output"]) -> int | None:
    """PortAudio's default device for that direction, or None when it has none."""
    try:
        index = sd.default.device[0 if kind == "input" else 1]
        if index is None or index < 0:
            index = sd.query_devices(kind=kind)["index"]
    except (sd.PortAudioError, ValueError, TypeError):
        return None
    return int(index)


def match_by_name(devices: Sequence[D], name: str) -> D | None:
    """The device called exactly `name`, else the first whose name contains it (any case), else None.
    Names change a little between systems ("USB Mic" vs "USB Mic: Audio (hw:1,0)"), so a part will do."""
    exact = [d for d in devices if d.name == name]
    if exact:
        return exact[0]
    lowered = name.lower()
    return next((d for d in devices if lowered in d.name.lower()), None)


def choose_device(devices: Sequence[D], name: str | None, code: ErrorCode, noun: str, nothing: str) -> D:
    """The device called `name` (see match_by_name), or the default when None. AppError(`code`) saying
    `nothing` when there are no devices, or that the named `noun` is not connected."""
    if not devices:
        raise AppError(code, nothing)
    if name:
        found = match_by_name(devices, name)
        if found is not None:
            return found
        raise AppError(code, f"The {noun} {name!r} is not connected. Plug it in, or pick another in Settings > Audio.")
    return next((d for d in devices if d.is_default), devices[0])
