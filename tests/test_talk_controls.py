"""Push-to-talk from every source reaches the turn once it runs, in order, and says so while it does not."""

from __future__ import annotations

from desktop_app.core.events import Event, Notice, NoticeCode, TurnState
from desktop_app.core.ports import VoiceInfo
from desktop_app.core.talk_controls import TalkControls


class Turn:
    def __init__(self, toggle_mode: bool = False) -> None:
        self.toggle_mode = toggle_mode
        self.state = TurnState.IDLE
        self.calls: list[str] = []

    def press(self) -> None:
        self.calls.append("press")
        if self.toggle_mode and self.state is TurnState.LISTENING:
            self.state = TurnState.RECOGNISING
        else:
            self.state = TurnState.LISTENING

    def release(self) -> None:
        self.calls.append("release")
        if not self.toggle_mode and self.state is TurnState.LISTENING:
            self.state = TurnState.RECOGNISING

    def cancel(self) -> None:
        self.calls.append("cancel")
        self.state = TurnState.IDLE

    def ask(self, text: str) -> None:
        self.calls.append(f"ask {text}")

    def new_conversation(self) -> None:
        self.calls.append("new")

    def continue_conversation(self, conversation_id: int) -> None:
        self.calls.append(f"continue {conversation_id}")

    def voices(self) -> list[VoiceInfo]:
        return [VoiceInfo("english", "English", ("en",))]

    def say_sample(self, text: str) -> bool:
        self.calls.append(f"sample {text}")
        return self.state is TurnState.IDLE


def test_before_the_turn_runs_a_press_or_question_gets_a_notice_and_nothing_breaks() -> None:
    notices: list[Event] = []
    controls = TalkControls(notices.append)
    controls.press()
    controls.release()
    controls.toggle()
    controls.cancel()
    controls.new_conversation()
    assert controls.ask("what time is it") is False
    assert [n.code for n in notices if isinstance(n, Notice)] == [NoticeCode.VOICE_STARTING] * 3
    assert controls.state is TurnState.IDLE and not controls.toggle_mode


def test_once_attached_every_control_reaches_the_turn() -> None:
    notices: list[Event] = []
    controls = TalkControls(notices.append)
    turn = Turn()
    controls.attach(turn)
    controls.press()
    controls.release()
    assert controls.ask("hello") is True
    controls.new_conversation()
    controls.cancel()
    assert turn.calls == ["press", "release", "ask hello", "new", "cancel"]
    assert notices == []


def test_toggle_starts_a_turn_then_sends_it_in_either_talk_mode() -> None:
    for toggle_mode in (False, True):
        turn = Turn(toggle_mode)
        controls = TalkControls(lambda _event: None)
        controls.attach(turn)
        controls.toggle()
        assert turn.state is TurnState.LISTENING
        controls.toggle()
        assert turn.state is TurnState.RECOGNISING, toggle_mode  # type: ignore[comparison-overlap]  # the call above changed it


def test_a_remote_press_that_arrives_after_its_release_starts_nothing() -> None:
    """A key binding starts one process per key event: the release may be delivered first."""
    turn = Turn()
    controls = TalkControls(lambda _event: None)
    controls.attach(turn)
    controls.release(issued_at=100.2)  # overtook its press
    controls.press(issued_at=100.0)
    assert turn.calls == ["release"]
    controls.press(issued_at=101.0)  # the next hold
    controls.release(issued_at=101.5)
    assert turn.calls == ["release", "press", "release"]


def test_the_voice_sample_and_the_voices_reach_the_turn_once_it_runs() -> None:
    notices: list[Event] = []
    controls = TalkControls(notices.append)
    assert controls.voices() == [] and controls.say_sample("Hello") is False
    assert [n.code for n in notices if isinstance(n, Notice)] == [NoticeCode.VOICE_STARTING]
    turn = Turn()
    controls.attach(turn)
    assert [voice.name for voice in controls.voices()] == ["English"]
    assert controls.say_sample("Hello") is True
    turn.press()  # a turn under way: the sample waits for another time
    assert controls.say_sample("Hello again") is False
    assert turn.calls == ["sample Hello", "press", "sample Hello again"]
