#!/usr/bin/env bash
# Installs what is missing (system packages, .venv, the app), then starts the app with the given arguments:
#   ./start.sh                  the desktop window
#   ./start.sh --version
#   ./start.sh history list
# A second run installs nothing and starts at once.
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/scripts/common.sh"

va_ensure_packages "${APP_PACKAGES[@]}"
va_ensure_venv
va_pip_install ""

exec "$VA_VENV/bin/voice-assistant" "$@"
