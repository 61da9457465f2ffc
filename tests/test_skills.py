"""The built-in skills, spoken to as recognisers write: lower case, no punctuation, number words, fillers.

Every test runs the real assistant on a real SQLite store, with a clock the test sets.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from assistant_setup import ZONE, Clock, Conversation

from desktop_app.core.models import AlarmKind, NewConversation, NewMessage
from desktop_app.core.ports import ReplyAction
from desktop_app.core.reply_source import ReplySource


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("what time is it", "It is 10 o'clock in the morning."),
        ("um what's the time", "It is 10 o'clock in the morning."),
        ("hey can you tell me the time please", "It is 10 o'clock in the morning."),
        ("what's the date", "Today is Tuesday, the 1st of December 2026."),
        ("what is today's date", "Today is Tuesday, the 1st of December 2026."),
        ("what day is it today", "It is Tuesday."),
    ],
)
def test_time_date_and_day(chat: Conversation, said: str, expected: str) -> None:
    assert chat.say(said) == expected
    assert chat.source == "skill:clock"


def test_time_in_the_afternoon_with_minutes(chat: Conversation, clock: Clock) -> None:
    clock.advance(hours=5, minutes=7)
    assert chat.say("what time is it") == "It is 3:07 in the afternoon."


def test_named_timers_run_together_list_and_tell_time_left(chat: Conversation, clock: Clock) -> None:
    assert chat.say("set a pasta timer for ten minutes") == "Okay, pasta timer set for 10 minutes."
    assert chat.source == "skill:timer"
    assert chat.say("um set a timer for an hour and a half called bread") == (
        "Okay, bread timer set for 1 hour and 30 minutes."
    )
    assert chat.say("start a twenty five second timer") == "Okay, timer set for 25 seconds."
    clock.advance(minutes=2, seconds=20)
    assert chat.say("how much time is left on the pasta timer") == "7 minutes 40 seconds left on the pasta timer."
    listing = chat.say("what timers do i have")
    assert listing.startswith("You have 3 timers:")
    assert "7 minutes 40 seconds left on the pasta timer" in listing
    assert "1 hour and 27 minutes left on the bread timer" in listing
    # Stored: the rows are what another process (or the next start) sees.
    pending = chat.store.alarms.pending(AlarmKind.TIMER)
    assert [(a.label, a.duration_seconds) for a in pending] == [("", 25), ("pasta", 600), ("bread", 5400)]
    assert pending[1].due_at == Clock().moment + timedelta(minutes=10)


def test_a_timer_named_after_for_is_found_by_that_name(chat: Conversation, clock: Clock) -> None:
    assert chat.say("set a 10 minute timer for the pizza") == "Okay, pizza timer set for 10 minutes."
    assert chat.say("start a 90 second timer for the eggs") == "Okay, eggs timer set for 1 minute 30 seconds."
    assert chat.say("set a timer for five minutes for the rice") == "Okay, rice timer set for 5 minutes."
    assert chat.say("set a timer for half an hour") == "Okay, timer set for 30 minutes."  # a length, no name
    clock.advance(seconds=30)
    assert chat.say("how long is left on the eggs") == "1 minute left on the eggs timer."
    assert chat.say("how much time is left on the pizza timer") == "9 minutes 30 seconds left on the pizza timer."
    assert chat.say("cancel the rice timer") == "Cancelled the rice timer."


def test_cancelling_timers_by_name_and_all(chat: Conversation) -> None:
    chat.say("set a pasta timer for ten minutes")
    chat.say("set an egg timer for four minutes")
    assert chat.say("cancel the timer").startswith("You have 2 timers:")  # which one? nothing cancelled
    assert len(chat.store.alarms.pending()) == 2
    assert chat.say("cancel the pasta timer") == "Cancelled the pasta timer."
    assert [a.label for a in chat.store.alarms.pending()] == ["egg"]
    chat.say("set a tea timer for three minutes")
    assert chat.say("cancel all timers") == "Cancelled 2 timers."
    assert chat.store.alarms.pending() == []
    assert chat.say("how long is left") == "You have no timers running."
    assert chat.say("cancel the rice timer") == "You have no timers running."


def test_timer_mistakes_get_a_useful_answer(chat: Conversation) -> None:
    assert chat.say("set a timer") == "For how long? Say for example: set a timer for ten minutes."
    chat.say("set a pasta timer for ten minutes")
    assert chat.say("set a pasta timer for five minutes").startswith("You already have the pasta timer, with 10")
    assert chat.say("set a timer for three days").startswith("Timers run for a day at most.")
    assert len(chat.store.alarms.pending()) == 1


def test_reminders_at_a_time_and_after_a_delay(chat: Conversation, clock: Clock) -> None:
    assert chat.say("remind me to call mum at five pm") == "Okay, I'll remind you at 5 pm: call mum."
    assert chat.source == "skill:reminder"
    assert chat.say("remind me in twenty minutes to check the oven") == (
        "Okay, I'll remind you at 10:20 am: check the oven."
    )
    assert chat.say("Remind me to email Ana tomorrow at half past nine.") == (
        "Okay, I'll remind you tomorrow at 9:30 am: email Ana."
    )
    reminders = chat.store.alarms.pending(AlarmKind.REMINDER)
    assert [r.label for r in reminders] == ["check the oven", "call mum", "email Ana"]
    assert reminders[1].due_at == clock.moment.replace(hour=17)
    assert chat.say("what are my reminders") == (
        "You have 3 reminders: at 10:20 am, check the oven; at 5 pm, call mum; tomorrow at 9:30 am, email Ana."
    )
    assert chat.say("cancel the reminder to call mum") == "Cancelled the reminder at 5 pm: call mum."
    assert len(chat.store.alarms.pending(AlarmKind.REMINDER)) == 2


def test_reminder_without_a_time_or_a_task_asks_for_it(chat: Conversation) -> None:
    assert chat.say("remind me to stretch").startswith("When should I remind you?")
    assert chat.say("remind me in ten minutes").startswith("What should I remind you of?")
    assert chat.store.alarms.pending() == []


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("what is twelve times seven", "Twelve times seven is 84."),
        ("whats 15 percent of 80", "15 percent of 80 is 12."),
        ("what's two hundred and fifty divided by four", "Two hundred and fifty divided by four is 62.5."),
        ("um what is the square root of eighty one", "The square root of eighty one is 9."),
        ("what is five divided by zero", "Dividing by zero has no answer."),
        ("what's half of 250", "Half of 250 is 125."),
        ("what is a quarter of eighty", "A quarter of eighty is 20."),
        ("two thirds of ninety", "Two thirds of ninety is 60."),
        ("what's three quarters of twelve", "Three quarters of twelve is 9."),
        ("a 15% tip on 60 dollars", "15 percent tip on 60 dollars is 9."),
        ("what is one plus two", "One plus two is 3."),
    ],
)
def test_arithmetic(chat: Conversation, said: str, expected: str) -> None:
    assert chat.say(said) == expected
    assert chat.source == "skill:calculator"


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("convert five miles to kilometers", "5 miles is 8.05 kilometres."),
        ("how many grams in a pound", "1 pound is 453.59 grams."),
        ("what is one hundred fahrenheit in celsius", "100 degrees Fahrenheit is 37.78 degrees Celsius."),
        ("what's twenty degrees celsius in fahrenheit", "20 degrees Celsius is 68 degrees Fahrenheit."),
        ("convert 2 litres to cups", "2 litres is 8.45 cups."),
        ("how many ounces in a kilogram", "1 kilogram is 35.27 ounces."),
        ("10 kg in pounds", "10 kilograms is 22.05 pounds."),
        ("convert 3 feet to kilograms", "I can't convert feet to kilograms: one is a length and the other a weight."),
    ],
)
def test_unit_conversion(chat: Conversation, said: str, expected: str) -> None:
    assert chat.say(said) == expected
    assert chat.source == "skill:units"


def test_memory_remembers_recalls_and_forgets(chat: Conversation) -> None:
    assert chat.say("Remember this: I like Python") == "Okay, I'll remember that. You like Python."
    assert chat.source == "skill:memory"
    assert chat.say("remember that my sister is called Ana") == ("Okay, I'll remember that. Your sister is called Ana.")
    assert chat.say("remember that i like python").startswith("I already know that.")
    assert chat.say("what do i like") == "You like Python."
    assert chat.say("who is my sister") == "Your sister is called Ana."
    assert chat.say("what do you know about me") == "You like Python. Your sister is called Ana."
    assert chat.say("forget that I like Python") == "Okay, I've forgotten that you like Python."
    assert [f.text for f in chat.store.list_facts()] == ["my sister is called Ana"]
    assert chat.say("what do i like").startswith("You haven't told me that yet.")
    assert chat.say("forget that i play chess").startswith("I don't remember anything like that")


def test_earlier_conversations_by_period(chat: Conversation, clock: Clock) -> None:
    # The store stamps new messages with the real time: the clock follows it, and yesterday's
    # conversation is imported with its own times.
    clock.moment = datetime.now(ZONE)
    afternoon = (clock.moment - timedelta(days=1)).replace(hour=15, minute=0)
    chat.store.import_conversations(
        [
            NewConversation(
                "Yesterday",
                (
                    NewMessage("user", "what is twelve times seven", afternoon),
                    NewMessage("assistant", "Twelve times seven is 84.", afternoon + timedelta(seconds=1)),
                    NewMessage("user", "set a pasta timer for ten minutes", afternoon + timedelta(minutes=1)),
                ),
            )
        ]
    )
    chat.say("what time is it")
    clock.moment = datetime.now(ZONE)
    answer = chat.say("what did i ask you yesterday")
    assert answer == 'Yesterday you asked me: "what is twelve times seven"; "set a pasta timer for ten minutes".'
    assert chat.source == "skill:history"
    assert chat.say("what did we talk about today") == 'Today we talked about: "what time is it".'
    assert chat.say("what did i ask you yesterday morning") == "We didn't talk yesterday morning."
    listed = chat.say("what did i ask you this week")
    assert listed.count('"') == 6


def test_repeat_new_conversation_stop_and_help(chat: Conversation) -> None:
    assert chat.say("repeat that") == "I haven't said anything yet in this conversation."
    first = chat.say("what is twelve times seven")
    assert chat.say("say that again") == first
    assert chat.say("repeat that") == first  # not the repetition of a repetition
    assert chat.say("start a new conversation") == "Okay, starting a new conversation."
    assert chat.last_pieces[-1].action is ReplyAction.NEW_CONVERSATION
    assert chat.say("never mind") == "Okay."
    assert chat.last_pieces[-1].action is ReplyAction.STOP  # type: ignore[comparison-overlap]  # the call above changed it
    help_answer = chat.say("what can you do")
    assert help_answer.startswith("I can tell the time and the date, set alarms, run named timers, set reminders")
    assert "Try saying: what time is it; set an alarm for seven am; set a timer for five minutes" in help_answer
    assert chat.source == "skill:control"


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("hello", "Hello! What can I do for you?"),
        ("hi there", "Hello! What can I do for you?"),
        ("good morning", "Good morning! What can I do for you?"),  # the test's clock says 10 am
        ("good evening", "Good morning! What can I do for you?"),  # answered for the real time of day
        ("thank you", "You're welcome."),
        ("thanks a lot", "You're welcome."),
        ("thank you very much", "You're welcome."),
        ("how are you", "I'm doing well, thank you. What can I do for you?"),
        ("how's it going", "I'm doing well, thank you. What can I do for you?"),
        ("bye", "Goodbye! I'm here when you need me."),
    ],
)
def test_greetings_and_thanks_get_a_short_answer_not_the_help(chat: Conversation, said: str, expected: str) -> None:
    assert chat.say(said) == expected
    assert chat.source == "skill:small_talk"


def test_a_greeting_or_thanks_around_a_request_leaves_it_to_its_skill(chat: Conversation) -> None:
    assert chat.say("hello what time is it") == "It is 10 o'clock in the morning."
    assert chat.say("good morning what's the date") == "Today is Tuesday, the 1st of December 2026."
    assert chat.say("thanks set a timer for five minutes").startswith("Okay")
    assert chat.source == "skill:timer"
    assert "greeting" not in chat.say("what can you do")  # small talk is not offered as a skill


@pytest.mark.parametrize(
    ("said", "expected"),
    [  # the test's clock: Tuesday the 1st of December 2026, 10 am
        ("how many days until christmas", "There are 24 days until Christmas: Friday, the 25th of December 2026."),
        ("how many sleeps till christmas eve",
         "There are 23 days until Christmas Eve: Thursday, the 24th of December 2026."),
        ("how long until new year's day", "There are 31 days until New Year's Day: Friday, the 1st of January 2027."),
        ("how many days until the fourth of july",
         "There are 215 days until the fourth of july: Sunday, the 4th of July 2027."),
        ("how many days until may fourth", "There are 154 days until may fourth: Tuesday, the 4th of May 2027."),
        ("how many days until the twenty first of march",
         "There are 110 days until the twenty first of march: Sunday, the 21st of March 2027."),
        ("how many days till friday", "There are 3 days until friday: Friday, the 4th of December 2026."),
        ("how many days until tomorrow", "That's tomorrow, Wednesday, the 2nd of December 2026."),
        ("what time will it be in two hours", "In two hours it will be noon."),
        ("what time will it be in an hour and a half", "In an hour and a half it will be 11:30 am."),
        ("what time will it be in sixteen hours", "In sixteen hours it will be 2 am tomorrow."),
        ("what's the date in ten days", "In ten days it will be Friday, the 11th of December 2026."),
    ],
)  # fmt: skip
def test_days_until_a_date_and_the_time_in_a_while(chat: Conversation, said: str, expected: str) -> None:
    assert chat.say(said) == expected
    assert chat.source == "skill:dates"


def test_a_day_it_cannot_read_is_left_to_the_language_model_or_said_so(chat: Conversation) -> None:
    answer = chat.say("how many days until my birthday")
    assert answer == "I don't know which day your birthday is. Try a date, like the 4th of July."
    assert chat.say("what is the time in tokyo").startswith("I can't answer that offline")  # not a span of time


def test_what_did_i_just_ask_is_the_question_before(chat: Conversation) -> None:
    assert chat.say("what did i just ask you") == "You haven't asked me anything before this in our conversation."
    chat.say("what is twelve times seven")
    assert chat.say("what did i just ask you") == 'You asked me: "what is twelve times seven".'
    assert chat.source == "skill:history"
    assert chat.say("what was my last question") == 'You asked me: "what is twelve times seven".'


def test_without_a_model_an_unknown_question_gets_the_offline_answer(chat: Conversation) -> None:
    answer = chat.say("who won the football last night")
    assert answer.startswith("I can't answer that offline. I can tell the time")
    assert "add a language model" in answer
    assert chat.source == "offline:help"


def test_number_words_as_recognisers_write_them(chat: Conversation) -> None:
    assert chat.say("uh set a timer for twenty one minutes") == "Okay, timer set for 21 minutes."
    assert chat.say("remind me at a quarter past three to take the bread out") == (
        "Okay, I'll remind you at 3:15 pm: take the bread out."
    )
    assert chat.say("remind me to stretch at half past ten") == "Okay, I'll remind you at 10:30 am: stretch."
    assert chat.say("what is one hundred and five minus twenty one") == "One hundred and five minus twenty one is 84."


@pytest.mark.parametrize(
    "said",
    [
        "what time does the shop close",
        "what is the time in tokyo",
        "what is today's weather",
        "what is the date of easter next year",
        "remember when we went to paris",
        "what is the capital of france",
        "how much is a pound in dollars",
        "tell me about the time machine film",
        "remind me what you said",
    ],
)
def test_general_questions_are_left_to_the_language_model(chat: Conversation, said: str) -> None:
    """No skill claims them: without a model they get the offline answer, with one they reach it."""
    chat.say(said)
    assert chat.source == "offline:help"
    assert chat.store.list_facts() == []


def test_more_ways_of_saying_timer_and_reminder_things(chat: Conversation) -> None:
    chat.say("set an egg timer for four minutes")
    assert chat.say("never mind the egg timer") == "Cancelled the egg timer."
    assert chat.say("i need a reminder").startswith("When should I remind you?")
    assert chat.say("is there a timer running") == "You have no timers running."
    assert chat.source == "skill:timer"


def test_cancelling_by_name_picks_the_one_named_even_when_names_share_words(chat: Conversation) -> None:
    chat.say("set a pasta timer for ten minutes")
    chat.say("set a pasta sauce timer for twenty minutes")
    assert chat.say("cancel the pasta timer") == "Cancelled the pasta timer."
    assert [a.label for a in chat.store.alarms.pending()] == ["pasta sauce"]
    chat.say("remind me to call mum at five pm")
    chat.say("remind me to call the dentist tomorrow at nine")
    assert chat.say("cancel the reminder to call mum") == "Cancelled the reminder at 5 pm: call mum."
    assert [a.label for a in chat.store.alarms.pending(AlarmKind.REMINDER)] == ["call the dentist"]
    chat.say("remind me to call dad at six pm")
    assert chat.say("cancel the reminder to call").startswith("Which reminder?")  # two fit equally: ask
    assert len(chat.store.alarms.pending(AlarmKind.REMINDER)) == 2


def test_memory_answers_only_what_it_was_told(chat: Conversation) -> None:
    for fact in (
        "remember that i need to buy milk",
        "remember that my dog is called Rex",
        "remember that my sister's name is Ana",
        "remember that i call my mum every sunday",
        "remember that my name is Sam",
    ):
        chat.say(fact)
    assert chat.say("what's my dog's name") == "Your dog is called Rex."
    assert chat.say("what is my name") == "Your name is Sam."
    assert chat.say("what is my sister called") == "Your sister's name is Ana."
    assert chat.say("what do i need to buy") == "You need to buy milk."
    # Questions that share a word with a fact but ask something else are not answered from memory.
    for question in ("what do i need to make pancakes", "what do i call a baby kangaroo"):
        assert chat.say(question).startswith("You haven't told me that yet."), question
        assert chat.last_pieces[-1].source == ReplySource.skill("memory")
    chat.say("what do you remember about world war two")
    assert chat.source == "offline:help"


def test_history_about_a_topic_and_the_latest_first(chat: Conversation, clock: Clock) -> None:
    for number in range(250):
        chat.store.add_message(chat.conversation_id, "user", f"question number {number}")
    chat.say("what is python")
    clock.moment = datetime.now(ZONE)  # messages are stamped with the real time
    assert chat.say("what did i say about python") == 'In the last 30 days you asked me: "what is python".'
    latest = chat.say("what did i ask you today")
    assert latest.startswith('Today you asked me: "question number 246"; "question number 247"')
    assert '"what is python"' in latest and "And at least" in latest
    chat.say("what did i tell you about the moon")
    assert chat.last_pieces[-1].text.startswith("I don't find anything about that")


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("remind me to call mum at midnight", "Okay, I'll remind you at midnight tonight: call mum."),
        ("remind me to buy milk tonight", "Okay, I'll remind you at 8 pm: buy milk."),
        ("remind me to water the plants this evening", "Okay, I'll remind you at 6 pm: water the plants."),
        ("remind me on friday to pay rent", "Okay, I'll remind you on Friday 4 December at 9 am: pay rent."),
        ("remind me to call mum tomorrow", "Okay, I'll remind you tomorrow at 9 am: call mum."),
        ("Remind me to call mum at 5pm.", "Okay, I'll remind you at 5 pm: call mum."),
        ("remind me to stretch at 14:30", "Okay, I'll remind you at 2:30 pm: stretch."),
        ("remind me to lock up today at nine", "Okay, I'll remind you at 9 pm: lock up."),
        ("remind me this morning to stretch", "That time has already passed. Give me a time later today or tomorrow."),
        ("set a timer for quarter of an hour", "Okay, timer set for 15 minutes."),
        ("set a timer for three quarters of an hour", "Okay, timer set for 45 minutes."),
        ("set a timer for an hour and a quarter", "Okay, timer set for 1 hour and 15 minutes."),
        (
            "remind me in a quarter of an hour to take the pizza out",
            "Okay, I'll remind you at 10:15 am: take the pizza out.",
        ),
    ],
)
def test_times_of_day_and_parts_of_an_hour(chat: Conversation, said: str, expected: str) -> None:
    assert chat.say(said) == expected


def test_a_reminder_across_a_daylight_saving_change_keeps_its_wall_clock_time(chat: Conversation, clock: Clock) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    clock.moment = datetime(2026, 3, 28, 20, 0, tzinfo=berlin)  # the clocks go forward overnight
    assert chat.say("remind me to call mum tomorrow at nine am") == "Okay, I'll remind you tomorrow at 9 am: call mum."
    due = chat.store.alarms.pending()[0].due_at
    assert due == datetime(2026, 3, 29, 9, 0, tzinfo=berlin)
    assert due.astimezone(UTC).hour == 7  # 9 am summer time, not 10
