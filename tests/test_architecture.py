"""The layers keep their direction: core imports no Qt, no database and no adapter."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "desktop_app"
CORE_FORBIDDEN = ("PySide6", "sqlalchemy", "alembic", "sounddevice", "desktop_app.storage", "desktop_app.ui")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_core_is_pure_python() -> None:
    offenders = {
        f"{path.relative_to(PACKAGE)}: {name}"
        for path in (PACKAGE / "core").rglob("*.py")
        for name in _imports(path)
        if name.startswith(CORE_FORBIDDEN)
    }
    assert not offenders


def test_only_the_qt_module_of_the_ui_imports_qt() -> None:
    """Other modules take Qt names from desktop_app/ui/qt.py, so a port to another binding is one file."""
    offenders = {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path != PACKAGE / "ui" / "qt.py" and any(n.startswith("PySide6") for n in _imports(path))
    }
    assert not offenders


def test_the_sql_store_implements_every_method_of_the_port() -> None:
    from desktop_app.core.ports import ConversationStore
    from desktop_app.storage.store import SqlConversationStore

    store_methods = {name for name in dir(ConversationStore) if not name.startswith("_")}
    assert store_methods <= set(dir(SqlConversationStore))
