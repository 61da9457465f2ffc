"""Which speaker speech plays on (speech.output_device), with a stand-in for the player: no sound."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from desktop_app.core.settings import AUDIO_OUTPUT_DEVICE, Settings
from desktop_app.speech.output_device import OutputDeviceChoice


class Player:
    """Records what it is told; `during` runs inside the next set_device() call, before it takes effect."""

    def __init__(self) -> None:
        self.told: list[str | None] = []
        self.during: Callable[[], None] | None = None

    def set_device(self, name: str | None) -> None:
        during, self.during = self.during, None
        if during is not None:
            during()
        self.told.append(name)


@pytest.fixture
def settings() -> Settings:
    values = Settings(None)
    values.set(AUDIO_OUTPUT_DEVICE, "Desk Speaker")
    return values


@pytest.fixture
def player() -> Player:
    return Player()


@pytest.fixture
def choice(settings: Settings, player: Player) -> OutputDeviceChoice:
    return OutputDeviceChoice(settings, player, settings.get(AUDIO_OUTPUT_DEVICE))


def test_the_setting_is_followed_at_once(settings: Settings, player: Player, choice: OutputDeviceChoice) -> None:
    settings.set(AUDIO_OUTPUT_DEVICE, "Headphones")
    assert player.told == ["Headphones"]
    choice.sync(retry_fallback=True)  # nothing new
    assert player.told == ["Headphones"]


def test_a_missing_speaker_falls_back_to_the_default_until_the_next_reply(
    player: Player, choice: OutputDeviceChoice
) -> None:
    assert choice.fall_back()
    assert player.told == [None]
    assert not choice.fall_back()  # on the default already
    choice.sync(retry_fallback=False)  # the next sentence of the same reply: stays on the default
    assert player.told == [None]
    choice.sync(retry_fallback=True)  # the next reply tries the chosen one again
    assert player.told == [None, "Desk Speaker"]


def test_the_default_has_nothing_to_fall_back_to(settings: Settings, player: Player) -> None:
    settings.set(AUDIO_OUTPUT_DEVICE, None)
    choice = OutputDeviceChoice(settings, player, None)
    assert not choice.fall_back()
    choice.sync(retry_fallback=True)
    assert player.told == []


def test_a_new_choice_ends_a_fall_back(settings: Settings, player: Player, choice: OutputDeviceChoice) -> None:
    choice.fall_back()
    settings.set(AUDIO_OUTPUT_DEVICE, "Headphones")
    choice.sync(retry_fallback=True)
    assert player.told == [None, "Headphones"]


def test_a_change_not_yet_delivered_is_caught_up_with(settings: Settings, player: Player) -> None:
    choice = OutputDeviceChoice(settings, player, "Old Speaker")  # the setting moved on since
    choice.sync(retry_fallback=False)
    assert player.told == ["Desk Speaker"]


def test_the_player_hears_the_latest_choice_when_two_changes_race(
    settings: Settings, player: Player, choice: OutputDeviceChoice
) -> None:
    # The fall-back's message to the player is overtaken by a new choice: the stale one arrives last.
    player.during = lambda: settings.set(AUDIO_OUTPUT_DEVICE, "Headphones")
    assert choice.fall_back()
    assert player.told == ["Headphones", None, "Headphones"]


def test_closed_it_no_longer_follows_the_setting(
    settings: Settings, player: Player, choice: OutputDeviceChoice
) -> None:
    choice.close()
    settings.set(AUDIO_OUTPUT_DEVICE, "Headphones")
    assert player.told == []
