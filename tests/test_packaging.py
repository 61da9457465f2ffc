"""What pip installs: every package of the source tree, the migrations and the bundled resources."""

from __future__ import annotations

import tomllib
from pathlib import Path

from setuptools import find_packages

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_is_listed_in_pyproject() -> None:
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {name for name in find_packages(str(ROOT), include=["desktop_app*"])} | {"desktop_app.resources"}
    assert listed == found


def test_bundled_files_are_reachable_from_the_installed_package() -> None:
    from desktop_app.resources import resource_path

    from desktop_app.storage.migrate import MIGRATIONS_DIR, head_revision

    assert resource_path("icons/voice-assistant.svg").read_text().startswith("<svg")
    assert (MIGRATIONS_DIR / "env.py").exists() and head_revision()
