"""scripts/trim_icu_data.py, which build.spec runs on the bundle's copy of Qt's ICU data library: the trimmed
library is a quarter of the size, keeps English and root locale data, and Qt loaded with it still collates,
names time zones and maps case, where a package that lost those items would not."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Run in a fresh interpreter with the trimmed library found first (LD_LIBRARY_PATH comes before the RUNPATH
# PySide6's libraries carry).
QT_CHECK = """
import os
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtCore import QCollator, QLocale, QTimeZone
from PySide6.QtGui import QGuiApplication
app = QGuiApplication([])
collator = QCollator(QLocale("en_US"))
collator.setNumericMode(True)
print(sorted(["file10", "file2", "File1"], key=collator.sortKey))
zone = QTimeZone(b"Europe/Paris")
print(zone.displayName(QTimeZone.TimeType.StandardTime, QTimeZone.NameType.LongName, QLocale("en_US")))
print(QLocale("tr_TR").toUpper("i"))
"""


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("trim_icu_data", ROOT / "scripts" / "trim_icu_data.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def script() -> ModuleType:
    return load_script()


def wheel_library() -> Path:
    import PySide6

    found = sorted((Path(PySide6.__file__).parent / "Qt" / "lib").glob("libicudata.so.*"))
    assert found, "PySide6 brings no libicudata: the trimming has nothing to do"
    return found[0]


def run_qt_check(library_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LD_LIBRARY_PATH": str(library_dir)}
    return subprocess.run([sys.executable, "-c", QT_CHECK], capture_output=True, text=True, env=env, timeout=120)


def test_the_trimmed_library_still_serves_what_qt_asks_of_it(script: ModuleType, tmp_path: Path) -> None:
    source = wheel_library()
    trimmed = tmp_path / source.name
    before, after = script.trim(source, trimmed)
    assert after < before / 3 and trimmed.stat().st_size < 10_000_000
    assert source.stat().st_size > 30_000_000  # the wheel's own copy is never changed

    symbol, package = script.embedded_package(trimmed)
    assert symbol == script.embedded_package(source)[0] and len(package) == after
    listed = subprocess.run(["readelf", "-d", str(trimmed)], capture_output=True, text=True, check=True).stdout
    assert f"Library soname: [{source.name}]" in listed

    done = run_qt_check(tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["['File1', 'file2', 'file10']", "Central European Standard Time", "İ"]
    assert "collator" not in done.stderr.lower()


def test_the_check_would_see_a_package_without_its_english_data(
    script: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same check against a package that also lost its collation and time-zone names: it fails, so the
    passing check above means something."""
    original = script.is_removed
    monkeypatch.setattr(script, "is_removed", lambda item: original(item) or item.startswith(("coll/", "zone/")))
    script.trim(wheel_library(), tmp_path / wheel_library().name)
    done = run_qt_check(tmp_path)
    assert done.stdout.splitlines()[:2] != ["['File1', 'file2', 'file10']", "Central European Standard Time"]


@pytest.mark.parametrize(
    ("item", "removed"),
    [
        ("coll/de.res", True),
        ("coll/es_.res", True),
        ("zone/zh_Hant_TW.res", True),
        ("de_AT.res", True),
        ("translit/Latin_ASCII.res", True),
        ("ibm-943_P15A-2003.cnv", True),
        ("coll/en.res", False),
        ("zone/en_GB.res", False),
        ("coll/root.res", False),
        ("curr/pool.res", False),
        ("translit/root.res", False),
        ("res_index.res", False),
        ("supplementalData.res", False),
        ("zoneinfo64.res", False),
        ("brkitr/cjdict.dict", False),  # the break rules refer to it
        ("uprops.icu", False),
        ("coll/ucadata.icu", False),
        ("nfkc.nrm", False),
    ],
)
def test_what_is_left_out(script: ModuleType, item: str, removed: bool) -> None:
    assert script.is_removed(item) is removed


def test_a_library_that_is_not_icu_data_is_refused_and_left_alone(script: ModuleType, tmp_path: Path) -> None:
    other = wheel_library().with_name("libQt6Core.so.6")
    output = tmp_path / "libicudata.so.73"
    with pytest.raises(script.TrimError, match="exports no icudtNN_dat symbol"):
        script.trim(other, output)
    assert not output.exists()
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "trim_icu_data.py"), str(other), str(output)])
    assert done.returncode == 1 and not output.exists()
