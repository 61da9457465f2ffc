"""Small talk: greetings, thanks, "how are you", goodbyes. A short, friendly answer, not the help paragraph
and not a round trip to a language model."""

from __future__ import annotations

import re

from desktop_app.core.brain.skill import Answer, Match, SkillContext, Utterance
from desktop_app.core.brain.templates import Templates
from desktop_app.core.grammar import normalise_phrase

_TEMPLATES = Templates(
    {
        "greet": [
            "(hello|hi|hey|hiya|howdy|greetings|yo) [there|assistant|computer|you]",
            "[good] (morning|afternoon|evening|day)",
            "hey there",
            "(hello|hi) again",
        ],
        "thank": [
            "(thank you|thanks|many thanks|thank u|ta|cheers) [(very|so) much|a lot|a bunch|again|for that|for "
            "your help|for the help]",
            "(that's|that is) (great|perfect|helpful|brilliant|lovely) [thank you|thanks]",
            "(great|perfect|brilliant|lovely|awesome|excellent|nice one) (thank you|thanks|cheers)",
            "(thank you|thanks) that (was|is) (helpful|great|perfect|brilliant|useful)",
            "much appreciated",
            "i appreciate it",
        ],
        "how_are_you": [
            "how are you [doing] [today]",
            "how's it going",
            "how is it going",
            "how are things",
            "how have you been",
            "are you (ok|okay|alright|well)",
            "what's up",
            "how's your day [going|been]",
            "(you|are you) alright",
        ],
        "goodbye": [
            "(goodbye|bye|bye bye|see you|see you later|see ya|good night|night night|farewell)",
            "(talk to you|catch you|speak to you) (later|soon|tomorrow)",
            "(thanks|thank you|okay|ok) (bye|goodbye|bye bye)",
            "that's all for (now|today)",
        ],
    }
)
_GREETING_OF_THE_DAY = ("Good morning", "Good afternoon", "Good evening")


class SmallTalkSkill:
    name = "small_talk"
    summary = "answer a greeting or a thank-you"
    templates = _TEMPLATES

    def match(self, said: Utterance) -> Match | None:
        # The words as said too: a greeting is what the utterance drops as a filler before other words
        # ("hello there" would be left as "there").
        found = _TEMPLATES.recognise(said.text)
        if found is not None:
            return Match(0.9, found.intent, found.slots)
        as_said = normalise_phrase(said.raw)
        found = _TEMPLATES.recognise(as_said) if as_said != said.text else None
        # The whole utterance is small talk: surer than any skill that heard only what the fillers left
        # ("hello again" left as "again", which alone would ask for a repeat).
        return Match(0.97, found.intent, found.slots) if found is not None else None

    def run(self, match: Match, said: Utterance, context: SkillContext) -> Answer:
        if match.intent == "greet":
            hour = context.now.hour
            greeting = (
                _GREETING_OF_THE_DAY[0 if hour < 12 else 1 if hour < 18 else 2]
                if re.search(r"\b(good|morning|afternoon|evening)\b", said.raw.lower())
                else "Hello"
            )
            return Answer(f"{greeting}! What can I do for you?")
        if match.intent == "thank":
            return Answer("You're welcome.")
        if match.intent == "how_are_you":
            return Answer("I'm doing well, thank you. What can I do for you?")
        return Answer("Goodbye! I'm here when you need me.")
