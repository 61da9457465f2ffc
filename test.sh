#!/usr/bin/env bash
# Installs what the checks need (system packages, .venv with the test extras), then runs them all:
# ruff, mypy, import-linter and pytest. Arguments go to pytest:
#   ./test.sh                   everything
#   ./test.sh -k history -x     a subset
# SKIP_CHECKS=1 skips ruff, mypy and import-linter. Exits non-zero when anything fails, including a pytest
# run that collected no tests.
#
# pytest measures coverage of desktop_app, the `python -m desktop_app` processes the tests start included
# ([tool.coverage.*] in pyproject.toml), and prints it. A run of the whole suite fails under the floor
# (fail_under there); a run that selects tests or stops early (-k, -m, -x, a path, ...) is not held to it.
# The combined data is left in .venv/.coverage: `.venv/bin/coverage report -m --data-file=.venv/.coverage`
# (or `coverage html ...`) shows the lines no test reached. SKIP_COVERAGE=1 runs without measuring (in a
# measured run the suite took about a third longer).
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
    [ -z "${coverage_dir:-}" ] || rm -rf "$coverage_dir"
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
va_ensure_packages "${APP_PACKAGES[@]}" "${BUNDLE_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
va_ensure_venv
va_pip_install test
failed=()
phase_lines+=("$(printf '%-18s %7s s  %s' "setup:" "$(elapsed_since "$setup_start")" ok)")

export VIRTUAL_ENV="$VA_VENV"
export PATH="$VA_VENV/bin:$PATH"

# What mypy checks: the app strictly, tests/ and bench/ less so (see [tool.mypy] in pyproject.toml).
MYPY_TARGETS=(desktop_app resources/__init__.py tests bench scripts)

if [ "${SKIP_CHECKS:-0}" != 1 ]; then
    phase "ruff" ruff check .
    phase "ruff format" ruff format --check .
    phase "mypy" mypy "${MYPY_TARGETS[@]}"
    phase "import-linter" lint-imports
fi

# selects_subset ARGS...: true when the pytest arguments select some tests or may stop before the end.
selects_subset() {
    local arg
    for arg in "$@"; do
        case "$arg" in
        -k* | -m* | -x | --exitfirst | --maxfail* | --lf | --last-failed | --sw | --stepwise* | --deselect* | \
            --ignore* | --co | --collect-only) return 0 ;;
        -*) ;;
        *) return 0 ;; # a path or node id (or the value of an option given as a separate word)
        esac
    done
    return 1
}

declare -a coverage_args=()
coverage_dir=
if [ "${SKIP_COVERAGE:-0}" != 1 ]; then
    # Data files go to a folder of their own that any user may write (sticky, like /tmp): a process the tests
    # run as another user (runuser, when the suite runs as root) can add its file there too.
    coverage_dir=$(mktemp -d "${TMPDIR:-/tmp}/va-coverage.XXXXXX")
    chmod 1777 "$coverage_dir"
    export COVERAGE_FILE="$coverage_dir/.coverage"
    coverage_args=(--cov --cov-report=term:skip-covered)
    coverage_floor="checked against the floor"
    if [ "$#" -gt 0 ] && selects_subset "$@"; then
        coverage_args+=(--cov-fail-under=0)
        coverage_floor="a subset: floor not checked"
    fi
fi

# Keeps the combined coverage data (pytest-cov combines every process's file into $COVERAGE_FILE), adds its
# total to the summary and removes the folder.
keep_coverage() {
    [ -n "$coverage_dir" ] || return 0
    local total
    if [ -f "$COVERAGE_FILE" ]; then
        mv -f "$COVERAGE_FILE" "$VA_VENV/.coverage"
        total=$(coverage report --data-file="$VA_VENV/.coverage" --format=total --fail-under=0 2>/dev/null || echo "?")
        phase_lines+=("$(printf '%-18s %7s %%  %s' "coverage:" "$total" "$coverage_floor")")
    fi
    rm -rf "$coverage_dir"
    coverage_dir=
}

run_pytest() {
    local rc=0
    pytest "${coverage_args[@]}" "$@" || rc=$?
    if [ "$rc" -eq 5 ]; then
        echo "pytest collected no tests: that counts as a failure" >&2
    fi
    return "$rc"
}
phase "pytest" run_pytest "$@"
keep_coverage

[ "${#failed[@]}" -eq 0 ]
