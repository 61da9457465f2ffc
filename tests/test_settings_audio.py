"""Settings > Audio on the private sound server with two speakers and two microphones (pulse_server.py,
second_pair: "USB Microphone" hears only what is played into "USB Headphones", "Virtual Microphone" only
"Virtual Speaker"), driven by clicks and keys: the pickers list the devices and save the choice to the real
settings file, the level meter follows the chosen microphone and warns when it hears nothing, the 3 s test
records the chosen microphone and plays it back on the chosen speaker, a real voice turn hears the microphone
chosen here, a device that is not connected is kept, and no device stays open once the section is left."""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from desktop_sound import HIGH, LOW, as_float, read_wav, tone_wav
from pulse_server import (
    MICROPHONE_DESCRIPTION,
    SECOND_MICROPHONE,
    SECOND_MICROPHONE_DESCRIPTION,
    SECOND_SPEAKER,
    SECOND_SPEAKER_DESCRIPTION,
    SPEAKER,
    SPEAKER_DESCRIPTION,
    PulseAudioServer,
)
from recorder import Recorder
from settings_dialog import WAIT_MS, OpenSettings
from speech_audio import pcm_of, say_to_wav

from desktop_app.core.audio_format import SPEECH_FORMAT
from desktop_app.core.settings import AUDIO_INPUT_DEVICE, AUDIO_OUTPUT_DEVICE, Settings
from desktop_app.paths import AppPaths
from desktop_app.ui.qt import QApplication, QComboBox, QListWidget, QProgressBar, QPushButton, Qt, QTimer, QWidget
from desktop_app.ui.settings.audio import HEARD_YOURSELF, AudioSection
from desktop_app.ui.settings.startup import StartupSection
from desktop_app.ui.sound_widgets import SILENT_WARNING

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytestmark = pytest.mark.gui

RATE = 16_000
PHRASE = "what time is it"
# Our streams' threads: the meter's capture, the test's, and their opening and closing.
DEVICE_THREADS = ("mic-capture", "mic-probe", "sound-check", "audio-playback")
SLOW_S = 0.5  # a device that takes this long to list or open, as a USB or Bluetooth one can


@pytest.fixture
def phrase(tmp_path: Path) -> Path:
    """The phrase, after 0.3 s of silence (so none of it is lost while a stream opens)."""
    return say_to_wav(PHRASE, tmp_path / "phrase.wav", lead_ms=300)


def open_audio(qtbot: Any, store: Any, data_dir: Path, *sections: type) -> tuple[OpenSettings, AudioSection]:
    opened = OpenSettings(qtbot, store, data_dir, (AudioSection, *sections))
    section = opened.section("audio")
    assert isinstance(section, AudioSection)
    qtbot.waitUntil(lambda: section.microphones.isEnabled() and section.speakers.isEnabled(), timeout=WAIT_MS)
    return opened, section


def close(qtbot: Any, opened: OpenSettings) -> None:
    """Closes the dialog, and waits until the streams it opened are closed (on threads of their own): the
    sound server's fixture then starts PortAudio afresh, which must not happen under an open stream."""
    opened.close()
    qtbot.waitUntil(lambda: not device_threads(), timeout=WAIT_MS)


@pytest.fixture
def audio(qtbot, store, desktop: PulseAudioServer, data_dir: Path) -> Iterator[tuple[OpenSettings, AudioSection]]:
    opened, section = open_audio(qtbot, store, data_dir)
    yield opened, section
    close(qtbot, opened)


def items(combo: QComboBox) -> list[str]:
    return [combo.itemText(i) for i in range(combo.count())]


def pick_with_mouse(qtbot: Any, combo: QComboBox, text: str) -> None:
    """Opens the combo box's list with a click and clicks the item."""
    qtbot.mouseClick(combo, Qt.MouseButton.LeftButton)
    view = combo.view()
    qtbot.waitUntil(view.isVisible)
    # The list ignores a release that comes sooner than a double click after it opened (a press-drag-release).
    qtbot.wait(QApplication.doubleClickInterval() + 50)
    index = combo.findText(text)
    assert index >= 0, items(combo)
    at = view.visualRect(view.model().index(index, 0)).center()
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=at)
    qtbot.waitUntil(lambda: not view.isVisible())
    assert combo.currentText() == text


