"""A private PulseAudio server with a virtual speaker and a virtual microphone that hears it.

What is played into the speaker (`vspk`) is what the microphone (`vmic`, a remap of the speaker's monitor)
records, sample for sample, so a test can speak into the app and record what the app says. The server is
private (its own socket in a temporary directory) and needs no sound card.

    python tests/pulse_server.py      # start one by hand; prints the PULSE_SERVER value, Ctrl+C stops it
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

INSTALL_HINT = "Run ./test.sh once: it installs PulseAudio (packages pulseaudio, pulseaudio-utils)."
SPEAKER = "vspk"
MICROPHONE = "vmic"


class PulseUnavailable(RuntimeError):
    """PulseAudio is missing or did not start; the message says what to do."""


def _launch(executable: str, directory: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "HOME": str(directory), "XDG_RUNTIME_DIR": str(directory)}
    env.pop("PULSE_SERVER", None)
    return subprocess.Popen(
        [
            executable,
            "-n",
            "-F",
            str(directory / "server.pa"),
            "--daemonize=no",
            "--exit-idle-time=-1",
            "--use-pid-file=no",
            f"--log-target=file:{directory / 'pulse.log'}",
        ],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


class PulseAudioServer:
    def __init__(self, process: subprocess.Popen[bytes], directory: Path) -> None:
        self.process = process
        self.directory = directory
        self.server = f"unix:{directory / 'native'}"

    @classmethod
    def start(cls, rate: int = 48_000, channels: int = 2, timeout: float = 20.0) -> PulseAudioServer:
        """`rate` and `channels` are the virtual devices' own format: 48 kHz stereo like most sound cards,
        so the app's conversion to 16 kHz mono is exercised."""
        executable = shutil.which("pulseaudio")
        if executable is None or shutil.which("pactl") is None:
            raise PulseUnavailable(f"pulseaudio or pactl not found on PATH. {INSTALL_HINT}")
        directory = Path(tempfile.mkdtemp(prefix="va-pulse-"))
        directory.chmod(0o700)
        script = directory / "server.pa"
        script.write_text(
            f"load-module module-native-protocol-unix auth-anonymous=1 socket={directory / 'native'}\n"
            f"load-module module-null-sink sink_name={SPEAKER} rate={rate} channels={channels} norewinds=1 "
            f"sink_properties=device.description=Virtual-Speaker\n"
            f"load-module module-remap-source master={SPEAKER}.monitor source_name={MICROPHONE} "
            f"source_properties=device.description=Virtual-Microphone\n"
            f"set-default-sink {SPEAKER}\n"
            f"set-default-source {MICROPHONE}\n"
        )
        server = cls(_launch(executable, directory), directory)
        atexit.register(server.stop)
        if not server._wait_until_up(timeout):
            log = server.log()
            server.stop()
            raise PulseUnavailable(f"PulseAudio did not start within {timeout:.0f} s:\n{log}")
        return server

    def kill(self) -> None:
        """Ends the server abruptly, as when a sound card vanishes; restart() brings it back."""
        self.process.kill()
        self.process.wait()

    def restart(self, timeout: float = 20.0) -> None:
        """Starts the server again with the same devices on the same socket."""
        (self.directory / "native").unlink(missing_ok=True)
        self.process = _launch(shutil.which("pulseaudio") or "pulseaudio", self.directory)
        if not self._wait_until_up(timeout):
            raise PulseUnavailable(f"PulseAudio did not restart within {timeout:.0f} s:\n{self.log()}")

    def _wait_until_up(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            if self.pactl("info").returncode == 0:
                return True
            time.sleep(0.05)
        return False

    def env(self) -> dict[str, str]:
        """Environment for a process that should use this server."""
        return {**os.environ, "PULSE_SERVER": self.server}

    def pactl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["pactl", *args], env=self.env(), capture_output=True, text=True, timeout=10)

    def play(self, wav: Path) -> None:
        """Plays a file into the virtual speaker, so the virtual microphone hears it; returns when done."""
        subprocess.run(["paplay", f"--device={SPEAKER}", str(wav)], env=self.env(), check=True, timeout=60)

    def record(self, out: Path, rate: int = 16_000) -> subprocess.Popen[bytes]:
        """Starts recording what the speaker plays (its monitor) to a 16-bit mono WAV; terminate() to stop."""
        return subprocess.Popen(
            [
                "parecord",
                f"--device={SPEAKER}.monitor",
                f"--rate={rate}",
                "--channels=1",
                "--format=s16le",
                "--file-format=wav",
                str(out),
            ],
            env=self.env(),
        )

    def log(self) -> str:
        try:
            return (self.directory / "pulse.log").read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        """Stops the server and removes its directory. Safe to call twice."""
        atexit.unregister(self.stop)
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> PulseAudioServer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


if __name__ == "__main__":
    with PulseAudioServer.start() as running:
        print(f"PULSE_SERVER={running.server}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            running.process.wait()
