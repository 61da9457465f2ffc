"""A start-up check of the Qt binding: refuse one that is known to corrupt Python's reference counts.

PySide6-Essentials 6.12.0 returns `True` from `SignalInstance.emit()`, and `None` from every method that
returns nothing (`QLabel.setText`, `QProgressBar.setValue`, ...), without taking a reference. On Python
3.11, where `True`, `False` and `None` are ordinary objects with a reference count, every such call lowers
that count by one, and minutes later the interpreter aborts (`Fatal Python error: bool_dealloc` or
`none_dealloc`). No way of calling Qt avoids it, so a binding with this defect is refused with a message
that says how to fix it, instead of a crash minutes into use.

Two checks: the releases known to have the defect, and a probe of the defect itself (a few signal emits
and calls of a method that returns nothing, watching the counts of `True`, `False` and `None`), so a new
release with the same fault is caught too.
"""

from __future__ import annotations

import sys

from desktop_app.ui.qt import BINDING_VERSION, QObject, Signal

KNOWN_BAD_RELEASES = frozenset({"6.12.0"})
PROBE_CALLS = 32
# A few references can come and go on other threads while the probe runs; the defect loses one per call.
PROBE_TOLERANCE = PROBE_CALLS // 2
FIX_HINT = "Install another release: pip install 'PySide6-Essentials>=6.7,!=6.12.0' (or run ./start.sh)."

# The references a defective probe took from the singletons, given back so they never reach zero here.
_repaid: list[object] = []


class _Probe(QObject):
    fired = Signal(object)


def _counts() -> tuple[int, int, int]:
    return sys.getrefcount(True), sys.getrefcount(False), sys.getrefcount(None)


def probe_lost_references(calls: int = PROBE_CALLS) -> int:
    """How many references to True, False or None `calls` signal emits and as many calls of a method that
    returns nothing lost (0 on a sound binding)."""
    probe = _Probe()
    received: list[object] = []
    probe.fired.connect(received.append)
    before = _counts()
    for number in range(calls):
        probe.fired.emit(number)
        probe.setObjectName(str(number))
    after = _counts()
    lost = 0
    for singleton, was, now in zip((True, False, None), before, after, strict=True):
        if now < was:
            _repaid.extend([singleton] * (was - now))
            lost = max(lost, was - now)
    probe.deleteLater()
    return lost


def binding_problem(version: str = BINDING_VERSION) -> str | None:
    """None when the Qt binding is usable; otherwise one sentence that says what is wrong and what to do."""
    if version in KNOWN_BAD_RELEASES:
        return (
            f"PySide6 {version} has a known defect that crashes the app after a few minutes "
            f"(it loses references to True and None). {FIX_HINT}"
        )
    lost = probe_lost_references()
    if lost >= PROBE_TOLERANCE:
        return (
            f"PySide6 {version} loses Python references to True or None ({lost} in {PROBE_CALLS} calls), "
            f"which crashes the app after a few minutes. {FIX_HINT}"
        )
    return None
