"""Where the app keeps its state: per-user directories, or everything under one --data-dir."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from desktop_app import APP_NAME

DATA_DIR_ENV = "VOICE_ASSISTANT_DATA_DIR"
DATABASE_URL_ENV = "VOICE_ASSISTANT_DATABASE_URL"
DATABASE_FILE = "assistant.db"
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


@dataclass(frozen=True, slots=True)
class AppPaths:
    data_dir: Path
    config_dir: Path
    cache_dir: Path
    log_dir: Path
    models_dir: Path

    @property
    def database_file(self) -> Path:
        return self.data_dir / DATABASE_FILE

    @property
    def settings_file(self) -> Path:
        return self.config_dir / "settings.json"

    @classmethod
    def resolve(cls, data_dir: str | os.PathLike[str] | None = None) -> AppPaths:
        """--data-dir first, then the environment variable, then the platform's per-user directories."""
        override = data_dir if data_dir is not None else os.environ.get(DATA_DIR_ENV) or None
        if override is not None:
            root = Path(override).expanduser().absolute()
            return cls(root, root / "config", root / "cache", root / "logs", root / "models")
        data = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
        return cls(
            data_dir=data,
            config_dir=Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
            cache_dir=Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
            log_dir=Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
            models_dir=data / "models",
        )

    def ensure(self) -> AppPaths:
        """Creates every directory, private to the user (0700), tightening ones that already exist."""
        for directory in (self.data_dir, self.config_dir, self.cache_dir, self.log_dir, self.models_dir):
            make_private_dir(directory)
        return self


def make_private_dir(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    if os.name == "posix":
        os.chmod(directory, PRIVATE_DIR_MODE)


def touch_private_file(path: Path) -> None:
    """Creates the file 0600 before anything else opens it, so it is never readable by others."""
    fd = os.open(path, os.O_CREAT | os.O_RDWR, PRIVATE_FILE_MODE)
    os.close(fd)
    if os.name == "posix":
        os.chmod(path, PRIVATE_FILE_MODE)


def sync_directory(directory: Path) -> None:
    """Makes a rename inside `directory` durable (POSIX: fsync the folder). Best effort: some file systems
    refuse, and the rename itself has happened either way."""
    if os.name != "posix":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
