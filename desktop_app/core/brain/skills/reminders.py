"""Reminders at a time ("remind me to call mum at five pm") or after a delay ("remind me in twenty
minutes to check the oven"). Kept in the database like timers."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from desktop_app.core.brain.memory import second_person
from desktop_app.core.brain.skill import Answer, Match, SkillContext, Utterance, cancel_alarms, pick_by_words
from desktop_app.core.brain.spoken import when_phrase
from desktop_app.core.brain.templates import Templates
from desktop_app.core.brain.when import WEEKDAYS, parse_clock_time, parse_duration
from desktop_app.core.models import Alarm, AlarmKind

# Where the task ends and the time begins: "call mum | at five pm", "check the oven | in ten minutes".
_TIME_STARTS = frozenset(
    {"at", "in", "after", "today", "tomorrow", "tonight", "by", "this", "on", "next", "half", "quarter", "noon"}
) | frozenset(WEEKDAYS)
_QUESTION_WORDS = frozenset({"what", "how", "why", "who", "where", "which", "whether"})
_SET = re.compile(r"^(?:remind me|set (?:a |an )?reminder|make (?:a )?reminder|create (?:a )?reminder)\b\s*(.*)$")


def _when(text: str, now: datetime) -> datetime | None:
    """ "in twenty minutes" / "after an hour" is a delay; otherwise a clock time ("at five pm")."""
    if re.search(r"\b(in|after|within)\b", text):
        delay = parse_duration(text)
        if delay is not None:
            return now + delay
    return parse_clock_time(text, now)


def split_task(rest: str, now: datetime) -> tuple[str, datetime | None]:
    """ "to call mum at five pm" -> ("call mum", 17:00); "in ten minutes to check the oven" -> ("check the
    oven", now + 10 min); the task is turned into the second person when spoken back."""
    words = rest.split()
    if words[:1] and words[0] in ("to", "that", "about"):
        words = words[1:]
        for cut in range(len(words)):
            if words[cut] in _TIME_STARTS:
                due = _when(" ".join(words[cut:]), now)
                if due is not None:
                    return " ".join(words[:cut]), due
        return " ".join(words), None
    # The time comes first: "in ten minutes to check the oven", "at five to call mum".
    for cut in range(len(words)):
        if words[cut] in ("to", "that", "about") and cut > 0:
            due = _when(" ".join(words[:cut]), now)
            if due is not None:
                return " ".join(words[cut + 1 :]), due
    return "", _when(rest, now)


_TEMPLATES = Templates(
    {
        "set": [
            "remind me to {task} (at|by) {clock}",
            "remind me to {task} {day}",
            "remind me to {task} (in|after) {duration}",
            "remind me (in|after) {duration} to {task}",
            "remind me (at|on) ({clock}|{weekday}) to {task}",
            "remind me {day} to {task}",
            "remind me to {task} on {weekday} [at {clock}]",
            "(set|create|make) a reminder to {task} (at {clock}|in {duration}|{day})",
        ],
        "list": [
            "(what are|list|show me|read me) my reminders",
            "<do_i_have> any reminders",
            "what reminders do i have",
            "how many reminders do i have",
        ],
        "cancel": [
            "(cancel|delete|remove|clear) [all] [the|my] reminders",
            "(cancel|delete|remove) the reminder (to|about) {task}",
            "(cancel|delete|remove) my reminder to {task}",
        ],
    }
)


class ReminderSkill:
    name = "reminder"
    summary = "set reminders"
    templates = _TEMPLATES

    def match(self, said: Utterance) -> Match | None:
        text = said.text
        setting = _SET.match(text)
        if setting is not None:
            rest = setting.group(1)
            if rest.split()[:1] and rest.split()[0] in _QUESTION_WORDS:
                return None  # "remind me what you said" asks for something else
            return Match(0.95, "set", {"rest": rest})
        if "reminder" not in text:
            return None
        if re.search(r"\b(cancel|delete|remove|clear|forget)\b", text):
            topic = re.sub(r".*\breminders?\b\s*(to|about|for)?\s*", "", text)
            return Match(0.9, "cancel", {"all": bool(re.search(r"\b(all|every)\b", text)), "topic": topic})
        if re.search(r"\b(what|which|list|show|any|my reminders|read|how many)\b", text):
            return Match(0.85, "list", {})
        if re.search(r"^(i need|i want|i'd like|give me|can i have|add|new)( me)?( a| an)?( new)? reminder$", text):
            return Match(0.7, "set", {"rest": ""})  # "I need a reminder": ask what and when
        return None

    def run(self, match: Match, said: Utterance, context: SkillContext) -> Answer:
        if match.intent == "set":
            return self._set(match.data["rest"], said, context)
        reminders = context.alarms.pending(AlarmKind.REMINDER)
        if not reminders:
            return Answer("You have no reminders set.")
        if match.intent == "list":
            parts = "; ".join(f"{when_phrase(r.due_at, context.now)}, {_task(r)}" for r in reminders)
            return Answer(f"You have {len(reminders)} reminder{'s' if len(reminders) > 1 else ''}: {parts}.")
        topic = " ".join(w for w in match.data.get("topic", "").split() if w not in ("the", "my", "a", "to"))
        return cancel_alarms(
            [reminders[index] for index in pick_by_words(topic, [r.label for r in reminders])],
            reminders,
            bool(match.data.get("all")),
            context,
            ask_which="Which reminder? Say for example: cancel the reminder to call mum, or: cancel all reminders.",
            said_one=lambda reminder: f"the reminder {when_phrase(reminder.due_at, context.now)}: {_task(reminder)}",
            plural="reminders",
        )

    def _set(self, rest: str, said: Utterance, context: SkillContext) -> Answer:
        task, due = split_task(rest, context.now)
        if due is None:
            return Answer("When should I remind you? Say for example: remind me to call mum at five pm.")
        if not task:
            return Answer("What should I remind you of? Say for example: remind me in ten minutes to check the oven.")
        if due <= context.now:
            return Answer("That time has already passed. Give me a time later today or tomorrow.")
        if due - context.now > timedelta(days=366):
            return Answer("I can only keep reminders for up to a year.")
        alarm = context.alarms.add(AlarmKind.REMINDER, said.as_said(task), due, conversation_id=context.conversation_id)
        return Answer(f"Okay, I'll remind you {when_phrase(due, context.now)}: {_task(alarm)}.")


def _task(reminder: Alarm) -> str:
    """ "call my mum" -> "call your mum" when spoken back."""
    spoken = second_person(reminder.label).rstrip(".")
    return spoken[0].lower() + spoken[1:] if reminder.label[:1].islower() else spoken
