"""The remote control in one process, over real sockets: one instance per data folder, commands from a
client to the server's handler and back, hostile clients, and endpoints that are not the app's to touch."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import stat
import threading
import time
from pathlib import Path

import pytest

from desktop_app.core.errors import ErrorCode
from desktop_app.remote.claim import claim_instance
from desktop_app.remote.client import RemoteClient
from desktop_app.remote.endpoint import MAX_SOCKET_PATH_BYTES, Endpoint, endpoint_for, prepare_directory
from desktop_app.remote.protocol import (
    MAX_REQUEST_BYTES,
    Command,
    CommandName,
    RemoteError,
    decode_reply,
    decode_request,
    encode_request,
)
from desktop_app.remote.server import MAX_CLIENTS, RemoteServer

# Each test has a runtime folder of its own: sockets (and processes started here) find it there.
pytestmark = pytest.mark.usefixtures("short_runtime_dir")


def exchange(endpoint: Endpoint, payload: bytes) -> dict[str, object]:
    """Sends raw bytes as a client would and returns the server's JSON reply."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(endpoint.address)
        with contextlib.suppress(BrokenPipeError):  # the server stopped reading (too large) and answered
            sock.sendall(payload)
        return json.loads(read_reply(sock))


def read_reply(sock: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def remote_threads() -> list[str]:
    return [thread.name for thread in threading.enumerate() if thread.name.startswith("remote-")]


def status(path: Path) -> tuple[object, ...]:
    """Everything that says whether a path was touched: identity, type, mode, owner, times, content."""
    info = os.lstat(path)
    if stat.S_ISREG(info.st_mode):
        content: object = path.read_bytes()
    elif stat.S_ISLNK(info.st_mode):
        content = os.readlink(path)
    elif stat.S_ISDIR(info.st_mode):
        content = sorted(os.listdir(path))
    else:
        content = None
    return (info.st_ino, info.st_mode, info.st_uid, info.st_mtime_ns, info.st_size, content)


# -- one process: server and client ------------------------------------------------------------------------


def test_a_command_travels_from_a_client_to_the_handler(
    remote_server: RemoteServer, data_dir: Path, remote_commands: list[Command]
) -> None:
    second = claim_instance(data_dir)
    assert isinstance(second, RemoteClient)
    assert second.ping().pid == os.getpid()
    press = Command(CommandName.PTT_PRESS, issued_at=1733050000.25)
    # A second start forwards its argv; a file name that is not UTF-8 arrives as Python gave it.
    show = Command(CommandName.SHOW, argv=("--data-dir", "/tmp/é", "caf\udce9"))
    second.send(press)
    second.send(show)
    assert remote_commands == [press, show]  # ping is answered by the server itself


def test_each_data_folder_is_its_own_instance(tmp_path: Path) -> None:
    first_dir, other_dir = tmp_path / "one", tmp_path / "two"
    first_dir.mkdir()
    other_dir.mkdir()
    (tmp_path / "link").symlink_to(first_dir)
    first = claim_instance(first_dir)
    other = claim_instance(other_dir)
    assert isinstance(first, RemoteServer) and isinstance(other, RemoteServer)
    try:
        first.start(lambda command: None)
        assert endpoint_for(tmp_path / "link") == first.endpoint  # a link to the folder is the same folder
        assert isinstance(claim_instance(tmp_path / "link"), RemoteClient)
    finally:
        first.stop()
        other.stop()


def test_the_handler_can_refuse_with_its_own_code(data_dir: Path) -> None:
    def handler(command: Command) -> None:
        if command.name is CommandName.PTT_PRESS:
            raise RemoteError(ErrorCode.AUDIO_INPUT_UNAVAILABLE, "No microphone found.")
        raise ValueError("a bug in the handler")

    server = claim_instance(data_dir)
    assert isinstance(server, RemoteServer)
    server.start(handler)
    try:
        client = RemoteClient(server.endpoint)
        with pytest.raises(RemoteError) as refused:
            client.send(Command(CommandName.PTT_PRESS))
        assert (refused.value.code, refused.value.message) == (
            ErrorCode.AUDIO_INPUT_UNAVAILABLE,
            "No microphone found.",
        )
        with pytest.raises(RemoteError) as failed:
            client.send(Command(CommandName.PTT_CANCEL))
        assert failed.value.code is ErrorCode.REMOTE_COMMAND_FAILED
        assert client.ping().pid == os.getpid()  # still serving
    finally:
        server.stop()


def test_many_clients_at_once_are_all_served(remote_server: RemoteServer, remote_commands: list[Command]) -> None:
    def send_some(number: int) -> None:
        client = RemoteClient(remote_server.endpoint)
        for step in range(20):
            client.send(Command(CommandName.PTT_TOGGLE, issued_at=number * 100 + step))

    senders = [threading.Thread(target=send_some, args=(number,)) for number in range(8)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    assert sorted(command.issued_at or 0 for command in remote_commands) == [
        n * 100 + s for n in range(8) for s in range(20)
    ]


def test_with_no_instance_the_client_says_app_not_running_and_creates_nothing(
    data_dir: Path, short_runtime_dir: Path
) -> None:
    with pytest.raises(RemoteError) as missing:
        RemoteClient(endpoint_for(data_dir)).ping()
    assert missing.value.code is ErrorCode.APP_NOT_RUNNING
    assert os.listdir(short_runtime_dir) == []


def test_the_folder_socket_and_lock_are_private(remote_server: RemoteServer) -> None:
    endpoint = remote_server.endpoint
    assert endpoint.directory is not None
    assert stat.S_IMODE(os.lstat(endpoint.directory).st_mode) == 0o700
    assert stat.S_ISSOCK(os.lstat(endpoint.address).st_mode)
    assert stat.S_IMODE(os.lstat(endpoint.address).st_mode) == 0o600
    assert stat.S_IMODE(os.lstat(endpoint.lock_path).st_mode) == 0o600


def test_without_xdg_runtime_dir_the_socket_lives_in_the_data_location(
    monkeypatch: pytest.MonkeyPatch, data_dir: Path
) -> None:
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    server = claim_instance(data_dir)
    assert isinstance(server, RemoteServer)
    server.start(lambda command: None)
    try:
        assert server.endpoint.directory is not None
        # conftest points XDG_DATA_HOME into a temporary home: the per-user data folder is there
        assert server.endpoint.directory == Path(os.environ["XDG_DATA_HOME"]) / "voice-assistant" / "run"
        assert stat.S_IMODE(os.lstat(server.endpoint.directory).st_mode) == 0o700
        assert isinstance(claim_instance(data_dir), RemoteClient)
    finally:
        server.stop()


def test_a_relative_xdg_runtime_dir_is_ignored(monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", "relative/run")
    directory = endpoint_for(data_dir).directory
    assert directory is not None and directory.is_absolute() and directory.name == "run"


def test_a_socket_path_too_long_for_a_socket_is_refused(
    monkeypatch: pytest.MonkeyPatch, short_runtime_dir: Path, data_dir: Path
) -> None:
    deep = short_runtime_dir / ("d" * (MAX_SOCKET_PATH_BYTES - len(str(short_runtime_dir))))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(deep))
    with pytest.raises(RemoteError) as refused:
        claim_instance(data_dir)
    assert refused.value.code is ErrorCode.REMOTE_UNAVAILABLE
    assert "too long" in refused.value.message


def test_a_missing_xdg_runtime_dir_is_not_created(
    monkeypatch: pytest.MonkeyPatch, short_runtime_dir: Path, data_dir: Path
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(short_runtime_dir / "gone"))
    with pytest.raises(RemoteError) as refused:
        claim_instance(data_dir)
    assert refused.value.code is ErrorCode.REMOTE_UNAVAILABLE
    assert not (short_runtime_dir / "gone").exists()


# -- stopping ----------------------------------------------------------------------------------------------


def test_stop_leaves_no_thread_and_removes_its_socket_only(data_dir: Path) -> None:
    server = claim_instance(data_dir)
    assert isinstance(server, RemoteServer)
    server.start(lambda command: None)
    endpoint = server.endpoint
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as idle:
        idle.connect(endpoint.address)  # a client in the middle of its request when the app quits
        RemoteClient(endpoint).ping()
        assert remote_threads()
        server.stop()
        assert remote_threads() == []
    assert not os.path.lexists(endpoint.address)
    assert endpoint.lock_path.is_file()  # kept: see claim.py
    server.stop()  # a second stop does nothing
    again = claim_instance(data_dir)  # the instance is free again
    assert isinstance(again, RemoteServer)
    again.stop()


def test_stop_leaves_a_file_that_replaced_its_socket(data_dir: Path) -> None:
    server = claim_instance(data_dir)
    assert isinstance(server, RemoteServer)
    server.start(lambda command: None)
    path = Path(server.endpoint.address)
    path.unlink()
    path.write_bytes(b"not the app's")
    before = status(path)
    server.stop()
    assert status(path) == before


def test_a_server_stopped_before_it_started_frees_the_instance(data_dir: Path) -> None:
    server = claim_instance(data_dir)
    assert isinstance(server, RemoteServer)
    server.stop()
    assert not os.path.lexists(server.endpoint.address)
    with pytest.raises(RuntimeError):
        server.start(lambda command: None)
    again = claim_instance(data_dir)
    assert isinstance(again, RemoteServer)
    again.stop()


def test_a_dead_socket_left_behind_is_replaced(data_dir: Path) -> None:
    endpoint = endpoint_for(data_dir)
    prepare_directory(endpoint)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as dead:
        dead.bind(endpoint.address)  # bound, never listening, closed without unlinking: a crash's leftover
    with pytest.raises(RemoteError) as refused:
        RemoteClient(endpoint).ping()
    assert refused.value.code is ErrorCode.APP_NOT_RUNNING
    server = claim_instance(data_dir)
    assert isinstance(server, RemoteServer)
    server.start(lambda command: None)
    try:
        assert RemoteClient(endpoint).ping().pid == os.getpid()
    finally:
        server.stop()


def test_stop_returns_within_its_bound_when_the_handler_hangs(data_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    entered, release = threading.Event(), threading.Event()

    def stuck(command: Command) -> None:
        entered.set()
        release.wait(60)

    server = claim_instance(data_dir)
    assert isinstance(server, RemoteServer)
    server.start(stuck)
    outcome: list[ErrorCode] = []

    def send() -> None:
        try:
            RemoteClient(server.endpoint, timeout=60).send(Command(CommandName.SHOW))
        except RemoteError as error:
            outcome.append(error.code)

    sender = threading.Thread(target=send)
    sender.start()
    try:
        assert entered.wait(30)
        server.stop(timeout=0.1)
        assert not release.is_set()  # stop() came back while the handler was still stuck
        assert "threads still running" in caplog.text
        assert not os.path.lexists(server.endpoint.address)
    finally:
        release.set()
        sender.join()
    assert outcome == [ErrorCode.REMOTE_UNAVAILABLE]  # its connection was cut: told, not left hanging
    deadline = time.monotonic() + 30
    while remote_threads() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert remote_threads() == []


def test_a_handler_may_stop_the_server(data_dir: Path) -> None:
    server = claim_instance(data_dir)
    assert isinstance(server, RemoteServer)
    with server:
        server.start(lambda command: server.stop())
        RemoteClient(server.endpoint).send(Command(CommandName.SHOW))  # answered, then the server is gone
        with pytest.raises(RemoteError) as gone:
            RemoteClient(server.endpoint).ping()
        assert gone.value.code is ErrorCode.APP_NOT_RUNNING


def test_an_instance_that_holds_its_place_but_never_answers_is_reported(data_dir: Path) -> None:
    server = claim_instance(data_dir)  # listening but never started: a hung start
    assert isinstance(server, RemoteServer)
    try:
        with pytest.raises(RemoteError) as hung:
            claim_instance(data_dir, timeout=0.2)
        assert hung.value.code is ErrorCode.REMOTE_TIMED_OUT
    finally:
        server.stop()


def test_a_lock_held_without_a_socket_ends_the_wait_with_a_clear_error(data_dir: Path) -> None:
    import fcntl

    endpoint = endpoint_for(data_dir)
    prepare_directory(endpoint)
    with open(endpoint.lock_path, "w") as lock:  # an instance that is starting and never gets further
        fcntl.flock(lock, fcntl.LOCK_EX)
        with pytest.raises(RemoteError) as stuck:
            claim_instance(data_dir, wait=0.2)
    assert stuck.value.code is ErrorCode.REMOTE_TIMED_OUT
    assert "did not answer" in stuck.value.message


def test_a_running_instance_whose_lock_file_was_deleted_is_still_found(data_dir: Path) -> None:
    server = claim_instance(data_dir)
    assert isinstance(server, RemoteServer)
    server.start(lambda command: None)
    try:
        server.endpoint.lock_path.unlink()
        second = claim_instance(data_dir)
        assert isinstance(second, RemoteClient)
        assert second.ping().pid == os.getpid()
    finally:
        server.stop()


# -- a server that misbehaves: the client never hangs on it ------------------------------------------------


def fake_server(endpoint: Endpoint, answer: bytes | None) -> threading.Thread:
    """Something listening at the app's socket that reads one request and answers `answer` (None: hangs up
    at once)."""
    prepare_directory(endpoint)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(endpoint.address)
    listener.listen(1)

    def serve() -> None:
        with listener, listener.accept()[0] as connection:
            if answer is not None:
                connection.settimeout(10)
                read_reply(connection)
                with contextlib.suppress(OSError):
                    connection.sendall(answer)

    thread = threading.Thread(target=serve)
    thread.start()
    return thread


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        (None, ErrorCode.REMOTE_UNAVAILABLE),
        (b"x" * 100_000, ErrorCode.REMOTE_BAD_REPLY),
        (b"<html>\n", ErrorCode.REMOTE_BAD_REPLY),
        (
            b'{"ok": false, "code": "audio_input_unavailable", "message": "No microphone."}\n',
            ErrorCode.AUDIO_INPUT_UNAVAILABLE,
        ),
    ],
)
def test_the_client_reports_a_server_that_misbehaves(answer: bytes | None, code: ErrorCode, data_dir: Path) -> None:
    endpoint = endpoint_for(data_dir)
    server = fake_server(endpoint, answer)
    try:
        with pytest.raises(RemoteError) as failed:
            RemoteClient(endpoint, timeout=10).send(Command(CommandName.PTT_PRESS))
        assert failed.value.code is code
    finally:
        server.join()


# -- endpoints that are not the app's ----------------------------------------------------------------------


def _make_regular_file(path: Path, elsewhere: Path) -> None:
    path.write_bytes(b"someone's notes")


def _make_symlink(path: Path, elsewhere: Path) -> None:
    elsewhere.write_bytes(b"a file the link points to")
    path.symlink_to(elsewhere)


def _make_fifo(path: Path, elsewhere: Path) -> None:
    os.mkfifo(path)


def _make_folder(path: Path, elsewhere: Path) -> None:
    path.mkdir()
    (path / "inside").write_bytes(b"kept")


BLOCKERS = {
    "regular file": _make_regular_file,
    "symlink": _make_symlink,
    "fifo": _make_fifo,
    "folder": _make_folder,
}


# A regular file at the lock's path is a lock file (see the next test): only the socket's path refuses one.
PLACES = [("socket", kind) for kind in sorted(BLOCKERS)] + [
    ("lock", kind) for kind in sorted(BLOCKERS) if kind != "regular file"
]


@pytest.mark.parametrize(("where", "kind"), PLACES)
def test_something_else_at_the_endpoint_is_refused_and_left_alone(
    where: str, kind: str, data_dir: Path, tmp_path: Path
) -> None:
    endpoint = endpoint_for(data_dir)
    prepare_directory(endpoint)
    path = Path(endpoint.address) if where == "socket" else endpoint.lock_path
    elsewhere = tmp_path / "elsewhere"
    BLOCKERS[kind](path, elsewhere)
    before = status(path)
    target_before = status(elsewhere) if elsewhere.exists() else None
    with pytest.raises(RemoteError) as refused:
        claim_instance(data_dir, wait=0)
    assert refused.value.code is ErrorCode.REMOTE_ENDPOINT_BLOCKED
    assert str(path) in refused.value.message and "Nothing was changed" in refused.value.message
    assert status(path) == before
    if target_before is not None:
        assert status(elsewhere) == target_before
    if where == "socket":  # the client does not talk to it either, and says why
        with pytest.raises(RemoteError) as client_refused:
            RemoteClient(endpoint).ping()
        assert client_refused.value.code is ErrorCode.REMOTE_ENDPOINT_BLOCKED
        assert status(path) == before


def test_a_lock_file_that_is_there_is_used_as_it_is(data_dir: Path) -> None:
    endpoint = endpoint_for(data_dir)
    prepare_directory(endpoint)
    endpoint.lock_path.write_bytes(b"left by an earlier run")
    endpoint.lock_path.chmod(0o640)
    before = status(endpoint.lock_path)
    server = claim_instance(data_dir)
    assert isinstance(server, RemoteServer)
    server.stop()
    assert status(endpoint.lock_path) == before


def test_a_runtime_folder_that_is_a_link_is_refused(short_runtime_dir: Path, data_dir: Path, tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    link = short_runtime_dir / "voice-assistant"
    link.symlink_to(real)
    before = status(link)
    with pytest.raises(RemoteError) as refused:
        claim_instance(data_dir)
    assert refused.value.code is ErrorCode.REMOTE_DIR_UNSAFE
    assert status(link) == before and os.listdir(real) == []


def test_a_runtime_folder_open_to_others_is_refused_not_changed(short_runtime_dir: Path, data_dir: Path) -> None:
    folder = short_runtime_dir / "voice-assistant"
    folder.mkdir()
    folder.chmod(0o755)
    with pytest.raises(RemoteError) as refused:
        claim_instance(data_dir)
    assert refused.value.code is ErrorCode.REMOTE_DIR_UNSAFE
    assert "chmod 700" in refused.value.message
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755 and os.listdir(folder) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a folder to another user")
def test_a_runtime_folder_of_another_user_is_refused(short_runtime_dir: Path, data_dir: Path) -> None:
    folder = short_runtime_dir / "voice-assistant"
    folder.mkdir(mode=0o700)
    os.chown(folder, 65534, 65534)
    before = status(folder)
    with pytest.raises(RemoteError) as refused:
        claim_instance(data_dir)
    assert refused.value.code is ErrorCode.REMOTE_DIR_UNSAFE
    assert "another user" in refused.value.message
    with pytest.raises(RemoteError) as client_refused:
        RemoteClient(endpoint_for(data_dir)).ping()
    assert client_refused.value.code is ErrorCode.REMOTE_DIR_UNSAFE
    assert status(folder) == before


# -- hostile and broken clients ----------------------------------------------------------------------------

GARBAGE = {
    "not UTF-8": (b"\xff\xfe\x00\n", ErrorCode.REMOTE_BAD_REQUEST),
    "not JSON": (b"press the button\n", ErrorCode.REMOTE_BAD_REQUEST),
    "not an object": (b"[1, 2, 3]\n", ErrorCode.REMOTE_BAD_REQUEST),
    "deeply nested": (b"[" * 60000 + b"\n", ErrorCode.REMOTE_BAD_REQUEST),
    "no version": (b'{"command": "ping"}\n', ErrorCode.REMOTE_BAD_REQUEST),
    "another version": (b'{"v": 2, "command": "ping"}\n', ErrorCode.REMOTE_BAD_REQUEST),
    "unknown command": (b'{"v": 1, "command": "format-disk"}\n', ErrorCode.REMOTE_UNKNOWN_COMMAND),
    "argv not strings": (b'{"v": 1, "command": "show", "argv": [1]}\n', ErrorCode.REMOTE_BAD_REQUEST),
    "time not a number": (b'{"v": 1, "command": "ptt.press", "issued_at": "now"}\n', ErrorCode.REMOTE_BAD_REQUEST),
    "time NaN": (b'{"v": 1, "command": "ptt.press", "issued_at": NaN}\n', ErrorCode.REMOTE_BAD_REQUEST),
    "time beyond a float": (
        b'{"v": 1, "command": "ptt.press", "issued_at": 1' + b"0" * 400 + b"}\n",
        ErrorCode.REMOTE_BAD_REQUEST,
    ),
    "too large": (b"x" * (MAX_REQUEST_BYTES + 100), ErrorCode.REMOTE_MESSAGE_TOO_LARGE),
    "too large with a newline after the limit": (
        b'{"v": 1, "command": "show", "argv": ["' + b"a" * MAX_REQUEST_BYTES + b'"]}\n',
        ErrorCode.REMOTE_MESSAGE_TOO_LARGE,
    ),
}


@pytest.mark.parametrize("name", sorted(GARBAGE))
def test_garbage_is_refused_with_a_stable_code(
    name: str, remote_server: RemoteServer, remote_commands: list[Command]
) -> None:
    payload, code = GARBAGE[name]
    reply = exchange(remote_server.endpoint, payload)
    assert reply["ok"] is False and reply["code"] == code.value
    assert RemoteClient(remote_server.endpoint).ping().pid == os.getpid()  # and the server goes on
    assert remote_commands == []


def test_a_request_of_exactly_the_limit_is_taken(remote_server: RemoteServer, remote_commands: list[Command]) -> None:
    head, tail = b'{"v": 1, "command": "show", "argv": ["', b'"]}\n'
    payload = head + b"a" * (MAX_REQUEST_BYTES - len(head) - len(tail)) + tail
    assert exchange(remote_server.endpoint, payload) == {"ok": True}
    assert len(remote_commands[0].argv[0]) == MAX_REQUEST_BYTES - len(head) - len(tail)


def test_a_silent_client_blocks_no_other_and_is_timed_out(remote_server: RemoteServer) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as silent:
        silent.connect(remote_server.endpoint.address)
        assert RemoteClient(remote_server.endpoint).ping().pid == os.getpid()
        silent.setblocking(False)
        with pytest.raises(BlockingIOError):  # it is still waiting: nothing was answered to it yet
            silent.recv(1)
        silent.settimeout(30)
        reply = json.loads(read_reply(silent))
    assert reply["code"] == ErrorCode.REMOTE_TIMED_OUT.value


def test_a_client_that_leaves_without_a_word_gets_nothing(
    remote_server: RemoteServer, remote_commands: list[Command]
) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as quitter:
        quitter.connect(remote_server.endpoint.address)
        quitter.shutdown(socket.SHUT_WR)
        quitter.settimeout(10)
        assert quitter.recv(100) == b""
    assert remote_commands == []


def test_a_request_without_its_newline_is_taken_at_the_end_of_the_stream(
    remote_server: RemoteServer, remote_commands: list[Command]
) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:  # as `printf ... | nc -U` sends it
        sock.settimeout(10)
        sock.connect(remote_server.endpoint.address)
        sock.sendall(b'{"v": 1, "command": "ptt.cancel"}')
        sock.shutdown(socket.SHUT_WR)
        assert json.loads(read_reply(sock)) == {"ok": True}
    assert [command.name for command in remote_commands] == [CommandName.PTT_CANCEL]


def test_past_the_limit_of_clients_the_next_is_told_busy(remote_server: RemoteServer) -> None:
    silent = [socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) for _ in range(MAX_CLIENTS)]
    try:
        for sock in silent:
            sock.connect(remote_server.endpoint.address)
        with pytest.raises(RemoteError) as busy:
            RemoteClient(remote_server.endpoint).ping()
        assert busy.value.code is ErrorCode.REMOTE_BUSY
    finally:
        for sock in silent:
            sock.close()
    deadline = time.monotonic() + 30
    while True:  # the silent ones' threads see their clients gone and free their places
        try:
            assert RemoteClient(remote_server.endpoint).ping().pid == os.getpid()
            break
        except RemoteError as error:
            assert error.code is ErrorCode.REMOTE_BUSY and time.monotonic() < deadline
            time.sleep(0.01)


def test_a_server_that_does_not_answer_times_the_client_out(data_dir: Path) -> None:
    server = claim_instance(data_dir)  # listening, never started: connections wait in the backlog
    assert isinstance(server, RemoteServer)
    try:
        with pytest.raises(RemoteError) as late:
            RemoteClient(server.endpoint, timeout=0.2).ping()
        assert late.value.code is ErrorCode.REMOTE_TIMED_OUT
    finally:
        server.stop()


# -- the protocol on its own -------------------------------------------------------------------------------


def test_requests_and_replies_round_trip() -> None:
    command = Command(CommandName.SHOW, argv=("a b", "ü", "\udcff"), issued_at=12.5)
    assert decode_request(encode_request(command)) == command
    assert decode_request(b'{"v": 1, "command": "ping", "later": "ignored"}\n') == Command(CommandName.PING)


def test_an_error_reply_with_an_unknown_code_keeps_its_message() -> None:
    with pytest.raises(RemoteError) as refused:
        decode_reply(b'{"ok": false, "code": "from_the_future", "message": "Try version 2."}\n')
    assert (refused.value.code, refused.value.message) == (ErrorCode.REMOTE_COMMAND_FAILED, "Try version 2.")
    with pytest.raises(RemoteError) as garbled:
        decode_reply(b'{"ok": "maybe"}\n')
    assert garbled.value.code is ErrorCode.REMOTE_BAD_REPLY
