"""Answers from a configured language model: context within a token budget, per-key limits, tokens counted.

The model itself is reached through the `ChatModel` port (the OpenAI-compatible client is an adapter);
this module decides what to send, whether the key may be used now, and records what it cost.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from desktop_app.core.brain.skill import local_now, start_of_day
from desktop_app.core.chat import ChatMessage, ChatModel, ChatUsage, TextDelta
from desktop_app.core.errors import AppError, ErrorCode
from desktop_app.core.keys import KeyStore
from desktop_app.core.models import ApiKeyInfo, KeyUsage, Message, Role
from desktop_app.core.ports import ConversationStore, KeyLedger, ReplyPiece
from desktop_app.core.reply_source import ReplySource
from desktop_app.core.settings import Settings
from desktop_app.core.tokens import TOKENS_PER_MESSAGE, estimate_prompt_tokens, estimate_tokens
from desktop_app.core.validation import is_loopback_host

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ModelConfig:
    base_url: str
    model: str
    key_name: str | None
    system_prompt: str
    context_tokens: int
    timeout_seconds: float

    @property
    def source(self) -> ReplySource:
        """What the stored reply says it came from."""
        return ReplySource.model(self.model)

    @classmethod
    def from_settings(cls, settings: Settings) -> ModelConfig | None:
        base_url, model = settings.get("llm.base_url"), settings.get("llm.model")
        if not base_url or not model:
            return None
        return cls(
            base_url=base_url,
            model=model,
            key_name=settings.get("llm.key_name"),
            system_prompt=settings.get("llm.system_prompt"),
            context_tokens=settings.get("llm.context_tokens"),
            timeout_seconds=settings.get("llm.timeout_seconds"),
        )


# Makes the client for a configuration and its secret (None for a server that needs no key).
Connect = Callable[[ModelConfig, str | None], ChatModel]


def build_context(
    system_prompt: str, facts: Sequence[str], history: Sequence[Message], question: str, budget: int
) -> list[ChatMessage]:
    """The system prompt with the remembered facts, then as many recent messages as fit in `budget`
    tokens (newest kept first), then the question. Facts take at most half the budget, newest first."""
    system = system_prompt.strip()
    used = estimate_tokens(system) + estimate_tokens(question)
    kept_facts: list[str] = []
    for fact in reversed(facts):
        cost = estimate_tokens(fact) + 1
        if used + cost > budget // 2:
            break
        kept_facts.insert(0, fact)
        used += cost
    if kept_facts:
        system += "\n\nWhat the user has told you about themselves (in their words):\n" + "\n".join(
            f"- {fact}" for fact in kept_facts
        )
    recent: list[ChatMessage] = []
    for message in reversed(history):
        if message.role is Role.SYSTEM:
            continue
        cost = estimate_tokens(message.content) + TOKENS_PER_MESSAGE
        if used + cost > budget:
            break
        recent.insert(0, ChatMessage("user" if message.role is Role.USER else "assistant", message.content))
        used += cost
    return [ChatMessage("system", system), *recent, ChatMessage("user", question)]


def usage_window(now: datetime) -> tuple[datetime, datetime]:
    """Now and the local midnight before it, in UTC, as the key ledger counts a key's minute and day."""
    return now.astimezone(UTC), start_of_day(now).astimezone(UTC)


def limit_check(key: ApiKeyInfo | None) -> Callable[[KeyUsage], None]:
    def allow(usage: KeyUsage) -> None:
        if key is None:
            return
        if key.requests_per_minute is not None and usage.requests_last_minute >= key.requests_per_minute:
            raise AppError(
                ErrorCode.KEY_LIMIT_REACHED,
                f"The key {key.name!r} has reached its limit of {key.requests_per_minute} requests a minute. "
                "Try again in a minute, or raise the limit with: voice-assistant keys limit.",
            )
        if key.tokens_per_day is not None and usage.tokens_today >= key.tokens_per_day:
            raise AppError(
                ErrorCode.KEY_LIMIT_REACHED,
                f"The key {key.name!r} has used its {key.tokens_per_day} tokens for today. It can be used again "
                "after midnight, or raise the limit with: voice-assistant keys limit.",
            )

    return allow


def _same_server(a: str, b: str) -> bool:
    return a.strip().rstrip("/").lower() == b.strip().rstrip("/").lower()


