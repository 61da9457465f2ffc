"""Sound devices as a Linux desktop shows them: the sound server's microphones and speakers by their names,
and the app's streams routed to the ones chosen by name.

A private PulseAudio with two speakers ("Virtual Speaker", "USB Headphones") and two microphones, each
hearing only its own speaker ("Virtual Microphone", "USB Microphone"): what is played into one speaker
reaches only its microphone, so which device a stream really uses is measured, not assumed.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import start_or_fail
from desktop_sound import (
    HIGH,
    LOW,
    RATE,
    as_float,
    power_at,
    read_wav,
    reinitialise_portaudio,
    tone_clip,
    tone_wav,
    use,
)
from pulse_server import (
    MICROPHONE,
    MICROPHONE_DESCRIPTION,
    SECOND_MICROPHONE,
    SECOND_MICROPHONE_DESCRIPTION,
    SECOND_SPEAKER,
    SECOND_SPEAKER_DESCRIPTION,
    SPEAKER,
    SPEAKER_DESCRIPTION,
    PulseAudioServer,
)
from test_playback import wait_idle
from turn_events import TurnEvents

from desktop_app.audio import sound_server
from desktop_app.audio.capture import MicrophoneCapture, find_input_device
from desktop_app.audio.devices import SoundDevice, list_devices, match_by_name
from desktop_app.audio.playback import AudioPlayer, PlaybackFailed, find_output_device
from desktop_app.core.errors import AppError, ErrorCode
from desktop_app.core.events import Event, Notice, TurnFailed


@pytest.fixture
def own_desktop(monkeypatch: pytest.MonkeyPatch) -> Iterator[PulseAudioServer]:
    """A two-pair server of the test's own, for tests that unplug devices."""
    server = start_or_fail(lambda: PulseAudioServer.start(second_pair=True))
    try:
        yield from use(server, monkeypatch)
    finally:
        server.stop()


def _capture_while_both_speakers_play(server: PulseAudioServer, device: str | None, tmp_path: Path) -> np.ndarray:
    """What a capture of `device` records while LOW plays into the Virtual Speaker and HIGH into the USB
    Headphones, at the same time."""
    low = tone_wav(tmp_path / "low.wav", LOW, 1.5)
    high = tone_wav(tmp_path / "high.wav", HIGH, 1.5)
    frames: list[bytes] = []
    errors: list[AppError | None] = []
    capture = MicrophoneCapture(frames.append, None, errors.append, device=device)
    capture.start()
    try:
        time.sleep(0.3)
        players = [
            threading.Thread(target=server.play, args=(low, SPEAKER)),
            threading.Thread(target=server.play, args=(high, SECOND_SPEAKER)),
        ]
        for player in players:
            player.start()
        for player in players:
            player.join()
    finally:
        capture.stop()
    assert errors == []
    return as_float(b"".join(frames))


# -- listing --------------------------------------------------------------------------------------------


def test_the_servers_microphones_and_speakers_are_listed_by_their_names(desktop) -> None:
    inputs = list_devices("input").devices
    assert [(d.name, d.server_name) for d in inputs] == [
        (MICROPHONE_DESCRIPTION, MICROPHONE),
        (SECOND_MICROPHONE_DESCRIPTION, SECOND_MICROPHONE),
    ]  # the speakers' monitors are not microphones
    assert [d.name for d in inputs if d.is_default] == [MICROPHONE_DESCRIPTION]
    monitors = [d for d in list_devices("input", monitors=True).devices if d.is_monitor]
    assert {d.server_name for d in monitors} == {f"{SPEAKER}.monitor", f"{SECOND_SPEAKER}.monitor"}
    assert {d.name for d in monitors} == {
        f"Monitor of {SPEAKER_DESCRIPTION}",
        f"Monitor of {SECOND_SPEAKER_DESCRIPTION}",
    }
    outputs = list_devices("output").devices
    assert [(d.name, d.server_name, d.is_default) for d in outputs] == [
        (SPEAKER_DESCRIPTION, SPEAKER, True),
        (SECOND_SPEAKER_DESCRIPTION, SECOND_SPEAKER, False),
    ]
    assert all(d.default_rate > 16_000 and d.channels == 2 for d in inputs + outputs)


def _cli(data_dir: Path, server: PulseAudioServer, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "desktop_app", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=server.env(),
    )


