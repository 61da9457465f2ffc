"""Widgets bound to typed settings: what the user changes is saved at once (on a worker: the file is written
and synced), and a change made elsewhere (the CLI, the tray, another window) is shown without echoing it
back. A value the setting refuses is said in words, and the widget shows the value in use again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from desktop_app.core.settings import Setting, Subscription
from desktop_app.ui.qt import QCheckBox, QComboBox, QDoubleSpinBox, QLineEdit, QPlainTextEdit, QSignalBlocker, QSpinBox
from desktop_app.ui.settings.context import SettingsContext

T = TypeVar("T")
Report = Callable[[str | None], None]  # a problem to show, or None once it is over


class Bindings:
    def __init__(self, context: SettingsContext, report: Report) -> None:
        self._context = context
        self._report = report
        self._subscriptions: list[Subscription] = []
        self._closed = False
        # The newest value of each setting being saved: until it is, the echo of an earlier save (several
        # choices made quickly) is not shown, so the widget does not flick back to a value left behind.
        self._saving: dict[str, object] = {}

    # -- the general case ----------------------------------------------------------------------------

    def follow(self, setting: Setting[T], show: Callable[[T], None]) -> None:
        """Shows the value in use now, and each later change, on the main thread."""
        show(self._context.settings.get(setting))

        def changed(value: T) -> None:
            self._context.post(lambda: self._show_unless_stale(setting.key, value, show))

        self._subscriptions.append(self._context.settings.subscribe(setting, changed))

    def save(
        self, setting: Setting[T], value: T, done: Callable[[], None] | None = None, *, restore: Callable[[T], None]
    ) -> None:
        """Saves `value` on a worker (the latest of a burst wins); on refusal says why and shows the value in
        use again through `restore`."""
        settings = self._context.settings
        self._saving[setting.key] = value

        def saved(_result: object) -> None:
            self._saved(setting.key, value)
            self._report(None)
            if done is not None:
                done()

        def refused(error: Exception) -> None:
            self._saved(setting.key, value)
            if self._closed:
                return
            self._report(f"{setting.key} was not changed: {error}")
            restore(settings.get(setting))

        self._context.background.run(f"setting:{setting.key}", lambda: settings.set(setting, value), saved, refused)

    def _saved(self, key: str, value: object) -> None:
        if key in self._saving and self._saving[key] == value:
            del self._saving[key]

    def _show_unless_stale(self, key: str, value: T, show: Callable[[T], None]) -> None:
        if self._closed or (key in self._saving and self._saving[key] != value):
            return
        show(value)

    def close(self) -> None:
        self._closed = True
        for subscription in self._subscriptions:
            subscription.unsubscribe()
        self._subscriptions.clear()

    # -- widgets --------------------------------------------------------------------------------------

    def check_box(self, box: QCheckBox, setting: Setting[bool]) -> None:
        def show(value: bool) -> None:
            with QSignalBlocker(box):
                box.setChecked(bool(value))

        self.follow(setting, show)
        box.toggled.connect(lambda on: self.save(setting, bool(on), restore=show))

    def combo(self, combo: QComboBox, setting: Setting[Any]) -> None:
        """A combo box whose items carry the setting's values as their data (None: the empty value)."""

        def show(value: object) -> None:
            index = combo.findData(value)
            with QSignalBlocker(combo):
                if index >= 0:
                    combo.setCurrentIndex(index)

        self.follow(setting, show)
        combo.activated.connect(lambda index: self.save(setting, combo.itemData(index), restore=show))

    def spin(self, spin: QSpinBox | QDoubleSpinBox, setting: Setting[Any]) -> None:
        """Saved when editing is finished (Enter, focus leaving, an arrow clicked), not at every digit."""
        if setting.minimum is not None and setting.maximum is not None:
            spin.setRange(setting.minimum, setting.maximum)  # type: ignore[arg-type]

        def show(value: float) -> None:
            with QSignalBlocker(spin):
                spin.setValue(value)  # type: ignore[arg-type]

        self.follow(setting, show)
        spin.editingFinished.connect(lambda: self._save_if_changed(setting, setting.type(spin.value()), show))

    def line(self, edit: QLineEdit, setting: Setting[Any]) -> None:
        """Text parsed as the command line parses it (an empty field is the empty value where there is one),
        saved when editing is finished."""

        def show(value: object) -> None:
            with QSignalBlocker(edit):
                edit.setText("" if value is None else str(value))

        self.follow(setting, show)
        edit.editingFinished.connect(lambda: self._parse_and_save(setting, edit.text(), show))

    def text(self, edit: QPlainTextEdit, setting: Setting[str]) -> Callable[[], None]:
        """A text of several lines; returns what saves it (a text field has no "editing finished")."""

        def show(value: str) -> None:
            with QSignalBlocker(edit):
                edit.setPlainText(value)

        self.follow(setting, show)
        return lambda: self._save_if_changed(setting, edit.toPlainText(), show)

    def _parse_and_save(self, setting: Setting[Any], typed: str, show: Callable[[Any], None]) -> None:
        try:
            value = setting.parse(typed.strip()) if typed.strip() or not setting.nullable else None
        except ValueError as error:
            self._report(f"{setting.key}: {error}")
            show(self._context.settings.get(setting))
            return
        self._save_if_changed(setting, value, show)

    def _save_if_changed(self, setting: Setting[Any], value: object, show: Callable[[Any], None]) -> None:
        if value != self._context.settings.get(setting):
            self.save(setting, value, restore=show)
