"""Time, date and day of the week."""

from __future__ import annotations

from desktop_app.core.brain.skill import Answer, Match, SkillContext, Utterance, first
from desktop_app.core.brain.spoken import spoken_date, spoken_time

_INTENTS = (
    (r"\b(what|which) day (is it|is today|of the week)\b|^what day$|\bwhat's the day\b", "day"),
    (r"\b(date|what's today|what is today)\b", "date"),
    (r"^(the )?time$|\b(what|what's|whats|tell me) (is )?(the )?time\b|\bwhat time is it\b|\bthe time (now|please)\b",
     "time"),
)  # fmt: skip


class ClockSkill:
    name = "clock"
    summary = "tell the time and the date"

    def phrases(self) -> list[str]:
        return [
            "what time is it",
            "what is the time",
            "what's the time",
            "tell me the time",
            "what time is it now",
            "what's the date",
            "what is the date today",
            "what is today's date",
            "what day is it",
            "what day is it today",
            "what day of the week is it",
        ]

    def match(self, said: Utterance) -> Match | None:
        if "timer" in said.text or "remind" in said.text:
            return None
        intent = first(_INTENTS, said)
        return Match(0.95, intent) if intent else None

    def run(self, match: Match, said: Utterance, context: SkillContext) -> Answer:
        now = context.now
        if match.intent == "day":
            return Answer(f"It is {now:%A}.")
        if match.intent == "date":
            return Answer(spoken_date(now))
        return Answer(spoken_time(now))
