"""The devices a person picks among, as `voice-assistant devices`, the first-run guide and Settings > Audio
show them: the microphones or speakers by name, the system default, and the device a saved choice
(audio.input_device, audio.output_device) stands for now, or that it is not connected."""

from __future__ import annotations

from dataclasses import dataclass

from desktop_app.audio.devices import SoundDevice, list_devices
from desktop_app.audio.sound_server import Kind


@dataclass(frozen=True, slots=True)
class DeviceChoices:
    kind: Kind
    system: str  # where the list comes from: the sound server's name, or "PortAudio"
    # Monitors of speakers (they record what a speaker plays) only when asked for, or when in use.
    devices: tuple[SoundDevice, ...]
    default: SoundDevice | None  # the system default
    wanted: str | None  # the saved choice; None: the system default
    chosen: SoundDevice | None  # the device `wanted` stands for (see DeviceList.find); None when not connected

    @property
    def in_use(self) -> SoundDevice | None:
        """The device the app would use (see devices.choose_device); None when there is none."""
        return self.chosen if self.wanted else self.default

    @property
    def missing(self) -> bool:
        """A device is chosen by name and it is not connected."""
        return bool(self.wanted) and self.chosen is None


def device_choices(kind: Kind, wanted: str | None, *, monitors: bool = False) -> DeviceChoices:
    """Lists the devices (it asks the sound server: never on a window's main thread)."""
    listed = list_devices(kind, monitors=True)  # a monitor may be the one chosen
    chosen = listed.find(wanted) if wanted else None
    default = next((d for d in listed.devices if d.is_default), None)
    in_use = chosen if wanted else default
    shown = tuple(d for d in listed.devices if monitors or not d.is_monitor or d == in_use)
    return DeviceChoices(kind, listed.system, shown, default, wanted, chosen)
