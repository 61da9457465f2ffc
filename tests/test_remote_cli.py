"""`voice-assistant ptt ...` in a subprocess against a server in this process: exit statuses, messages, the
commands that arrive, and the fast path that keeps it quick."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_runner import REPO_ROOT, cli, ok, refused

from desktop_app.cli import ptt
from desktop_app.core.errors import ErrorCode
from desktop_app.paths import DATA_DIR_ENV, AppPaths
from desktop_app.remote.claim import claim_instance
from desktop_app.remote.protocol import PTT_ACTIONS, Command, CommandName, RemoteError
from desktop_app.remote.server import RemoteServer

# Each test has a runtime folder of its own: sockets (and processes started here) find it there.
pytestmark = pytest.mark.usefixtures("short_runtime_dir")


@pytest.mark.parametrize("action", ["press", "release", "toggle", "cancel"])
def test_ptt_reaches_the_running_app(
    action: str,
    remote_server: RemoteServer,
    data_dir: Path,
    remote_commands: list[Command],
    record_property: Callable[[str, object], None],
) -> None:
    started = time.time()
    run = ok(cli("ptt", action, "--data-dir", str(data_dir)))
    finished = time.time()
    assert (run.out, run.err) == ("", "")
    assert [command.name for command in remote_commands] == [PTT_ACTIONS[action]]
    issued_at = remote_commands[0].issued_at
    assert issued_at is not None and started <= issued_at <= finished
    record_property("round_trip_ms", round((finished - started) * 1000, 1))


def test_ptt_test_confirms_that_the_app_received_it(
    remote_server: RemoteServer, data_dir: Path, remote_commands: list[Command]
) -> None:
    run = ok(cli("ptt", "test", "--data-dir", str(data_dir)))
    assert run.out == "The running app received the test command.\n"
    assert [command.name for command in remote_commands] == [CommandName.PTT_TEST]


def test_the_options_can_come_anywhere(
    remote_server: RemoteServer, data_dir: Path, remote_commands: list[Command]
) -> None:
    ok(cli("--data-dir", str(data_dir), "ptt", "press"))
    ok(cli("ptt", f"--data-dir={data_dir}", "release"))
    ok(cli("-v", "ptt", "toggle", "--data-dir", str(data_dir)))
    ok(cli("ptt", "cancel", env={DATA_DIR_ENV: str(data_dir)}))
    ok(cli("--data-d", str(data_dir), "ptt", "press"))  # an abbreviation: argparse's full command line takes it
    assert [command.name for command in remote_commands] == [
        CommandName.PTT_PRESS,
        CommandName.PTT_RELEASE,
        CommandName.PTT_TOGGLE,
        CommandName.PTT_CANCEL,
        CommandName.PTT_PRESS,
    ]


def test_without_a_running_app_it_says_so(data_dir: Path) -> None:
    for action in ("press", "test"):  # the fast path and the full command line say the same
        line = refused(cli("ptt", action, "--data-dir", str(data_dir)), 1, "app_not_running")
        assert "not running" in line


def test_an_app_running_for_another_data_folder_is_not_this_one(remote_server: RemoteServer, tmp_path: Path) -> None:
    refused(cli("ptt", "press", "--data-dir", str(tmp_path / "other")), 1, "app_not_running")


def test_the_apps_refusal_is_reported_with_its_code(data_dir: Path) -> None:
    def handler(command: Command) -> None:
        raise RemoteError(ErrorCode.AUDIO_INPUT_UNAVAILABLE, "No microphone found.\x1b[2J Plug one in.")

    server = claim_instance(data_dir)
    assert isinstance(server, RemoteServer)
    server.start(handler)
    try:
        line = refused(cli("ptt", "press", "--data-dir", str(data_dir)), 1, "audio_input_unavailable")
        assert line == "error: No microphone found.\\x1b[2J Plug one in. [audio_input_unavailable]"
    finally:
        server.stop()


def test_something_else_at_the_socket_is_reported(data_dir: Path) -> None:
    from desktop_app.remote.endpoint import endpoint_for, prepare_directory

    endpoint = endpoint_for(data_dir)
    prepare_directory(endpoint)
    Path(endpoint.address).write_text("not a socket")
    refused(cli("ptt", "press", "--data-dir", str(data_dir)), 1, "remote_endpoint_blocked", mentions=endpoint.address)
    assert Path(endpoint.address).read_text() == "not a socket"


@pytest.mark.parametrize("args", [("ptt", "jump"), ("ptt",), ("ptt", "press", "extra"), ("ptt", "press", "--nope")])
def test_a_wrong_command_line_is_a_usage_error(args: tuple[str, ...], data_dir: Path) -> None:
    refused(cli(*args, "--data-dir", str(data_dir)), 2, "invalid_argument")


def test_the_fast_path_loads_no_database_qt_or_full_command_line(remote_server: RemoteServer, data_dir: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "desktop_app", "ptt", "press", "--data-dir", str(data_dir)],
        capture_output=True,
        cwd=REPO_ROOT,
        timeout=120,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    loaded = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "desktop_app.remote.client" in loaded
    heavy = {"sqlalchemy", "PySide6", "numpy", "logging", "desktop_app.cli.main", "desktop_app.remote.remote_server"}
    assert not heavy & loaded


def test_the_full_command_line_runs_ptt_too(
    remote_server: RemoteServer, data_dir: Path, remote_commands: list[Command]
) -> None:
    from desktop_app.cli.main import run

    assert run(["ptt", "toggle", "--data-dir", str(data_dir)]) == 0
    assert [command.name for command in remote_commands] == [CommandName.PTT_TOGGLE]


@pytest.mark.parametrize(
    "argv",
    [
        ["ptt", "press"],
        ["-v", "--data-dir", "D", "ptt", "--database-url=sqlite://", "release"],
        ["ptt", "cancel", "--verbose", "--data-dir=D"],
    ],
)
def test_the_fast_path_takes_plain_ptt_command_lines(argv: list[str]) -> None:
    assert ptt._parse(argv) is not None


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["history", "list"],
        ["ptt", "test"],  # prints: the full command line handles its output
        ["ptt", "--help"],
        ["--help", "ptt", "press"],
        ["ptt", "press", "--data"],
        ["ptt", "press", "--data-dir"],
        ["ptt", "press", "--data-dir", "-x"],
        ["ptt", "press", "--", "x"],
        ["ptt", "press", "release"],
        ["ptt", "\udcff"],
        ["ptt", "press", "--database-url", "\udcff"],
    ],
)
def test_the_fast_path_leaves_everything_else_to_the_full_command_line(argv: list[str]) -> None:
    assert ptt._parse(argv) is None
    assert ptt.fast_path(argv) is None


def test_the_fast_path_finds_the_data_folder_as_the_app_does(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert ptt.DATA_DIR_ENV == DATA_DIR_ENV
    assert set(ptt.ACTIONS) == set(PTT_ACTIONS)
    monkeypatch.chdir(tmp_path)
    for option in ("relative/dir", "~/va", str(tmp_path / "abs"), None):
        assert ptt.resolve_data_dir(option) == AppPaths.resolve(option).data_dir
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "from-env"))
    assert ptt.resolve_data_dir(None) == AppPaths.resolve(None).data_dir == tmp_path / "from-env"
    assert ptt.resolve_data_dir("given") == AppPaths.resolve("given").data_dir
    monkeypatch.setenv(DATA_DIR_ENV, "")
    assert ptt.resolve_data_dir(None) == AppPaths.resolve(None).data_dir
    assert os.environ["XDG_DATA_HOME"] in str(ptt.resolve_data_dir(None))