def check_key_destination(key: ApiKeyInfo, base_url: str) -> None:
    """A key goes only to the server it was added for, and never unencrypted over the network."""
    if key.base_url and not _same_server(key.base_url, base_url):
        raise AppError(
            ErrorCode.KEY_WRONG_SERVER,
            f"The key {key.name!r} is for {key.base_url}, but the model server is set to {base_url}, so the key "
            "was not sent. Set llm.base_url to the key's server, or add a key for this server.",
        )
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    if parts.scheme == "http" and not is_loopback_host(host):
        raise AppError(
            ErrorCode.KEY_NEEDS_HTTPS,
            f"The key {key.name!r} would be sent unencrypted to {host} (http://), so it was not sent. Use an "
            "https:// address, or a server on this computer.",
        )


class LanguageModel:
    """The optional model route of the assistant. Reads the settings on every question, so changing the
    server, model or key takes effect on the next turn."""

    def __init__(
        self,
        settings: Settings,
        store: ConversationStore,
        ledger: KeyLedger,
        *,
        keys: KeyStore | None,
        connect: Connect,
        now: Callable[[], datetime] = local_now,
    ) -> None:
        self._settings = settings
        self._store = store
        self._ledger = ledger
        self._keys = keys
        self._connect = connect
        self._now = now
        self._lock = threading.Lock()
        self._client: tuple[tuple[ModelConfig, str | None], ChatModel] | None = None

    def config(self) -> ModelConfig | None:
        return ModelConfig.from_settings(self._settings)

    def offline(self) -> bool:
        return bool(self._settings.get("network.offline"))

    def usable(self) -> bool:
        """Configured, and offline mode is off."""
        return self.config() is not None and not self.offline()

    def answer(
        self, question: str, conversation_id: int, cancel: threading.Event | None = None
    ) -> Generator[ReplyPiece, None, None]:
        """The model's answer in pieces as they stream, then an empty piece with the tokens used.
        Raises AppError (LLM_*, KEY_*, KEYCHAIN_UNAVAILABLE) when no answer could be had."""
        config = self.config()
        if config is None:
            raise AppError(ErrorCode.LLM_NOT_CONFIGURED, "No language model is set up.")
        if self.offline():
            raise AppError(ErrorCode.OFFLINE_MODE, "Offline mode is on, so no language model is asked.")
        key, secret = self._key(config)
        messages = self._context(config, question, conversation_id)
        client = self._client_for(config, secret)  # a bad address or key fails here, before it is counted
        now, day_start = usage_window(self._now())
        usage_id = self._ledger.begin_request(key.id if key else None, config.model, now, day_start, limit_check(key))
        # Until the server reports the real counts, a stopped or failed request is charged an estimate.
        tokens_in = estimate_prompt_tokens(messages)
        tokens_out = 0
        outcome = "failed"
        stream = client.stream_chat(messages, cancel=cancel)
        try:
            for event in stream:
                if isinstance(event, TextDelta):
                    tokens_out += estimate_tokens(event.text)  # piece by piece, as the client counts
                    yield ReplyPiece(event.text, config.source)
                elif isinstance(event, ChatUsage):
                    tokens_in, tokens_out = event.prompt_tokens, event.completion_tokens
            outcome = "ok"
            yield ReplyPiece("", config.source, tokens_input=tokens_in, tokens_output=tokens_out)
        except AppError as error:
            outcome = error.code.value
            raise
        except GeneratorExit:
            outcome = "stopped"
            raise
        finally:
            stream.close()  # stopped early: the connection closes now, not when the generator is collected
            self._ledger.finish_request(usage_id, tokens_in, tokens_out, outcome)

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client[1].close()
                self._client = None

    def _key(self, config: ModelConfig) -> tuple[ApiKeyInfo | None, str | None]:
        if not config.key_name:
            return None, None
        key = self._ledger.get_key(config.key_name)
        check_key_destination(key, config.base_url)
        if self._keys is None:
            raise AppError(
                ErrorCode.KEYCHAIN_UNAVAILABLE,
                "The system keychain is not available, so the API key cannot be read.",
            )
        return key, self._keys.get_secret(key.keychain_ref)

    def _context(self, config: ModelConfig, question: str, conversation_id: int) -> list[ChatMessage]:
        history = self._store.get_history(conversation_id, limit=200)
        # The voice loop stores the question before asking; it is sent once, last.
        if history and history[-1].role is Role.USER and history[-1].content.strip() == question.strip():
            history = history[:-1]
        facts = [fact.text for fact in self._store.list_facts()]
        return build_context(config.system_prompt, facts, history, question, config.context_tokens)

    def _client_for(self, config: ModelConfig, secret: str | None) -> ChatModel:
        """One client (and its connection pool) per configuration, replaced when the settings change."""
        with self._lock:
            if self._client is not None and self._client[0] == (config, secret):
                return self._client[1]
            if self._client is not None:
                self._client[1].close()
            client = self._connect(config, secret)
            self._client = ((config, secret), client)
            return client
