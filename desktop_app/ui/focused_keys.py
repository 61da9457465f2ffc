"""Watching a window's keys without a filter on the whole application.

An event filter on the application runs Python for every event of every object, and each run takes the
interpreter lock, which the window's thread must wait for while other threads (the services starting) hold
it: the event loop stalled for tens of milliseconds at a time. Keys go to the widget with the keyboard
focus (to the window when none of its widgets has it), so only that one is watched, and the filter moves
with the focus."""

from __future__ import annotations

import contextlib

from desktop_app.ui.qt import QApplication, QObject, QWidget


class FocusedKeys:
    """Installs `listener` as the event filter of the widget of `window` that has the keyboard focus, from
    `start()` until `stop()`."""

    def __init__(self, window: QWidget, listener: QObject) -> None:
        self._window = window
        self._listener = listener
        self._watched: QObject | None = None
        self._connected = False

    def start(self) -> None:
        app = QApplication.instance()
        if isinstance(app, QApplication) and not self._connected:
            app.focusChanged.connect(self._follow)
            self._connected = True
        focused = QApplication.focusWidget()
        self._follow(None, focused)

    def stop(self) -> None:
        app = QApplication.instance()
        if isinstance(app, QApplication) and self._connected:
            app.focusChanged.disconnect(self._follow)
            self._connected = False
        self._watch(None)

    def _follow(self, _old: QWidget | None, new: QWidget | None) -> None:
        self._watch(new if new is not None and new.window() is self._window else self._window)

    def _watch(self, widget: QObject | None) -> None:
        if widget is self._watched:
            return
        if self._watched is not None:
            with contextlib.suppress(RuntimeError):  # the widget that had the focus is gone, its filters with it
                self._watched.removeEventFilter(self._listener)
        self._watched = widget
        if widget is not None:
            widget.installEventFilter(self._listener)
