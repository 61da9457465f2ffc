"""Alarms: a time of day, optionally a day ("set an alarm for seven am", "wake me up at six thirty
tomorrow", "an alarm for friday at eight"), listed, cancelled. Kept in the database like timers, so they go
off after a restart too, and announced (spoken and shown) when due."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from desktop_app.core.brain.skill import Answer, Match, SkillContext, Utterance, cancel_alarms
from desktop_app.core.brain.spoken import when_phrase
from desktop_app.core.brain.templates import Templates
from desktop_app.core.brain.when import parse_clock_time, parse_duration
from desktop_app.core.models import Alarm, AlarmKind

MAX_AHEAD = timedelta(days=7)
_TEMPLATES = Templates(
    {
        "set": [
            "(set|make|create|add|put on) [an|a] [new] alarm (for|at) {clock} [{day}|on {weekday}]",
            "(set|make|create|add) [an|a] alarm (for|at) {clock} {day}",
            "(set|make|create) [an|a] alarm for {weekday} at {clock}",
            "wake me [up] (at|by) {clock} [{day}|on {weekday}]",
            "wake me [up] {day} at {clock}",
            "(set|make) [an|a] alarm (in|for) {duration} [from now]",
            "alarm (for|at) {clock} [{day}]",
            "i need to (wake up|get up|be up) at {clock} [{day}]",
        ],
        "list": [
            "(what|which) alarms (do i have|are set)",
            "(list|show me) [all] my alarms",
            "(do i have|have i got|is there) (an|any) alarm[s] [set] [{day}]",
            "when is my alarm [set for]",
            "is my alarm set",
            "what time is my alarm [set for]",
        ],
        "cancel": [
            "(cancel|delete|remove|clear|turn off|switch off|stop) [all] [my|the] alarm[s]",
            "(cancel|delete|remove|turn off) [my|the] [{clock}] alarm",
            "(cancel|delete|remove|turn off) the alarm (for|at) {clock}",
            "i don't need [an|the|my] alarm [{day}]",
        ],
    },
    example="set an alarm for seven am",
)
_SET = re.compile(
    r"^((set|make|create|add|put on)( me)?( an?| my)?( new)?( wake up)? alarm\b|alarm (for|at)\b|wake me( up)?\b|"
    r"i need to (wake|get|be) up\b)"
)
# Said with a time, these fix its half of the day; without one, an alarm is for the morning.
_HALF_OF_DAY = re.compile(r"\b(am|pm|a\.m|p\.m|morning|afternoon|evening|tonight|night|noon|midday|midnight)\b")
_CANCEL = re.compile(r"\b(cancel|delete|remove|clear|turn off|switch off|stop|don't need|do not need)\b")
_LIST = re.compile(
    r"\b(what|which|list|show|any|when is|what time is|is my alarm|is there|do i have|have i got|how many)\b"
)


def due_time(words: str, now: datetime) -> datetime | None:
    """When an alarm set with `words` goes off: a delay ("in twenty minutes", "for an hour from now") or
    the next time of day said ("seven am", "six thirty tomorrow", "friday at eight")."""
    if re.search(r"\bin\b|\bfrom now\b", words) or re.fullmatch(
        r"(for )?(an?|one|\w+) (minutes?|hours?)( from now)?", words
    ):
        delay = parse_duration(words)
        if delay is not None:
            return now + delay
    due = parse_clock_time(words, now)
    if due is not None and due.hour >= 12 and not _HALF_OF_DAY.search(words):
        # An alarm at a bare "seven" is for the morning: this one if it is still ahead, else tomorrow's.
        morning = due - timedelta(hours=12)
        return morning if morning > now else due + timedelta(hours=12)
    return due


def alarm_name(alarm: Alarm, now: datetime) -> str:
    """ "your alarm for 7:00 am tomorrow" (with its name when it has one: "your gym alarm ...")."""
    named = f"your {alarm.label} alarm" if alarm.label else "your alarm"
    return f"{named} {when_phrase(alarm.due_at.astimezone(now.tzinfo), now)}"


class AlarmSkill:
    name = "alarm"
    summary = "set alarms"
    templates = _TEMPLATES

    def match(self, said: Utterance) -> Match | None:
        text = said.text
        if "alarm" not in text and not _SET.search(text):
            return None
        if "alarm" in text and _CANCEL.search(text):
            return Match(0.95, "cancel", {"all": bool(re.search(r"\b(all|every)\b", text)), "when": text})
        if _SET.search(text):
            rest = _SET.sub("", text, count=1).strip()
            return Match(0.95, "set", {"when": rest, "name": _name(rest)})
        if _LIST.search(text):
            return Match(0.9, "list", {})
        return None

    def run(self, match: Match, said: Utterance, context: SkillContext) -> Answer:
        if match.intent == "set":
            return self._set(match.data["when"], match.data["name"], context)
        alarms = context.alarms.pending(AlarmKind.ALARM)
        if not alarms:
            return Answer("You have no alarms set.")
        if match.intent == "list":
            said_alarms = "; ".join(alarm_name(alarm, context.now).removeprefix("your ") for alarm in alarms)
            count = f"{len(alarms)} alarms" if len(alarms) > 1 else "one alarm"
            return Answer(f"You have {count}: {said_alarms}.")
        return cancel_alarms(
            _chosen(alarms, match.data["when"], context.now),
            alarms,
            match.data["all"],
            context,
            ask_which="Which alarm? Say for example: cancel the seven am alarm, or: cancel all alarms.",
            said_one=lambda alarm: alarm_name(alarm, context.now),
            plural="alarms",
        )

    def _set(self, when: str, name: str, context: SkillContext) -> Answer:
        due = due_time(re.sub(r"\b(called|named)\b.*$", "", when).strip(), context.now) if when else None
        if due is None:
            return Answer("What time should the alarm be for? Say for example: set an alarm for seven am.")
        if due <= context.now:
            return Answer("That time has already passed. Give me a time later today or tomorrow.")
        if due - context.now > MAX_AHEAD:
            return Answer("I can set alarms up to a week ahead.")
        alarm = context.alarms.add(AlarmKind.ALARM, name, due, conversation_id=context.conversation_id)
        return Answer(f"Okay, {alarm_name(alarm, context.now)} is set.")


def _name(rest: str) -> str:
    """The name after "called"/"named": "an alarm for seven called gym" -> "gym"."""
    found = re.search(r"\b(called|named)\s+(.+)$", rest)
    return found.group(2).strip() if found else ""


def _chosen(alarms: list[Alarm], said: str, now: datetime) -> list[Alarm]:
    """The alarms whose time the words name ("cancel the seven am alarm"); none when no time is said."""
    words = said.split()
    # The time stands anywhere: "cancel the seven am alarm", "turn off the alarm at six thirty".
    due = next((found for i in range(len(words)) if (found := parse_clock_time(" ".join(words[i:]), now))), None)
    if due is None:
        return []

    def clock(moment: datetime) -> tuple[int, int]:
        local = moment.astimezone(now.tzinfo)
        return local.hour, local.minute

    return [alarm for alarm in alarms if clock(alarm.due_at) == clock(due)]
