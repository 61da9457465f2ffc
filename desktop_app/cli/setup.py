"""``devices`` and ``settings``: what the app can hear and play through, and the choices it keeps."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any, TextIO

from desktop_app.cli.errors import EXIT_OK, EXIT_USAGE, CommandError
from desktop_app.core.settings import BY_KEY, SETTINGS, Setting, Settings
from desktop_app.paths import AppPaths

Action = Callable[[TextIO], int]


def prepare_devices(args: argparse.Namespace) -> Action:
    as_json: bool = args.json

    def action(out: TextIO) -> int:
        from desktop_app.audio.capture import input_devices
        from desktop_app.audio.playback import output_devices

        inputs = [
            {"name": d.name, "channels": d.channels, "rate": d.default_rate, "default": d.is_default}
            for d in input_devices()
        ]
        outputs = [
            {"name": d.name, "channels": d.channels, "rate": d.default_rate, "default": d.is_default}
            for d in output_devices()
        ]
        if as_json:
            out.write(json.dumps({"inputs": inputs, "outputs": outputs}, ensure_ascii=False) + "\n")
            return EXIT_OK
        for title, devices in (("Microphones", inputs), ("Speakers", outputs)):
            out.write(f"{title}:\n")
            if not devices:
                out.write("  (none found)\n")
            for device in devices:
                mark = "*" if device["default"] else " "
                out.write(f" {mark} {device['name']}  ({device['channels']} ch, {device['rate']} Hz)\n")
        out.write("* the system default. Choose one with: voice-assistant settings set audio.input_device NAME\n")
        return EXIT_OK

    return action


def parse_value(setting: Setting, text: str) -> Any:
    """A command-line word as the setting's type: true/false, numbers, text; "none" clears a nullable one."""
    if setting.nullable and text.lower() in ("none", "default", ""):
        return None
    if setting.type is bool:
        lowered = text.lower()
        if lowered in ("true", "yes", "on", "1"):
            return True
        if lowered in ("false", "no", "off", "0"):
            return False
        raise ValueError(f"{setting.key} is on or off: use true or false")
    if setting.type is int:
        return int(text)
    if setting.type is float:
        return float(text)
    return text


def _settings(args: argparse.Namespace) -> Settings:
    paths = AppPaths.resolve(args.data_dir).ensure()
    return Settings(paths.settings_file)


def prepare_settings_list(args: argparse.Namespace) -> Action:
    as_json: bool = args.json

    def action(out: TextIO) -> int:
        values = _settings(args).as_dict()
        if as_json:
            out.write(json.dumps(values, ensure_ascii=False) + "\n")
            return EXIT_OK
        for setting in SETTINGS:
            out.write(f"{setting.key} = {json.dumps(values[setting.key], ensure_ascii=False)}\n")
            out.write(f"    {setting.description}\n")
        return EXIT_OK

    return action


def prepare_settings_set(args: argparse.Namespace) -> Action:
    key: str = args.key
    setting = BY_KEY.get(key)
    if setting is None:
        raise CommandError(
            "unknown_setting", f"There is no setting {key!r}; see: voice-assistant settings list", EXIT_USAGE
        )
    try:
        value = setting.check(parse_value(setting, args.value))
    except ValueError as error:
        raise CommandError("invalid_setting", f"{error}.", EXIT_USAGE) from None

    def action(out: TextIO) -> int:
        _settings(args).set(key, value)
        out.write(f"{key} = {json.dumps(value, ensure_ascii=False)}\n")
        return EXIT_OK

    return action
