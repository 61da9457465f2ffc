"""Errors people can act on: each carries a stable code for tests and logs."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    INVALID_ROLE = "invalid_role"
    EMPTY_CONTENT = "empty_content"
    CONTENT_TOO_LONG = "content_too_long"
    INVALID_ARGUMENT = "invalid_argument"
    UNKNOWN_CONVERSATION = "unknown_conversation"
    UNKNOWN_FACT = "unknown_fact"
    UNKNOWN_ALARM = "unknown_alarm"
    DB_CORRUPT = "db_corrupt"
    DB_UNREADABLE = "db_unreadable"
    DB_NEWER_VERSION = "db_newer_version"
    DB_READ_ONLY = "db_read_only"
    DISK_FULL = "disk_full"
    DB_UNAVAILABLE = "db_unavailable"
    DB_BUSY = "db_busy"
    STORE_CLOSED = "store_closed"
    MODEL_CATALOG_UNAVAILABLE = "model_catalog_unavailable"
    MODEL_CATALOG_INVALID = "model_catalog_invalid"
    UNKNOWN_MODEL = "unknown_model"
    MODEL_EXISTS = "model_exists"
    DOWNLOAD_FAILED = "download_failed"
    DOWNLOAD_CANCELLED = "download_cancelled"
    DOWNLOAD_BUSY = "download_busy"
    DOWNLOAD_CORRUPT = "download_corrupt"
    NOT_ENOUGH_SPACE = "not_enough_space"
    INVALID_ARCHIVE = "invalid_archive"
    UNSAFE_ARCHIVE = "unsafe_archive"
    INVALID_MODEL = "invalid_model"
    MODEL_INSTALL_FAILED = "model_install_failed"
    AUDIO_INPUT_UNAVAILABLE = "audio_input_unavailable"
    SPEECH_MODEL_UNAVAILABLE = "speech_model_unavailable"
    TURN_CANCELLED = "turn_cancelled"
    TURN_STOPPED = "turn_stopped"  # a tap that only stopped the assistant
    TURN_FAILED = "turn_failed"  # a fault in the turn itself (a bug), reported rather than hidden
    SPEECH_TIMED_OUT = "speech_timed_out"
    QT_BINDING_DEFECTIVE = "qt_binding_defective"
    NOTHING_HEARD = "nothing_heard"
    AUDIO_OUTPUT_UNAVAILABLE = "audio_output_unavailable"
    TTS_UNAVAILABLE = "tts_unavailable"
    TTS_RENDER_FAILED = "tts_render_failed"
    VOICE_UNAVAILABLE = "voice_unavailable"
    LLM_KEY_REJECTED = "llm_key_rejected"
    LLM_MODEL_NOT_FOUND = "llm_model_not_found"
    LLM_UNREACHABLE = "llm_unreachable"
    LLM_TIMEOUT = "llm_timeout"
    LLM_RATE_LIMITED = "llm_rate_limited"
    LLM_SERVER_ERROR = "llm_server_error"
    LLM_BAD_REQUEST = "llm_bad_request"
    LLM_MALFORMED_STREAM = "llm_malformed_stream"
    LLM_CANCELLED = "llm_cancelled"
    LLM_NOT_CONFIGURED = "llm_not_configured"
    OFFLINE_MODE = "offline_mode"
    KEY_LIMIT_REACHED = "key_limit_reached"
    KEYCHAIN_UNAVAILABLE = "keychain_unavailable"
    KEY_NOT_FOUND = "key_not_found"
    KEY_WRONG_SERVER = "key_wrong_server"
    KEY_NEEDS_HTTPS = "key_needs_https"
    KEY_EXISTS = "key_exists"
    INVALID_KEY = "invalid_key"
    NO_DISPLAY = "no_display"
    DISPLAY_UNREACHABLE = "display_unreachable"
    SYSTEM_LIBRARY_MISSING = "system_library_missing"
    QT_PLATFORM_UNAVAILABLE = "qt_platform_unavailable"
    OUTPUT_FAILED = "output_failed"
    APP_NOT_RUNNING = "app_not_running"
    REMOTE_UNAVAILABLE = "remote_unavailable"  # the remote-control endpoint could not be made or reached
    REMOTE_DIR_UNSAFE = "remote_dir_unsafe"  # its folder is a link, someone else's, or open to others
    REMOTE_ENDPOINT_BLOCKED = "remote_endpoint_blocked"  # something that is not the app's socket is in its place
    REMOTE_BAD_REQUEST = "remote_bad_request"
    REMOTE_UNKNOWN_COMMAND = "remote_unknown_command"
    REMOTE_MESSAGE_TOO_LARGE = "remote_message_too_large"
    REMOTE_TIMED_OUT = "remote_timed_out"
    REMOTE_BUSY = "remote_busy"
    REMOTE_BAD_REPLY = "remote_bad_reply"
    REMOTE_COMMAND_FAILED = "remote_command_failed"
    HOTKEY_INVALID = "hotkey_invalid"  # the push-to-talk key's text names no usable key combination
    HOTKEY_TAKEN = "hotkey_taken"  # another program already holds that key combination
    HOTKEY_UNAVAILABLE = "hotkey_unavailable"  # this desktop session offers no way to watch a global key
    HOTKEY_REFUSED = "hotkey_refused"  # the desktop asked the user, who declined (or assigned no key)
    SPEECH_RECOGNISER_CRASHED = "speech_recogniser_crashed"  # the recogniser's process ended in the middle of a turn
    SPEECH_RECOGNISER_TIMED_OUT = "speech_recogniser_timed_out"  # the recogniser's process stopped answering
    AUTOSTART_NOT_OURS = "autostart_not_ours"  # a start-at-login entry the app did not make is in its place
    AUTOSTART_UNSAFE_PATH = "autostart_unsafe_path"  # a link, FIFO or folder is where the entry belongs
    AUTOSTART_FAILED = "autostart_failed"  # the entry could not be written or removed (disk, permissions)
    MENU_ENTRY_NOT_OURS = "menu_entry_not_ours"  # a menu entry, icon or metainfo the app did not make is in its place
    MENU_ENTRY_UNSAFE_PATH = "menu_entry_unsafe_path"  # a link, FIFO or folder is where one of them belongs
    MENU_ENTRY_FAILED = "menu_entry_failed"  # one of them could not be written or removed (disk, permissions)
    MENU_ENTRY_UNSUPPORTED = "menu_entry_unsupported"  # this system has no freedesktop.org applications menu


class AppError(Exception):
    """Base of every error the product reports: a stable code and a message for people."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message


class ValidationError(AppError):
    """Input was refused; nothing was written."""


class NotFoundError(AppError):
    """The thing asked for does not exist."""


class StorageError(AppError):
    """The conversation store cannot do what was asked; what it had acknowledged is safe."""
