"""Whatever sets an alarm (a timer, a reminder, an alarm, or a skill added later) wakes the alarm watch, so it
goes off on time rather than at the watch's next poll. A real store; the test's clock, moved, not slept."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import ClassVar

import pytest
from assistant_setup import Clock

from desktop_app.brain import build_brain
from desktop_app.core.brain.alarm_watch import AlarmWatch, Announcement
from desktop_app.core.brain.assistant import Assistant, default_skills
from desktop_app.core.brain.skill import Answer, Match, SkillContext, Utterance
from desktop_app.core.brain.templates import Templates
from desktop_app.core.errors import ValidationError
from desktop_app.core.models import AlarmKind
from desktop_app.core.settings import Settings
from desktop_app.storage.store import SqlConversationStore

POLL = 60.0  # far longer than the test waits: only a wake makes the watch look again in time


def _say(assistant: Assistant, store: SqlConversationStore, text: str) -> str:
    conversation = store.create_conversation().id
    return "".join(piece.text for piece in assistant.reply(text, conversation)).strip()


@pytest.mark.parametrize(
    ("said", "kind"),
    [
        ("set a timer for one second", AlarmKind.TIMER),
        ("remind me in one second to stretch", AlarmKind.REMINDER),
        ("set an alarm in one second", AlarmKind.ALARM),
    ],
)
def test_setting_a_timer_reminder_or_alarm_wakes_the_running_watch(
    store: SqlConversationStore, monkeypatch: pytest.MonkeyPatch, said: str, kind: AlarmKind
) -> None:
    woken = threading.Event()
    wake = AlarmWatch.wake

    def noted_wake(watch: AlarmWatch) -> None:
        woken.set()
        wake(watch)

    monkeypatch.setattr(AlarmWatch, "wake", noted_wake)
    clock = Clock()
    fired = threading.Event()
    heard: list[Announcement] = []

    def announce(item: Announcement) -> None:
        heard.append(item)
        fired.set()

    brain = build_brain(Settings(None), store, announce, now=clock, alarm_poll_seconds=POLL)
    brain.alarm_watch.start()
    try:
        assert _say(brain.assistant, store, said).startswith("Okay")
        assert woken.is_set()
        assert [(alarm.kind, alarm.due_at - clock.moment) for alarm in store.alarms.pending()] == [
            (kind, timedelta(seconds=1))
        ]
        clock.advance(seconds=1)
        assert fired.wait(10)  # the woken watch looks at the due time, not after its 60 s poll
        assert [(item.alarm.kind, item.missed) for item in heard] == [(kind, False)]
    finally:
        brain.close()


def test_asking_about_alarms_does_not_wake_the_watch(store: SqlConversationStore) -> None:
    wakes: list[None] = []
    assistant = Assistant(store, store.alarms, now=Clock(), on_alarm_set=lambda: wakes.append(None))
    _say(assistant, store, "set a timer for ten minutes")
    assert len(wakes) == 1
    for said in ("what timers do i have", "what alarms do i have", "cancel my timer", "set an alarm"):
        _say(assistant, store, said)
    assert len(wakes) == 1  # nothing new was set ("set an alarm" asks for a time)


class _Stopwatch:
    """A skill none of the built-in ones knows about, that sets a timer."""

    name = "stopwatch"
    summary = "start a stopwatch lap"
    templates: ClassVar[Templates] = Templates({"lap": ["start a lap"]})

    def match(self, said: Utterance) -> Match | None:
        return Match(1.0, "lap") if said.text == "start a lap" else None

    def run(self, match: Match, said: Utterance, context: SkillContext) -> Answer:
        context.alarms.add(AlarmKind.TIMER, "lap", context.now + timedelta(seconds=30), duration_seconds=30)
        return Answer("Lap started.")


class _Refused(_Stopwatch):
    def run(self, match: Match, said: Utterance, context: SkillContext) -> Answer:
        try:
            context.alarms.add(AlarmKind.TIMER, "x" * 1000, context.now + timedelta(seconds=30))
        except ValidationError:
            return Answer("That name is too long.")
        return Answer("Lap started.")


def test_any_skill_that_sets_an_alarm_wakes_the_watch_and_a_refused_one_does_not(store: SqlConversationStore) -> None:
    wakes: list[None] = []
    assistant = Assistant(
        store,
        store.alarms,
        now=Clock(),
        skills=(_Stopwatch(), *default_skills()),
        on_alarm_set=lambda: wakes.append(None),
    )
    assert _say(assistant, store, "start a lap") == "Lap started."
    assert len(wakes) == 1 and [alarm.label for alarm in store.alarms.pending()] == ["lap"]

    refusing = Assistant(
        store, store.alarms, now=Clock(), skills=(_Refused(),), on_alarm_set=lambda: wakes.append(None)
    )
    assert _say(refusing, store, "start a lap") == "That name is too long."
    assert len(wakes) == 1