def test_the_devices_command_shows_names_the_default_and_the_chosen_one(desktop, tmp_path: Path) -> None:
    from desktop_app.core.settings import Settings
    from desktop_app.paths import AppPaths

    listed = _cli(tmp_path, desktop, "devices", "--json")
    assert listed.returncode == 0, listed.stderr
    document = json.loads(listed.stdout)
    assert [(d["name"], d["server_name"], d["default"], d["chosen"]) for d in document["inputs"]] == [
        (MICROPHONE_DESCRIPTION, MICROPHONE, True, True),  # nothing chosen: the app uses the default
        (SECOND_MICROPHONE_DESCRIPTION, SECOND_MICROPHONE, False, False),
    ]
    assert [d["name"] for d in document["outputs"]] == [SPEAKER_DESCRIPTION, SECOND_SPEAKER_DESCRIPTION]
    assert document["system"] == "pulseaudio"

    settings = Settings(AppPaths.resolve(tmp_path).settings_file)  # as `settings set` or the window would
    settings.set("audio.input_device", "usb microphone")
    settings.set("audio.output_device", SECOND_SPEAKER)
    document = json.loads(_cli(tmp_path, desktop, "devices", "--json").stdout)
    assert [d["name"] for d in document["inputs"] if d["chosen"]] == [SECOND_MICROPHONE_DESCRIPTION]
    assert [d["name"] for d in document["outputs"] if d["chosen"]] == [SECOND_SPEAKER_DESCRIPTION]
    assert document["chosen"]["input"] == {
        "setting": "audio.input_device",
        "value": "usb microphone",
        "connected": True,
    }

    human = _cli(tmp_path, desktop, "devices")
    assert human.returncode == 0, human.stderr
    lines = human.stdout.splitlines()
    assert lines[:2] == ["Sound devices of pulseaudio:", "Microphones:"]
    assert any(line.startswith("  *   Virtual Microphone") for line in lines), human.stdout
    assert any(line.startswith("    > USB Microphone") and f"[{SECOND_MICROPHONE}]" in line for line in lines)
    assert any(line.startswith("    > USB Headphones") for line in lines), human.stdout
    assert "Monitor of" not in human.stdout

    settings.set("audio.input_device", "Blue Yeti")
    everything = _cli(tmp_path, desktop, "devices", "--all")
    assert "Monitor of Virtual Speaker" in everything.stdout
    assert "! audio.input_device is 'Blue Yeti', which is not connected" in everything.stdout
    document = json.loads(_cli(tmp_path, desktop, "devices", "--json").stdout)
    assert document["chosen"]["input"]["connected"] is False
    assert not any(d["chosen"] for d in document["inputs"])


def test_device_names_that_would_drive_the_terminal_are_shown_escaped(own_desktop, tmp_path: Path) -> None:
    """A device's name comes from the sound server, which any program on the machine can set: printed as
    text, its escape sequences are made visible, never sent to the terminal; JSON keeps the exact name."""
    hostile = "Evil\x1b]0;PWNED\x07 Sink\u202e"
    loaded = own_desktop.pactl(
        "load-module", "module-null-sink", "sink_name=evil", f"sink_properties='device.description=\"{hostile}\"'"
    )
    assert loaded.returncode == 0, loaded.stderr
    listed = _cli(tmp_path, own_desktop, "devices")
    assert listed.returncode == 0, listed.stderr
    assert "Evil\\x1b]0;PWNED\\x07 Sink\\u202e" in listed.stdout, listed.stdout
    assert not {"\x1b", "\x07", "\u202e"} & set(listed.stdout), listed.stdout
    document = json.loads(_cli(tmp_path, own_desktop, "devices", "--json").stdout)
    assert hostile in [d["name"] for d in document["outputs"]]


def test_a_device_chosen_among_portaudios_names_still_works(desktop) -> None:
    """Before the sound server's devices were listed, `pulse` and `default` were the choices there were."""
    for name in ("pulse", "default"):
        device = find_input_device(name)
        assert device.name == name and device.server_name is None  # opened as before, not routed
        assert find_output_device(name).name == name


