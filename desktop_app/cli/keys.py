"""``keys``: API keys for language-model providers. The secret goes to the OS keychain only; the database
keeps the name, a fingerprint, the limits and the usage. A secret is read from stdin (or typed at a
hidden prompt), never taken from the command line, where shell history and `ps` would see it. Stdin must
hold one key on one line: two keys (or a pasted file) are refused rather than one of them kept silently.
Names and every other stored field are printed through `output`'s escaping."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from typing import Any, TextIO

from desktop_app import key_admin
from desktop_app.cli import output
from desktop_app.cli.arguments import KEEP
from desktop_app.cli.errors import EXIT_OK
from desktop_app.core.errors import ErrorCode, ValidationError
from desktop_app.core.export import iso_utc
from desktop_app.core.keys import KeyStore
from desktop_app.core.models import ApiKeyInfo
from desktop_app.storage.keys import check_limit, clean_key_name
from desktop_app.storage.store import SqlConversationStore

Action = Callable[[SqlConversationStore, TextIO], int]


def _system_keys() -> KeyStore:
    from desktop_app.brain import system_key_store

    return system_key_store()


# The most of stdin `keys add` reads: far more than any provider's key, far less than a file pasted by mistake.
MAX_SECRET_INPUT = 16 * 1024


def _read_secret(stream: TextIO | None) -> str:
    """The key typed at a hidden prompt, or the one non-empty line of stdin ("" when there is none).
    ValidationError (invalid_key) for more than one line, or more than MAX_SECRET_INPUT characters."""
    if stream is None:
        return ""
    if stream.isatty():
        return getpass.getpass("API key (not shown): ")
    try:
        given = stream.read(MAX_SECRET_INPUT + 1)
    except UnicodeDecodeError:
        raise ValidationError(
            ErrorCode.INVALID_KEY, "The input is not text (it holds bytes that are not UTF-8). Nothing was stored."
        ) from None
    if len(given) > MAX_SECRET_INPUT:
        raise ValidationError(
            ErrorCode.INVALID_KEY,
            f"The input is longer than {MAX_SECRET_INPUT:,} characters, which no API key is. Give only the key. "
            "Nothing was stored.",
        )
    lines = [line.strip() for line in given.splitlines() if line.strip()]
    if len(lines) > 1:
        raise ValidationError(
            ErrorCode.INVALID_KEY,
            f"The input has {len(lines)} lines; give exactly one key, on one line. Nothing was stored.",
        )
    return lines[0] if lines else ""


def prepare_add(args: argparse.Namespace) -> Action:
    name = key_admin.check_name(args.name)
    provider: str = args.provider
    base_url: str | None = args.base_url
    per_minute = check_limit(args.requests_per_minute, "requests-per-minute")
    per_day = check_limit(args.tokens_per_day, "tokens-per-day")

    def action(store: SqlConversationStore, out: TextIO) -> int:
        secret = _read_secret(sys.stdin).strip()
        if not secret:
            raise ValidationError(ErrorCode.INVALID_KEY, "No key was given. Pipe it in: ... | voice-assistant keys add")
        info = key_admin.add_key(
            store,
            _system_keys,
            name,
            secret,
            provider=provider,
            base_url=base_url,
            requests_per_minute=per_minute,
            tokens_per_day=per_day,
        )
        out.write(
            f"Stored the key {name!r} in the system keychain (fingerprint {info.fingerprint}). "
            f"Use it with: voice-assistant settings set llm.key_name {output.one_line(name)}\n"
        )
        return EXIT_OK

    return action


def prepare_list(args: argparse.Namespace) -> Action:
    as_json: bool = args.json

    def action(store: SqlConversationStore, out: TextIO) -> int:
        rows = [
            _key_document(row.info, row.usage.requests_last_minute, row.usage.tokens_today)
            for row in key_admin.list_keys(store)
        ]
        if as_json:
            output.print_json(rows, out)
        elif not rows:
            out.write("No keys stored. Add one with: voice-assistant keys add NAME --base-url URL\n")
        else:
            for row in rows:
                limits = (
                    f"{row['requests_per_minute'] or 'no'} requests/min limit, "
                    f"{row['tokens_per_day'] or 'no'} tokens/day limit"
                )
                name, provider, fingerprint = (
                    output.one_line(row[field]) for field in ("name", "provider", "fingerprint")
                )
                out.write(
                    f"{name}  ({provider}, fingerprint {fingerprint})  {limits}; "
                    f"today {row['tokens_today']} tokens; in all {row['tokens_input_total']} in, "
                    f"{row['tokens_output_total']} out\n"
                )
        return EXIT_OK

    return action


def _key_document(info: ApiKeyInfo, requests_last_minute: int, tokens_today: int) -> dict[str, Any]:
    return {
        "name": info.name,
        "provider": info.provider,
        "base_url": info.base_url,
        "fingerprint": info.fingerprint,
        "created_at": iso_utc(info.created_at),
        "last_used_at": iso_utc(info.last_used_at) if info.last_used_at else None,
        "requests_per_minute": info.requests_per_minute,
        "tokens_per_day": info.tokens_per_day,
        "requests_last_minute": requests_last_minute,
        "tokens_today": tokens_today,
        "tokens_input_total": info.tokens_input_total,
        "tokens_output_total": info.tokens_output_total,
    }


def prepare_remove(args: argparse.Namespace) -> Action:
    name = clean_key_name(args.name)

    def action(store: SqlConversationStore, out: TextIO) -> int:
        key_admin.remove_key(store, _system_keys, name)
        out.write(f"Removed the key {name!r} from the system keychain and from the app.\n")
        return EXIT_OK

    return action


def prepare_limit(args: argparse.Namespace) -> Action:
    name = clean_key_name(args.name)

    def action(store: SqlConversationStore, out: TextIO) -> int:
        current = store.keys.get_key(name)
        per_minute = current.requests_per_minute if args.requests_per_minute is KEEP else args.requests_per_minute
        per_day = current.tokens_per_day if args.tokens_per_day is KEEP else args.tokens_per_day
        info = key_admin.set_limits(store, name, per_minute, per_day)
        out.write(
            f"{output.one_line(info.name)}: {info.requests_per_minute or 'no'} requests a minute, "
            f"{info.tokens_per_day or 'no'} tokens a day.\n"
        )
        return EXIT_OK

    return action
