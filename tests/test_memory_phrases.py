"""Remembered facts in plain speech, kept in the real store and found again after a restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop_app.core.brain.memory import (
    best_match,
    fact_to_forget,
    fact_to_remember,
    matching_facts,
    recall_question,
    second_person,
)
from desktop_app.storage.engine import sqlite_url
from desktop_app.storage.store import SqlConversationStore


@pytest.mark.parametrize(
    ("said", "fact"),
    [
        ("Remember this: I like Python", "I like Python"),
        ("remember this i like python", "I like python"),
        ("remember that my sister is called Ana", "my sister is called Ana"),
        ("please remember my bike code is four two one", "my bike code is four two one"),
        ("don't forget the dentist is on friday", "the dentist is on friday"),
    ],
)
def test_what_to_remember(said: str, fact: str) -> None:
    assert fact_to_remember(said) == fact


@pytest.mark.parametrize("said", ["what time is it", "do you remember", "remember this", "i remember that film"])
def test_not_a_fact(said: str) -> None:
    assert fact_to_remember(said) is None


def test_remembered_facts_survive_a_restart_and_answer_questions(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "assistant.db")
    store = SqlConversationStore.open(url)
    for said in ("Remember this: I like Python", "remember that my sister is called Ana", "remember I live in Porto"):
        fact = fact_to_remember(said)
        assert fact is not None
        store.add_fact(fact)
    store.close()

    store = SqlConversationStore.open(url)  # a new process, a new day
    try:
        facts = [f.text for f in store.list_facts()]
        likes = recall_question("What do I like?")
        assert likes is not None
        assert [second_person(f) for f in matching_facts(likes, facts)] == ["You like Python."]
        sister = recall_question("who is my sister")
        assert sister is not None and matching_facts(sister, facts) == ["my sister is called Ana"]
        everything = recall_question("what do you know about me")
        assert everything is not None and len(matching_facts(everything, facts)) == 3

        forget = fact_to_forget("forget that I like Python")
        assert forget is not None
        index = best_match(forget, facts)
        assert index is not None and facts[index] == "I like Python"
        store.delete_fact(store.list_facts()[index].id)
        assert matching_facts(likes, [f.text for f in store.list_facts()]) == []
        assert best_match("forget that I own a boat", [f.text for f in store.list_facts()]) is None
    finally:
        store.close()


def test_second_person() -> None:
    assert second_person("I like Python") == "You like Python."
    assert second_person("my sister is called Ana") == "Your sister is called Ana."
    assert second_person("I'm allergic to cats") == "You're allergic to cats."
