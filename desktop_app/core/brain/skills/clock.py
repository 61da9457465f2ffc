"""Time, date and day of the week."""

from __future__ import annotations

from desktop_app.core.brain.skill import Answer, Match, SkillContext, Utterance, first
from desktop_app.core.brain.spoken import spoken_date, spoken_time
from desktop_app.core.brain.templates import Templates

# Whole questions only: "what time does the shop close" or "the date of easter" are not about the clock
# here and now, so they go on to the language model.
_NOW = r"( right)?( now)?( please)?"
_INTENTS = (
    (rf"^((what|which) day (is it|is today|of the week is it|of the week is today)( today)?{_NOW}|what day|"
     rf"(remind me |tell me )?what day it is( today)?|is it (monday|tuesday|wednesday|thursday|friday|saturday|"
     rf"sunday)( today)?)$", "day"),
    (rf"^((what|what's|whats) (is )?(the date|today's date|todays date|the date today|the date of today)|"
     rf"what date is it( today)?|(tell me )?(the|today's|todays) date|what (month|year) is it( now)?){_NOW}$", "date"),
    (rf"^((what|what's|whats) (is )?the (current )?time|what time is it|tell me the time|"
     rf"(do you know )?what time it is|(have you )?got the time|what time have you got|(the )?time){_NOW}$", "time"),
)  # fmt: skip


_TEMPLATES = Templates(
    {
        "time": [
            "what time is it [right now|now]",
            "(what is|what's) the time [now|please]",
            "tell me the time [please]",
            "do you know what time it is",
            "[the] time",
        ],
        "date": [
            "(what is|what's) the date [today]",
            "(what is|what's) today's date",
            "what date is it [today]",
            "tell me (the|today's) date",
            "what is the date today",
        ],
        "day": [
            "(what|which) day is it [today]",
            "what day is today",
            "what day of the week is it [today]",
        ],
    }
)


class ClockSkill:
    name = "clock"
    summary = "tell the time and the date"
    templates = _TEMPLATES

    def match(self, said: Utterance) -> Match | None:
        intent = first(_INTENTS, said)
        return Match(0.95, intent) if intent else None

    def run(self, match: Match, said: Utterance, context: SkillContext) -> Answer:
        now = context.now
        if match.intent == "day":
            return Answer(f"It is {now:%A}.")
        if match.intent == "date":
            return Answer(spoken_date(now))
        return Answer(spoken_time(now))
