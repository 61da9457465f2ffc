"""The composition root: the one place that knows concrete classes. Builds services in order, shuts them
down in reverse."""

from __future__ import annotations

import logging
import logging.handlers
import os
from dataclasses import dataclass

from desktop_app.core.errors import AppError, ErrorCode
from desktop_app.core.events import EventHub
from desktop_app.core.history_cache import CacheLimits
from desktop_app.core.settings import APP_START_MINIMIZED, Settings
from desktop_app.core.talk_controls import TalkControls
from desktop_app.paths import DATABASE_URL_ENV, AppPaths
from desktop_app.services import AppServices
from desktop_app.storage.engine import sqlite_url
from desktop_app.storage.store import SqlConversationStore
from desktop_app.system_libraries import EXIT_SYSTEM_LIBRARY_MISSING, missing_libraries, start_warning

log = logging.getLogger(__name__)

# How long a second start waits for the running instance to take its "show the window".
SHOW_BOUND_S = 10.0


@dataclass(frozen=True, slots=True)
class AppOptions:
    data_dir: str | None = None
    database_url: str | None = None
    minimized: bool = False  # start in the tray (where there is one), not with the window shown
    argv: tuple[str, ...] = ()  # handed to an instance already running, which shows its window instead


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
    log_file = paths.log_dir / "voice-assistant.log"
    for handler in [h for h in root.handlers if getattr(h, "_voice_assistant", False)]:
        if isinstance(handler, logging.FileHandler) and handler.baseFilename == str(log_file.absolute()):
            return
        root.removeHandler(handler)  # another data folder's log (a second app in one process: the tests)
        handler.close()
    set_log_content(Settings(paths.settings_file).get(LOG_CONTENT_SETTING))
    file_handler = PrivateRotatingFileHandler(log_file, 2_000_000, 3)
    file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"))
    file_handler._voice_assistant = True  # type: ignore[attr-defined]
    root.addHandler(file_handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)


def run_gui(options: AppOptions) -> int:
    """Runs the desktop window and returns its exit status. One instance per user and data folder: a second
    start shows the running window and returns 0. The store opens first, then the window shows, then the
    other services start behind it (desktop_app.services); they stop in reverse. Quit, closing the window
    (where there is no tray), SIGTERM and SIGINT all end it the same way.

    When a system library the voice features load is missing (desktop_app.system_libraries), a dialog says
    so first: Quit ends it with EXIT_SYSTEM_LIBRARY_MISSING (3); where the app runs without the library
    (eSpeak NG: answers in text only), "Continue without it" goes on.

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
    from desktop_app.remote.claim import claim_instance
    from desktop_app.remote.client import RemoteClient
    from desktop_app.remote.protocol import Command, CommandName

    instance = claim_instance(paths.data_dir)
    if isinstance(instance, RemoteClient):  # one window per user and data folder: show that one
        log.info("the app is already running: asking it to show its window")
        instance.send(Command(CommandName.SHOW, argv=options.argv), timeout=SHOW_BOUND_S)
        return 0
    try:
        if not _system_libraries_allow_start():  # before anything loads them
            return EXIT_SYSTEM_LIBRARY_MISSING
        settings = Settings(paths.settings_file)
        store = open_store(options, paths)
        hub = EventHub()
        services = AppServices(settings, paths, store, hub, TalkControls(hub.publish))
        try:
            from desktop_app.ui.main_window import WindowStart, run_main_window

            minimized = options.minimized or settings.get(APP_START_MINIMIZED)
            start = WindowStart(
                store, hub, services, instance, minimized, paths.window_state_file, settings, paths.models_dir, paths
            )
            return run_main_window(start)
        finally:
            services.close()
            store.close()
    finally:
        instance.stop()


def _system_libraries_allow_start() -> bool:
    """True when every system library loads, or when the user chose to go on without those missing."""
    missing = missing_libraries()
    if not missing:
        return True
    for item in missing:
        log.error("%s cannot be loaded: %s", item.library.soname, item.reason)
    from desktop_app.ui.library_dialog import ask_to_continue

    return ask_to_continue(start_warning(missing))
