"""Timers: several at once, named ("set a pasta timer for ten minutes"), listed, cancelled, asked about
("how long is left on the pasta timer"). They live in the database, so they keep running across restarts."""

from __future__ import annotations

import re
from datetime import timedelta

from desktop_app.core.brain.numbers import read_number
from desktop_app.core.brain.skill import Answer, Match, SkillContext, Utterance, pick_by_words
from desktop_app.core.brain.spoken import spoken_duration
from desktop_app.core.brain.templates import Templates
from desktop_app.core.brain.when import UNITS, parse_duration
from desktop_app.core.models import Alarm, AlarmKind, AlarmStatus

MAX_TIMER = timedelta(days=1)
# Words around a timer's name that are not part of it: "set a new ten minute pasta timer".
_NOT_NAME_TEXT = "set start make create put on a an the new me my another one for timer and half quarter of time every"
_NOT_NAME = frozenset(_NOT_NAME_TEXT.split(" ")) | frozenset(UNITS)
# "how much time is left" alone, or asked of a timer; not "how much time is left in the game".
_TIME_LEFT = (
    r"^(how (much time|long|many minutes|many seconds) (is |are )?(left|remaining)|how much longer|"
    r"(how much )?time left|how long left)( (on|for) (the|my) [a-z' ]+)?$"
    r"|^how long until the [a-z' ]+ (is|are) (done|ready|finished)$|^how long on the [a-z' ]+$"
    r"|^(check|how's|how is) (the |my )?([a-z' ]+ )?timer( doing)?$"
)
_LIST = (
    r"^((what|which) timers|(list|show|check|read|tell)( me)?( all)?( my| the)? timers|(do i have|are there|is there|"
    r"have i got)( any)?( a)? timers?( running| set| going| on)?|how many timers|(my |any )?timers?( running)?|"
    r"what are (my|the) timers)\b"
)
_CANCEL = r"\b(cancel|stop|delete|remove|clear|turn off|switch off|kill|end|never ?mind|get rid of|don't need)\b"
_ALL = r"\b(all|every|everything|both)\b"
# Asking about timers rather than setting one: "timer for five minutes" sets, "what timers" lists.
_ASKING = r"^(what|which|list|show|check|read|tell|do i|are there|is there|have i|how many)\b"


def timer_name(alarm: Alarm) -> str:
    """ "the pasta timer" or, unnamed, "the 10 minute timer"."""
    if alarm.label:
        return f"the {alarm.label} timer"
    seconds = alarm.duration_seconds or 0
    if seconds and seconds % 3600 == 0:
        return f"the {seconds // 3600} hour timer"
    if seconds and seconds % 60 == 0:
        return f"the {seconds // 60} minute timer"
    return f"the {seconds} second timer"


def _name_from(words: list[str]) -> str:
    """The name said with a timer: words after "called"/"named", right before "timer" ("a pasta timer"), or
    after a "for" that is not the duration ("a ten minute timer for the pizza")."""
    for marker in ("called", "named"):
        if marker in words:
            after = words[words.index(marker) + 1 :]
            named = after[: after.index("for")] if "for" in after else after  # "called tea for four minutes"
            return " ".join(w for w in named if w not in _NOT_NAME)
    if words[:1] == ["time"] and "for" in words:  # "time the rice for twelve minutes"
        timed = words[1 : words.index("for")]
        if not parse_duration(" ".join(timed)):  # not "time ten minutes for the rice"
            return " ".join(w for w in timed if w not in _NOT_NAME)
    if "timer" not in words:
        return _name_after_for(words)
    before: list[str] = []
    for word in reversed(words[: words.index("timer")]):
        if word in _NOT_NAME or read_number([word]) is not None:
            break
        before.insert(0, word)
    return " ".join(before) or _name_after_for(words[words.index("timer") + 1 :])


def _name_after_on(words: list[str]) -> str:
    """ "the eggs" in "how long is left on the eggs"."""
    if "on" not in words:
        return ""
    return " ".join(w for w in words[len(words) - words[::-1].index("on") :] if w not in _NOT_NAME)


def _name_until(words: list[str]) -> str:
    """ "the eggs" in "how long until the eggs are done"; "the pizza" in "how long on the pizza"."""
    found = re.search(r"\b(?:until|on) the ([a-z' ]+?)(?: (?:is|are) (?:done|ready|finished))?$", " ".join(words))
    return " ".join(w for w in found.group(1).split() if w not in _NOT_NAME) if found else ""


def _name_after_for(words: list[str]) -> str:
    """ "for the pizza" in "... timer for the pizza" or "... timer for ten minutes for the rice"; a "for"
    followed by a number or a duration is the timer's length, not its name."""
    for index, word in enumerate(words):
        tail = words[index + 1 :]
        named = tail[: tail.index("for")] if "for" in tail else tail
        if word != "for" or not named or read_number(named) is not None or parse_duration(" ".join(named)):
            continue
        name = " ".join(w for w in named if w not in _NOT_NAME)
        if name:
            return name
    return ""


def _find(alarms: list[Alarm], said_name: str) -> list[Alarm]:
    if not said_name:
        return alarms
    return [alarms[index] for index in pick_by_words(said_name, [a.label for a in alarms])]


