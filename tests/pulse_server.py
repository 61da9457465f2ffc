"""A private PulseAudio server with a virtual speaker and a virtual microphone that hears it.

What is played into the speaker (`vspk`, "Virtual Speaker") is what the microphone (`vmic`, "Virtual
Microphone", a remap of the speaker's monitor) records, sample for sample, so a test can speak into the app
and record what the app says. The server is private (its own socket in a temporary directory) and needs no
sound card.

With `second_pair=True` it also has a second speaker (`headphones`, "USB Headphones") and a second microphone
(`usbmic`, "USB Microphone") that hears only that one, as a desktop with a headset plugged in: what is played
into one speaker reaches only its own microphone. (Not in the shared server: there, a stream whose device is
unplugged would be moved to the second pair instead of losing its sound, which the unplug tests rely on.)

    python tests/pulse_server.py [--second-pair]   # start one by hand; prints PULSE_SERVER, Ctrl+C stops it
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

INSTALL_HINT = "Run ./test.sh once: it installs PulseAudio (packages pulseaudio, pulseaudio-utils)."
SPEAKER = "vspk"
MICROPHONE = "vmic"
SPEAKER_DESCRIPTION = "Virtual Speaker"
MICROPHONE_DESCRIPTION = "Virtual Microphone"
SECOND_SPEAKER = "headphones"
SECOND_MICROPHONE = "usbmic"
SECOND_SPEAKER_DESCRIPTION = "USB Headphones"
SECOND_MICROPHONE_DESCRIPTION = "USB Microphone"


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
    def start(
        cls, rate: int = 48_000, channels: int = 2, timeout: float = 20.0, *, second_pair: bool = False
    ) -> PulseAudioServer:
        """`rate` and `channels` are the virtual devices' own format: 48 kHz stereo like most sound cards,
        so the app's conversion to 16 kHz mono is exercised. `second_pair`: see the module's description."""
        executable = shutil.which("pulseaudio")
        if executable is None or shutil.which("pactl") is None:
            raise PulseUnavailable(f"pulseaudio or pactl not found on PATH. {INSTALL_HINT}")
        directory = Path(tempfile.mkdtemp(prefix="va-pulse-"))
        directory.chmod(0o700)
        script = directory / "server.pa"
        pairs = [(SPEAKER, SPEAKER_DESCRIPTION, MICROPHONE, MICROPHONE_DESCRIPTION)]
        if second_pair:
            pairs.append((SECOND_SPEAKER, SECOND_SPEAKER_DESCRIPTION, SECOND_MICROPHONE, SECOND_MICROPHONE_DESCRIPTION))
        lines = [f"load-module module-native-protocol-unix auth-anonymous=1 socket={directory / 'native'}"]
        for sink, sink_description, source, source_description in pairs:
            lines += [
                f"load-module module-null-sink sink_name={sink} rate={rate} channels={channels} norewinds=1 "
                f"sink_properties='device.description=\"{sink_description}\"'",
                f"load-module module-remap-source master={sink}.monitor source_name={source} "
                f"source_properties='device.description=\"{source_description}\"'",
            ]
        lines += [f"set-default-sink {SPEAKER}", f"set-default-source {MICROPHONE}"]
        script.write_text("\n".join(lines) + "\n")
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

    def play(self, wav: Path, speaker: str = SPEAKER) -> None:
        """Plays a file into a virtual speaker (by its server name), so its microphone hears it; returns
        when done."""
        subprocess.run(["paplay", f"--device={speaker}", str(wav)], env=self.env(), check=True, timeout=60)

    def record(self, out: Path, rate: int = 16_000, speaker: str = SPEAKER) -> subprocess.Popen[bytes]:
        """Starts recording what a speaker plays (its monitor) to a 16-bit mono WAV; terminate() to stop."""
        return subprocess.Popen(
            [
                "parecord",
                f"--device={speaker}.monitor",
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
    with PulseAudioServer.start(second_pair="--second-pair" in sys.argv) as running:
        print(f"PULSE_SERVER={running.server}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            running.process.wait()
