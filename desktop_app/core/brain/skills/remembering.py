"""Remembered facts: "remember this: I like Python", "what do I like?", "what do you know about me?",
"forget that I like Python". The facts live in the database, so they are there after a restart and are
given to a language model as context."""

from __future__ import annotations

from desktop_app.core.brain.memory import (
    best_match,
    fact_to_forget,
    fact_to_remember,
    matching_facts,
    recall_question,
    second_person,
)
from desktop_app.core.brain.skill import Answer, Match, SkillContext, Utterance
from desktop_app.core.brain.templates import Templates

_TEMPLATES = Templates(
    {
        "remember": [
            "remember [that|this] {fact}",
            "(don't forget|please remember|make a note that|note that) {fact}",
            "{fact} [please] remember that",
        ],
        "forget": [
            "forget [that|about] {fact}",
        ],
        "recall": [
            "(what|who) is my {subject}",
            "(what's|who's) my {subject}",
            "what do i like",
            "what do you (know|remember) about me",
            "what have i told you",
        ],
    },
    example="remember that i like python",
)


class MemorySkill:
    name = "memory"
    summary = "remember what you tell me"
    templates = _TEMPLATES

    def match(self, said: Utterance) -> Match | None:
        fact = fact_to_remember(said.raw) or fact_to_remember(said.text)
        if fact is not None:
            return Match(0.95, "remember", {"fact": said.as_said(fact) if fact.islower() else fact})
        forget = fact_to_forget(said.raw) or fact_to_forget(said.text)
        if forget is not None:
            return Match(0.9, "forget", {"fact": forget})
        recall = recall_question(said.text)
        if recall is not None:
            # Asked by meaning, the question is looser: a skill that knows the words better wins.
            confidence = 0.95 if recall.everything else 0.7 if recall.by_meaning else 0.85
            return Match(confidence, "recall", {"recall": recall})
        return None

    def run(self, match: Match, said: Utterance, context: SkillContext) -> Answer:
        facts = context.store.list_facts()
        texts = [fact.text for fact in facts]
        if match.intent == "remember":
            fact: str = match.data["fact"]
            if any(known.lower() == fact.lower() for known in texts):
                return Answer(f"I already know that. {second_person(fact)}")
            context.store.add_fact(fact)
            return Answer(f"Okay, I'll remember that. {second_person(fact)}")
        if match.intent == "forget":
            index = best_match(match.data["fact"], texts)
            if index is None:
                return Answer("I don't remember anything like that, so there is nothing to forget.")
            context.store.delete_fact(facts[index].id)
            return Answer(
                f"Okay, I've forgotten that {second_person(texts[index])[0].lower()}{second_person(texts[index])[1:]}"
            )
        found = matching_facts(match.data["recall"], texts)
        if not found:
            if match.data["recall"].everything:
                return Answer(
                    "You haven't told me anything about yourself yet. Say for example: remember that I like Python."
                )
            return Answer(
                "You haven't told me that yet. You can say: remember that, and then the fact.", last_resort=True
            )
        return Answer(" ".join(second_person(text) for text in found))
