"""The ``models`` commands: list, refresh, download, install and remove Vosk speech models.

Each ``prepare_*`` checks its arguments (a bad model name fails before anything is touched) and returns the
action. The actions need no conversation store, so main.py does not open one for them. The model
manager (httpx, vosk) is imported only when a models command runs, so building the parser stays cheap.

A download runs on a worker thread while the main thread waits for it: Ctrl+C sets the cancel event, the
worker stops within one chunk, the part file is kept for the next attempt, and the command exits 130 with an
``error: ... [download_cancelled]`` line. Progress goes to stderr: one updating line on a terminal, otherwise
a line every 10 %.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from desktop_app.cli import output
from desktop_app.cli.errors import EXIT_OK, CommandError

if TYPE_CHECKING:
    from desktop_app.speech.models import CatalogEntry, DownloadProgress, InstalledModel, ModelManager

Action = Callable[[TextIO], int]
_T = TypeVar("_T")

# Exit status of a command cut short by Ctrl+C, as shells report it (the same as main.py's).
EXIT_INTERRUPTED = 130
TTY_REFRESH = 0.2
STEP_UNKNOWN_TOTAL = 10_000_000


def _manager(args: argparse.Namespace) -> ModelManager:
    from desktop_app.core.settings import Settings
    from desktop_app.paths import AppPaths
    from desktop_app.speech.models import ModelManager

    paths = AppPaths.resolve(args.data_dir).ensure()
    settings = Settings(paths.settings_file)
    url: str = getattr(args, "catalog_url", None) or settings.get("speech.models_catalog_url")
    return ModelManager(paths.models_dir, paths.cache_dir, catalog_url=url, offline=settings.get("network.offline"))


def _checked_name(name: str) -> str:
    from desktop_app.speech.models import check_model_name

    return check_model_name(name)


# -- list ---------------------------------------------------------------------------------------------------


def _size_text(entry: CatalogEntry) -> str:
    from desktop_app.speech.models.sizes import format_size

    if entry.size_text:
        return entry.size_text
    return format_size(entry.size) if entry.size else "?"


def _language(entry: CatalogEntry) -> str:
    if entry.lang_text and entry.lang:
        return f"{entry.lang_text} ({entry.lang})"
    return entry.lang_text or entry.lang or "?"


def model_rows(entries: list[CatalogEntry], installed: list[InstalledModel]) -> list[dict[str, Any]]:
    """The list merged with what is installed: every entry, then installed models the list does not know."""
    on_disk = {model.name: model for model in installed}
    rows: list[dict[str, Any]] = []
    for entry in entries:
        model = on_disk.pop(entry.name, None)
        rows.append(
            {
                **entry.to_dict(),
                "in_catalog": True,
                "installed": model is not None,
                "installed_size": model.size if model else None,
            }
        )
    for model in on_disk.values():
        rows.append(
            {
                "name": model.name,
                "lang": "",
                "lang_text": "",
                "url": "",
                "size": 0,
                "size_text": "",
                "md5": "",
                "type": "",
                "version": "",
                "obsolete": False,
                "in_catalog": False,
                "installed": True,
                "installed_size": model.size,
            }
        )
    return rows


def prepare_list(args: argparse.Namespace) -> Action:
    include_all: bool = args.all
    as_json: bool = args.json

    def action(out: TextIO) -> int:
        from desktop_app.speech.models.sizes import format_size

        manager = _manager(args)
        entries = manager.available(include_obsolete=include_all)
        installed = manager.installed()
        rows = model_rows(entries, installed)
        if as_json:
            output.print_json(rows, out)
            return EXIT_OK
        by_name: dict[str, CatalogEntry] = {entry.name: entry for entry in entries}
        sizes: dict[str, InstalledModel] = {model.name: model for model in installed}
        table = []
        for row in rows:
            entry = by_name.get(row["name"])
            installed_cell = f"yes ({format_size(row['installed_size'])} on disk)" if row["installed"] else "no"
            if row["obsolete"]:
                installed_cell += ", obsolete"
            table.append(
                [
                    output.one_line(row["name"]),
                    output.one_line(_language(entry)) if entry else "?",
                    _size_text(entry) if entry else format_size(sizes[row["name"]].size),
                    installed_cell if entry else f"{installed_cell}, not in the list",
                ]
            )
        print(
            "\n".join(
                output.table(
                    ["Name", "Language", "Size", "Installed"],
                    table,
                    [False, False, True, False],
                    output.terminal_columns(),
                )
            ),
            file=out,
        )
        if manager.catalog.source == "shipped":
            print("\nThis is the built-in list; `voice-assistant models refresh` fetches the latest.", file=out)
        return EXIT_OK

    return action


# -- refresh ------------------------------------------------------------------------------------------------


def prepare_refresh(args: argparse.Namespace) -> Action:
    def action(out: TextIO) -> int:
        manager = _manager(args)
        entries = manager.refresh()
        current = sum(not entry.obsolete for entry in entries)
        print(
            f"The model list was refreshed from {manager.catalog_url}: {len(entries)} models "
            f"({current} current, {len(entries) - current} obsolete).",
            file=out,
        )
        return EXIT_OK

    return action


# -- download -----------------------------------------------------------------------------------------------


def _duration(seconds: float) -> str:
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, rest = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def progress_text(progress: DownloadProgress) -> str:
    from desktop_app.speech.models.sizes import format_size

    done = format_size(progress.done)
    text = f"{progress.name}: {done}"
    if progress.total:
        percent = 100 * progress.done / progress.total
        text += f" of {format_size(progress.total)} ({percent:.0f} %)"
    if progress.rate > 0:
        text += f", {format_size(progress.rate)}/s"
    if progress.eta is not None and progress.total and progress.done < progress.total:
        text += f", {_duration(progress.eta)} left"
    return text


class ProgressPrinter:
    """Download progress on a stream: one line rewritten in place on a terminal, otherwise a new line every
    10 % (every 10 MB while the size is unknown)."""

    def __init__(self, stream: TextIO, *, tty: bool | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.tty = stream.isatty() if tty is None else tty
        self.clock = clock
        self._last = float("-inf")
        self._step = -1
        self._open_line = False

    def __call__(self, progress: DownloadProgress) -> None:
        finished = bool(progress.total) and progress.done >= (progress.total or 0)
        if self.tty:
            now = self.clock()
            if now - self._last < TTY_REFRESH and not finished:
                return
            self._last = now
            self.stream.write(f"\r{progress_text(progress)}\x1b[K")
            self.stream.flush()
            self._open_line = True
            return
        if progress.total:
            step = min(10, int(10 * progress.done / progress.total))
        else:
            step = progress.done // STEP_UNKNOWN_TOTAL
        if step < self._step:
            self._step = -1  # the download started over
        if step > self._step:
            self._step = step
            print(progress_text(progress), file=self.stream, flush=True)

    def message(self, text: str) -> None:
        self.end_line()
        print(text, file=self.stream, flush=True)

    def end_line(self) -> None:
        if self._open_line:
            self.stream.write("\n")
            self.stream.flush()
            self._open_line = False


def run_cancellable(work: Callable[[threading.Event], _T], on_interrupt: Callable[[], None]) -> _T:
    """Runs `work(cancel)` on a worker thread. Ctrl+C sets `cancel` and waits for the worker to stop; a second
    Ctrl+C stops waiting (the part file written so far is still there)."""
    cancel = threading.Event()
    finished = threading.Event()
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = work(cancel)
        except BaseException as error:
            box["error"] = error
        finally:
            finished.set()

    # Waiting on an Event, not Thread.join: a join cut short by Ctrl+C can leave is_alive() wrong (CPython < 3.13).
    threading.Thread(target=target, name="model-download", daemon=True).start()
    while not finished.is_set():
        try:
            finished.wait(0.2)
        except KeyboardInterrupt:
            if cancel.is_set():
                raise
            cancel.set()
            on_interrupt()
    if "error" in box:
        raise box["error"]
    result: _T = box["result"]
    return result


def prepare_download(args: argparse.Namespace) -> Action:
    name = _checked_name(args.name)
    replace: bool = args.replace

    def action(out: TextIO) -> int:
        from desktop_app.speech.models import DownloadCancelled
        from desktop_app.speech.models.sizes import format_size

        manager = _manager(args)
        printer = ProgressPrinter(sys.stderr)

        def work(cancel: threading.Event) -> Any:
            return manager.download_and_install(
                name,
                replace=replace,
                progress=printer,
                cancel=cancel,
                stage=lambda stage: (
                    printer.message(f"Unpacking and checking {name}...") if stage == "install" else None
                ),
            )

        try:
            result = run_cancellable(work, lambda: printer.message("Cancelling..."))
        except DownloadCancelled as error:
            printer.end_line()
            raise CommandError(error.code, error.message, exit_status=EXIT_INTERRUPTED) from None
        finally:
            printer.end_line()
        for note in result.notes:
            print(f"note: {note}", file=sys.stderr)
        model = result.model
        print(f"Installed {model.name} in {model.path} ({format_size(model.size)} on disk).", file=out)
        return EXIT_OK

    return action


# -- install and remove -------------------------------------------------------------------------------------


def prepare_install(args: argparse.Namespace) -> Action:
    from pathlib import Path

    archive = Path(args.archive).expanduser()
    name = None if args.name is None else _checked_name(args.name)
    replace: bool = args.replace

    def action(out: TextIO) -> int:
        from desktop_app.speech.models.sizes import format_size

        manager = _manager(args)
        print(f"Unpacking and checking {archive.name}...", file=sys.stderr, flush=True)
        model = manager.install_archive(archive.absolute(), name=name, replace=replace)
        print(f"Installed {model.name} in {model.path} ({format_size(model.size)} on disk).", file=out)
        return EXIT_OK

    return action


def prepare_remove(args: argparse.Namespace) -> Action:
    name = _checked_name(args.name)

    def action(out: TextIO) -> int:
        manager = _manager(args)
        manager.remove(name)
        print(f"Removed {name}.", file=out)
        return EXIT_OK

    return action
