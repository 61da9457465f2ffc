"""Renders the app icon (resources/icons/voice-assistant.svg) into the bitmaps desktops want: PNGs at the
hicolor theme's sizes (Linux menus), a multi-size .ico (the Windows executable) and an .icns (the macOS app
bundle). Run it after changing the SVG; the results are committed, and tests/test_desktop_integration.py
checks that they still match the SVG.

    .venv/bin/python scripts/render_icons.py            # writes resources/icons/voice-assistant-*.png, .ico, .icns
    .venv/bin/python scripts/render_icons.py --check    # exits 1 when a committed file differs from a new rendering
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QBuffer, QIODevice, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ICONS = Path(__file__).resolve().parent.parent / "resources" / "icons"
SOURCE = ICONS / "voice-assistant.svg"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)  # the hicolor theme's usual fixed sizes
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)  # 256 is the largest an .ico entry can say it holds
# The .icns entry types that hold PNG data, by pixel size (the @2x types share sizes with plain ones).
ICNS_TYPES = ((b"icp4", 16), (b"icp5", 32), (b"icp6", 64), (b"ic07", 128), (b"ic08", 256), (b"ic09", 512))


def png_path(size: int) -> Path:
    return ICONS / f"voice-assistant-{size}.png"


def render_png(svg: Path, size: int) -> bytes:
    """The SVG drawn on a transparent square of `size` pixels, as PNG bytes (no text chunks, no gamma: the
    same input gives the same bytes)."""
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"{svg}: not an SVG Qt can draw")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    # Quality 0: the smallest file (zlib level 9). The binding takes the format as str only, its stubs say bytes.
    image.convertToFormat(QImage.Format.Format_ARGB32).save(buffer, "PNG", 0)  # type: ignore[call-overload]
    return bytes(buffer.data().data())


def pack_ico(pngs: dict[int, bytes]) -> bytes:
    """An .ico whose entries are PNG images (read by Windows Vista and later): a 6-byte header, a 16-byte
    directory entry per image, then the images. A width or height of 256 is written as 0."""
    header = struct.pack("<HHH", 0, 1, len(pngs))
    offset = len(header) + 16 * len(pngs)
    entries, images = b"", b""
    for size, data in sorted(pngs.items()):
        side = 0 if size == 256 else size
        entries += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(data), offset + len(images))
        images += data
    return header + entries + images


def pack_icns(pngs: dict[int, bytes]) -> bytes:
    """An .icns: the 'icns' magic and total length, then per image a 4-byte type, its length with the
    8-byte entry header, and the PNG data."""
    body = b"".join(kind + struct.pack(">I", 8 + len(pngs[size])) + pngs[size] for kind, size in ICNS_TYPES)
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def rendered_files(svg: Path = SOURCE) -> dict[Path, bytes]:
    """Every file this script makes, with its content."""
    pngs = {size: render_png(svg, size) for size in PNG_SIZES}
    files = {png_path(size): data for size, data in pngs.items()}
    files[ICONS / "voice-assistant.ico"] = pack_ico({size: pngs[size] for size in ICO_SIZES})
    files[ICONS / "voice-assistant.icns"] = pack_icns(pngs)
    return files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args()
    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    stale = []
    for path, data in rendered_files().items():
        if args.check:
            if not path.is_file() or path.read_bytes() != data:
                stale.append(path)
        else:
            path.write_bytes(data)
            print(f"{path.relative_to(ICONS.parent.parent)}: {len(data)} bytes")
    for path in stale:
        print(f"{path} differs from a new rendering of {SOURCE.name}: run scripts/render_icons.py", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
