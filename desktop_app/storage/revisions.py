"""The schema revisions in the migrations folder, read from the files' text: whether a database is current,
or was written by a newer release, is known without importing alembic (which costs more than the rest of
opening the store). Only a plain chain written the plain way is read; anything else (a merge, a branch, a
dependency, a revision id that is computed) makes `read_revisions` give up, and the caller asks alembic."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

# Top-level assignments as the migration template writes them, with or without a type annotation.
_REVISION = re.compile(r"""^revision(?:\s*:[^=\n]+)?\s*=\s*["']([^"'\n]+)["']\s*$""", re.MULTILINE)
_DOWN_REVISION = re.compile(r"""^down_revision(?:\s*:[^=\n]+)?\s*=\s*(?:None|["']([^"'\n]+)["'])\s*$""", re.MULTILINE)
_UNSET = {
    name: re.compile(rf"^{name}(?:\s*:[^=\n]+)?\s*=\s*None\s*$", re.MULTILINE)
    for name in ("branch_labels", "depends_on")
}
_MENTIONED = {name: re.compile(rf"^{name}\b", re.MULTILINE) for name in ("revision", "down_revision", *_UNSET)}


@dataclass(frozen=True, slots=True)
class Revisions:
    head: str | None
    known: frozenset[str]


def read_revisions(versions_dir: Path) -> Revisions | None:
    """The head and every revision of the scripts in `versions_dir` (the files alembic reads there: *.py but
    __init__.py and editor locks), or None when they are not one plain chain from a single base."""
    down_of: dict[str, str | None] = {}
    try:
        scripts = sorted(versions_dir.glob("*.py"))
        for script in scripts:
            if script.name.startswith((".#", "__init__")):
                continue
            parsed = _parse(script.read_text(encoding="utf-8"))
            if parsed is None or parsed[0] in down_of:
                return None
            down_of[parsed[0]] = parsed[1]
    except (OSError, UnicodeDecodeError):
        return None
    return _chain(down_of)


def _parse(text: str) -> tuple[str, str | None] | None:
    """(revision, down_revision) of one script; None unless each is assigned once, plainly, and it has no
    branch labels and no dependencies."""
    if any(len(pattern.findall(text)) != 1 for pattern in _MENTIONED.values()):
        return None
    revision = _REVISION.search(text)
    down = _DOWN_REVISION.search(text)
    if revision is None or down is None or not all(pattern.search(text) for pattern in _UNSET.values()):
        return None
    return revision.group(1), down.group(1)


def _chain(down_of: dict[str, str | None]) -> Revisions | None:
    """The revisions must form one line: one head, each step down known, ending at the one base."""
    if not down_of:
        return Revisions(None, frozenset())
    referred = {down for down in down_of.values() if down is not None}
    heads = [revision for revision in down_of if revision not in referred]
    if len(heads) != 1:
        return None
    seen: set[str] = set()
    step: str | None = heads[0]
    while step is not None:
        if step in seen or step not in down_of:
            return None
        seen.add(step)
        step = down_of[step]
    if len(seen) != len(down_of):
        return None
    return Revisions(heads[0], frozenset(down_of))
