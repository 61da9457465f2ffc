#!/usr/bin/env bash
# Builds the double-click bundle: installs what is missing (system packages, .venv with the project and
# PyInstaller), then `python -m PyInstaller build.spec`. The result is dist/voice-assistant/ (start
# dist/voice-assistant/voice-assistant) and dist/voice-assistant-VERSION-linux-ARCH.tar.gz; the bundle's own
# `--self-test` runs at the end. Arguments go to PyInstaller (e.g. --clean).
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/scripts/common.sh"
cd "$VA_ROOT"

va_ensure_packages "${APP_PACKAGES[@]}" "${BUNDLE_PACKAGES[@]}"
va_ensure_venv
va_pip_install bundle

va_log "PyInstaller build.spec"
"$VA_VENV/bin/python" -m PyInstaller --noconfirm "$@" build.spec
version=$("$VA_VENV/bin/python" -c 'from desktop_app import __version__; print(__version__)')
archive="dist/voice-assistant-$version-linux-$(uname -m).tar.gz"
tar -C dist -czf "$archive" voice-assistant
va_log "bundle: dist/voice-assistant ($(du -sh dist/voice-assistant | cut -f1)), $archive ($(du -sh "$archive" | cut -f1))"
QT_QPA_PLATFORM=offscreen dist/voice-assistant/voice-assistant --self-test
