"""Alarms: set for a time of day (optionally a day), listed, cancelled, kept across a restart and
announced when due. The clock is the test's (10:00 on Tuesday 1 December 2026, CET)."""

from __future__ import annotations

import pytest
from assistant_setup import Clock, Conversation

from desktop_app.core.brain.alarm_watch import AlarmWatch, Announcement
from desktop_app.core.models import AlarmKind
from desktop_app.core.reply_source import ReplySource
from desktop_app.storage.engine import sqlite_url
from desktop_app.storage.store import SqlConversationStore


@pytest.mark.parametrize(
    ("said", "answer"),
    [
        ("set an alarm for seven am", "Okay, your alarm tomorrow at 7 am is set."),
        ("wake me up at six thirty tomorrow", "Okay, your alarm tomorrow at 6:30 am is set."),
        ("set an alarm for 5:45 pm", "Okay, your alarm at 5:45 pm is set."),
        ("set an alarm for friday at eight", "Okay, your alarm on Friday 4 December at 8 am is set."),
        ("set an alarm in twenty minutes", "Okay, your alarm at 10:20 am is set."),
        ("set an alarm for seven am called gym", "Okay, your gym alarm tomorrow at 7 am is set."),
    ],
)
def test_an_alarm_is_set_for_the_time_said(chat: Conversation, said: str, answer: str) -> None:
    assert chat.say(said) == answer
    assert chat.source == "skill:alarm"
    assert len(chat.store.alarms.pending(AlarmKind.ALARM)) == 1
    assert chat.store.alarms.pending(AlarmKind.TIMER) == []  # "in twenty minutes" is an alarm, not a timer


def test_an_alarm_without_a_time_asks_for_one_and_sets_nothing(chat: Conversation) -> None:
    assert chat.say("set an alarm") == "What time should the alarm be for? Say for example: set an alarm for seven am."
    assert chat.say("set an alarm for next month").startswith("What time")
    assert chat.store.alarms.pending() == []


def test_alarms_are_listed_and_cancelled(chat: Conversation) -> None:
    assert chat.say("what alarms do i have") == "You have no alarms set."
    chat.say("set an alarm for seven am")
    chat.say("set an alarm for six pm")
    assert chat.say("what alarms do i have") == "You have 2 alarms: alarm at 6 pm; alarm tomorrow at 7 am."
    assert chat.say("cancel my alarm").startswith("Which alarm?")
    assert chat.say("cancel the seven am alarm") == "Cancelled your alarm tomorrow at 7 am."
    assert chat.say("when is my alarm") == "You have one alarm: alarm at 6 pm."
    assert chat.say("turn off my alarm") == "Cancelled your alarm at 6 pm."
    chat.say("set an alarm for seven am")
    chat.say("wake me up at eight")
    assert chat.say("delete all my alarms") == "Cancelled 2 alarms."
    assert chat.store.alarms.pending() == []


def test_an_alarm_survives_a_restart_and_goes_off_once(chat: Conversation, clock: Clock) -> None:
    chat.say("set an alarm for seven am")
    chat.say("set an alarm for eleven am called standup")
    chat.close()
    clock.advance(hours=2)  # the app was closed through 11:00 and starts again at noon
    store = SqlConversationStore.open(sqlite_url(chat.path))
    try:
        heard: list[Announcement] = []
        watch = AlarmWatch(store.alarms, heard.append, now=clock)
        missed = watch.missed_since_last_run()
        assert [a.text for a in missed] == ["While I was closed, your standup alarm for 11 am went off at 11 am."]
        assert missed[0].source == ReplySource.skill("alarm")
        clock.advance(hours=19)  # 7:00 the next morning
        fired = watch.check()
        assert [a.text for a in fired] == ["It's 7 am: your alarm."]
        assert not fired[0].missed
        assert watch.check() == [] and store.alarms.pending() == []
    finally:
        store.close()
