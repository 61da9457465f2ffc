"""What the app knows about API keys (never the secret) and how much each has been used.

A request is counted the moment it starts, inside the same write transaction as the limit check, so two
processes sharing the database cannot both squeeze past a per-minute limit: on SQLite the writer holds the
database's write lock, on PostgreSQL the key's row is locked first.

Tokens are charged only for requests the server took on: one it refused (the key rejected, 401/403; the
model unknown; the request refused; too many requests) or never received costs no tokens, whatever was
estimated for it. It still counts as a request for the per-minute limit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, func, insert, select, update

from desktop_app.core.errors import ErrorCode, NotFoundError, ValidationError
from desktop_app.core.models import ApiKeyInfo, KeyUsage
from desktop_app.core.validation import MAX_KEY_NAME_CHARS, is_blank
from desktop_app.storage.handle import DatabaseHandle
from desktop_app.storage.rows import AnyRow
from desktop_app.storage.schema import api_keys, llm_usage, utcnow

# Outcomes of a request the server refused before doing any work, or never received: no tokens are charged.
UNCHARGED_OUTCOMES = frozenset(
    {
        ErrorCode.LLM_KEY_REJECTED,
        ErrorCode.LLM_MODEL_NOT_FOUND,
        ErrorCode.LLM_BAD_REQUEST,
        ErrorCode.LLM_RATE_LIMITED,
        ErrorCode.LLM_UNREACHABLE,
    }
)


def _info(row: AnyRow) -> ApiKeyInfo:
    return ApiKeyInfo(
        id=row.id,
        name=row.name,
        provider=row.provider,
        base_url=row.base_url,
        keychain_ref=row.keychain_ref,
        fingerprint=row.fingerprint,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        requests_per_minute=row.requests_per_minute,
        tokens_per_day=row.tokens_per_day,
        tokens_input_total=row.tokens_input_total,
        tokens_output_total=row.tokens_output_total,
    )


def clean_key_name(name: str) -> str:
    clean = " ".join(str(name).split())
    if is_blank(clean) or len(clean) > MAX_KEY_NAME_CHARS:
        raise ValidationError(
            ErrorCode.INVALID_ARGUMENT, f"A key's name must be 1 to {MAX_KEY_NAME_CHARS} characters, e.g. 'openai'."
        )
    return clean


def check_limit(value: int | None, what: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValidationError(ErrorCode.INVALID_ARGUMENT, f"The {what} limit must be a whole number of at least 1.")
    return value


def _usage(connection: Connection, key_id: int | None, now: datetime, day_start: datetime) -> KeyUsage:
    owner = llm_usage.c.api_key_id.is_(None) if key_id is None else llm_usage.c.api_key_id == key_id
    requests = connection.scalar(select(func.count()).where(owner, llm_usage.c.started_at > now - timedelta(minutes=1)))
    tokens = connection.scalar(
        select(func.coalesce(func.sum(llm_usage.c.tokens_input + llm_usage.c.tokens_output), 0)).where(
            owner, llm_usage.c.started_at >= day_start
        )
    )
    return KeyUsage(int(requests or 0), int(tokens or 0))


class SqlKeyLedger:
    """Implements core.ports.KeyLedger."""

    def __init__(self, db: DatabaseHandle) -> None:
        self._db = db

    def add_key(
        self,
        name: str,
        provider: str,
        base_url: str | None,
        keychain_ref: str,
        fingerprint: str,
        *,
        requests_per_minute: int | None = None,
        tokens_per_day: int | None = None,
    ) -> ApiKeyInfo:
        clean = clean_key_name(name)
        values = {
            "name": clean,
            "provider": provider,
            "base_url": base_url,
            "keychain_ref": keychain_ref,
            "fingerprint": fingerprint,
            "created_at": utcnow(),
            "requests_per_minute": check_limit(requests_per_minute, "requests-per-minute"),
            "tokens_per_day": check_limit(tokens_per_day, "tokens-per-day"),
            "tokens_input_total": 0,
            "tokens_output_total": 0,
        }

        def job(connection: Connection) -> ApiKeyInfo:
            # The writer holds the write lock for the whole job, so the check and the insert cannot interleave.
            if connection.scalar(select(api_keys.c.id).where(api_keys.c.name == clean)) is not None:
                raise ValidationError(
                    ErrorCode.KEY_EXISTS,
                    f"A key named {clean!r} is already stored. Remove it first or pick a new name.",
                )
            connection.execute(insert(api_keys).values(values))
            return _info(connection.execute(select(api_keys).where(api_keys.c.name == clean)).one())

        return self._db.write(job, "save the key's details")

    def get_key(self, name: str) -> ApiKeyInfo:
        clean = clean_key_name(name)
        row = self._db.read(
            lambda c: c.execute(select(api_keys).where(api_keys.c.name == clean)).first(), "read the keys"
        )
        if row is None:
            raise NotFoundError(ErrorCode.KEY_NOT_FOUND, f"No key named {clean!r} is stored. Add it with: keys add.")
        return _info(row)

    def list_keys(self) -> list[ApiKeyInfo]:
        return self._db.read(
            lambda c: [_info(row) for row in c.execute(select(api_keys).order_by(api_keys.c.name))], "read the keys"
        )

    def delete_key(self, name: str) -> None:
        clean = clean_key_name(name)

        def job(connection: Connection) -> None:
            if connection.execute(delete(api_keys).where(api_keys.c.name == clean)).rowcount != 1:
                raise NotFoundError(ErrorCode.KEY_NOT_FOUND, f"No key named {clean!r} is stored.")

        self._db.write(job, "remove the key's details")

    def set_limits(self, name: str, requests_per_minute: int | None, tokens_per_day: int | None) -> ApiKeyInfo:
        clean = clean_key_name(name)
        values = {
            "requests_per_minute": check_limit(requests_per_minute, "requests-per-minute"),
            "tokens_per_day": check_limit(tokens_per_day, "tokens-per-day"),
        }
        return self._update(clean, values, "change the key's limits")

    def set_fingerprint(self, name: str, fingerprint: str) -> ApiKeyInfo:
        """A replaced secret's fingerprint (the secret itself is in the keychain)."""
        return self._update(clean_key_name(name), {"fingerprint": fingerprint}, "save the key's fingerprint")

    def _update(self, clean: str, values: Mapping[str, object], what: str) -> ApiKeyInfo:
        def job(connection: Connection) -> ApiKeyInfo:
            if connection.execute(update(api_keys).where(api_keys.c.name == clean).values(values)).rowcount != 1:
                raise NotFoundError(ErrorCode.KEY_NOT_FOUND, f"No key named {clean!r} is stored.")
            return _info(connection.execute(select(api_keys).where(api_keys.c.name == clean)).one())

        return self._db.write(job, what)

    def usage(self, key_id: int | None, now: datetime, day_start: datetime) -> KeyUsage:
        return self._db.read(lambda c: _usage(c, key_id, now, day_start), "read the key's usage")

    def begin_request(
        self,
        key_id: int | None,
        model: str,
        now: datetime,
        day_start: datetime,
        allow: Callable[[KeyUsage], None],
    ) -> int:
        """Counts a request against the key unless `allow` (given the usage so far) raises; returns its id."""

        def job(connection: Connection) -> int:
            if key_id is not None:
                # PostgreSQL: lock the key's row so another process's check waits for this one to commit
                # (SQLite's writer already holds the database's write lock; FOR UPDATE is left out there).
                connection.execute(select(api_keys.c.id).where(api_keys.c.id == key_id).with_for_update())
            allow(_usage(connection, key_id, now, day_start))
            usage_id = connection.execute(
                insert(llm_usage)
                .values(api_key_id=key_id, model=model[:200], started_at=now, tokens_input=0, tokens_output=0)
                .returning(llm_usage.c.id)
            ).scalar_one()
            if key_id is not None:
                connection.execute(update(api_keys).where(api_keys.c.id == key_id).values(last_used_at=now))
            return int(usage_id)

        return self._db.write(job, "count the request")

    def finish_request(self, usage_id: int, tokens_input: int, tokens_output: int, outcome: str) -> None:
        """Records how the request ended and the tokens it used: none when the server refused it (see
        UNCHARGED_OUTCOMES)."""
        if outcome in UNCHARGED_OUTCOMES:
            tokens_input = tokens_output = 0

        def job(connection: Connection) -> None:
            key_id = connection.scalar(select(llm_usage.c.api_key_id).where(llm_usage.c.id == usage_id))
            connection.execute(
                update(llm_usage)
                .where(llm_usage.c.id == usage_id)
                .values(tokens_input=tokens_input, tokens_output=tokens_output, outcome=outcome[:32])
            )
            if key_id is not None:
                connection.execute(
                    update(api_keys)
                    .where(api_keys.c.id == key_id)
                    .values(
                        tokens_input_total=api_keys.c.tokens_input_total + tokens_input,
                        tokens_output_total=api_keys.c.tokens_output_total + tokens_output,
                    )
                )

        self._db.write(job, "record the tokens used")