_TEMPLATES = Templates(
    {
        "set": [
            "<set> a <timer> for {duration} [called {timer_name}]",
            "<set> a {timer_name} <timer> for {duration}",
            "<set> a {duration} <timer> [for the {timer_name}]",
            "<set> a {count} minute <timer> [for [the] {timer_name}]",
            "<set> a <timer> for {duration} for the {timer_name}",
            "<set> a <timer> for the {timer_name} for {duration}",
            "{duration} <timer>",
        ],
        "left": [
            "how (much time|long) is left [on the <timer>]",
            "how (much time|long) is left on the {timer_name} [<timer>]",
            "how much longer [on (my|the) <timer>]",
            "how much longer on the {timer_name} [<timer>]",
        ],
        "list": [
            "(what|which) timers do i have [running]",
            "(list|show me) [all] my timers",
            "<do_i_have> any timers [running|set]",
            "how many timers do i have",
        ],
        "cancel": [
            "<cancel> the [{timer_name}] <timer>",
            "<cancel> [all] [my|the] timers",
            "<cancel> all [of] [my|the] timers",
        ],
    }
)


class TimerSkill:
    name = "timer"
    summary = "run named timers"
    templates = _TEMPLATES

    def match(self, said: Utterance) -> Match | None:
        text = said.text
        words = said.words
        about_a_timer = "timer" in text
        if about_a_timer and re.search(_CANCEL, text):
            everything = bool(re.search(_ALL, text))
            return Match(0.9, "cancel", {"all": everything, "name": _name_from(words), "length": parse_duration(text)})
        if re.search(_TIME_LEFT, text) or (about_a_timer and re.search(r"\b(how (much|long)|left|remaining)\b", text)):
            return Match(0.9, "left", {"name": _name_from(words) or _name_after_on(words) or _name_until(words)})
        duration = parse_duration(text)
        setting = about_a_timer and not re.search(_ASKING, text)
        if duration is not None and (setting or re.search(r"^(set|start|time)\b.*\bfor\b", text)):
            return Match(0.95, "set", {"seconds": int(duration.total_seconds()), "name": _name_from(words)})
        if about_a_timer and re.search(_LIST, text):
            return Match(0.85, "list", {})
        if re.search(r"^(set|start|make|create)\b.*\btimer$", text):
            return Match(0.7, "set", {"seconds": None, "name": _name_from(words)})
        # "what is a timer", "how do egg timers work": about timers, but not for this skill.
        return None

    def run(self, match: Match, said: Utterance, context: SkillContext) -> Answer:
        timers = context.alarms.pending(AlarmKind.TIMER)
        name: str = match.data.get("name", "")
        if match.intent == "set":
            return self._set(match.data["seconds"], name, timers, context)
        if match.intent == "list":
            return Answer(self._listing(timers, context), last_resort=not timers and "timer" not in said.text)
        chosen = _find(timers, name)
        length = match.data.get("length")
        if not name and length is not None:  # "cancel the ten minute timer"
            chosen = [t for t in timers if t.duration_seconds == int(length.total_seconds())] or chosen
        if not timers:
            # "how much time is left in the game" is not about a timer when none is running.
            return Answer("You have no timers running.", last_resort="timer" not in said.text)
        if not chosen:
            return Answer(f"There is no {name} timer. {self._listing(timers, context)}")
        if match.intent == "left":
            return Answer(" ".join(self._left(t, context).capitalize() + "." for t in chosen))
        if len(chosen) > 1 and not match.data.get("all"):
            names = ", ".join(timer_name(t) for t in chosen)
            return Answer(f"You have {len(chosen)} timers: {names}. Which one? Or say: cancel all timers.")
        for timer in chosen:
            context.alarms.claim(timer.id, AlarmStatus.CANCELLED, context.now)
        if len(chosen) == 1:
            return Answer(f"Cancelled {timer_name(chosen[0])}.")
        return Answer(f"Cancelled {len(chosen)} timers.")

    def _set(self, seconds: int | None, name: str, timers: list[Alarm], context: SkillContext) -> Answer:
        if not seconds:
            return Answer("For how long? Say for example: set a timer for ten minutes.")
        if seconds > MAX_TIMER.total_seconds():
            return Answer("Timers run for a day at most. For later than that, ask me for a reminder.")
        if name and any(t.label == name for t in timers):
            existing = next(t for t in timers if t.label == name)
            return Answer(
                f"You already have {timer_name(existing)}, with {self._left(existing, context)}. "
                "Cancel it first, or give the new one another name."
            )
        due = context.now + timedelta(seconds=seconds)
        alarm = context.alarms.add(
            AlarmKind.TIMER, name, due, duration_seconds=seconds, conversation_id=context.conversation_id
        )
        length = spoken_duration(timedelta(seconds=seconds))
        label = f"{alarm.label} timer" if alarm.label else "timer"
        return Answer(f"Okay, {label} set for {length}.")

    def _left(self, timer: Alarm, context: SkillContext) -> str:
        return f"{spoken_duration(timer.due_at - context.now)} left on {timer_name(timer)}"

    def _listing(self, timers: list[Alarm], context: SkillContext) -> str:
        if not timers:
            return "You have no timers running."
        parts = "; ".join(self._left(t, context) for t in timers)
        return f"You have {len(timers)} timer{'s' if len(timers) > 1 else ''}: {parts}."
