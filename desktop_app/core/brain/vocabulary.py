"""The lists and rules every skill's sentence templates share (see `templates`).

A list is what may fill a slot: "{duration}" is "ten minutes", "an hour and a half"… For a slot a skill reads
itself (a reminder's task, a fact to remember), the list holds everyday examples: they only teach the
recogniser's language model how such sentences tend to go, and any words still match. Values are written
as a recogniser writes them: lower case, numbers in words.
"""

from __future__ import annotations

from desktop_app.core.brain.numbers import say_number


def _numbers(first: int, last: int) -> list[str]:
    return [say_number(n) for n in range(first, last + 1)]


def _each(text: str) -> list[str]:
    """ "a, b, c" -> ["a", "b", "c"]: long lists written as prose."""
    return [item.strip() for item in text.split(",") if item.strip()]


_SMALL = [*_numbers(1, 20), "twenty five", "thirty", "forty", "forty five", "fifty", "sixty", "ninety"]
_UNITS_OF_TIME = ["second", "seconds", "minute", "minutes", "hour", "hours"]

LISTS: dict[str, list[str]] = {
    "number": [
        *_numbers(0, 100),
        "a hundred",
        "one hundred and fifty",
        "two hundred",
        "two hundred and fifty",
        "five hundred",
        "a thousand",
        "one thousand",
        "two thousand",
        "ten thousand",
        "a million",
        "three point five",
        "two point five",
        "one point five",
        "zero point five",
        "minus five",
        "minus ten",
    ],
    "count": _SMALL,
    "few": _numbers(1, 12),
    "time_unit": _UNITS_OF_TIME,
    "duration": ["five minutes", "ten minutes"]
    + [f"{n} {unit}" for n in _SMALL[1:] for unit in ("seconds", "minutes", "hours")]
    + [
        "one second",
        "one minute",
        "one hour",
        "a minute",
        "an hour",
        "a second",
        "half an hour",
        "a quarter of an hour",
    ]
    + ["an hour and a half", "one and a half hours", "two and a half minutes", "three quarters of an hour"]
    + ["one hour and thirty minutes", "two hours and fifteen minutes", "a minute and a half"],
    "timer_name": _each(
        "pasta, eggs, egg, pizza, bread, tea, rice, laundry, cake, potatoes, chicken, oven, coffee, cookies, "
        "workout, break, nap, meeting, homework, washing, roast, soup, steak, fish, pie, dishwasher, parking, "
        "study, reading, meditation, kids, tv, game, cooking"
    ),
    "task": _each(
        "call mum, call my mother, call dad, check the oven, buy milk, buy bread, take the bins out, water "
        "the plants, pay the rent, pay the bills, feed the cat, feed the dog, walk the dog, charge my phone, "
        "send the report, send an email to john, pick up the kids, take my medicine, book a dentist "
        "appointment, ring the bank, call the doctor, go to the gym, stretch, drink some water, move the car, "
        "lock the door, turn off the oven, get the washing in, start dinner, leave for work, join the "
        "meeting, check the post, renew my passport, buy a birthday present, clean the kitchen, do the "
        "shopping, empty the dishwasher"
    ),
    "clock": [
        "five pm",
        *(f"{hour} {half}" for hour in _numbers(1, 12) for half in ("am", "pm", "o'clock")),
        *(f"{hour} {minutes}" for hour in _numbers(1, 12) for minutes in ("fifteen", "thirty", "forty five")),
        *(
            f"{hour} {minutes} {half}"
            for hour in _numbers(1, 12)
            for minutes in ("fifteen", "thirty")
            for half in ("am", "pm")
        ),
        *(
            f"{part} {hour}"
            for part in (
                "half past",
                "quarter past",
                "a quarter past",
                "quarter to",
                "a quarter to",
                "ten past",
                "twenty to",
            )
            for hour in _numbers(1, 12)
        ),
        "noon",
        "midday",
        "midnight",
        "six thirty am",
        "seven fifteen",
        "five pm",
    ],
    "day": _each(
        "today, tomorrow, tonight, tomorrow morning, tomorrow night, this afternoon, this evening, this "
        "morning, tomorrow afternoon, tomorrow evening, on monday, on friday, next week"
    ),
    "weekday": _each("monday, tuesday, wednesday, thursday, friday, saturday, sunday"),
    "fact": _each(
        "i like python, my sister is called ana, my favourite colour is blue, my car is parked on level "
        "three, the wifi password is on the fridge, my dentist is doctor jones, i am allergic to peanuts, my "
        "brother lives in glasgow, the spare key is under the mat, my passport is in the blue folder, i "
        "parked the bike at the station, my mother's birthday is in june, my wife's name is sarah, my "
        "daughter is seven, i work at the hospital, my doctor is called smith, i prefer tea, my locker number "
        "is twelve, the boiler code is four two one, my favourite food is pizza, i left my glasses in the "
        "car, my son's teacher is mister brown, my flight is on friday"
    ),
    "subject": _each(
        "favourite colour, sister, brother, dentist, doctor, wife, husband, daughter, son, car, spare key, "
        "wifi password, passport, mother's birthday, sister's birthday, flight, favourite food, locker "
        "number, glasses, keys"
    ),
    "earlier": _each(
        "yesterday, this morning, today, earlier, last night, yesterday afternoon, this afternoon, last week, "
        "on monday, last time, before, this week"
    ),
    "length": _each(
        "miles, kilometres, kilometers, metres, meters, feet, inches, centimetres, yards, mile, kilometre, "
        "metre, foot, inch, centimetre, yard, millimetres"
    ),
    "weight": _each("kilograms, kilos, pounds, ounces, grams, stone, kilogram, pound, ounce, gram"),
    "volume": _each(
        "litres, liters, cups, pints, gallons, millilitres, litre, cup, pint, gallon, teaspoons, tablespoons, "
        "fluid ounces"
    ),
    "temperature": ["celsius", "fahrenheit", "kelvin"],
    "when": _each(
        "christmas, christmas eve, new year, new year's eve, halloween, valentine's day, friday, saturday, "
        "next monday, the weekend, the fourth of july, may the fourth, the twenty first, my birthday, the "
        "first of january, the end of the month, june the third, the tenth of march"
    ),
    "span": _each(
        "two hours, three hours, ten minutes, forty five minutes, an hour, half an hour, ten days, two weeks, "
        "three days, a week, five hours, ninety minutes, a fortnight"
    ),
    "percent": _each(
        "five, ten, twelve, fifteen, eighteen, twenty, twenty five, thirty, fifty, seventy five, a hundred, "
        "two point five, seven point five"
    ),
    "fraction": _each(
        "half, a half, a third, one third, two thirds, a quarter, three quarters, one fifth, a tenth, three fifths"
    ),
    "topic": _each("the weather, dinner, the holiday, the project, my trip, python, the meeting, music"),
}

# Parts of many sentences: "<what_is> {number} plus {number}".
RULES: dict[str, str] = {
    "what_is": "(what is|what's|how much is)",
    "timer": "timer",
    "set": "(set|start|make|create|put on|add)",
    "cancel": "(cancel|stop|delete|remove|clear|turn off|kill|end)",
    "do_i_have": "(do i have|have i got|are there|is there)",
    "show": "(list|show|read|tell me|show me|read me|what are)",
}