def test_a_device_is_found_by_name_by_part_of_it_or_by_its_server_name() -> None:
    mic = SoundDevice(0, "USB Microphone", 1, 48_000, False, "alsa_input.usb-0d8c.mono-fallback")
    monitor = SoundDevice(0, "Monitor of Built-in Audio", 2, 48_000, False, "alsa_output.pci.monitor", True)
    builtin = SoundDevice(0, "Built-in Audio Analog Stereo", 2, 48_000, True, "alsa_input.pci.analog-stereo")
    devices = [monitor, builtin, mic]
    assert match_by_name(devices, "USB Microphone") is mic
    assert match_by_name(devices, "alsa_input.usb-0d8c.mono-fallback") is mic
    assert match_by_name(devices, "usb mic") is mic
    assert match_by_name(devices, "built-in audio") is builtin  # not the monitor, which comes first
    assert match_by_name(devices, "Monitor of Built-in Audio") is monitor  # only by its full name
    assert match_by_name(devices, "alsa_input.usb") is None  # server names only whole
    assert match_by_name(devices, "Blue Yeti") is None


# -- routing -------------------------------------------------------------------------------------------


def test_the_chosen_microphone_hears_its_own_speaker_and_not_the_other(desktop, tmp_path: Path) -> None:
    for chosen in (SECOND_MICROPHONE_DESCRIPTION, "usb mic", SECOND_MICROPHONE):  # name, part, server name
        assert find_input_device(chosen).name == SECOND_MICROPHONE_DESCRIPTION
        heard = _capture_while_both_speakers_play(desktop, chosen, tmp_path)
        assert len(heard) > 1.2 * RATE and np.abs(heard).max() > 0.3
        assert power_at(heard, RATE, HIGH) > 1000 * power_at(heard, RATE, LOW), chosen
    assert "PULSE_SOURCE" not in os.environ  # the routing is put back after each opening

    default = _capture_while_both_speakers_play(desktop, None, tmp_path)
    assert power_at(default, RATE, LOW) > 1000 * power_at(default, RATE, HIGH)


def test_switching_microphones_while_capturing(desktop, tmp_path: Path) -> None:
    frames: list[bytes] = []
    errors: list[AppError | None] = []
    capture = MicrophoneCapture(frames.append, None, errors.append)
    high = tone_wav(tmp_path / "high.wav", HIGH, 1.0)
    capture.start()
    try:
        time.sleep(0.3)
        capture.set_device(SECOND_MICROPHONE_DESCRIPTION)
        deadline = time.monotonic() + 5
        while (capture.device is None or capture.device.name != SECOND_MICROPHONE_DESCRIPTION) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.02)
        frames.clear()
        desktop.play(high, SECOND_SPEAKER)
    finally:
        capture.stop()
    assert errors == []  # a switch is not a failure
    heard = as_float(b"".join(frames))
    assert power_at(heard, RATE, HIGH) > 0 and np.abs(heard).max() > 0.3


def _play_and_record_both_speakers(
    server: PulseAudioServer, device: str | None, tmp_path: Path
) -> dict[str, np.ndarray]:
    recordings = {name: tmp_path / f"{name}.wav" for name in (SPEAKER, SECOND_SPEAKER)}
    recorders = [server.record(path, speaker=name) for name, path in recordings.items()]
    player = AudioPlayer(device)
    try:
        time.sleep(0.5)  # the recorders are running
        player.play(tone_clip(HIGH, 0.8))
        assert wait_idle(player)
        time.sleep(0.3)
    finally:
        player.close()
        for recorder in recorders:
            recorder.terminate()
            recorder.wait(10)
    return {name: read_wav(path) for name, path in recordings.items()}


def test_answers_play_on_the_chosen_speaker_only(desktop, tmp_path: Path) -> None:
    assert find_output_device("usb head").name == SECOND_SPEAKER_DESCRIPTION
    recorded = _play_and_record_both_speakers(desktop, SECOND_SPEAKER_DESCRIPTION, tmp_path)
    assert np.abs(recorded[SECOND_SPEAKER]).max() > 0.3
    assert power_at(recorded[SECOND_SPEAKER], RATE, HIGH) > 0
    assert np.abs(recorded[SPEAKER]).max() < 0.001  # nothing on the other speaker
    assert "PULSE_SINK" not in os.environ

    recorded = _play_and_record_both_speakers(desktop, None, tmp_path)  # the system default
    assert np.abs(recorded[SPEAKER]).max() > 0.3 and np.abs(recorded[SECOND_SPEAKER]).max() < 0.001


# -- missing and lost devices ---------------------------------------------------------------------------


def test_a_missing_named_device_gives_a_clear_error(desktop) -> None:
    with pytest.raises(AppError) as caught:
        find_input_device("Blue Yeti")
    assert caught.value.code is ErrorCode.AUDIO_INPUT_UNAVAILABLE
    assert "'Blue Yeti' is not connected" in caught.value.message and "Settings > Audio" in caught.value.message
    player = AudioPlayer("Bluetooth Speaker")
    try:
        with pytest.raises(AppError) as caught:
            player.play(tone_clip(HIGH, 0.1))
    finally:
        player.close()
    assert caught.value.code is ErrorCode.AUDIO_OUTPUT_UNAVAILABLE
    assert "'Bluetooth Speaker' is not connected" in caught.value.message


