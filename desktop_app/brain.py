"""Builds the assistant's brain with its concrete parts: the store's alarm book and key ledger, the OS
keychain, the OpenAI-compatible client. The window and `voice-assistant ask` both use this, so they answer
the same way from the same memory."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from desktop_app.core.brain.alarm_watch import POLL_SECONDS, AlarmWatch, Announcement
from desktop_app.core.brain.assistant import Assistant
from desktop_app.core.brain.language_model import LanguageModel, ModelConfig
from desktop_app.core.brain.skill import local_now
from desktop_app.core.chat import ChatModel
from desktop_app.core.keys import KeyStore
from desktop_app.core.ports import AppStore
from desktop_app.core.settings import Settings

log = logging.getLogger(__name__)


def connect_model(config: ModelConfig, secret: str | None) -> ChatModel:
    from desktop_app.llm.client import OpenAICompatibleChat

    return OpenAICompatibleChat(config.base_url, config.model, secret, read_timeout=config.timeout_seconds)


def system_key_store() -> KeyStore:
    from desktop_app.secrets.keychain import KeychainKeyStore

    return KeychainKeyStore()


@dataclass
class BrainServices:
    assistant: Assistant
    language_model: LanguageModel
    alarm_watch: AlarmWatch

    def close(self) -> None:
        self.alarm_watch.stop()
        self.language_model.close()


def build_brain(
    settings: Settings,
    store: AppStore,
    announce: Callable[[Announcement], None],
    *,
    now: Callable[[], datetime] = local_now,
    keys: KeyStore | None = None,
    connect: Callable[[ModelConfig, str | None], ChatModel] = connect_model,
    alarm_poll_seconds: float = POLL_SECONDS,
) -> BrainServices:
    """The alarm watch is made but not started: the window starts it (and announces missed alarms first);
    a one-shot command only checks once."""
    language_model = LanguageModel(
        settings, store, store.keys, keys=keys if keys is not None else _LazyKeyStore(), connect=connect, now=now
    )
    watch = AlarmWatch(store.alarms, announce, now=now, poll_seconds=alarm_poll_seconds)
    assistant = Assistant(store, store.alarms, language_model=language_model, now=now, on_alarm_set=watch.wake)
    return BrainServices(assistant, language_model, watch)


class _LazyKeyStore:
    """Opens the keychain only when a key is first needed: a local model server or no model at all never
    touches D-Bus."""

    def __init__(self) -> None:
        self._store: KeyStore | None = None

    def _open(self) -> KeyStore:
        if self._store is None:
            self._store = system_key_store()
        return self._store

    def set_secret(self, ref: str, secret: str) -> None:
        self._open().set_secret(ref, secret)

    def get_secret(self, ref: str) -> str:
        return self._open().get_secret(ref)

    def delete_secret(self, ref: str) -> None:
        self._open().delete_secret(ref)

    def check(self) -> None:
        self._open().check()
