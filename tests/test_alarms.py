"""Timers and reminders outlive the process: after a restart they keep running, and one that ran out
while the app was closed is announced as missed. Time is moved by the test, never slept through."""

from __future__ import annotations

import threading

import pytest
from assistant_setup import Clock, Conversation

from desktop_app.core.brain.alarm_watch import AlarmWatch, Announcement
from desktop_app.core.errors import ErrorCode, NotFoundError, ValidationError
from desktop_app.core.models import AlarmKind, AlarmStatus
from desktop_app.core.reply_source import ReplySource
from desktop_app.storage.engine import sqlite_url
from desktop_app.storage.store import SqlConversationStore


def _watch(store: SqlConversationStore, clock: Clock) -> tuple[AlarmWatch, list[Announcement]]:
    heard: list[Announcement] = []
    return AlarmWatch(store.alarms, heard.append, now=clock), heard


def test_a_timer_that_ran_out_while_closed_is_announced_as_missed_and_others_keep_running(
    chat: Conversation, clock: Clock
) -> None:
    chat.say("set a pasta timer for ten minutes")
    chat.say("set an egg timer for thirty minutes")
    chat.say("remind me to call mum at eleven am")
    chat.close()  # the app quits

    clock.advance(minutes=15)  # ... and is started again a quarter of an hour later
    store = SqlConversationStore.open(sqlite_url(chat.path))
    try:
        watch, heard = _watch(store, clock)
        missed = watch.missed_since_last_run()
        assert [a.text for a in missed] == ["While I was closed, the pasta timer ran out at 10:10 am."]
        assert missed[0].missed and missed[0].source == ReplySource.skill("timer")
        assert heard == missed
        # The egg timer survived the restart with its time left.
        pending = store.alarms.pending(AlarmKind.TIMER)
        assert [(t.label, t.due_at - clock.moment) for t in pending] == [("egg", pending[0].due_at - clock.moment)]
        assert (pending[0].due_at - clock.moment).total_seconds() == 15 * 60
        assert watch.check() == []  # nothing else is due yet

        clock.advance(minutes=15)
        assert [a.text for a in watch.check()] == ["Time's up: the egg timer is done."]
        clock.advance(minutes=30)  # 11:00
        fired = watch.check()
        assert [a.text for a in fired] == ["Reminder: call mum. (Set for 11 am.)"]
        assert fired[0].source == ReplySource.skill("reminder") and not fired[0].missed
        assert store.alarms.pending() == []
        assert watch.missed_since_last_run() == [] and watch.check() == []  # each is announced once
    finally:
        store.close()


def test_a_missed_reminder_names_its_day(chat: Conversation, clock: Clock) -> None:
    chat.say("remind me to water the plants at noon")
    chat.close()
    clock.advance(days=1, hours=3)
    store = SqlConversationStore.open(sqlite_url(chat.path))
    try:
        watch, _ = _watch(store, clock)
        assert [a.text for a in watch.missed_since_last_run()] == [
            "While I was closed, you had a reminder yesterday at noon: water the plants."
        ]
    finally:
        store.close()


def test_two_processes_announce_each_alarm_once(chat: Conversation, clock: Clock) -> None:
    for name in ("rice", "tea", "egg", "pasta", "bread", "soup"):
        chat.say(f"set a {name} timer for a minute")
    clock.advance(minutes=2)
    other = SqlConversationStore.open(sqlite_url(chat.path))  # another process's connection to the file
    try:
        first, heard_first = _watch(chat.store, clock)
        second, heard_second = _watch(other, clock)
        threads = [threading.Thread(target=w.check) for w in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        announced = sorted(a.alarm.label for a in heard_first + heard_second)
        assert announced == sorted(["rice", "tea", "egg", "pasta", "bread", "soup"])
    finally:
        other.close()


def test_the_watch_thread_fires_a_due_timer_when_woken(chat: Conversation, clock: Clock) -> None:
    fired = threading.Event()
    heard: list[Announcement] = []

    def announce(item: Announcement) -> None:
        heard.append(item)
        fired.set()

    watch = AlarmWatch(chat.store.alarms, announce, now=clock, poll_seconds=30)
    watch.start()
    try:
        chat.say("set a timer for five seconds")
        assert not fired.wait(0.3)  # not due on the test's clock
        clock.advance(seconds=5)
        watch.wake()  # as the assistant does after setting one; no 30 s poll to wait for
        assert fired.wait(5)
        assert [a.text for a in heard] == ["Time's up: the 5 second timer is done."]
    finally:
        watch.stop()


def test_bad_alarm_input_is_refused_and_nothing_is_written(chat: Conversation, clock: Clock) -> None:
    alarms = chat.store.alarms
    with pytest.raises(ValidationError) as naive:
        alarms.add(AlarmKind.TIMER, "x", clock.moment.replace(tzinfo=None))
    assert naive.value.code is ErrorCode.INVALID_ARGUMENT
    with pytest.raises(ValidationError):
        alarms.add(AlarmKind.TIMER, "x" * 201, clock.moment)
    with pytest.raises(ValueError):
        alarms.add("alarm clock", "x", clock.moment)  # type: ignore[arg-type]
    with pytest.raises(NotFoundError) as unknown:
        alarms.cancel(999, clock.moment)
    assert unknown.value.code is ErrorCode.UNKNOWN_ALARM
    with pytest.raises(ValidationError):
        alarms.claim(1, AlarmStatus.PENDING, clock.moment)
    assert alarms.pending() == []


def test_an_alarm_that_cannot_be_marked_is_told_once_and_the_watch_does_not_spin(tmp_path) -> None:
    """A read-only data folder: the missed reminder is still told (once), and the watch thread waits for its
    next poll instead of looking again at once for an alarm that stays due."""
    import os
    from datetime import UTC, datetime, timedelta

    folder = tmp_path / "data"
    folder.mkdir()
    store = SqlConversationStore.open(sqlite_url(folder / "assistant.db"))
    store.alarms.add(AlarmKind.REMINDER, "water the plants", datetime.now(UTC) - timedelta(minutes=3))
    store.close()
    os.chmod(folder, 0o555)
    try:
        store = SqlConversationStore.open(sqlite_url(folder / "assistant.db"))
        heard: list[Announcement] = []
        looks = 0
        book = store.alarms

        class CountingBook:
            def __getattr__(self, name: str) -> object:
                return getattr(book, name)

            def next_due_at(self) -> datetime | None:
                nonlocal looks
                looks += 1
                return book.next_due_at()

        watch = AlarmWatch(CountingBook(), heard.append, poll_seconds=0.2)  # type: ignore[arg-type]
        assert [a.alarm.label for a in watch.missed_since_last_run()] == ["water the plants"]
        watch.start()
        threading.Event().wait(1.0)
        watch.stop()
        store.close()
        assert [a.alarm.label for a in heard] == ["water the plants"]
        assert looks <= 8, looks  # about one look per 0.2 s poll, not thousands
    finally:
        os.chmod(folder, 0o700)
