"""Conversation control: repeat the last answer, stop, start a new conversation, and "what can you do?"."""

from __future__ import annotations

import re

from desktop_app.core.brain.skill import Answer, Match, SkillContext, Utterance
from desktop_app.core.brain.templates import Templates
from desktop_app.core.models import Role
from desktop_app.core.ports import ReplyAction

_STOP = re.compile(
    r"^(stop|cancel|never ?mind|forget it|be quiet|quiet|shut up|stop talking|stop it|that's all|thats all|"
    r"that's enough|enough|silence|hush|nothing)$"
)
_REPEAT = re.compile(
    r"^(repeat|repeat that|repeat it|say that again|say it again|repeat the last answer|repeat your answer|"
    r"what did you (just )?say|come again|pardon|sorry what|what was that|repeat the answer|again)$"
)
_NEW = re.compile(
    r"\b(start|begin|open)( a)? (new|fresh) (conversation|chat|topic)\b|^new (conversation|chat|topic)$|"
    r"\b(start over|start again|let's start over|clear the conversation|reset the conversation)\b"
)
_HELP = re.compile(
    r"^(help|help me|what can you do( for me)?|what (can|should) i (ask|say)( you)?|what are your (skills|abilities)|"
    r"what do you do|how do you work|what else can you do)$"
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
        ],
        "repeat": [
            "(repeat that|repeat it|say that again|say it again|repeat the last answer|repeat your answer)",
            "what did you [just] say",
            "(come again|pardon|what was that)",
        ],
        "new": [
            "[let's] start a new (conversation|chat)",
            "new (conversation|chat)",
            "(start over|start again|clear the conversation)",
        ],
        "help": [
            "(help|help me)",
            "what can you do [for me]",
            "what (can|should) i (ask|say) [you]",
            "what are your (skills|abilities)",
            "(how do you work|what else can you do)",
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
            if message.role is Role.ASSISTANT and not (message.source or "").endswith(":control"):
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
