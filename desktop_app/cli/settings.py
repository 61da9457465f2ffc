"""``settings list`` and ``settings set KEY VALUE``: every setting with its value, and one setting changed
after checking the value against its declaration. Values are printed as JSON with anything that would drive
a terminal escaped (see `output.json_document`).

A refused value says what the setting takes ("voice.rate must be a whole number from 80 to 450, not 'fast'")
with the code ``invalid_setting`` (exit 2), and nothing is written. The speech settings also say which
recogniser listens afterwards, and keep the language and the chosen model from contradicting each other:
choosing a model makes its language the recognition language, and choosing a language clears a chosen model
of another language.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from desktop_app.cli import output
from desktop_app.cli.errors import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, CommandError
from desktop_app.core.settings import BY_KEY, SETTINGS, SPEECH_LANGUAGE, SPEECH_VOSK_MODEL, Settings
from desktop_app.paths import AppPaths

Action = Callable[[TextIO], int]
SPEECH_KEYS = frozenset({"speech.language", "speech.engine", "speech.vosk_model"})


def _shown(value: Any) -> str:
    return output.json_document(value, indent=None)


def prepare_settings_list(args: argparse.Namespace) -> Action:
    """``settings list``, first saying on stderr what in the settings file was unusable (a damaged file, a
    value that is not valid text or does not fit): those settings are listed with their defaults."""
    as_json: bool = args.json

    def action(out: TextIO) -> int:
        settings = Settings(AppPaths.resolve(args.data_dir).ensure().settings_file)
        for problem in settings.problems:
            print(f"warning: {output.one_line(problem)}", file=sys.stderr)
        values = settings.as_dict()
        if as_json:
            out.write(_shown(values) + "\n")
            return EXIT_OK
        for setting in SETTINGS:
            out.write(f"{setting.key} = {_shown(values[setting.key])}\n")
            out.write(f"    {setting.description}\n")
        return EXIT_OK

    return action


def prepare_settings_set(args: argparse.Namespace) -> Action:
    key: str = args.key
    setting = BY_KEY.get(key)
    if setting is None:
        known = ", ".join(s.key for s in SETTINGS)
        raise CommandError(
            "unknown_setting",
            f"There is no setting {key!r}. The settings are: {known} (see: voice-assistant settings list).",
            EXIT_USAGE,
        )
    try:
        value = setting.parse(args.value)
    except ValueError as error:
        raise CommandError("invalid_setting", f"{error}. Nothing was changed.", EXIT_USAGE) from None

    def action(out: TextIO) -> int:
        paths = AppPaths.resolve(args.data_dir).ensure()
        settings = Settings(paths.settings_file)
        if key in SPEECH_KEYS:
            _set_speech(settings, key, value, paths.models_dir, out)
        else:
            settings.set(key, value)
            out.write(f"{key} = {_shown(value)}\n")
        return EXIT_OK

    return action


def _set_speech(settings: Settings, key: str, value: Any, models_dir: Path, out: TextIO) -> None:
    from desktop_app.speech.recognisers import recogniser_in_use
    from desktop_app.speech.recognition import installed_vosk_models, language_name, model_language, same_language

    # The language and the model are saved in one write, so a running app never sees them disagree.
    changes: dict[str, Any] = {key: value}
    said = [f"{key} = {_shown(value)}"]
    if key == "speech.vosk_model" and value is not None:
        model = next((path for path in installed_vosk_models(models_dir) if path.name == value), None)
        if model is None:
            raise CommandError(
                "unknown_model",
                f"No speech model called {output.one_line(value)} is installed; `voice-assistant models list` shows "
                "the installed ones. Nothing was changed.",
                EXIT_FAILURE,
            )
        own = model_language(model)
        if own is not None and not same_language(own, settings.get(SPEECH_LANGUAGE)):
            changes["speech.language"] = own
            said.append(f"speech.language = {_shown(own)} (the language of {output.one_line(value)})")
    elif key == "speech.language":
        chosen = settings.get(SPEECH_VOSK_MODEL)
        path = models_dir / chosen if chosen else None
        own = model_language(path) if path is not None and path.is_dir() else None
        if chosen and own is not None and not same_language(own, value):
            changes["speech.vosk_model"] = None
            said.append(
                f"speech.vosk_model = null ({output.one_line(chosen)} is {language_name(own)}, "
                f"not {language_name(value)})"
            )
    settings.update(changes)
    out.write("".join(line + "\n" for line in said))
    choice = recogniser_in_use(settings, models_dir)
    out.write(f"Listening with {output.one_line(choice.name)}, because {output.one_line(choice.reason)}.\n")