class _Hub:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.failed = threading.Event()

    def __call__(self, event: object) -> None:
        if isinstance(event, Event):
            self.events.append(event)
        if isinstance(event, TurnFailed):
            self.failed.set()


def test_a_missing_microphone_reaches_the_pipeline_when_the_app_starts(desktop, data_dir: Path) -> None:
    """The app's own wiring (voice.start_voice): a chosen microphone that is not connected is reported to
    the pipeline's on_device_error at start-up, which announces it for the window to show."""
    from desktop_app.core.brain.assistant import Assistant
    from desktop_app.core.events import EventHub
    from desktop_app.core.settings import Settings
    from desktop_app.paths import AppPaths
    from desktop_app.storage.engine import sqlite_url
    from desktop_app.storage.store import SqlConversationStore
    from desktop_app.voice import start_voice

    paths = AppPaths.resolve(data_dir).ensure()
    settings = Settings(paths.settings_file)
    settings.set("audio.input_device", "Blue Yeti")
    store = SqlConversationStore.open(sqlite_url(paths.database_file))
    hub = EventHub()
    heard = _Hub()
    hub.subscribe(heard)
    services = start_voice(settings, paths, store, hub, Assistant(store, store.alarms), speak=False)
    try:
        assert heard.failed.wait(5)
    finally:
        services.close()
        store.close()
    (failed, *_) = [e for e in heard.events if isinstance(e, TurnFailed)]
    assert failed.code == ErrorCode.AUDIO_INPUT_UNAVAILABLE.value
    assert "'Blue Yeti' is not connected" in failed.message


def test_a_missing_microphone_is_reported_before_the_microphone_opens(desktop) -> None:
    """Privacy mode keeps the microphone closed until a turn: check_device() reports a missing one
    through the same listener, without opening anything."""
    from desktop_app.core.pipeline import VoicePipeline

    class NoBrain:
        def __getattr__(self, name: str) -> object:
            raise AssertionError(f"the brain is not used here ({name})")

    recorder = TurnEvents()
    pipeline = VoicePipeline(lambda: None, NoBrain(), None, NoBrain(), recorder)  # type: ignore[arg-type]
    capture = MicrophoneCapture(pipeline.on_audio, pipeline.on_level, pipeline.on_device_error, device="Blue Yeti")
    try:
        capture.check_device()
        assert recorder.done.wait(5)
        (failed,) = recorder.of(TurnFailed)
        assert failed.code == ErrorCode.AUDIO_INPUT_UNAVAILABLE.value and "'Blue Yeti'" in failed.message
        assert capture.device is None  # nothing was opened

        capture.set_device("USB Microphone")  # the user picks one that is there
        capture.check_device()
        deadline = time.monotonic() + 5
        while not recorder.of(Notice) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [n.code for n in recorder.of(Notice)] == ["audio_input_back"]
    finally:
        pipeline.close()
    found: list[AppError | None] = []
    MicrophoneCapture(lambda _pcm: None, None, found.append, device="USB Microphone").check_device()
    time.sleep(0.5)
    assert found == []  # a connected one says nothing


def _module_of(server: PulseAudioServer, argument: str) -> str:
    modules = server.pactl("list", "short", "modules").stdout.splitlines()
    return next(line.split()[0] for line in modules if argument in line)