def pick_with_keys(qtbot: Any, combo: QComboBox, text: str) -> None:
    """Moves through the list with the arrow keys (from the top) until the item is chosen."""
    combo.setFocus()
    qtbot.keyClick(combo, Qt.Key.Key_Home)
    for _ in range(combo.count()):
        if combo.currentText() == text:
            return
        qtbot.keyClick(combo, Qt.Key.Key_Down)
    assert combo.currentText() == text, items(combo)


def button(section: QWidget, name: str) -> QPushButton:
    found = section.findChild(QPushButton, name)
    assert found is not None
    return found


def streams(server: PulseAudioServer) -> dict[str, int]:
    """The recording and playing streams programs have open on the server now (ours: nothing else uses it
    meanwhile). The server's own (the remapped microphones read their speakers' monitors) have no client."""

    def of_programs(kind: str) -> int:
        lines = server.pactl("list", "short", kind).stdout.splitlines()
        return sum(1 for line in lines if line.split("\t")[2] != "-")

    return {kind: of_programs(kind) for kind in ("source-outputs", "sink-inputs")}


def device_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(DEVICE_THREADS)]


def playing(server: PulseAudioServer, wav: Path, speaker: str) -> threading.Thread:
    player = threading.Thread(target=server.play, args=(wav, speaker))
    player.start()
    return player


def best_match(signal: np.ndarray, reference: np.ndarray) -> float:
    """The highest normalised cross-correlation of `reference` anywhere in `signal` (1.0: the same sound)."""
    if len(signal) < len(reference):
        signal = np.concatenate([signal, np.zeros(len(reference) - len(signal), dtype=signal.dtype)])
    size = 1 << int(np.ceil(np.log2(len(signal) + len(reference))))
    spectrum = np.fft.rfft(signal, size) * np.conj(np.fft.rfft(reference, size))
    products = np.fft.irfft(spectrum, size)[: len(signal) - len(reference) + 1]
    energy = np.concatenate([[0.0], np.cumsum(signal.astype(np.float64) ** 2)])
    windows = energy[len(reference) :] - energy[: -len(reference)]
    scale = np.sqrt(np.maximum(windows, 1e-12) * float(np.sum(reference.astype(np.float64) ** 2)))
    return float(np.max(products / scale))


class Heartbeat:
    """A 10 ms timer on the main thread: the longest gap between its beats is how long the thread stalled."""

    def __init__(self) -> None:
        self.beats: list[float] = []
        self._timer = QTimer()
        self._timer.setInterval(10)
        self._timer.timeout.connect(lambda: self.beats.append(time.monotonic()))
        self._timer.start()

    def stop(self) -> float:
        self._timer.stop()
        assert len(self.beats) > 50
        return max(later - earlier for earlier, later in itertools.pairwise(self.beats))


def slowed(function: Callable[..., Any]) -> Callable[..., Any]:
    def slowly(*args: Any, **kwargs: Any) -> Any:
        time.sleep(SLOW_S)
        return function(*args, **kwargs)

    return slowly


# -- the pickers -----------------------------------------------------------------------------------------


