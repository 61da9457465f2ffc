"""The sub-commands that never open the conversation store: ``models``, ``transcribe``, ``devices``,
``install-desktop``, ``uninstall-desktop`` and ``settings``, with their arguments, declared when the command
is chosen. Each runs through `Runs`, so declaring them imports neither numpy nor the speech models."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from desktop_app.cli.arguments import Parser, Runs, command_parser

if TYPE_CHECKING:  # argparse's class is not subscriptable at run time
    Commands = argparse._SubParsersAction[argparse.ArgumentParser]


def add_tool_parsers(commands: Commands, common: Parser) -> None:
    _add_models_parser(commands, common)
    _add_transcribe_parser(commands, common)
    _add_setup_parsers(commands, common)


def _add_models_parser(commands: Commands, common: Parser) -> None:
    """The ``models`` sub-command and its actions."""
    models_parser = command_parser(
        commands,
        "models",
        parents=[common],
        help="list, download, install or remove speech recognition models",
        description="Manage the Vosk speech recognition models (one per language). The app listens with an "
        "installed model of the recognition language (speech.language, English by default), else with the "
        "built-in English recogniser; `models list` shows which one and why.",
    )
    models_parser.set_defaults(needs_store=False)
    models_parser.declare_later(lambda: _declare_models(models_parser, common))


def _declare_models(models_parser: Parser, common: Parser) -> None:
    actions = models_parser.add_subparsers(dest="models_command", metavar="ACTION", required=True)

    listing = actions.add_parser(
        "list",
        parents=[common],
        help="the models you can download and the ones installed, and which one listens",
        description="List the built-in recogniser, the downloadable models (from the saved list) and the installed "
        "ones, marking the one in use and why.",
    )
    listing.add_argument("--all", action="store_true", help="include obsolete models")
    listing.add_argument("--json", action="store_true", help="print one JSON document")
    listing.set_defaults(prepare=Runs("desktop_app.cli.models", "prepare_list"))

    refresh = actions.add_parser(
        "refresh",
        parents=[common],
        help="fetch the latest list of models",
        description="Fetch the official list of models and keep it for offline use.",
    )
    _catalog_url_option(refresh)
    refresh.set_defaults(prepare=Runs("desktop_app.cli.models", "prepare_refresh"))

    download = actions.add_parser(
        "download",
        parents=[common],
        help="download and install a model by name",
        description="Download a model from the list, check it and install it. An interrupted download (Ctrl+C, "
        "a dropped connection) resumes where it stopped when the command is run again.",
    )
    download.add_argument("name", metavar="NAME", help="the model's name (see `models list`)")
    download.add_argument("--replace", action="store_true", help="replace the model if it is already installed")
    _use_option(download)
    _catalog_url_option(download)
    download.set_defaults(prepare=Runs("desktop_app.cli.models", "prepare_download"))

    install = actions.add_parser(
        "install",
        parents=[common],
        help="install a model from a .zip file",
        description="Install a model from a .zip archive you already have.",
    )
    install.add_argument("archive", metavar="ZIP", help="the model archive")
    install.add_argument("--name", metavar="NAME", help="install under this name (default: the archive's folder)")
    install.add_argument("--replace", action="store_true", help="replace a model of the same name")
    install.add_argument(
        "--language",
        metavar="CODE",
        help="the model's language (e.g. en, ko), when the model list does not know it by its name",
    )
    _use_option(install)
    install.set_defaults(prepare=Runs("desktop_app.cli.models", "prepare_install"))

    remove = actions.add_parser(
        "remove", parents=[common], help="delete an installed model", description="Delete an installed model."
    )
    remove.add_argument("name", metavar="NAME", help="the installed model's name")
    remove.set_defaults(prepare=Runs("desktop_app.cli.models", "prepare_remove"))


def _use_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--use",
        action="store_true",
        help="listen with this model from now on (its language becomes speech.language); without it, a model "
        "of another language than speech.language is installed but not used",
    )


def _catalog_url_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--catalog-url",
        metavar="URL",
        help="fetch the model list from URL instead of the address in the settings (a mirror, or a test server)",
    )


def _add_transcribe_parser(commands: Commands, common: Parser) -> None:
    parser = command_parser(
        commands,
        "transcribe",
        parents=[common],
        help="recognise the speech in a WAV file",
        description="Recognise the speech in a WAV file with the app's recogniser (any rate, any channels).",
    )
    parser.declare_later(lambda: _declare_transcribe(parser))


def _declare_transcribe(parser: Parser) -> None:
    parser.add_argument("wav", metavar="WAV", help="the recording")
    parser.add_argument(
        "--engine",
        choices=["auto", "vosk", "pocketsphinx"],
        default="auto",
        help="vosk needs an installed model; auto uses Vosk when one is installed (default: auto)",
    )
    parser.add_argument("--model", metavar="NAME", help="the installed Vosk model to use")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.set_defaults(prepare=Runs("desktop_app.cli.transcribe", "prepare_transcribe"), needs_store=False)


def _add_setup_parsers(commands: Commands, common: Parser) -> None:
    devices = command_parser(
        commands,
        "devices",
        parents=[common],
        help="list microphones and speakers",
        description="List microphones and speakers by the names the desktop's sound settings show, marking the "
        "system default (*) and the one the app uses (>).",
    )
    devices.declare_later(lambda: _declare_devices(devices))

    for name, verb, prepare, text in (
        ("install-desktop", "add", "prepare_install_desktop", "put the app in the applications menu, with its icon"),
        ("uninstall-desktop", "remove", "prepare_uninstall_desktop", "take the app out of the applications menu"),
    ):
        menu = command_parser(
            commands,
            name,
            parents=[common],
            help=text,
            description=f"{text[0].upper()}{text[1:]} (Linux and BSD desktops, for you only: under "
            f"~/.local/share). Only files the app made are ever replaced or removed; it does not {verb} the "
            "program itself.",
        )
        menu.set_defaults(prepare=Runs("desktop_app.cli.desktop", prepare), needs_store=False)

    settings_parser = command_parser(
        commands,
        "settings",
        parents=[common],
        help="show or change settings",
        description="Show or change the settings.",
    )
    settings_parser.set_defaults(needs_store=False)
    settings_parser.declare_later(lambda: _declare_settings(settings_parser, common))


def _declare_devices(devices: Parser) -> None:
    devices.add_argument("--json", action="store_true", help="print one JSON document")
    devices.add_argument("--all", action="store_true", help="also list monitors (they record what a speaker plays)")
    devices.set_defaults(prepare=Runs("desktop_app.cli.setup", "prepare_devices"), needs_store=False)


def _declare_settings(settings_parser: Parser, common: Parser) -> None:
    actions = settings_parser.add_subparsers(dest="settings_command", metavar="ACTION", required=True)
    listing = actions.add_parser("list", parents=[common], help="every setting with its value and meaning")
    listing.add_argument("--json", action="store_true", help="print one JSON document")
    listing.set_defaults(prepare=Runs("desktop_app.cli.settings", "prepare_settings_list"))
    change = actions.add_parser(
        "set",
        parents=[common],
        help="change one setting (none clears a device choice)",
        description="Change one setting. `settings list` shows every setting; a value that does not fit is "
        "refused with what the setting takes.",
    )
    change.add_argument("key", metavar="KEY")
    change.add_argument("value", metavar="VALUE")
    change.set_defaults(prepare=Runs("desktop_app.cli.settings", "prepare_settings_set"))
