"""Shared fixtures: a private PostgreSQL server, a virtual X screen, and a fresh data directory. Markers
(gui, postgres, slow) are declared in pyproject.toml.

Missing system programs make the tests that need them FAIL with a message saying to run ./test.sh; nothing
is skipped.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import pytest
from assistant_setup import chat, clock  # noqa: F401 (fixtures for the assistant's tests)
from child_processes import recognisers
from keyring_session import KeyringSession, KeyringUnavailable
from pg_server import PostgresServer, PostgresUnavailable
from pulse_server import PulseAudioServer, PulseUnavailable
from xvfb_server import XvfbServer, XvfbUnavailable

import desktop_app.ui  # noqa: F401 (before pytest-qt imports Qt, as in the app: see desktop_app.ui.qt)
from desktop_app.core.keys import KEYCHAIN_SERVICE

if TYPE_CHECKING:
    from desktop_app.storage.store import SqlConversationStore

pytest_plugins = ["remote_fixtures"]
# How long a recogniser process that a test closed may take to end (its stop bound, then terminate, kill).
LEFT_RUNNING_BOUND_S = 6.0

_Server = TypeVar("_Server")

# Tests that use these fixtures get the marker, so `-m "not postgres"` or `-m "not gui"` leaves them out.
FIXTURE_MARKERS = {
    "postgres_server": "postgres",
    "postgres_url": "postgres",
    "pg_database_url": "postgres",
    "xvfb_display": "gui",
    "pulse_audio": "audio",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for fixture in getattr(item, "fixturenames", ()):
            marker = FIXTURE_MARKERS.get(fixture)
            if marker is not None and item.get_closest_marker(marker) is None:
                item.add_marker(marker)


@pytest.fixture(autouse=True)
def _isolate_user_dirs(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test reads or writes the real per-user directories or follows the developer's own settings: the
    XDG base directories point into a temporary home, and the app's environment variables are cleared."""
    home = tmp_path_factory.mktemp("xdg")
    for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(name, str(home / name.lower()))
    monkeypatch.delenv("VOICE_ASSISTANT_DATA_DIR", raising=False)
    monkeypatch.delenv("VOICE_ASSISTANT_DATABASE_URL", raising=False)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A fresh, empty, private (0700) directory to pass as --data-dir."""
    directory = tmp_path / "data"
    directory.mkdir(mode=0o700)
    return directory


@pytest.fixture(autouse=True)
def _no_recogniser_left_running(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test that starts a recogniser process closes it: one left running would be counted by the tests
    after it, and in the app it would be memory that is never given back."""
    before = set(recognisers())
    yield
    deadline = time.monotonic() + LEFT_RUNNING_BOUND_S
    left = set(recognisers()) - before
    while left and time.monotonic() < deadline:  # one ending in the background has a moment to end
        time.sleep(0.05)
        left = set(recognisers()) - before
    assert not left, f"{request.node.nodeid} left recogniser processes running: {sorted(left)}"


@pytest.fixture
def cleanup() -> Iterator[ExitStack]:
    """Callbacks run when the test ends, passed or failed, newest first: closing what the test started."""
    with ExitStack() as stack:
        yield stack


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlConversationStore]:
    """A conversation store in a fresh SQLite file (modules that test the store itself define their own)."""
    from desktop_app.storage.engine import sqlite_url
    from desktop_app.storage.store import SqlConversationStore

    opened = SqlConversationStore.open(sqlite_url(tmp_path / "assistant.db"))
    yield opened
    opened.close()


def start_or_fail(start: Callable[[], _Server]) -> _Server:
    """Starts a server; when it cannot, fails the test (never skips it) with a message saying what to do."""
    try:
        return start()
    except (PostgresUnavailable, XvfbUnavailable, PulseUnavailable, KeyringUnavailable) as exc:
        problem = str(exc)
    pytest.fail(problem, pytrace=False)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throw-away PostgreSQL server for the whole session, deleted at the end."""
    server = start_or_fail(PostgresServer.start)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> str:
    """A SQLAlchemy URL (postgresql+psycopg://postgres@127.0.0.1:PORT/voice_assistant_test) to one database
    shared by the whole session."""
    return postgres_server.url(postgres_server.create_database("voice_assistant_test"))


@pytest.fixture
def pg_database_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A SQLAlchemy URL to a new, empty database of its own (test_<random>), dropped after the test."""
    name = postgres_server.create_database()
    try:
        yield postgres_server.url(name)
    finally:
        postgres_server.drop_database(name)


@pytest.fixture(scope="session")
def xvfb_display() -> Iterator[str]:
    """A private virtual screen (1280x800x24) for the session; yields its DISPLAY value (":N"). It does not
    set DISPLAY: tests pass it on (monkeypatch.setenv, or a subprocess's env) where they want it."""
    server = start_or_fail(XvfbServer.start)
    try:
        yield server.display
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pulse_server() -> Iterator[PulseAudioServer]:
    """A private PulseAudio server with a virtual speaker and a microphone that hears it (tests/pulse_server.py)."""
    server = start_or_fail(PulseAudioServer.start)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pulse_audio(pulse_server: PulseAudioServer, monkeypatch: pytest.MonkeyPatch) -> PulseAudioServer:
    """This process talks to the private server: PULSE_SERVER is set and PortAudio rescans its devices
    (it scans once per initialisation)."""
    monkeypatch.setenv("PULSE_SERVER", pulse_server.server)
    import sounddevice

    sounddevice._terminate()
    sounddevice._initialize()
    return pulse_server


@pytest.fixture(scope="session")
def keyring_session() -> Iterator[KeyringSession]:
    """A private D-Bus session bus with an unlocked GNOME Keyring (tests/keyring_session.py) for the session."""
    session = start_or_fail(KeyringSession.start)
    try:
        yield session
    finally:
        session.stop()


@pytest.fixture
def system_keychain(keyring_session: KeyringSession, monkeypatch: pytest.MonkeyPatch) -> Iterator[KeyringSession]:
    """This process uses the private keychain (give subprocesses `system_keychain.env()`); the app's secrets
    are removed after the test."""
    for name, value in keyring_session.variables.items():
        monkeypatch.setenv(name, value)
    yield keyring_session
    keyring_session.clear(KEYCHAIN_SERVICE)


@pytest.fixture(scope="module")
def two_pair_server() -> Iterator[PulseAudioServer]:
    """A private sound server with two speakers and two microphones, for a module's device tests."""
    server = start_or_fail(lambda: PulseAudioServer.start(second_pair=True))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def desktop(two_pair_server: PulseAudioServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[PulseAudioServer]:
    """This process uses the two-speaker, two-microphone server."""
    from desktop_sound import use

    yield from use(two_pair_server, monkeypatch)
