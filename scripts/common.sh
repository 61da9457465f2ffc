# shellcheck shell=bash
# Shared by start.sh and test.sh (source it, don't run it): system packages, the virtual environment and
# the editable install, each done only when something is missing or changed.

VA_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VA_VENV="$VA_ROOT/.venv"
VA_MIN_PYTHON="3.11"
VA_APT_UPDATED=0

# shellcheck source=scripts/packages.sh
. "$VA_ROOT/scripts/packages.sh"

va_log() { printf '==> %s\n' "$*" >&2; }
va_die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

# Runs a command as root: directly when we are root, through sudo otherwise.
va_as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        va_die "need root to run '$*': run as root or install sudo"
    fi
}

# Prints, one per line, the package specs (see scripts/packages.sh) none of whose alternatives is installed.
# One dpkg-query call for all of them: `${Status}` is "install ok installed" for an installed package.
va_missing_packages() {
    local spec alt found name status
    local -a alts names=()
    local -A installed=()
    for spec in "$@"; do
        IFS='|' read -r -a alts <<<"$spec"
        names+=("${alts[@]}")
    done
    while read -r name status; do
        [[ "$status" == *" installed" ]] && installed[$name]=1
    done < <(dpkg-query -W -f='${Package} ${Status}\n' "${names[@]}" 2>/dev/null || true)
    for spec in "$@"; do
        IFS='|' read -r -a alts <<<"$spec"
        found=0
        for alt in "${alts[@]}"; do
            if [ -n "${installed[$alt]:-}" ]; then
                found=1
                break
            fi
        done
        [ "$found" -eq 1 ] || printf '%s\n' "$spec"
    done
}

# Picks the first alternative of a spec that apt can install (the last one when apt knows none).
va_pick_alternative() {
    local spec=$1 alt
    local -a alts
    IFS='|' read -r -a alts <<<"$spec"
    for alt in "${alts[@]}"; do
        if apt-cache show --no-all-versions "$alt" >/dev/null 2>&1; then
            printf '%s\n' "$alt"
            return
        fi
    done
    printf '%s\n' "${alts[-1]}"
}

va_apt() {
    va_as_root env DEBIAN_FRONTEND=noninteractive apt-get -q -o Dpkg::Use-Pty=0 "$@" </dev/null
}

# Installs the package specs that are missing. A machine that has them all never runs apt.
va_ensure_packages() {
    if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
        va_log "not a Debian/Ubuntu system: make sure these (or your system's equivalents) are installed: $*"
        return 0
    fi
    local -a missing=() names=()
    local spec
    mapfile -t missing < <(va_missing_packages "$@")
    [ "${#missing[@]}" -eq 0 ] && return 0
    if [ "$VA_APT_UPDATED" -eq 0 ]; then
        va_log "apt-get update"
        va_apt update || return 1
        VA_APT_UPDATED=1
    fi
    for spec in "${missing[@]}"; do
        names+=("$(va_pick_alternative "$spec")")
    done
    va_log "installing system packages: ${names[*]}"
    va_apt install -y --no-install-recommends "${names[@]}"
}

va_python_ok() { # INTERPRETER: true when it runs and is new enough
    "$1" -c "import sys; sys.exit(sys.version_info < (${VA_MIN_PYTHON/./, }))" >/dev/null 2>&1
}

# Prints the first Python >= 3.11 found: $PYTHON, then python3, then versioned names.
va_find_python() {
    local candidate
    for candidate in "${PYTHON:-}" python3 python3.13 python3.12 python3.11; do
        [ -n "$candidate" ] || continue
        command -v "$candidate" >/dev/null 2>&1 || continue
        if va_python_ok "$candidate"; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

# Creates .venv unless it already holds a working Python >= 3.11.
va_ensure_venv() {
    if [ -x "$VA_VENV/bin/python" ] && va_python_ok "$VA_VENV/bin/python"; then
        return 0
    fi
    local python version
    if ! python=$(va_find_python); then
        va_ensure_packages "${PYTHON_PACKAGES[@]}"
        if ! python=$(va_find_python); then
            # Older releases (Ubuntu 22.04) ship 3.10 as python3 but package 3.11 beside it.
            va_ensure_packages python3.11 python3.11-venv || true
            python=$(va_find_python) || va_die "Python ${VA_MIN_PYTHON} or newer is needed; install it, or point PYTHON at it"
        fi
    fi
    rm -rf "$VA_VENV"
    va_log "creating .venv with $python ($("$python" -V 2>&1))"
    if ! "$python" -m venv "$VA_VENV" >/dev/null 2>&1; then
        # Debian and Ubuntu ship venv/ensurepip separately.
        rm -rf "$VA_VENV"
        version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
        va_ensure_packages "python${version}-venv|python3-venv"
        "$python" -m venv "$VA_VENV" || va_die "could not create $VA_VENV with $python"
    fi
}

# What an install depends on: the project's metadata, the extras, where it lives and the interpreter.
va_install_key() {
    {
        cat "$VA_ROOT/pyproject.toml"
        printf 'extras=%s\nroot=%s\n' "$1" "$VA_ROOT"
        "$VA_VENV/bin/python" -VV
    } | sha256sum | cut -d' ' -f1
}

va_stamp_file() { printf '%s/.installed-%s\n' "$VA_VENV" "${1:-app}"; }

va_install_is_current() { # EXTRAS
    local stamp
    stamp=$(va_stamp_file "$1")
    [ -f "$stamp" ] && [ -x "$VA_VENV/bin/voice-assistant" ] && [ "$(cat "$stamp")" = "$(va_install_key "$1")" ]
}

# `pip install -e .[EXTRAS]` into .venv, skipped when nothing it depends on changed since the last one.
va_pip_install() {
    local extras=${1:-} spec=.
    [ -n "$extras" ] && spec=".[$extras]"
    va_install_is_current "$extras" && return 0
    # The test install includes everything the app install has.
    [ -z "$extras" ] && va_install_is_current test && return 0
    va_log "pip install -e '$spec' into .venv"
    local -a quiet=()
    [ -t 1 ] || quiet=(--progress-bar off)
    (cd "$VA_ROOT" && "$VA_VENV/bin/python" -m pip install --disable-pip-version-check "${quiet[@]}" -e "$spec") >&2 ||
        return 1
    va_install_key "$extras" >"$(va_stamp_file "$extras")"
}
