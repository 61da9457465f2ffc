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
from desktop_app.speech.recognisers import recogniser_in_use

if TYPE_CHECKING:
    from pathlib import Path

    from desktop_app.core.settings import Settings
    from desktop_app.speech.models import DownloadProgress, InstalledModel, ModelManager

Action = Callable[[TextIO], int]
_T = TypeVar("_T")

# Exit status of a command cut short by Ctrl+C, as shells report it (the same as main.py's).
EXIT_INTERRUPTED = 130
TTY_REFRESH = 0.2
STEP_UNKNOWN_TOTAL = 10_000_000


def _manager(args: argparse.Namespace) -> tuple[ModelManager, Settings]:
    from desktop_app.core.settings import Settings
    from desktop_app.paths import AppPaths
    from desktop_app.speech.models.library import open_manager

    paths = AppPaths.resolve(args.data_dir).ensure()
    settings = Settings(paths.settings_file)
    manager = open_manager(settings, paths.models_dir, paths.cache_dir, getattr(args, "catalog_url", None))
    return manager, settings


def use_model(settings: Settings, model: InstalledModel, models_dir: Path) -> list[str]:
    """Changes the settings so that `model` is the one listening; the changes, as "key = value" lines. Its
    language becomes the recognition language; its name is chosen too only when that alone would not pick it
    (another model of the language comes first, or its language is unknown)."""
    import json

    changes: list[str] = []

    def change(key: str, value: object) -> None:
        if settings.get(key) != value:
            settings.set(key, value)
            changes.append(f"{key} = {json.dumps(value, ensure_ascii=False)}")

    if settings.get("speech.engine") == "pocketsphinx":
        change("speech.engine", "auto")
    if model.language is not None:
        change("speech.language", model.language)
        if settings.get("speech.vosk_model") not in (None, model.name):
            change("speech.vosk_model", None)
    if recogniser_in_use(settings, models_dir).path != model.path:
        change("speech.vosk_model", model.name)
    return changes


def usage_lines(settings: Settings, model: InstalledModel, models_dir: Path) -> list[str]:
    """Whether a model just installed is the one listening, and if not, why and how to make it so."""
    from desktop_app.speech.recognition import why_not_used

    choice = recogniser_in_use(settings, models_dir)
    if choice.path == model.path:
        return [f"It is in use now, because {choice.reason}."]
    why = why_not_used(model.path, choice, settings.get("speech.language"))
    return [f"It is not used, because {why}."]


def _checked_name(name: str) -> str:
    from desktop_app.speech.models import check_model_name

    return check_model_name(name)


def _checked_language(code: str) -> str:
    """A language code as speech.language takes it; ValidationError (a usage error) otherwise."""
    from desktop_app.core.errors import ErrorCode, ValidationError
    from desktop_app.core.settings import BY_KEY

    try:
        checked: str = BY_KEY["speech.language"].parse(code)
    except ValueError:
        raise ValidationError(
            ErrorCode.INVALID_ARGUMENT, f"--language must be {BY_KEY['speech.language'].shape}, not {code!r}."
        ) from None
    return checked


# -- list ---------------------------------------------------------------------------------------------------


def prepare_list(args: argparse.Namespace) -> Action:
    include_all: bool = args.all
    as_json: bool = args.json

    def action(out: TextIO) -> int:
        from desktop_app.speech.models.library import installed_cell, model_rows, row_language, row_size

        manager, settings = _manager(args)
        entries = manager.available(include_obsolete=include_all)
        installed = manager.installed()
        choice = recogniser_in_use(settings, manager.models_dir)
        language: str = settings.get("speech.language")
        rows = model_rows(entries, installed, choice, language)
        if as_json:
            output.print_json(rows, out)
            return EXIT_OK
        table = [
            [output.one_line(row["name"]), output.one_line(row_language(row)), row_size(row), installed_cell(row)]
            for row in rows
        ]
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
        print(
            f"\nIn use: {output.one_line(choice.name)}, because {output.one_line(choice.reason)}.",
            file=out,
        )
        for row in rows:
            if row["installed"] and not row.get("active") and row["engine"] == "vosk":
                print(f"Not used: {output.one_line(row['name'])}, because {output.one_line(row['why'])}.", file=out)
        if manager.catalog.source == "shipped":
            print("\nThis is the built-in list; `voice-assistant models refresh` fetches the latest.", file=out)
        return EXIT_OK

    return action


# -- refresh ------------------------------------------------------------------------------------------------


def prepare_refresh(args: argparse.Namespace) -> Action:
    def action(out: TextIO) -> int:
        manager, _ = _manager(args)
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
        from desktop_app.speech.models.library import progress_text

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


def _report_installed(out: TextIO, manager: ModelManager, settings: Settings, model: InstalledModel, use: bool) -> None:
    """Where the model went, and whether it listens now (after choosing it, with --use)."""
    from desktop_app.speech.models.sizes import format_size
    from desktop_app.speech.recognition import language_name

    language = f", {language_name(model.language)}" if model.language else ", language unknown"
    print(f"Installed {model.name} in {model.path} ({format_size(model.size)} on disk{language}).", file=out)
    if use:
        changes = use_model(settings, model, manager.models_dir)
        if changes:
            print("Changed: " + "; ".join(changes) + ".", file=out)
    for line in usage_lines(settings, model, manager.models_dir):
        print(line, file=out)


def prepare_download(args: argparse.Namespace) -> Action:
    name = _checked_name(args.name)
    replace: bool = args.replace
    use: bool = args.use

    def action(out: TextIO) -> int:
        from desktop_app.speech.models import DownloadCancelled

        manager, settings = _manager(args)
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
        _report_installed(out, manager, settings, result.model, use)
        return EXIT_OK

    return action


# -- install and remove -------------------------------------------------------------------------------------


def prepare_install(args: argparse.Namespace) -> Action:
    from pathlib import Path

    archive = Path(args.archive).expanduser()
    name = None if args.name is None else _checked_name(args.name)
    replace: bool = args.replace
    use: bool = args.use
    language = None if args.language is None else _checked_language(args.language)

    def action(out: TextIO) -> int:
        manager, settings = _manager(args)
        print(f"Unpacking and checking {archive.name}...", file=sys.stderr, flush=True)
        model = manager.install_archive(archive.absolute(), name=name, replace=replace, language=language)
        _report_installed(out, manager, settings, model, use)
        return EXIT_OK

    return action


def prepare_remove(args: argparse.Namespace) -> Action:
    name = _checked_name(args.name)

    def action(out: TextIO) -> int:
        from desktop_app.speech.models.library import remove_model

        manager, settings = _manager(args)
        was_used = recogniser_in_use(settings, manager.models_dir).name == name
        forgotten = remove_model(manager, settings, name)
        print(f"Removed {name}.", file=out)
        if forgotten:
            print("Changed: speech.vosk_model = null.", file=out)
        if was_used:
            choice = recogniser_in_use(settings, manager.models_dir)
            print(f"Now listening with {choice.name}, because {choice.reason}.", file=out)
        return EXIT_OK

    return action
