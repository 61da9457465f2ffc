"""The models as people see them, shared by the ``models`` command and Settings > Speech recognition: the
manager the settings describe, the list merged with what is installed (and whether each model listens), each
row's cells in words, a download's progress in words, and removal that also forgets a choice of the model.

Everything here that touches the disk or the network blocks: call it from a worker, never the UI thread.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from desktop_app.core.settings import NETWORK_OFFLINE, SPEECH_MODELS_CATALOG_URL, SPEECH_VOSK_MODEL, Settings
from desktop_app.speech.models.catalog import CatalogEntry
from desktop_app.speech.models.download import DownloadProgress
from desktop_app.speech.models.manager import InstalledModel, ModelManager
from desktop_app.speech.models.sizes import format_size
from desktop_app.speech.recognition import (
    BUILT_IN_LANGUAGE,
    BUILT_IN_NAME,
    RecogniserChoice,
    language_name,
    why_not_used,
)

Row = dict[str, Any]


def open_manager(settings: Settings, models_dir: Path, cache_dir: Path, catalog_url: str | None = None) -> ModelManager:
    """The model manager as the settings describe it: their list address (unless `catalog_url`) and offline
    mode."""
    return ModelManager(
        models_dir,
        cache_dir,
        catalog_url=catalog_url or settings.get(SPEECH_MODELS_CATALOG_URL),
        offline=settings.get(NETWORK_OFFLINE),
    )


def model_rows(
    entries: list[CatalogEntry],
    installed: list[InstalledModel],
    choice: RecogniserChoice | None = None,
    language: str = "en",
) -> list[Row]:
    """The built-in recogniser, then the list merged with what is installed: every entry, then installed models
    the list does not know. With `choice` (the recogniser in use), each installed row says whether it is the one
    listening (`active`) and why, or why not (`why`)."""

    def usage(path: Path | None) -> Row:
        if choice is None:
            return {}
        if choice.path == path:
            return {"active": True, "why": choice.reason}
        if path is None:
            return {"active": False, "why": f"{choice.name} is used instead, because {choice.reason}"}
        return {"active": False, "why": why_not_used(path, choice, language)}

    rows: list[Row] = [
        {
            "name": BUILT_IN_NAME,
            "lang": BUILT_IN_LANGUAGE,
            "lang_text": language_name(BUILT_IN_LANGUAGE),
            "url": "",
            "size": 0,
            "size_text": "",
            "md5": "",
            "type": "built-in",
            "version": "",
            "obsolete": False,
            "engine": "pocketsphinx",
            "in_catalog": False,
            "installed": True,
            "installed_size": None,
            **usage(None),
        }
    ]
    on_disk = {model.name: model for model in installed}
    for entry in entries:
        model = on_disk.pop(entry.name, None)
        rows.append(
            {
                **entry.to_dict(),
                "engine": "vosk",
                "in_catalog": True,
                "installed": model is not None,
                "installed_size": model.size if model else None,
                **(usage(model.path) if model else {"active": False, "why": None} if choice else {}),
            }
        )
    for model in on_disk.values():
        rows.append(
            {
                "name": model.name,
                "lang": model.language or "",
                "lang_text": language_name(model.language) if model.language else "",
                "url": "",
                "size": 0,
                "size_text": "",
                "md5": "",
                "type": "",
                "version": "",
                "obsolete": False,
                "engine": "vosk",
                "in_catalog": False,
                "installed": True,
                "installed_size": model.size,
                **usage(model.path),
            }
        )
    return rows


def row_language(row: Row) -> str:
    """ "Korean (ko)"; the code alone, or "?", when that is all there is."""
    if row["lang_text"] and row["lang"]:
        return f"{row['lang_text']} ({row['lang']})"
    return row["lang_text"] or row["lang"] or "?"


def row_size(row: Row) -> str:
    """The download's size as the list gives it (the size on disk for a model the list does not know)."""
    if row["engine"] == "pocketsphinx":
        return "built in"
    if not row["in_catalog"]:
        return format_size(row["installed_size"])
    if row["size_text"]:
        return str(row["size_text"])
    return format_size(row["size"]) if row["size"] else "?"


def installed_cell(row: Row) -> str:
    """ "yes (253.4 MB on disk), in use", "no", "built in", with obsolete and unlisted models said so."""
    if row["engine"] == "pocketsphinx":
        cell = "built in"
    elif row["installed"]:
        cell = f"yes ({format_size(row['installed_size'])} on disk)"
    else:
        cell = "no"
    if row.get("active"):
        cell += ", in use"
    if row["obsolete"]:
        cell += ", obsolete"
    if not row["in_catalog"] and row["engine"] == "vosk":
        cell += ", not in the list"
    return cell


def duration_text(seconds: float) -> str:
    """42 s, 3 min 05 s, 1 h 07 min."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, rest = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def progress_text(progress: DownloadProgress) -> str:
    """ "name: 3.0 MB of 41.2 MB (7 %), 1.2 MB/s, 32 s left" (the parts not known yet left out)."""
    done = format_size(progress.done)
    text = f"{progress.name}: {done}"
    if progress.total:
        percent = 100 * progress.done / progress.total
        text += f" of {format_size(progress.total)} ({percent:.0f} %)"
    if progress.rate > 0:
        text += f", {format_size(progress.rate)}/s"
    if progress.eta is not None and progress.total and progress.done < progress.total:
        text += f", {duration_text(progress.eta)} left"
    return text


def remove_model(manager: ModelManager, settings: Settings, name: str) -> bool:
    """Removes an installed model through the manager (which refuses a bad name or a model that is not
    installed) and forgets it as speech.vosk_model; True when that setting named it and was cleared."""
    manager.remove(name)
    if settings.get(SPEECH_VOSK_MODEL) != name:
        return False
    settings.set(SPEECH_VOSK_MODEL, None)
    return True
