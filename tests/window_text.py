"""What the main window's conversation view shows, as lines a test can compare: "You: …", "Assistant: …"."""

from __future__ import annotations

from typing import Any


def shown_text(window: Any) -> str:
    """One line per message shown, oldest first (the provisional words of a speaker included)."""
    from desktop_app.ui.chat_text import Speaker

    return "\n".join(
        f"{'You' if entry.speaker is Speaker.USER else 'Assistant'}: {entry.text}" for entry in window.chat.entries
    )
