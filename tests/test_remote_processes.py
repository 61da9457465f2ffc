"""One instance per data folder across real processes: starts at the same moment, a second start that
hands over to the first, and the socket a killed instance leaves behind."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cli_runner import REPO_ROOT, cli, refused

from desktop_app.remote.claim import claim_instance
from desktop_app.remote.client import RemoteClient
from desktop_app.remote.endpoint import endpoint_for
from desktop_app.remote.protocol import Command, CommandName
from desktop_app.remote.server import RemoteServer

# Claims the instance for argv[1] when told "go" on stdin; a server then serves until it reads a line.
CLAIMER = """
import json, os, sys
from pathlib import Path
from desktop_app.remote.claim import claim_instance
from desktop_app.remote.server import RemoteServer

print("ready", flush=True)
sys.stdin.readline()
claim = claim_instance(Path(sys.argv[1]))
if isinstance(claim, RemoteServer):
    claim.start(lambda command: None)
    print(json.dumps({"role": "server", "pid": os.getpid()}), flush=True)
    sys.stdin.readline()
    claim.stop()
else:
    print(json.dumps({"role": "client", "pid": claim.ping().pid}), flush=True)
"""

# Serves the instance for argv[1] until killed.
SERVER = """
import sys, time
from pathlib import Path
from desktop_app.remote.claim import claim_instance

claim_instance(Path(sys.argv[1])).start(lambda command: None)
print("ready", flush=True)
time.sleep(300)
"""

# A second start of the app: finds the running instance and asks it to show its window.
SECOND_START = """
import sys
from pathlib import Path
from desktop_app.remote.claim import claim_instance
from desktop_app.remote.client import RemoteClient
from desktop_app.remote.protocol import Command, CommandName

claim = claim_instance(Path(sys.argv[1]))
assert isinstance(claim, RemoteClient)
claim.send(Command(CommandName.SHOW, argv=tuple(sys.argv[1:])))
"""


# Each test has a runtime folder of its own: sockets (and processes started here) find it there.
pytestmark = pytest.mark.usefixtures("short_runtime_dir")


def python(code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )


def finish(process: subprocess.Popen[str]) -> None:
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err


@pytest.mark.parametrize("round_number", range(5))
def test_of_starts_at_the_same_moment_exactly_one_becomes_the_instance(round_number: int, tmp_path: Path) -> None:
    data_dir = tmp_path / f"data{round_number}"
    starts = [python(CLAIMER, str(data_dir)) for _ in range(4)]
    try:
        for start in starts:  # every process has loaded its modules and waits for the word
            assert start.stdout is not None and start.stdout.readline() == "ready\n"
        for start in starts:
            assert start.stdin is not None
            start.stdin.write("go\n")
            start.stdin.flush()
        results = []
        for start in starts:
            assert start.stdout is not None
            results.append(json.loads(start.stdout.readline()))
        servers = [start for start, result in zip(starts, results, strict=True) if result["role"] == "server"]
        assert len(servers) == 1, results
        assert {result["pid"] for result in results} == {servers[0].pid}  # every client reached the winner
        assert servers[0].stdin is not None
        servers[0].stdin.write("stop\n")
        servers[0].stdin.flush()
        for start in starts:
            finish(start)
    finally:
        for start in starts:
            if start.poll() is None:
                start.kill()
                start.communicate()


def test_a_second_start_hands_its_arguments_to_the_first(data_dir: Path) -> None:
    received: list[Command] = []
    server = claim_instance(data_dir)
    assert isinstance(server, RemoteServer)
    server.start(received.append)
    try:
        finish(python(SECOND_START, str(data_dir), "--verbose"))
    finally:
        server.stop()
    assert received == [Command(CommandName.SHOW, argv=(str(data_dir), "--verbose"))]


def test_the_socket_of_a_killed_instance_is_replaced(data_dir: Path) -> None:
    endpoint = endpoint_for(data_dir)
    killed = python(SERVER, str(data_dir))
    try:
        assert killed.stdout is not None and killed.stdout.readline() == "ready\n"
        assert RemoteClient(endpoint).ping().pid == killed.pid
    finally:
        killed.send_signal(signal.SIGKILL)
        killed.communicate(timeout=60)
    assert killed.returncode == -signal.SIGKILL
    assert stat.S_ISSOCK(os.lstat(endpoint.address).st_mode)  # left behind: nobody removed it
    refused(cli("ptt", "press", "--data-dir", str(data_dir)), 1, "app_not_running")

    server = claim_instance(data_dir, wait=0)
    assert isinstance(server, RemoteServer)
    server.start(lambda command: None)
    try:
        assert RemoteClient(endpoint).ping().pid == os.getpid()
    finally:
        server.stop()
    assert not os.path.lexists(endpoint.address)
