"""The window's "Don't save this conversation" switch. On, a new conversation starts that is answered but kept
in memory only (core.off_record); off, the next one is saved again. With history switched off in
Settings > Privacy nothing is saved anyway: the box shows that, checked and greyed, and says where to change
it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from desktop_app.core.settings import HISTORY_SAVE, Settings, Subscription
from desktop_app.ui.qt import QCheckBox, QSignalBlocker, QWidget

TEXT = "&Don't save this conversation"
TIP_ON = "Answered as always, but nothing said, typed or answered from now on is written to the history"
TIP_HISTORY_OFF = "History is off in Settings > Privacy: no conversation is saved"
Post = Callable[[Callable[[], object]], None]


class PrivateControls(Protocol):
    def set_private(self, private: bool) -> bool: ...


class PrivateSwitch(QCheckBox):
    def __init__(
        self,
        controls: PrivateControls | None,
        settings: Settings | None,
        post: Post | None,
        said: Callable[[str], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(TEXT, parent)
        self.setObjectName("private")
        self.setAccessibleDescription(TIP_ON)
        self.setToolTip(TIP_ON)
        self._controls = controls
        self._said = said
        self._subscription: Subscription | None = None
        self._private = False  # the user's choice, shown again when history is switched back on
        self.setEnabled(controls is not None)
        self.toggled.connect(self._switched)
        if settings is not None:
            self._history_switched(settings.get(HISTORY_SAVE))

            def changed(on: bool) -> None:
                if post is None:
                    self._history_switched(on)
                else:
                    post(lambda: self._history_switched(on))

            self._subscription = settings.subscribe(HISTORY_SAVE, changed)

    def _switched(self, private: bool) -> None:
        if self._controls is None or not self._controls.set_private(private):
            with QSignalBlocker(self):
                self.setChecked(not private)
            return
        self._private = private
        self._said(
            "Not saving: this conversation is answered but not kept."
            if private
            else "Saving again: the next question starts a conversation that is kept."
        )

    def _history_switched(self, history_on: bool) -> None:
        with QSignalBlocker(self):
            self.setChecked(self._private or not history_on)
        self.setEnabled(history_on and self._controls is not None)
        self.setToolTip(TIP_ON if history_on else TIP_HISTORY_OFF)

    def close_switch(self) -> None:
        if self._subscription is not None:
            self._subscription.unsubscribe()
            self._subscription = None
