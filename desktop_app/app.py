"""The composition root: the one place that knows concrete classes. Builds services in order, shuts them
down in reverse."""

from __future__ import annotations

import logging
import logging.handlers
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from desktop_app.brain import build_brain
from desktop_app.core.brain.alarm_watch import Announcement
from desktop_app.core.errors import AppError, ErrorCode
from desktop_app.core.events import Announced, EventHub
from desktop_app.core.history_cache import CacheLimits
from desktop_app.core.settings import Settings
from desktop_app.paths import DATABASE_URL_ENV, AppPaths
from desktop_app.storage.engine import sqlite_url
from desktop_app.storage.store import SqlConversationStore

if TYPE_CHECKING:
    from desktop_app.voice import VoiceServices

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AppOptions:
    data_dir: str | None = None
    database_url: str | None = None


def resolve_paths(options: AppOptions) -> AppPaths:
    return AppPaths.resolve(options.data_dir).ensure()


def database_url(options: AppOptions, paths: AppPaths) -> str:
    """--database-url, then VOICE_ASSISTANT_DATABASE_URL, then the per-user SQLite file."""
    return options.database_url or os.environ.get(DATABASE_URL_ENV) or sqlite_url(paths.database_file)


def open_store(options: AppOptions, paths: AppPaths | None = None) -> SqlConversationStore:
    paths = paths or resolve_paths(options)
    return SqlConversationStore.open(database_url(options, paths), CacheLimits())


def configure_logging(paths: AppPaths, verbose: bool = False) -> None:
    """Logs go to a rotating file in the log directory, private to the user (0600, the rotated files too).
    What people said, typed or were answered is left out of it (core.privacy) unless the
    privacy.log_content setting or VOICE_ASSISTANT_LOG_CONTENT=1 asks for it."""
    from desktop_app.core.privacy import LOG_CONTENT_SETTING, set_log_content
    from desktop_app.paths import PrivateRotatingFileHandler

    root = logging.getLogger()
    if any(getattr(h, "_voice_assistant", False) for h in root.handlers):
        return
    set_log_content(Settings(paths.settings_file).get(LOG_CONTENT_SETTING))
    file_handler = PrivateRotatingFileHandler(paths.log_dir / "voice-assistant.log", 2_000_000, 3)
    file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"))
    file_handler._voice_assistant = True  # type: ignore[attr-defined]
    root.addHandler(file_handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)


def run_gui(options: AppOptions) -> int:
    """Runs the desktop window and returns its exit status. Services start in order and stop in reverse:
    store, voice (recogniser, speaker, turn, microphone), window. Quit, closing the window, SIGTERM and
    SIGINT all end it the same way.

    The process ends through the interpreter's normal clean-up. It used to end with `os._exit` because it
    sometimes aborted there (`bool_dealloc` during the last garbage collection); that was the Qt binding's
    reference-count defect (see ui/binding_check.py), and with a sound binding 12 start, ask, quit cycles
    (some mid-answer) all ended with 0."""
    return _run_gui(options)


def _run_gui(options: AppOptions) -> int:
    from desktop_app.ui.platform_check import check_platform

    check_platform()  # before anything loads Qt: no display, no X server, a missing system library
    from desktop_app.ui.binding_check import binding_problem

    problem = binding_problem()
    if problem is not None:
        raise AppError(ErrorCode.QT_BINDING_DEFECTIVE, problem)
    paths = resolve_paths(options)
    configure_logging(paths)
    settings = Settings(paths.settings_file)
    store = open_store(options, paths)
    hub = EventHub()
    voice: VoiceServices | None = None

    def announce(item: Announcement) -> None:
        if voice is not None:
            voice.pipeline.announce(item.text, item.source)
        else:  # no voice: still kept (when the store can), in the one "Timers and reminders" conversation, and shown
            from desktop_app.core.turn_runner import keep_announcement

            kept = keep_announcement(store, item.text, item.source)
            hub.publish(Announced(item.text, item.source, kept))

    brain = build_brain(settings, store, announce)
    try:
        from desktop_app.voice import start_voice

        voice = start_voice(settings, paths, store, hub, brain.assistant)
    except Exception:  # the window still opens; it says voice is off and the log says why
        log.exception("voice services could not start")
    brain.alarm_watch.missed_since_last_run()
    brain.alarm_watch.start()
    settings.watch()  # after the services subscribed: changes made meanwhile arrive at the first look
    try:
        from desktop_app.ui.main_window import run_main_window

        return run_main_window(store, hub, voice)
    finally:
        settings.close()
        brain.close()
        if voice is not None:
            voice.close()
        store.close()
