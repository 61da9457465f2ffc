"""``devices`` and ``settings``: what the app can hear and play through, and the choices it keeps."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any, Literal, TextIO

from desktop_app.cli import output
from desktop_app.cli.errors import EXIT_OK
from desktop_app.core.settings import Settings
from desktop_app.paths import AppPaths
from desktop_app.system_libraries import PORTAUDIO, require

Action = Callable[[TextIO], int]


def prepare_devices(args: argparse.Namespace) -> Action:
    """Microphones and speakers by the names a desktop's sound settings show (the sound server's, when
    there is one), marking the system default and the one the app uses (its audio.* setting)."""
    as_json: bool = args.json
    monitors: bool = getattr(args, "all", False)
    settings_file = AppPaths.resolve(args.data_dir).settings_file

    def action(out: TextIO) -> int:
        require([PORTAUDIO], "list the sound devices")
        from desktop_app.audio.choices import device_choices

        settings = Settings(settings_file)  # read only: nothing is created
        document: dict[str, Any] = {"system": None, "inputs": [], "outputs": [], "chosen": {}}
        kinds: tuple[Literal["input", "output"], ...] = ("input", "output")
        for kind in kinds:
            key, plural = f"audio.{kind}_device", f"{kind}s"
            wanted: str | None = settings.get(key)
            # What the app would use (see desktop_app.audio.devices.choose_device), as Settings > Audio shows it.
            choices = device_choices(kind, wanted, monitors=monitors)
            document["system"] = choices.system
            chosen = choices.in_use
            document["chosen"][kind] = {"setting": key, "value": wanted, "connected": chosen is not None}
            document[plural] = [
                {
                    "name": d.name,
                    "server_name": d.server_name,
                    "channels": d.channels,
                    "rate": d.default_rate,
                    "default": d.is_default,
                    "chosen": d == chosen,
                    "monitor": d.is_monitor,
                }
                for d in choices.devices
            ]
        if as_json:
            out.write(json.dumps(document, ensure_ascii=False) + "\n")
            return EXIT_OK
        _print_devices(out, document)
        return EXIT_OK

    return action


def _print_devices(out: TextIO, document: dict[str, Any]) -> None:
    system = document["system"]
    out.write(f"Sound devices of {system}:\n" if system != "PortAudio" else "Sound devices (no sound server):\n")
    for title, kind, plural in (("Microphones", "input", "inputs"), ("Speakers", "output", "outputs")):
        out.write(f"{title}:\n")
        devices = document[plural]
        if not devices:
            out.write("  (none found)\n")
        width = max((len(output.one_line(d["name"])) for d in devices), default=0)
        for device in devices:
            marks = ("*" if device["default"] else " ") + " " + (">" if device["chosen"] else " ")
            server_name = device["server_name"]
            server = f"  [{output.one_line(server_name)}]" if server_name not in (None, device["name"]) else ""
            name = output.one_line(device["name"])
            out.write(f"  {marks} {name:<{width}}  ({device['channels']} ch, {device['rate']} Hz){server}\n")
        chosen = document["chosen"][kind]
        if chosen["value"] and not chosen["connected"]:
            out.write(f"  ! {chosen['setting']} is {output.one_line(repr(chosen['value']))}, which is not connected\n")
    out.write(
        "* the system default   > the one the app uses (settings audio.input_device, audio.output_device)\n"
        'Choose one by name: voice-assistant settings set audio.input_device "USB Microphone"\n'
    )


def _settings(args: argparse.Namespace) -> Settings:
    paths = AppPaths.resolve(args.data_dir).ensure()
    return Settings(paths.settings_file)
