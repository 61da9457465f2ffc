"""Failures of a command that are not the store's: they carry a code and an exit status like AppError does."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


class CommandError(Exception):
    """A command could not do what was asked; `message` says what to do about it."""

    def __init__(self, code: str, message: str, exit_status: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.exit_status = exit_status

    def __str__(self) -> str:
        return self.message
