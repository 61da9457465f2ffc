"""The app's services behind the window, started after it shows, on a thread of their own: the brain (skills,
language model, alarm watch), the voice (recogniser, speaker, turn, microphone), the settings watch and
the global push-to-talk key. The window opens at once and says "starting…" meanwhile; presses made before
the voice is up get a notice (core.talk_controls).

They stop in reverse order, also when the window is closed while they are still starting.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from desktop_app.core.brain.alarm_watch import Announcement
from desktop_app.core.errors import ErrorCode
from desktop_app.core.events import Announced, EventHub, HotkeyReady, Notice, NoticeCode
from desktop_app.core.off_record import RecordSwitch
from desktop_app.core.retention import Retention
from desktop_app.core.settings import HISTORY_SAVE, TALK_HOTKEY, Settings, Subscription
from desktop_app.core.talk_controls import TalkControls
from desktop_app.core.turn_runner import keep_announcement
from desktop_app.paths import AppPaths
from desktop_app.storage.store import SqlConversationStore

if TYPE_CHECKING:
    from desktop_app.brain import BrainServices
    from desktop_app.hotkey import GlobalHotkey, HotkeyStatus
    from desktop_app.voice import TextOnlyVoice, VoiceServices

log = logging.getLogger(__name__)


def set_aside_what_lasts() -> None:
    """Moves every object made so far out of the garbage collector's reach (gc.freeze): what exists at this
    point lives as long as the app. A full collection otherwise walks all of them, on whichever thread
    happens to allocate, holding the interpreter lock: 110 ms of 150,000 objects measured during the first
    answer, while the window could not draw."""
    gc.freeze()


# Closing waits this long for services still starting (a speech model loading, a keychain prompt).
START_JOIN_BOUND_S = 30.0
# How long a thread running Python keeps the interpreter lock from another that asks for it, while the
# services start (CPython's default is 5 ms).
STARTING_SWITCH_INTERVAL_S = 0.001


@contextlib.contextmanager
def short_switch_interval() -> Iterator[None]:
    """While the services start, their thread runs Python almost without a pause (imports, the brain's
    templates and word tables, the voice). The window's thread gives the interpreter lock back around most
    Qt calls and must wait up to the switch interval to take it again, several times for one frame: with
    the default 5 ms its event loop stalled for 30 ms and more at a time. With 1 ms it takes the lock back
    within about a millisecond. The interval is put back once the services have started."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(STARTING_SWITCH_INTERVAL_S)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


@dataclass
class AppServices:
    settings: Settings
    paths: AppPaths
    store: SqlConversationStore
    hub: EventHub
    controls: TalkControls
    with_hotkey: bool = True
    brain: BrainServices | None = field(default=None, init=False)
    voice: VoiceServices | TextOnlyVoice | None = field(default=None, init=False)
    hotkey: GlobalHotkey | None = field(default=None, init=False)
    retention: Retention | None = field(default=None, init=False)
    record: RecordSwitch | None = field(default=None, init=False)
    _subscriptions: list[Subscription] = field(default_factory=list, init=False)
    _thread: threading.Thread | None = field(default=None, init=False)
    _closing: threading.Event = field(default_factory=threading.Event, init=False)

    def start_in_background(self, on_ready: Callable[[], None]) -> None:
        """Starts everything on a thread; `on_ready()` is called there once the voice is attached."""
        self._thread = threading.Thread(target=self._start, args=(on_ready,), name="app-services-start", daemon=True)
        self._thread.start()

    def start(self) -> None:
        """The same, on the calling thread (tests, the benchmark)."""
        self._start(lambda: None)

    def _start(self, on_ready: Callable[[], None]) -> None:
        with short_switch_interval():
            self._start_services(on_ready)

    def _start_services(self, on_ready: Callable[[], None]) -> None:
        from desktop_app.brain import build_brain

        set_aside_what_lasts()  # Qt, the window and the store
        self.retention = Retention(self.store, self.settings)
        self.retention.start()  # history.keep_days: now, daily, and when it changes
        self.record = RecordSwitch(self.store, self.store.alarms, history_on=self.settings.get(HISTORY_SAVE))
        self._subscriptions.append(self.settings.subscribe(HISTORY_SAVE, self._history_switched))
        self.brain = brain = build_brain(self.settings, self.record, self._announce)
        if self._closing.is_set():
            return
        try:
            from desktop_app.voice import start_voice

            self.voice = start_voice(self.settings, self.paths, self.record, self.hub, brain.assistant)
        except Exception as error:  # the window still opens and typed questions are still answered
            log.exception("voice services could not start")
            self.hub.publish(
                Notice(ErrorCode.AUDIO_INPUT_UNAVAILABLE, f"Speaking and listening are off: {error}. Typing works.")
            )
            from desktop_app.voice import start_text_only

            self.voice = start_text_only(self.record, self.hub, brain.assistant)
        brain.assistant.prepare()  # while the speech model loads in its own process
        set_aside_what_lasts()  # the brain, its templates and the voice
        self.controls.attach(self.voice, self.record)
        log.info("voice services ready: push to talk reaches the turn")
        self.hub.publish(Notice(NoticeCode.VOICE_READY, "Ready."))
        brain.alarm_watch.missed_since_last_run()
        brain.alarm_watch.start()
        self.settings.watch()  # after the services subscribed: changes made meanwhile arrive at the first look
        if self.with_hotkey and not self._closing.is_set():
            self._start_hotkey()
        on_ready()

    def _history_switched(self, on: bool) -> None:
        """history.save changed: the next conversation is saved, or not."""
        record = self.record
        if record is not None and record.history_on != on:
            record.history_on = on
            self.controls.new_conversation()

    def _announce(self, item: Announcement) -> None:
        voice = self.voice
        if voice is not None:
            voice.pipeline.announce(item.text, item.source)
        else:  # not up yet: still kept (when the store can), in the one "Timers and reminders" conversation
            kept = keep_announcement(self.store, item.text, item.source)
            self.hub.publish(Announced(item.text, item.source, kept))

    def _start_hotkey(self) -> None:
        from desktop_app.hotkey import GlobalHotkey

        hotkey = GlobalHotkey(self.controls.press, self.controls.release, self._hotkey_status)
        self.hotkey = hotkey
        hotkey.start(self.settings.get(TALK_HOTKEY))

        def hotkey_changed(text: str) -> None:
            hotkey.start(text)  # its status arrives through _hotkey_status

        self._subscriptions.append(self.settings.subscribe(TALK_HOTKEY, hotkey_changed))

    def _hotkey_status(self, status: HotkeyStatus) -> None:
        from desktop_app.hotkey import Listening, Unavailable

        if isinstance(status, Listening):
            self.hub.publish(HotkeyReady.of(status.trigger))
        elif isinstance(status, Unavailable):
            self.hub.publish(Notice(status.code, status.reason))

    def close(self) -> None:
        self._closing.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(START_JOIN_BOUND_S)
            if thread.is_alive():
                log.error("the services did not finish starting within %.0f s", START_JOIN_BOUND_S)
        for subscription in self._subscriptions:
            subscription.unsubscribe()
        if self.hotkey is not None:
            self.hotkey.stop()
        if self.retention is not None:
            self.retention.close()
        self.controls.attach(None)
        self.settings.close()
        if self.brain is not None:
            self.brain.close()
        if self.voice is not None:
            self.voice.close()
        gc.unfreeze()  # what was set aside is the collector's again, in a process that goes on (the tests)
