"""Fixtures for the remote-control tests (`pytest_plugins` in conftest): a short private runtime folder, and
a running instance's server that records the commands it receives."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop_app.remote.claim import claim_instance
from desktop_app.remote.protocol import Command
from desktop_app.remote.server import RemoteServer


@pytest.fixture
def short_runtime_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private XDG_RUNTIME_DIR of the test's own, which processes started by it inherit; short, because a
    socket's path holds at most ~104 bytes."""
    path = Path(tempfile.mkdtemp(prefix="va-rt-"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(path))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def remote_commands() -> list[Command]:
    """What `remote_server` received, in order."""
    return []


@pytest.fixture
def remote_server(data_dir: Path, remote_commands: list[Command]) -> Iterator[RemoteServer]:
    """This test's running instance, claimed for `data_dir`."""
    claim = claim_instance(data_dir)
    assert isinstance(claim, RemoteServer)
    claim.start(remote_commands.append)
    yield claim
    claim.stop()
