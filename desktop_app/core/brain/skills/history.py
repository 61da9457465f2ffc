"""Earlier conversations: "what did I ask you yesterday?", "what did we talk about this morning?"."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from desktop_app.core.brain.memory import content_words
from desktop_app.core.brain.skill import Answer, Match, SkillContext, Utterance, start_of_day
from desktop_app.core.brain.templates import Templates
from desktop_app.core.models import Role

MAX_LISTED = 5
MAX_SCANNED = 200  # the latest questions looked at; "and at least N more" beyond
_QUESTION = re.compile(
    r"\bwhat (did|have) (i|we) (ask|asked|say|said|talk about|talked about|discuss|discussed|tell|told)\b"
    r"(?! (you )?(my|to remind))"
    r"|\bwhat were we talking about\b|\bwhat was i asking\b|\bwhat have we been (talking about|discussing)\b"
    r"|\bwhat questions (have|did) i asked?\b|\bdid i ask (you )?anything about\b"
)


# "What did I just ask you?": the question before this one, in this conversation.
_LAST = re.compile(
    r"^((sorry |remind me )?what (did|was it) i (just|last) (ask|asked|say|said)( you| to you| me)?( just now)?"
    r"|what was (my|the) (last|previous) (question|thing i (asked|said))"
    r"|what did i (ask|say)( you)? (just now|a moment ago)"
    r"|what was i just asking( you)?|remind me what i (just )?(asked|said)|what was the question i just asked)$"
)


def _topic(text: str) -> frozenset[str]:
    """The words after "about" in "what did I say about Python", as content words; empty when none."""
    found = re.search(r"\babout (.+)$", text)
    if found is None:
        return frozenset()
    words = content_words(
        re.sub(r"\b(yesterday( \w+)?|today|this \w+|last \w+|earlier|recently)\b", " ", found.group(1))
    )
    return words


def period(text: str, now: datetime) -> tuple[datetime, datetime, str] | None:
    """The span a question is about, and how to name it in the answer."""
    midnight = start_of_day(now)
    yesterday = midnight - timedelta(days=1)
    spans = (
        (r"\blast night\b", yesterday.replace(hour=18), midnight.replace(hour=6), "last night"),
        (r"\byesterday morning\b", yesterday, yesterday.replace(hour=12), "yesterday morning"),
        (r"\byesterday afternoon\b", yesterday.replace(hour=12), yesterday.replace(hour=18), "yesterday afternoon"),
        (r"\byesterday\b", yesterday, midnight, "yesterday"),
        (r"\bthis morning\b", midnight, midnight.replace(hour=12), "this morning"),
        (r"\bthis afternoon\b", midnight.replace(hour=12), midnight.replace(hour=18), "this afternoon"),
        (r"\b(this evening|tonight)\b", midnight.replace(hour=18), midnight + timedelta(days=1), "this evening"),
        (r"\btoday\b", midnight, now, "today"),
        (r"\b(last|this|past) week\b", now - timedelta(days=7), now, "in the last week"),
        (r"\b(earlier|before|last time|recently)\b", now - timedelta(days=1), now, "earlier"),
    )
    for pattern, start, end, name in spans:
        if re.search(pattern, text):
            return start, min(end, now), name
    return None


_TEMPLATES = Templates(
    {
        "recall": [
            "what did (i ask you|we talk about|i say|we discuss) [{earlier}]",
            "what (have we|did we) (discussed|talked about|discuss|talk about) [{earlier}]",
            "what did i (ask|tell) you about {topic}",
            "what were we talking about",
        ],
        "last": [
            "what did i just (ask|say) [you]",
            "what was my last question",
            "what was the last thing i (asked|said)",
        ],
    },
    example="what did i ask you yesterday",
)


class HistorySkill:
    name = "history"
    summary = "recall what we talked about"
    templates = _TEMPLATES

    def match(self, said: Utterance) -> Match | None:
        if _LAST.search(said.text):
            return Match(0.95, "last", {})
        if not _QUESTION.search(said.text):
            return None
        return Match(0.9, "recall", {})

    def run(self, match: Match, said: Utterance, context: SkillContext) -> Answer:
        if match.intent == "last":
            return _last_question(context)
        topic = _topic(said.text)
        span = period(said.text, context.now)
        if span is None:
            days = 30 if topic else 1
            start, end, name = context.now - timedelta(days=days), context.now, f"in the last {days} days"
            name = "in the last day" if days == 1 else name
        else:
            start, end, name = span
        if end <= start:
            return Answer(f"It isn't {name.replace('this ', '')} yet.")
        asked = context.store.messages_between(start, end, Role.USER, limit=MAX_SCANNED, newest=True)
        # The question being answered now is already stored: leave it and other history questions out.
        wanted: list[str] = []
        for message in asked:
            text = " ".join(message.content.split())
            if _QUESTION.search(text.lower()) or text.lower() in (w.lower() for w in wanted):
                continue
            if topic and not topic & content_words(text):
                continue
            wanted.append(text.rstrip(".?!"))
        if not wanted:
            if topic:  # "what did I say about Python?" may be better answered by a model, if there is one
                return Answer(f"I don't find anything about that {name}.", last_resort=True)
            return Answer(f"We didn't talk {name}." if name != "earlier" else "We haven't talked in the last day.")
        verb = "talked about" if "talk" in said.text or "discuss" in said.text else "asked"
        shown = wanted[-MAX_LISTED:]
        listed = "; ".join(f'"{text}"' for text in shown)
        more = ""
        if len(wanted) > len(shown):
            at_least = "at least " if len(asked) == MAX_SCANNED else ""
            more = f" And {at_least}{len(wanted) - len(shown)} more before that."
        if verb == "asked":
            return Answer(f"{name[0].upper()}{name[1:]} you asked me: {listed}.{more}")
        return Answer(f"{name[0].upper()}{name[1:]} we talked about: {listed}.{more}")


def _last_question(context: SkillContext) -> Answer:
    """The question asked before this one (which is already stored), leaving out questions like this one."""
    asked = [m.content for m in context.store.get_history(context.conversation_id) if m.role is Role.USER]
    for text in reversed(asked[:-1]):
        if not _LAST.search(" ".join(text.lower().rstrip(".?!").split())):
            return Answer(f'You asked me: "{" ".join(text.split()).rstrip(".?!")}".')
    return Answer("You haven't asked me anything before this in our conversation.")
