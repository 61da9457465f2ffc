"""The model manager: one object for the list of models, what is installed, downloads and removals.

Layout of the models folder (``AppPaths.models_dir``)::

    <name>/                 an installed model, ready for vosk.Model
    .downloads/             <name>.zip.part (+ .part.json): downloads in progress or interrupted
    .install-<name>-*/      unpacking in progress        } removed when the operation ends. Each is locked by
    .replaced-<name>-*/     a model being replaced       } the process working in it; `clean_leftovers` (run
    .removing-<name>-*/     a model being removed        } whenever the folder is listed or changed) removes
                                                            those whose process was killed or crashed

Every method blocks (network, disk, loading a model): call them from a worker thread, never the UI thread.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from desktop_app.core.atomic_file import sync_directory
from desktop_app.core.errors import AppError, ErrorCode, NotFoundError, ValidationError
from desktop_app.speech.models.archive import (
    OLD_PREFIX,
    TEMP_PREFIX,
    Claim,
    ModelCheck,
    WorkingFolder,
    claim_folder,
    install_archive,
    models_folder_lock,
    still_the_same,
    vosk_check,
)
from desktop_app.speech.models.catalog import DEFAULT_CATALOG_URL, Catalog, CatalogEntry, check_model_name
from desktop_app.speech.models.download import (
    Downloader,
    DownloadResult,
    ProgressCallback,
    Verification,
    discard_part,
)
from desktop_app.speech.models.errors import DownloadCancelled, ModelError
from desktop_app.speech.models.sizes import disk_usage, free_space
from desktop_app.speech.recognition import model_language, record_model_language

log = logging.getLogger(__name__)

DOWNLOADS = ".downloads"
REMOVING_PREFIX = ".removing-"
Stage = Literal["download", "install"]
LEFTOVER_PREFIXES = (TEMP_PREFIX, OLD_PREFIX, REMOVING_PREFIX)
# Where folders cannot be locked (no flock on the platform or file system), a working folder older than this
# is taken for a leftover (a running install is much younger). Elsewhere the lock tells, whatever the age.
LEFTOVER_AGE = 3600.0
# Failures after which the downloaded archive is worth keeping: the archive itself was fine.
_KEEP_ARCHIVE_ON = frozenset(
    {ErrorCode.DOWNLOAD_CANCELLED, ErrorCode.NOT_ENOUGH_SPACE, ErrorCode.DISK_FULL, ErrorCode.MODEL_INSTALL_FAILED}
)


@dataclass(frozen=True, slots=True)
class InstalledModel:
    name: str
    path: Path
    size: int  # bytes on disk
    language: str | None = None  # as recorded at install or read from the official name; None when unknown


@dataclass(frozen=True, slots=True)
class InstallResult:
    model: InstalledModel
    verified: Verification
    notes: tuple[str, ...]  # things the user should know (the list could not be refreshed, no checksum, ...)


class ModelManager:
    def __init__(
        self,
        models_dir: Path,
        cache_dir: Path,
        *,
        catalog_url: str = DEFAULT_CATALOG_URL,
        downloader: Downloader | None = None,
        check: ModelCheck = vosk_check,
        free_space: Callable[[Path], int] = free_space,
        offline: bool = False,
    ) -> None:
        self.models_dir = models_dir
        self.offline = offline  # offline mode: nothing is fetched, not even the list
        self.catalog = Catalog(cache_dir)
        self.catalog_url = catalog_url
        self.downloader = downloader or Downloader(free_space=free_space)
        self.check = check
        self.free_space = free_space

    @property
    def downloads_dir(self) -> Path:
        return self.models_dir / DOWNLOADS

    # -- the list --------------------------------------------------------------------------------------------

    def available(self, *, include_obsolete: bool = False) -> list[CatalogEntry]:
        return self.catalog.entries(include_obsolete=include_obsolete)

    def refresh(self, url: str | None = None) -> list[CatalogEntry]:
        """Fetches the official list (or `url`); ModelError when it cannot, and the list in use is kept."""
        self._require_online()
        return self.catalog.refresh(url or self.catalog_url)

    def _require_online(self) -> None:
        if self.offline:
            raise AppError(
                ErrorCode.OFFLINE_MODE,
                "Offline mode is on, so nothing is downloaded. Turn it off to download models: "
                "voice-assistant settings set network.offline false (or install one from a .zip file).",
            )

    def resolve(self, name: str) -> tuple[CatalogEntry, tuple[str, ...]]:
        """The entry to download for `name` and notes for the user. Without a checksum at hand (the built-in
        list has none) the list is refreshed first; if that fails, the known entry is used anyway."""
        check_model_name(name)
        entry = self.catalog.find(name)
        if entry is not None and entry.md5:
            return entry, ()
        notes: list[str] = []
        try:
            self.refresh()
        except ModelError as error:
            if entry is None:
                raise ModelError(
                    error.code, f"{name} is not in the saved model list, and refreshing it failed: {error.message}"
                ) from error
            notes.append(f"The model list could not be refreshed, so the saved one is used. {error.message}")
            return entry, tuple(notes)
        entry = self.catalog.find(name)
        if entry is None:
            raise NotFoundError(
                ErrorCode.UNKNOWN_MODEL,
                f"There is no model called {name} in the model list. "
                "`voice-assistant models list --all` shows the ones there are.",
            )
        return entry, tuple(notes)

    # -- installed models ------------------------------------------------------------------------------------

    def installed(self) -> list[InstalledModel]:
        """Installed models by name, with their size on disk. Working folders (names starting with a dot) and
        anything that is not a plain folder are not models. Leftovers of operations cut short are removed first."""
        self.clean_leftovers()
        try:
            children = sorted(os.scandir(self.models_dir), key=lambda child: child.name)
        except FileNotFoundError:
            return []
        return [
            _installed(child.name, Path(child.path))
            for child in children
            if not child.name.startswith(".") and child.is_dir(follow_symlinks=False)
        ]

    def find_installed(self, name: str) -> InstalledModel | None:
        check_model_name(name)
        path = self.models_dir / name
        if path.is_symlink() or not path.is_dir():
            return None
        return _installed(name, path)

    def remove(self, name: str) -> None:
        """Removes an installed model: renamed aside first (so it is gone at once and never seen half-deleted),
        then deleted. ValidationError for a bad name, NotFoundError(UNKNOWN_MODEL) when it is not installed."""
        check_model_name(name)
        self.clean_leftovers()
        if self.find_installed(name) is None:
            raise NotFoundError(
                ErrorCode.UNKNOWN_MODEL,
                f"No model called {name} is installed. `voice-assistant models list` shows the installed ones.",
            )
        aside = WorkingFolder.create(self.models_dir, f"{REMOVING_PREFIX}{name}-")
        try:
            os.rename(self.models_dir / name, aside.path / name)
        except OSError as error:
            aside.close()
            raise ModelError(
                ErrorCode.MODEL_INSTALL_FAILED,
                f"Could not remove {name} from {self.models_dir}: {error.strerror or error}.",
            ) from error
        sync_directory(self.models_dir)
        aside.close()

    def clean_leftovers(self, *, older_than: float = LEFTOVER_AGE) -> list[Path]:
        """Removes the working folders that an operation cut short (killed, crashed) left behind, and returns
        them: those whose lock no process holds, however young; where locks are not available, those older than
        `older_than`. A folder still in use is left alone, and so is anything the app did not make: only real
        folders (never a link, which is not followed) of this user whose names start with a working prefix. A
        model caught between the two renames of a replacement is put back under its name first. Best effort:
        never raises."""
        claimed: list[tuple[Path, Claim]] = []
        with models_folder_lock(self.models_dir) as lock:
            if lock == "busy":
                return []  # another process is judging or making a working folder and did not let go
            try:
                names = sorted(entry.name for entry in os.scandir(self.models_dir))
            except OSError:
                return []
            for name in names:
                if not name.startswith(LEFTOVER_PREFIXES):
                    continue
                path = self.models_dir / name
                claim = claim_folder(path)
                if claim.state == "left" or (claim.state == "aged" and claim.age > older_than):
                    claimed.append((path, claim))
        removed: list[Path] = []
        for path, claim in claimed:
            try:
                if not still_the_same(path, claim):
                    continue
                if path.name.startswith(OLD_PREFIX):
                    self._put_back(path)
                log.info("removing %s, left behind by an interrupted operation", path)
                shutil.rmtree(path)
                removed.append(path)
            except OSError as error:
                log.warning("could not remove %s: %s", path, error)
            finally:
                claim.release()
        if removed:
            sync_directory(self.models_dir)
        return removed

    def _put_back(self, aside: Path) -> None:
        """A replacement cut short after the old model was renamed aside and before the new one took its place
        leaves the old model only in its `.replaced-` folder: it goes back under its name when that is free."""
        try:
            inside = os.listdir(aside)
        except OSError:
            return
        if len(inside) != 1:
            return
        try:
            name = check_model_name(inside[0])
        except ValidationError:
            return
        old, target = aside / name, self.models_dir / name
        if old.is_symlink() or not old.is_dir() or os.path.lexists(target):
            return
        try:
            os.rename(old, target)
        except OSError as error:
            log.warning("could not put %s back in place: %s", name, error)
            return
        log.warning("%s was put back: replacing it had been interrupted", name)

    # -- installing ------------------------------------------------------------------------------------------

    def install_archive(
        self,
        archive: Path,
        *,
        name: str | None = None,
        replace: bool = False,
        cancel: threading.Event | None = None,
        language: str | None = None,
        language_text: str = "",
    ) -> InstalledModel:
        """Installs a local .zip (see archive.install_archive for every check made) and records its language:
        `language` when given, else the model list's for a model of that name. A model of unknown language is
        never chosen for a language (only by name), so a record the archive itself carries is dropped."""

        def record(folder: Path, final_name: str) -> None:
            lang, text = language, language_text
            if lang is None:
                entry = self.catalog.find(final_name)
                if entry is not None and entry.lang:
                    lang, text = entry.lang, entry.lang_text
            record_model_language(folder, lang, text)

        self.clean_leftovers()
        path = install_archive(
            archive,
            self.models_dir,
            name=name,
            replace=replace,
            check=self.check,
            cancel=cancel,
            free_space=self.free_space,
            before_moving=record,
        )
        return _installed(path.name, path)

    def download(
        self,
        entry: CatalogEntry,
        *,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> DownloadResult:
        """Fetches the archive only, into the downloads folder (resuming an earlier attempt)."""
        self._require_online()
        return self.downloader.download(
            entry, self.downloads_dir, progress=progress, cancel=cancel, space_dir=self.models_dir
        )

    def download_and_install(
        self,
        name: str,
        *,
        replace: bool = False,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
        stage: Callable[[Stage], None] | None = None,
    ) -> InstallResult:
        """Finds `name` in the list, downloads, verifies and installs it, then deletes the archive. An archive
        that turns out bad is deleted too; one that was fine is kept when installing it was cancelled or the disk
        was too full, so the next attempt does not fetch it again. `stage` hears "download", then "install"
        (unpacking and loading the model: seconds, with no progress reports)."""
        self._require_online()
        entry, notes = self.resolve(name)
        if not replace and os.path.lexists(self.models_dir / entry.name):
            raise ModelError(
                ErrorCode.MODEL_EXISTS,
                f"{entry.name} is already installed. Add --replace to download and install it again.",
            )
        if stage is not None:
            stage("download")
        result = self.download(entry, progress=progress, cancel=cancel)
        if stage is not None:
            stage("install")
        keep = False
        try:
            model = self.install_archive(
                result.path,
                name=entry.name,
                replace=replace,
                cancel=cancel,
                language=entry.lang or None,
                language_text=entry.lang_text,
            )
        except DownloadCancelled:
            keep = True
            raise
        except ModelError as error:
            keep = error.code in _KEEP_ARCHIVE_ON
            raise
        finally:
            if not keep:
                discard_part(self.downloads_dir, entry.name)
        if result.verified == "size":
            notes += (f"No checksum is known for {entry.name}: only its size was checked.",)
        elif result.verified == "none":
            notes += (
                f"Neither the size nor a checksum is known for {entry.name}: it was only checked by unpacking "
                "and loading it.",
            )
        return InstallResult(model, result.verified, notes)


def _installed(name: str, path: Path) -> InstalledModel:
    return InstalledModel(name, path, disk_usage(path), model_language(path))
