"""Choosing a sound device by the name people see, for the microphone and the speaker alike."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar


class Named(Protocol):
    @property
    def name(self) -> str: ...


D = TypeVar("D", bound=Named)


def match_by_name(devices: Sequence[D], name: str) -> D | None:
    """The device called exactly `name`, else the first whose name contains it (any case), else None.
    Names change a little between systems ("USB Mic" vs "USB Mic: Audio (hw:1,0)"), so a part will do."""
    exact = [d for d in devices if d.name == name]
    if exact:
        return exact[0]
    lowered = name.lower()
    return next((d for d in devices if lowered in d.name.lower()), None)
