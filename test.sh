#!/usr/bin/env bash
# Installs what the checks need (system packages, .venv with the test extras), then runs them all:
# ruff, mypy, import-linter and pytest. Arguments go to pytest:
#   ./test.sh                   everything
#   ./test.sh -k history -x     a subset
# SKIP_CHECKS=1 skips ruff, mypy and import-linter. Exits non-zero when anything fails, including a pytest
# run that collected no tests.
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/scripts/common.sh"
cd "$VA_ROOT"

declare -a phase_lines=()
declare -a failed=()
total_start=$EPOCHREALTIME

elapsed_since() { # START: seconds since START, with two decimals
    local now=$EPOCHREALTIME
    awk -v a="$1" -v b="$now" 'BEGIN { printf "%.2f", b - a }'
}

summary() {
    local rc=$?
    {
        echo
        echo "==> phases"
        local line
        for line in "${phase_lines[@]}"; do
            echo "    $line"
        done
        echo "    total: $(elapsed_since "$total_start") s"
        if [ "${#failed[@]}" -gt 0 ]; then
            echo "==> FAILED: ${failed[*]}"
        elif [ "$rc" -ne 0 ]; then
            echo "==> FAILED (exit $rc)"
        else
            echo "==> all checks passed"
        fi
    } >&2
}
trap summary EXIT

# phase NAME COMMAND...: runs the command, records its time and result; a failure is remembered, not fatal.
phase() {
    local name=$1 start rc=0
    shift
    va_log "$name"
    start=$EPOCHREALTIME
    "$@" || rc=$?
    phase_lines+=("$(printf '%-18s %7s s  %s' "$name:" "$(elapsed_since "$start")" \
        "$([ "$rc" -eq 0 ] && echo ok || echo "FAILED (exit $rc)")")")
    [ "$rc" -eq 0 ] || failed+=("$name")
    return 0
}

# Setup stops the script at its first failure (set -e): nothing else can run without it.
va_log "setup"
setup_start=$EPOCHREALTIME
failed=(setup)
va_ensure_packages "${APP_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
va_ensure_venv
va_pip_install test
failed=()
phase_lines+=("$(printf '%-18s %7s s  %s' "setup:" "$(elapsed_since "$setup_start")" ok)")

export VIRTUAL_ENV="$VA_VENV"
export PATH="$VA_VENV/bin:$PATH"

if [ "${SKIP_CHECKS:-0}" != 1 ]; then
    phase "ruff" ruff check .
    phase "ruff format" ruff format --check .
    phase "mypy" mypy desktop_app resources/__init__.py
    phase "import-linter" lint-imports
fi

run_pytest() {
    local rc=0
    pytest "$@" || rc=$?
    if [ "$rc" -eq 5 ]; then
        echo "pytest collected no tests: that counts as a failure" >&2
    fi
    return "$rc"
}
phase "pytest" run_pytest "$@"

[ "${#failed[@]}" -eq 0 ]