def test_the_pickers_list_the_devices_by_name_and_save_the_choice(
    qtbot, store, desktop, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import desktop_app.audio.capture as capture_module
    import desktop_app.audio.choices as choices_module
    import desktop_app.audio.devices as devices_module

    # Devices slow to list and to open: the window keeps turning meanwhile (a 10 ms timer keeps beating).
    monkeypatch.setattr(choices_module, "list_devices", slowed(devices_module.list_devices))
    monkeypatch.setattr(capture_module, "find_input_device", slowed(capture_module.find_input_device))
    heart = Heartbeat()
    opened, section = open_audio(qtbot, store, data_dir)
    try:
        microphones, speakers = section.microphones, section.speakers
        assert items(microphones) == [
            f"System default ({MICROPHONE_DESCRIPTION})",
            MICROPHONE_DESCRIPTION,
            SECOND_MICROPHONE_DESCRIPTION,
        ]
        assert items(speakers) == [
            f"System default ({SPEAKER_DESCRIPTION})",
            SPEAKER_DESCRIPTION,
            SECOND_SPEAKER_DESCRIPTION,
        ]
        assert microphones.currentIndex() == 0 and speakers.currentIndex() == 0

        pick_with_mouse(qtbot, microphones, SECOND_MICROPHONE_DESCRIPTION)
        opened.wait_saved(AUDIO_INPUT_DEVICE, SECOND_MICROPHONE_DESCRIPTION)
        longest = heart.stop()
        print(f"\nlongest wait between 10 ms beats while devices were listed and opened: {longest * 1000:.0f} ms")
        assert longest < SLOW_S / 2

        pick_with_keys(qtbot, microphones, f"System default ({MICROPHONE_DESCRIPTION})")
        opened.wait_saved(AUDIO_INPUT_DEVICE, None)

        pick_with_mouse(qtbot, speakers, SECOND_SPEAKER_DESCRIPTION)
        opened.wait_saved(AUDIO_OUTPUT_DEVICE, SECOND_SPEAKER_DESCRIPTION)
        pick_with_keys(qtbot, speakers, f"System default ({SPEAKER_DESCRIPTION})")
        opened.wait_saved(AUDIO_OUTPUT_DEVICE, None)
        pick_with_keys(qtbot, speakers, SPEAKER_DESCRIPTION)
        opened.wait_saved(AUDIO_OUTPUT_DEVICE, SPEAKER_DESCRIPTION)
        assert opened.saved(AUDIO_INPUT_DEVICE) is None

        # The command line names a microphone by part of its name: the picker shows the one it stands for.
        opened.settings.watch(interval=0.05)
        Settings(opened.paths.settings_file).set(AUDIO_INPUT_DEVICE, "usb mic")
        qtbot.waitUntil(lambda: microphones.currentText() == SECOND_MICROPHONE_DESCRIPTION, timeout=WAIT_MS)
        assert opened.saved(AUDIO_INPUT_DEVICE) == "usb mic"  # shown, not rewritten
    finally:
        close(qtbot, opened)


def test_a_quick_run_of_choices_never_goes_back_to_one_left_behind(
    qtbot, audio, desktop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each save takes a while (a slow disk): its echo arrives after the next choice was made, and must not
    bring back the device left behind, for the picker, the meter or a test started meanwhile."""
    opened, section = audio
    monkeypatch.setattr(opened.settings, "set", slowed(opened.settings.set))
    pick_with_keys(qtbot, section.microphones, MICROPHONE_DESCRIPTION)
    pick_with_keys(qtbot, section.microphones, SECOND_MICROPHONE_DESCRIPTION)
    shown: set[tuple[str, str | None]] = set()
    deadline = time.monotonic() + 4 * SLOW_S
    while time.monotonic() < deadline:
        shown.add((section.microphones.currentText(), section.microphone.wanted))
        qtbot.wait(10)
    assert shown == {(SECOND_MICROPHONE_DESCRIPTION, SECOND_MICROPHONE_DESCRIPTION)}
    assert opened.saved(AUDIO_INPUT_DEVICE) == SECOND_MICROPHONE_DESCRIPTION


def test_a_device_that_is_not_connected_is_shown_and_kept(qtbot, store, desktop, data_dir: Path) -> None:
    before = Settings(AppPaths.resolve(data_dir).ensure().settings_file)
    before.update({AUDIO_INPUT_DEVICE.key: "Blue Yeti", AUDIO_OUTPUT_DEVICE.key: "Studio Monitors"})
    opened, section = open_audio(qtbot, store, data_dir)
    try:
        assert section.microphones.currentText() == "Blue Yeti (not connected)"
        assert section.speakers.currentText() == "Studio Monitors (not connected)"
        assert SECOND_MICROPHONE_DESCRIPTION in items(section.microphones)  # the others are there to pick
        # The meter says why it shows nothing.
        qtbot.waitUntil(section.level.warning.isVisible, timeout=WAIT_MS)
        assert "'Blue Yeti' is not connected" in section.level.warning.text()

        refresh = button(section, "refresh_devices")
        qtbot.mouseClick(refresh, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(refresh.isEnabled, timeout=WAIT_MS)
        assert section.microphones.currentText() == "Blue Yeti (not connected)"

        # The test says so in words under the section, and gives the buttons back.
        qtbot.mouseClick(button(section, "test_microphone"), Qt.MouseButton.LeftButton)
        qtbot.waitUntil(section.problem.isVisible, timeout=WAIT_MS)
        assert "'Blue Yeti' is not connected" in section.problem.text()
        qtbot.waitUntil(button(section, "test_microphone").isEnabled, timeout=WAIT_MS)
        assert not button(section, "stop_test").isEnabled()
        assert opened.saved(AUDIO_INPUT_DEVICE) == "Blue Yeti"

        # With a microphone that is there, the recording is made and the missing speaker is said.
        pick_with_keys(qtbot, section.microphones, SECOND_MICROPHONE_DESCRIPTION)
        opened.wait_saved(AUDIO_INPUT_DEVICE, SECOND_MICROPHONE_DESCRIPTION)
        qtbot.mouseClick(button(section, "test_microphone"), Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not section.problem.isVisible(), timeout=WAIT_MS)
        qtbot.waitUntil(section.problem.isVisible, timeout=WAIT_MS)
        assert "'Studio Monitors' is not connected" in section.problem.text()
        assert len(section.check.recording) == SPEECH_FORMAT.bytes_for(3.0)
        assert button(section, "test_microphone").isEnabled()
        assert section.speakers.currentText() == "Studio Monitors (not connected)"
    finally:
        close(qtbot, opened)
    assert opened.saved(AUDIO_OUTPUT_DEVICE) == "Studio Monitors"


# -- the level meter ---------------------------------------------------------------------------------------


def test_the_meter_follows_the_chosen_microphone_and_warns_when_it_is_silent(
    qtbot, audio, desktop, tmp_path: Path
) -> None:
    opened, section = audio
    meter, warning = section.level.meter, section.level.warning
    chosen_at = time.monotonic()  # the meter listens to the new microphone from the pick, before it is saved
    pick_with_keys(qtbot, section.microphones, SECOND_MICROPHONE_DESCRIPTION)
    opened.wait_saved(AUDIO_INPUT_DEVICE, SECOND_MICROPHONE_DESCRIPTION)
    # A tone into the other speaker: the USB microphone hears nothing, and after 3 s the section says so.
    player = playing(desktop, tone_wav(tmp_path / "low.wav", LOW, 4.0), SPEAKER)
    loudest = 0
    try:
        while not warning.isVisible():
            assert time.monotonic() - chosen_at < 10
            loudest = max(loudest, meter.value())
            qtbot.wait(30)
        assert time.monotonic() - chosen_at >= 3.0
        assert warning.text() == SILENT_WARNING and loudest < 10
    finally:
        player.join()
    # Into its own speaker: the bar moves and the warning goes.
    player = playing(desktop, tone_wav(tmp_path / "high.wav", HIGH, 1.5), SECOND_SPEAKER)
    try:
        qtbot.waitUntil(lambda: meter.value() > 40, timeout=WAIT_MS)
        assert not warning.isVisible()
    finally:
        player.join()


# -- the microphone test -----------------------------------------------------------------------------------


def test_the_test_records_the_chosen_microphone_and_plays_it_back_on_the_chosen_speaker(
    qtbot, audio, desktop, phrase: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import desktop_app.audio.playback as playback_module

    opened, section = audio
    pick_with_mouse(qtbot, section.microphones, SECOND_MICROPHONE_DESCRIPTION)
    pick_with_mouse(qtbot, section.speakers, SECOND_SPEAKER_DESCRIPTION)
    opened.wait_saved(AUDIO_INPUT_DEVICE, SECOND_MICROPHONE_DESCRIPTION)
    opened.wait_saved(AUDIO_OUTPUT_DEVICE, SECOND_SPEAKER_DESCRIPTION)
    monkeypatch.setattr(playback_module, "find_output_device", slowed(playback_module.find_output_device))
    # What each speaker plays, from before the test to after it.
    recordings = {name: tmp_path / f"{name}.wav" for name in (SPEAKER, SECOND_SPEAKER)}
    recorders = [desktop.record(path, speaker=name) for name, path in recordings.items()]
    time.sleep(0.4)
    test, stop = button(section, "test_microphone"), button(section, "stop_test")
    progress = section.findChild(QProgressBar, "test_progress")
    assert progress is not None
    heart = Heartbeat()
    try:
        qtbot.mouseClick(test, Qt.MouseButton.LeftButton)
        assert progress.isVisible() and progress.format().startswith("Recording… ")
        controls = (test, section.microphones, section.speakers, button(section, "refresh_devices"))
        assert stop.isEnabled() and not any(widget.isEnabled() for widget in controls)
        qtbot.waitUntil(lambda: _recorded(section) > 0.05, timeout=WAIT_MS)
        player = playing(desktop, phrase, SECOND_SPEAKER)  # spoken into the headphones: the USB Microphone hears it
        qtbot.waitUntil(lambda: progress.format() == "Playing back…", timeout=WAIT_MS)
        qtbot.waitUntil(lambda: section.test_status.text() == HEARD_YOURSELF, timeout=WAIT_MS)
        longest = heart.stop()
        player.join()
        assert all(widget.isEnabled() for widget in controls) and not stop.isEnabled()
        assert not progress.isVisible() and not section.problem.isVisible()
    finally:
        time.sleep(0.3)
        for recorder in recorders:
            recorder.terminate()
            recorder.wait(10)
    print(f"\nlongest wait between 10 ms beats during the test: {longest * 1000:.0f} ms")
    assert longest < SLOW_S / 2  # the speaker took 0.5 s to find, on the test's own thread

    recorded = as_float(section.check.recording)
    spoken = as_float(pcm_of(phrase))
    assert len(recorded) == 3 * RATE
    heard = best_match(recorded, spoken)
    played = {name: read_wav(path) for name, path in recordings.items()}
    played_back = best_match(played[SECOND_SPEAKER], recorded)
    print(f"the phrase in the recording: {heard:.3f}; the recording in what the headphones played: {played_back:.3f}")
    assert heard > 0.9
    assert played_back > 0.9
    assert np.max(np.abs(played[SPEAKER])) < 0.01  # nothing on the other speaker


def test_another_microphone_does_not_hear_it_and_stop_ends_the_test(
    qtbot, audio, desktop, phrase: Path, tmp_path: Path
) -> None:
    opened, section = audio
    pick_with_keys(qtbot, section.microphones, MICROPHONE_DESCRIPTION)
    opened.wait_saved(AUDIO_INPUT_DEVICE, MICROPHONE_DESCRIPTION)
    test, stop = button(section, "test_microphone"), button(section, "stop_test")
    progress = section.findChild(QProgressBar, "test_progress")
    assert progress is not None
    test.setFocus()
    qtbot.keyClick(test, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: _recorded(section) > 0.05, timeout=WAIT_MS)
    assert stop.hasFocus()
    player = playing(desktop, phrase, SECOND_SPEAKER)  # only the USB Microphone hears the headphones
    qtbot.waitUntil(lambda: progress.format() == "Playing back…", timeout=WAIT_MS)
    player.join()
    started = time.monotonic()
    qtbot.keyClick(stop, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: section.test_status.text() == "Stopped.", timeout=WAIT_MS)
    print(f"\nthe test ended {time.monotonic() - started:.3f} s after Stop")
    assert time.monotonic() - started < 1.0
    assert test.isEnabled() and test.hasFocus() and not stop.isEnabled()
    recorded = as_float(section.check.recording)
    assert len(recorded) == 3 * RATE and np.max(np.abs(recorded)) < 0.01
    qtbot.waitUntil(lambda: streams(desktop)["sink-inputs"] == 0, timeout=WAIT_MS)  # the playback let go


def _recorded(section: AudioSection) -> float:
    progress = section.check.progress()
    return 0.0 if progress is None else progress.recorded_s


# -- speaking through it -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_voice_turn_hears_the_microphone_chosen_here(qtbot, store, desktop, data_dir: Path, phrase: Path) -> None:
    from desktop_app.core.brain.assistant import Assistant
    from desktop_app.core.events import EventHub, FinalTranscript, Notice, TurnFinished
    from desktop_app.voice import start_voice

    opened, section = open_audio(qtbot, store, data_dir)
    hub = EventHub()
    events = Recorder()
    hub.subscribe(events)
    # The app's voice services (the built-in recogniser), following the settings the dialog writes.
    services = start_voice(opened.settings, opened.paths, store, hub, Assistant(store, store.alarms), speak=False)
    try:
        qtbot.waitUntil(lambda: any(n.code == "speech_model_ready" for n in events.of(Notice)), timeout=20_000)
        pick_with_keys(qtbot, section.microphones, SECOND_MICROPHONE_DESCRIPTION)
        opened.wait_saved(AUDIO_INPUT_DEVICE, SECOND_MICROPHONE_DESCRIPTION)
        capture = services.capture
        qtbot.waitUntil(
            lambda: capture.device is not None and capture.device.name == SECOND_MICROPHONE_DESCRIPTION,
            timeout=WAIT_MS,
        )
        services.press()
        desktop.play(phrase, SECOND_SPEAKER)
        time.sleep(0.2)
        services.release()
        assert events.wait_for(TurnFinished, timeout=15)
    finally:
        services.close()
        close(qtbot, opened)
    assert [e.text for e in events.of(FinalTranscript)] == [PHRASE]


# -- leaving -------------------------------------------------------------------------------------------------


def test_leaving_the_section_or_closing_the_dialog_lets_every_device_go(qtbot, store, desktop, data_dir: Path) -> None:
    opened, section = open_audio(qtbot, store, data_dir, StartupSection)
    sections = opened.dialog.findChild(QListWidget, "section_list")
    assert sections is not None

    def choose(row: int) -> None:
        item = sections.item(row)
        qtbot.mouseClick(sections.viewport(), Qt.MouseButton.LeftButton, pos=sections.visualItemRect(item).center())

    try:
        qtbot.waitUntil(lambda: streams(desktop)["source-outputs"] == 1, timeout=WAIT_MS)  # the meter listens
        qtbot.mouseClick(button(section, "test_microphone"), Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: streams(desktop)["source-outputs"] == 2, timeout=WAIT_MS)  # and the test records
        choose(1)  # Startup
        assert opened.dialog.pages.currentIndex() == 1
        qtbot.waitUntil(lambda: streams(desktop) == {"source-outputs": 0, "sink-inputs": 0}, timeout=WAIT_MS)
        qtbot.waitUntil(lambda: not device_threads(), timeout=WAIT_MS)
        assert button(section, "test_microphone").isEnabled() and section.level.meter.value() == 0
        time.sleep(0.5)
        assert streams(desktop) == {"source-outputs": 0, "sink-inputs": 0}  # and nothing opens again

        choose(0)  # back: the meter listens again
        qtbot.waitUntil(lambda: streams(desktop)["source-outputs"] == 1, timeout=WAIT_MS)
        qtbot.mouseClick(button(section, "test_microphone"), Qt.MouseButton.LeftButton)
        progress = section.findChild(QProgressBar, "test_progress")
        assert progress is not None
        qtbot.waitUntil(lambda: progress.format() == "Playing back…", timeout=WAIT_MS)
        qtbot.waitUntil(lambda: streams(desktop)["sink-inputs"] == 1, timeout=WAIT_MS)
    finally:
        close(qtbot, opened)  # in the middle of the test's playback
    assert streams(desktop) == {"source-outputs": 0, "sink-inputs": 0}


def test_a_microphone_unplugged_during_the_test_is_said_and_nothing_hangs(qtbot, audio, desktop) -> None:
    opened, section = audio
    pick_with_keys(qtbot, section.microphones, SECOND_MICROPHONE_DESCRIPTION)
    opened.wait_saved(AUDIO_INPUT_DEVICE, SECOND_MICROPHONE_DESCRIPTION)
    qtbot.mouseClick(button(section, "test_microphone"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: _recorded(section) > 0.3, timeout=WAIT_MS)
    modules = desktop.pactl("list", "short", "modules").stdout.splitlines()
    (usb,) = [line.split("\t") for line in modules if f"source_name={SECOND_MICROPHONE}" in line]
    unplugged = time.monotonic()
    desktop.pactl("unload-module", usb[0])
    try:
        qtbot.waitUntil(section.problem.isVisible, timeout=WAIT_MS)
        print(f"\nsaid {time.monotonic() - unplugged:.2f} s after the microphone went: {section.problem.text()}")
        assert f"'{SECOND_MICROPHONE_DESCRIPTION}' is not connected" in section.problem.text()
        assert button(section, "test_microphone").isEnabled() and section.microphones.isEnabled()
        assert not section.test_status.text()
    finally:  # plugged in again as it was: the module's later tests use it
        desktop.pactl("load-module", usb[1], usb[2].strip())
    qtbot.waitUntil(lambda: "usbmic" in desktop.pactl("list", "short", "sources").stdout, timeout=WAIT_MS)
