"""`voice-assistant --self-test` in a new process, as a user (or a freshly built bundle) runs it: on a
machine with the private sound server and keychain every check passes; without them the required checks
still pass and the missing parts are reported; a required check that fails makes the exit status 1. It works
in a temporary folder and leaves the user's own folders untouched."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from desktop_app.cli import self_test
from desktop_app.cli.errors import EXIT_FAILURE
from desktop_app.paths import AppPaths

REQUIRED = ("store", "recogniser", "speech", "turn", "window")
BOUND_S = 180


def self_test_in_new_process(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "desktop_app", "--self-test"],
        env=env,
        capture_output=True,
        text=True,
        timeout=BOUND_S,
    )


def lines_by_check(stdout: str) -> dict[str, str]:
    found = {}
    for line in stdout.splitlines()[1:-1]:
        mark, name = line.split()[:2]
        found[name] = mark
    return found


def test_with_sound_and_a_keychain_every_check_passes(pulse_audio, system_keychain, tmp_path: Path) -> None:
    env = {**os.environ, **pulse_audio.env(), **system_keychain.env()}
    done = self_test_in_new_process(env)
    assert done.returncode == 0, done.stdout + done.stderr
    checks = lines_by_check(done.stdout)
    assert checks == {name: "ok" for name in (*REQUIRED, "keychain", "sound")}, done.stdout
    assert "heard 'what time is it'" in done.stdout and "answered '2 plus 2 is 4.'" in done.stdout
    assert "Virtual Microphone" in done.stdout
    assert done.stdout.rstrip().endswith("every required check passed")
    assert "Traceback" not in done.stderr


def test_without_sound_or_keychain_the_required_checks_still_pass(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key not in ("PULSE_SERVER", "DBUS_SESSION_BUS_ADDRESS")}
    env["DBUS_SESSION_BUS_ADDRESS"] = f"unix:path={tmp_path / 'no-bus'}"  # no session bus: no Secret Service
    env["PULSE_SERVER"] = f"unix:{tmp_path / 'no-sound-server'}"
    done = self_test_in_new_process(env)
    assert done.returncode == 0, done.stdout + done.stderr
    checks = lines_by_check(done.stdout)
    assert checks == {**{name: "ok" for name in REQUIRED}, "keychain": "warn", "sound": "warn"}, done.stdout
    assert "(not required)" in done.stdout and "Traceback" not in done.stderr
    # Nothing of the app in the user's own folders: the checks ran in a temporary one.
    assert not AppPaths.resolve().data_dir.exists() and not AppPaths.resolve().config_dir.exists()


def test_a_required_check_that_fails_is_said_and_fails_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    def store_on_a_full_disk(_paths: AppPaths) -> str:
        raise OSError(28, "No space left on device")

    checks = tuple(
        self_test.Check(check.name, check.required, store_on_a_full_disk) if check.name == "store" else check
        for check in self_test.CHECKS
        if check.name in ("store", "turn")
    )
    monkeypatch.setattr(self_test, "CHECKS", checks)
    out = io.StringIO()
    assert self_test.run_self_test(out) == EXIT_FAILURE
    lines = out.getvalue().splitlines()
    assert lines[1].startswith("FAIL  store") and "No space left on device" in lines[1]
    assert lines[2].startswith("ok    turn")  # the other checks still run
    assert lines[-1] == "failed: store"
