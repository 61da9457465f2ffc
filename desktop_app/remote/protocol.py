"""The messages between a client (``voice-assistant ptt ...``, a second start of the app) and the running app.

One request and one reply per connection, each a single line of JSON (UTF-8, ending in ``\\n``)::

    {"v": 1, "command": "ptt.press", "issued_at": 1733050000.25}
    {"v": 1, "command": "show", "argv": ["--data-dir", "/home/me/va"]}
    {"ok": true}
    {"ok": true, "pid": 4242, "version": "0.1.0"}                   (the answer to "ping")
    {"ok": false, "code": "remote_unknown_command", "message": "..."}

Anything else is refused with a stable code, never guessed at: bytes that are not UTF-8 JSON, a value that is
not an object, a missing or unknown field value, a request over MAX_REQUEST_BYTES. Fields a later version
adds are ignored, so an older app still answers a newer client.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from desktop_app.core.errors import AppError, ErrorCode

PROTOCOL_VERSION = 1
# A request is a command and the argv of a second start: 64 KiB holds any argv a person types.
MAX_REQUEST_BYTES = 64 * 1024
MAX_REPLY_BYTES = 16 * 1024
MAX_ARGV_ITEMS = 256
# Error messages are cut to this length so an error reply always fits in MAX_REPLY_BYTES.
MAX_MESSAGE_CHARS = 2000


class CommandName(StrEnum):
    SHOW = "show"  # raise the window (a second start of the app sends this with its argv)
    PING = "ping"  # answered by the server itself: is an instance there, and which process
    PTT_PRESS = "ptt.press"
    PTT_RELEASE = "ptt.release"
    PTT_TOGGLE = "ptt.toggle"
    PTT_CANCEL = "ptt.cancel"
    PTT_TEST = "ptt.test"  # confirms a key binding reaches the app; starts no turn


# `voice-assistant ptt ACTION` -> the command it sends.
PTT_ACTIONS: dict[str, CommandName] = {
    "press": CommandName.PTT_PRESS,
    "release": CommandName.PTT_RELEASE,
    "toggle": CommandName.PTT_TOGGLE,
    "cancel": CommandName.PTT_CANCEL,
    "test": CommandName.PTT_TEST,
}


@dataclass(frozen=True, slots=True)
class Command:
    """What a client asks of the running app. `issued_at` is the sender's wall clock (time.time()) when the
    command was given: key bindings start one process per key event, so a release can overtake its press,
    and the app can put them back in order (or drop a press older than the last release)."""

    name: CommandName
    argv: tuple[str, ...] = ()
    issued_at: float | None = None


# Called on a server thread, possibly on several at once: it must be thread-safe and return quickly (post
# the command to the app's main thread). Returning means "accepted"; raising AppError (RemoteError included)
# sends that code and message back to the client.
Handler = Callable[[Command], None]


class RemoteError(AppError):
    """A request could not be delivered or was refused; `code` says which way."""


@dataclass(frozen=True, slots=True)
class Reply:
    """A successful answer. Only "ping" fills in the server's process id and version."""

    pid: int | None = None
    version: str | None = None


def encode_request(command: Command) -> bytes:
    document: dict[str, Any] = {"v": PROTOCOL_VERSION, "command": command.name.value}
    if command.argv:
        document["argv"] = list(command.argv)
    if command.issued_at is not None:
        document["issued_at"] = command.issued_at
    return _line(document)


def decode_request(line: bytes) -> Command:
    """The command in one request line; RemoteError (remote_bad_request or remote_unknown_command) otherwise."""
    document = _object(line, ErrorCode.REMOTE_BAD_REQUEST, "request")
    if document.get("v") != PROTOCOL_VERSION:
        raise RemoteError(ErrorCode.REMOTE_BAD_REQUEST, f"The request's protocol version is not {PROTOCOL_VERSION}.")
    name = document.get("command")
    if not isinstance(name, str):
        raise RemoteError(ErrorCode.REMOTE_BAD_REQUEST, "The request names no command.")
    try:
        command = CommandName(name)
    except ValueError:
        known = ", ".join(item.value for item in CommandName)
        raise RemoteError(
            ErrorCode.REMOTE_UNKNOWN_COMMAND,
            f"The app does not know the command {name[:80]!r} (it knows {known}). Is it an older version?",
        ) from None
    return Command(command, _argv(document.get("argv", [])), _timestamp(document.get("issued_at")))


def encode_ok(reply: Reply | None = None) -> bytes:
    document: dict[str, Any] = {"ok": True}
    if reply is not None and reply.pid is not None:
        document["pid"] = reply.pid
    if reply is not None and reply.version is not None:
        document["version"] = reply.version
    return _line(document)


def encode_error(code: ErrorCode, message: str) -> bytes:
    return _line({"ok": False, "code": code.value, "message": message[:MAX_MESSAGE_CHARS]})


def decode_reply(line: bytes) -> Reply:
    """The server's answer; an error reply is raised as RemoteError with the server's code (a code this
    version does not know becomes remote_command_failed, its message kept)."""
    document = _object(line, ErrorCode.REMOTE_BAD_REPLY, "reply")
    if document.get("ok") is True:
        pid, version = document.get("pid"), document.get("version")
        return Reply(
            pid if isinstance(pid, int) and not isinstance(pid, bool) else None,
            version if isinstance(version, str) else None,
        )
    code, message = document.get("code"), document.get("message")
    if document.get("ok") is not False or not isinstance(code, str) or not isinstance(message, str):
        raise RemoteError(ErrorCode.REMOTE_BAD_REPLY, "The app's reply is not one this version understands.")
    try:
        known = ErrorCode(code)
    except ValueError:
        known = ErrorCode.REMOTE_COMMAND_FAILED
    raise RemoteError(known, message[:MAX_MESSAGE_CHARS])


def _line(document: dict[str, Any]) -> bytes:
    # ensure_ascii: argv may hold surrogate-escaped bytes of a file name; escaped, they travel and come back.
    return json.dumps(document, ensure_ascii=True, separators=(",", ":")).encode("ascii") + b"\n"


def _object(line: bytes, code: ErrorCode, what: str) -> dict[str, Any]:
    try:
        document = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):  # deep nesting raises RecursionError
        raise RemoteError(code, f"The {what} is not one line of UTF-8 JSON.") from None
    if not isinstance(document, dict):
        raise RemoteError(code, f"The {what} is not a JSON object.")
    return document


def _argv(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) > MAX_ARGV_ITEMS or not all(isinstance(a, str) for a in value):
        raise RemoteError(ErrorCode.REMOTE_BAD_REQUEST, f"argv must be a list of at most {MAX_ARGV_ITEMS} strings.")
    return tuple(value)


def _timestamp(value: object) -> float | None:
    if value is None:
        return None
    refused = RemoteError(ErrorCode.REMOTE_BAD_REQUEST, "issued_at must be a number of seconds.")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise refused
    try:
        seconds = float(value)
    except OverflowError:  # an integer beyond any float
        raise refused from None
    if not math.isfinite(seconds):
        raise refused
    return seconds
