"""What people say and read stays out of the logs.

Recognised text, answers, remembered facts and typed questions are kept in the conversation store, which
the user can browse and delete; a log file would keep a second copy that deleting the history leaves
behind. Every log call that would show such text passes it through `for_log`, which gives only its length
("<24 chars>") unless content logging is switched on for debugging: the `privacy.log_content` setting
(read when logging is set up) or the environment variable VOICE_ASSISTANT_LOG_CONTENT=1.
"""

from __future__ import annotations

import os

LOG_CONTENT_ENV = "VOICE_ASSISTANT_LOG_CONTENT"
LOG_CONTENT_SETTING = "privacy.log_content"

_setting_on = False


def set_log_content(enabled: bool) -> None:
    """Follows the `privacy.log_content` setting (the app calls this when it sets up logging)."""
    global _setting_on  # noqa: PLW0603 (one process-wide switch, like the logging configuration itself)
    _setting_on = bool(enabled)


def log_content_enabled() -> bool:
    return _setting_on or os.environ.get(LOG_CONTENT_ENV, "").strip() == "1"


def for_log(text: object) -> str:
    """The text as a log message may show it: quoted (repr) when content logging is on, otherwise only its
    length, e.g. "<24 chars>". None stays "None"."""
    if text is None:
        return "None"
    value = text if isinstance(text, str) else str(text)
    if log_content_enabled():
        return repr(value)
    return f"<{len(value)} chars>"
