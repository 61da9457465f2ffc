"""Failures of the model manager: AppErrors with stable codes and messages that say what to do."""

from __future__ import annotations

from desktop_app.core.errors import AppError, ErrorCode


class ModelError(AppError):
    """A model could not be listed, fetched, installed or removed; nothing half-done was left behind."""


class DownloadCancelled(ModelError):
    """The download was cancelled; the part already fetched is kept so the next attempt resumes."""

    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.DOWNLOAD_CANCELLED, message)
