"""Makes the ICU data library Qt loads (libicudata.so.NN, 31 MB in PySide6's wheel) carry only what an
English-speaking app needs: the core tables, the collation, time-zone, currency, unit and language names of
the root and English locales, the break rules and their dictionaries, and the structural tables. Left out:
every other locale's data, the transliterators and the legacy character-set converters (Qt decodes UTF-8,
UTF-16 and Latin-1 itself). The result is about 8 MB. build.spec runs it on the bundle (Linux only).

ICU's own package tool does the cutting (`icupkg`, Debian/Ubuntu package icu-devtools): it checks that every
item kept still finds the items it refers to. The package is then put back into a shared library of the same
name and soname, exporting the same symbol (icudtNN_dat), with the assembler and linker (binutils).

    python scripts/trim_icu_data.py PATH/libicudata.so.73 [OUTPUT]    # OUTPUT defaults to replacing PATH
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

TOOLS = {"icupkg": "icu-devtools", "as": "binutils", "ld": "binutils", "readelf": "binutils"}
KEPT_LANGUAGES = ("en",)
# An item named like a locale ("de", "de_AT", "zh_Hant_TW", "es_"...): kept only for the languages above.
_LOCALE = re.compile(r"[a-z]{2,3}(_\w*)?")
_STRUCTURAL = frozenset({"root", "res_index", "pool"})  # every resource tree's root and index
_SYMBOL = re.compile(r"^\s*\d+:\s+([0-9a-f]+)\s+(\S+)\s+OBJECT\s+GLOBAL\s+\S+\s+\d+\s+(icudt\d+_dat)$", re.MULTILINE)


class TrimError(Exception):
    pass


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise TrimError(f"{name} is missing: install {TOOLS[name]} (./build.sh does)")
    return found


def is_removed(item: str) -> bool:
    """Whether an item of the package (e.g. "coll/de.res", "ibm-943_P15A-2003.cnv") is left out."""
    folder, _, name = item.rpartition("/")
    stem, _, extension = name.rpartition(".")
    if extension == "cnv":
        return True
    if folder == "translit":
        return stem not in _STRUCTURAL
    if extension == "res" and _LOCALE.fullmatch(stem) and stem not in _STRUCTURAL:
        return stem.split("_", 1)[0] not in KEPT_LANGUAGES
    return False


def _output(name: str, *arguments: str) -> str:
    return subprocess.run([tool(name), *arguments], capture_output=True, text=True, check=True).stdout


def embedded_package(library: Path) -> tuple[str, bytes]:
    """The symbol name and bytes of the ICU data package the library exports."""
    found = _SYMBOL.search(_output("readelf", "--dyn-syms", "-W", str(library)))
    if found is None:
        raise TrimError(f"{library} exports no icudtNN_dat symbol: not an ICU data library")
    address, size, symbol = int(found.group(1), 16), int(found.group(2), 0), found.group(3)
    for line in _output("readelf", "-S", "-W", str(library)).splitlines():
        parts = line.replace("[ ", "[").split()
        if len(parts) > 5 and parts[0].startswith("[") and parts[2] in ("PROGBITS",):
            start, offset, length = int(parts[3], 16), int(parts[4], 16), int(parts[5], 16)
            if start <= address < start + length:
                data = library.read_bytes()[offset + address - start : offset + address - start + size]
                return symbol, data
    raise TrimError(f"{library}: the section holding {symbol} was not found")


def trim(library: Path, output: Path) -> tuple[int, int]:
    """Writes the trimmed library to `output`; returns the package's size before and after."""
    symbol, package = embedded_package(library)
    name = symbol.removesuffix("_dat") + "l"  # icudt73l: the package's own name, which its items are found by
    with tempfile.TemporaryDirectory(prefix="icu-trim-") as work:
        folder = Path(work)
        (folder / "in").mkdir()
        (folder / "out").mkdir()
        source = folder / "in" / f"{name}.dat"
        source.write_bytes(package)
        removed = [item for item in _output("icupkg", "-l", str(source)).split() if is_removed(item)]
        (folder / "remove.lst").write_text("\n".join(removed) + "\n")
        trimmed = folder / "out" / f"{name}.dat"
        done = subprocess.run(
            [tool("icupkg"), "-r", str(folder / "remove.lst"), str(source), str(trimmed)],
            capture_output=True,
            text=True,
            check=False,  # its complaint (an item that needs a removed one) is reported below
        )
        if done.returncode != 0 or not trimmed.is_file():
            raise TrimError(f"icupkg could not trim the package: {done.stderr.strip() or done.stdout.strip()}")
        assembly = folder / "data.S"
        assembly.write_text(
            "    .section .rodata\n    .balign 16\n"
            f"    .globl {symbol}\n    .type {symbol}, @object\n{symbol}:\n"
            f'    .incbin "{trimmed}"\n    .size {symbol}, . - {symbol}\n'
            '    .section .note.GNU-stack,"",@progbits\n'
        )
        subprocess.run([tool("as"), "-o", str(folder / "data.o"), str(assembly)], check=True)
        built = folder / library.name
        soname = library.name
        subprocess.run([tool("ld"), "-shared", "-soname", soname, "-o", str(built), str(folder / "data.o")], check=True)
        built.chmod(0o755)
        shutil.move(str(built), output)  # replaces the copy in the bundle (never the one in the wheel)
        return len(package), trimmed.stat().st_size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("library", type=Path)
    parser.add_argument("output", type=Path, nargs="?")
    args = parser.parse_args()
    try:
        before, after = trim(args.library, args.output or args.library)
    except (TrimError, subprocess.CalledProcessError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"{args.library.name}: ICU data {before / 1e6:.1f} MB -> {after / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
