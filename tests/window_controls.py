"""The main window's view of the voice services, for window tests that are not about the voice: records
every call, in order ("press", "ask what time", "continue 7")."""

from __future__ import annotations

from desktop_app.core.ports import VoiceInfo


class RecordingControls:
    def __init__(self, toggle_mode: bool = False) -> None:
        self.toggle_mode = toggle_mode
        self.calls: list[str] = []

    def press(self) -> None:
        self.calls.append("press")

    def release(self) -> None:
        self.calls.append("release")

    def cancel(self) -> None:
        self.calls.append("cancel")

    def toggle(self) -> None:
        self.calls.append("toggle")

    def ask(self, text: str) -> bool:
        self.calls.append(f"ask {text}")
        return True

    def new_conversation(self) -> None:
        self.calls.append("new conversation")

    def continue_conversation(self, conversation_id: int) -> bool:
        self.calls.append(f"continue {conversation_id}")
        return True

    def set_private(self, private: bool) -> bool:
        self.calls.append(f"private {private}")
        return True

    def voices(self) -> list[VoiceInfo]:
        return []

    def say_sample(self, text: str) -> bool:
        self.calls.append(f"sample {text}")
        return True
