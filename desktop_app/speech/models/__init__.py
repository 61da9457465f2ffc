"""Vosk model manager (no Qt): the list of downloadable models, downloads with resume, safe installs, removal.

manager = ModelManager(paths.models_dir, paths.cache_dir, catalog_url=settings.get("speech.models_catalog_url"))
manager.refresh()                                   # the official list, saved for offline use
manager.available()                                 # list[CatalogEntry], obsolete ones hidden
manager.download_and_install(name, progress=callback, cancel=event)   # -> InstallResult
manager.install_archive(Path("model.zip"), name=None, replace=False)  # -> InstalledModel
manager.installed(); manager.remove(name)
"""

from desktop_app.speech.models.catalog import DEFAULT_CATALOG_URL, Catalog, CatalogEntry, check_model_name
from desktop_app.speech.models.download import Downloader, DownloadProgress, DownloadResult
from desktop_app.speech.models.errors import DownloadCancelled, ModelError
from desktop_app.speech.models.manager import InstalledModel, InstallResult, ModelManager

__all__ = [
    "DEFAULT_CATALOG_URL",
    "Catalog",
    "CatalogEntry",
    "DownloadCancelled",
    "DownloadProgress",
    "DownloadResult",
    "Downloader",
    "InstallResult",
    "InstalledModel",
    "ModelError",
    "ModelManager",
    "check_model_name",
]
