"""The settings dialog's sections, in the order its list shows them."""

from __future__ import annotations

from desktop_app.ui.settings.section import Section
from desktop_app.ui.settings.startup import StartupSection

ALL_SECTIONS: tuple[type[Section], ...] = (StartupSection,)