def test_unplugging_the_chosen_microphone_is_reported_not_replaced(own_desktop, tmp_path: Path) -> None:
    """The server moves the streams of a device that goes to another microphone; the app says so instead
    of quietly listening to the wrong one, and carries on when it is back."""
    frames: list[bytes] = []
    errors: list[AppError | None] = []
    lost, back = threading.Event(), threading.Event()

    def on_error(error: AppError | None) -> None:
        errors.append(error)
        (lost if error is not None else back).set()

    capture = MicrophoneCapture(frames.append, None, on_error, device=SECOND_MICROPHONE_DESCRIPTION)
    capture.start()
    try:
        time.sleep(0.5)
        assert errors == [] and frames
        own_desktop.pactl("unload-module", _module_of(own_desktop, f"source_name={SECOND_MICROPHONE}"))
        assert lost.wait(5), "the chosen microphone going away should be reported"
        error = errors[0]
        assert error is not None and error.code is ErrorCode.AUDIO_INPUT_UNAVAILABLE
        assert f"{SECOND_MICROPHONE_DESCRIPTION!r} is not connected" in error.message
        time.sleep(1.0)
        assert len(errors) == 1  # said once, not at every retry
        own_desktop.pactl(
            "load-module",
            "module-remap-source",
            f"master={SECOND_SPEAKER}.monitor",
            f"source_name={SECOND_MICROPHONE}",
            f"source_properties='device.description=\"{SECOND_MICROPHONE_DESCRIPTION}\"'",
        )
        assert back.wait(5), "capture should resume by itself when the microphone is back"
        frames.clear()
        own_desktop.play(tone_wav(tmp_path / "high.wav", HIGH, 0.8), SECOND_SPEAKER)
    finally:
        capture.stop()
    heard = as_float(b"".join(frames))
    assert np.abs(heard).max() > 0.3


def test_unplugging_the_chosen_speaker_is_reported(own_desktop) -> None:
    failures: list[PlaybackFailed] = []
    failed = threading.Event()

    def listener(event: object) -> None:
        if isinstance(event, PlaybackFailed):
            failures.append(event)
            failed.set()

    player = AudioPlayer(SECOND_SPEAKER_DESCRIPTION, listener)
    try:
        player.play(tone_clip(HIGH, 4.0))
        time.sleep(0.4)
        own_desktop.pactl("unload-module", _module_of(own_desktop, f"sink_name={SECOND_SPEAKER}"))
        assert failed.wait(5), "the chosen speaker going away should be reported"
        assert failures[0].error.code is ErrorCode.AUDIO_OUTPUT_UNAVAILABLE
        assert SECOND_SPEAKER_DESCRIPTION in failures[0].error.message
        with pytest.raises(AppError) as caught:  # not played on another speaker instead
            player.play(tone_clip(HIGH, 0.2))
        assert f"{SECOND_SPEAKER_DESCRIPTION!r} is not connected" in caught.value.message
    finally:
        player.close()


# -- without a sound server -----------------------------------------------------------------------------


def test_without_a_sound_server_portaudios_own_list_is_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PULSE_SERVER", f"unix:{tmp_path}/no-server-here")
    started = time.monotonic()
    assert sound_server.query_devices() is None
    assert time.monotonic() - started < 0.5  # nothing listens: it fails at once
    reinitialise_portaudio()
    try:
        listed = list_devices("input")
        assert listed.system == "PortAudio" and listed.devices == []
    finally:
        monkeypatch.undo()
        reinitialise_portaudio()


def test_a_sound_server_that_does_not_answer_costs_one_short_wait(desktop, tmp_path: Path) -> None:
    """A socket that accepts connections and never answers, like a hung server."""
    path = tmp_path / "hung"
    hung = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    hung.bind(str(path))
    hung.listen(8)
    os.environ["PULSE_SERVER"] = f"unix:{path}"  # the `desktop` fixture puts it back
    try:
        started = time.monotonic()
        assert sound_server.query_devices(timeout=0.3) is None
        assert time.monotonic() - started < 0.6
        started = time.monotonic()
        listed = list_devices("output")  # PortAudio's list (scanned while the server answered)
        assert time.monotonic() - started < sound_server.QUERY_TIMEOUT_S + 0.5
        assert listed.system == "PortAudio" and [d.name for d in listed.devices] == ["pulse", "default"]
    finally:
        hung.close()
        os.environ["PULSE_SERVER"] = desktop.server
    deadline = time.monotonic() + 5  # the stuck question ends with the socket; the next one is answered
    while sound_server.query_devices() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sound_server.query_devices() is not None


def test_routing_puts_the_environment_back() -> None:
    os.environ.pop("PULSE_SOURCE", None)
    with sound_server.routed("input", "usbmic"):
        assert os.environ["PULSE_SOURCE"] == "usbmic"
    assert "PULSE_SOURCE" not in os.environ
    os.environ["PULSE_SINK"] = "the user's own"
    try:
        with sound_server.routed("output", "headphones"):
            assert os.environ["PULSE_SINK"] == "headphones"
        with sound_server.routed("output", None):  # the default: left as the user set it
            assert os.environ["PULSE_SINK"] == "the user's own"
        assert os.environ["PULSE_SINK"] == "the user's own"
    finally:
        del os.environ["PULSE_SINK"]
