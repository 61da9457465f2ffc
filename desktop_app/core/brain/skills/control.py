"""Conversation control: repeat the last answer, stop, start a new conversation, and "what can you do?"."""

from __future__ import annotations

import re

from desktop_app.core.brain.skill import Answer, Match, SkillContext, Utterance
from desktop_app.core.brain.templates import Templates
from desktop_app.core.models import Role
from desktop_app.core.ports import ReplyAction
from desktop_app.core.reply_source import CONTROL_SKILL, ReplySource

_STOP = re.compile(
    r"^((no|ok|okay) )?(stop|cancel|never ?mind( that)?|forget it|be quiet|quiet|shut up|stop talking|stop it|"
    r"that's all|thats all|that's enough|enough|silence|hush|nothing|stop stop)$"
)
_REPEAT = re.compile(
    r"^((sorry|pardon) )?(repeat|repeat that|repeat it|say that again|say it again|repeat the last answer|"
    r"repeat your answer|what did you (just )?say|come again|pardon( me)?|what|what was that( again)?|"
    r"repeat the answer|again|one more time|say again|i didn't catch that|i missed that|i didn't hear( that| you)?)$"
)
_NEW = re.compile(
    r"\b(start|begin|open)( a)? (new|fresh) (conversation|chat|topic)\b|^new (conversation|chat|topic)$|"
    r"\b(start over|start again|let's start over|clear the conversation|reset the conversation|change the subject)\b|"
    r"^(let's )?talk about something else$"
)
_HELP = re.compile(
    r"^(help|help me|i need help|what can you (do|help( me)? with)( for me)?|what (can|should) i (ask|say)( you)?|"
    r"what are your (skills|abilities)|what are you able to do|what commands do you (know|understand)|"
    r"what things can i (ask|say)( you)?|how do i use you|what do you do|how do you work|what else can you do)$"
)
# Skills the help answer does not list as things to ask for: this one (it adds its own sentence) and small
# talk, which nobody needs to be taught.
_NOT_LISTED = frozenset({"control", "small_talk"})
OFFLINE_HELP = (
    "To answer other questions, add a language model in Settings, Language model: a local server such as "
    "Ollama, or a cloud provider with your API key."
)


_TEMPLATES = Templates(
    {
        "stop": [
            "(stop|cancel|never mind|forget it|be quiet|quiet|stop talking|stop it|that's enough|enough|hush)",
            "(no|okay) stop",
        ],
        "repeat": [
            "(repeat that|repeat it|say that again|say it again|repeat the last answer|repeat your answer)",
            "what did you [just] say",
            "(come again|pardon|what was that)",
            "sorry what was that",
            "i didn't catch that",
            "one more time",
        ],
        "new": [
            "[let's] start a new (conversation|chat)",
            "new (conversation|chat)",
            "(start over|start again|clear the conversation|change the subject)",
            "let's talk about something else",
        ],
        "help": [
            "(help|help me)",
            "what can you do [for me]",
            "what (can|should) i (ask|say) [you]",
            "what are your (skills|abilities)",
            "(how do you work|what else can you do)",
            "what can you help me with",
            "(i need help|how do i use you)",
        ],
    }
)


class ControlSkill:
    name = "control"
    summary = "repeat my last answer, stop, or start a new conversation"
    templates = _TEMPLATES

    def match(self, said: Utterance) -> Match | None:
        text = said.text
        for pattern, intent in ((_STOP, "stop"), (_REPEAT, "repeat"), (_NEW, "new"), (_HELP, "help")):
            if pattern.search(text):
                return Match(0.95, intent, {})
        return None

    def run(self, match: Match, said: Utterance, context: SkillContext) -> Answer:
        if match.intent == "stop":
            return Answer("Okay.", ReplyAction.STOP)
        if match.intent == "new":
            return Answer("Okay, starting a new conversation.", ReplyAction.NEW_CONVERSATION)
        if match.intent == "help":
            return Answer(help_text(context, examples=True))
        history = context.store.get_history(context.conversation_id)
        for message in reversed(history):
            if message.role is Role.ASSISTANT and ReplySource.parse(message.source) != CONTROL_SKILL:
                return Answer(message.content)
        return Answer("I haven't said anything yet in this conversation.")


def help_text(context: SkillContext, examples: bool = False) -> str:
    """ "I can tell the time and the date, run named timers, … and remember what you tell me." With
    `examples`, one thing to say to each skill follows."""
    shown = [skill for skill in context.skills if skill.name not in _NOT_LISTED]
    abilities = [skill.summary for skill in shown]
    listed = ", ".join(abilities[:-1]) + f" and {abilities[-1]}" if len(abilities) > 1 else "".join(abilities)
    text = f"I can {listed}."
    if examples:
        tries = [skill.templates.example() for skill in shown]
        text += " Try saying: " + "; ".join(tries) + ". I can also repeat my last answer or start a new conversation."
    return text
